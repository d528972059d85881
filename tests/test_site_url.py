"""SITE_BASE_URL: the demo sets it to a reachable address, QR codes decode to it, and the admin
warns above label printing and QR downloads while it is a loopback address."""
from __future__ import annotations

import importlib.util
import io

import pytest
import zxingcpp
from PIL import Image

from exhibits import services
from exhibits.visitor import qr
from tests.api_support import ROOT

pytestmark = pytest.mark.django_db
WARNING = "a loopback address no visitor"  # (the text goes on with an apostrophe, HTML-escaped)


def load_demo_runner():
    spec = importlib.util.spec_from_file_location("demo_runner", ROOT / "scripts" / "demo.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # defines things only; main() is behind __name__
    return module


@pytest.mark.parametrize("url, loopback", [
    ("http://127.0.0.1:8000", True), ("http://localhost:8100", True), ("http://[::1]:8000", True),
    ("http://0.0.0.0:8000", True), ("http://192.168.1.20:8100", False), ("https://museum.example", False),
])
def test_is_loopback(url, loopback):
    assert qr.is_loopback(url) is loopback


def test_demo_qr_codes_decode_to_the_lan_address_and_actual_port(monkeypatch, settings, client, make_exhibit):
    for name in ("SITE_BASE_URL", "ALLOWED_HOSTS"):  # unset now; whatever the runner sets is undone after
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    monkeypatch.setenv("DEMO_PORT", "8100")
    monkeypatch.setenv("DEMO_BIND", "0.0.0.0")
    demo = load_demo_runner()
    url = demo.configure_site_url()
    lan = demo.lan_address()
    assert url == f"http://{lan}:8100"
    assert lan in __import__("os").environ["ALLOWED_HOSTS"].split(",")

    settings.SITE_BASE_URL = url
    exhibit = make_exhibit("后母戊鼎", script="欢迎。")
    services.do_publish_exhibit(exhibit)
    png = client.get(f"/e/{exhibit.code}/qr.png").content
    [decoded] = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert decoded.text == f"{url}/e/{exhibit.code}/"


def test_demo_keeps_an_explicit_site_url(monkeypatch):
    monkeypatch.setenv("SITE_BASE_URL", "https://museum.example")
    assert load_demo_runner().configure_site_url() == "https://museum.example"


@pytest.mark.parametrize("base, warned", [("http://127.0.0.1:8000", True), ("https://museum.example", False)])
def test_admin_warns_above_labels_and_qr_downloads(operator, settings, make_exhibit, gallery, base, warned):
    settings.SITE_BASE_URL = base
    exhibit = make_exhibit("后母戊鼎", script="欢迎。")
    pages = {
        "exhibit list (print labels action)": operator.get("/admin/exhibits/exhibit/"),
        "gallery list (print labels action)": operator.get("/admin/exhibits/gallery/"),
        "exhibit page (QR downloads)": operator.get(f"/admin/exhibits/exhibit/{exhibit.pk}/change/"),
        "label sheet": operator.get(f"/labels/?codes={exhibit.code}"),
    }
    for name, response in pages.items():
        assert response.status_code == 200, name
        assert (WARNING in response.content.decode()) is warned, name
    change_page = pages["exhibit page (QR downloads)"].content.decode()
    assert f"/e/{exhibit.code}/qr.png?download=1" in change_page
    if warned:  # above the download links, not somewhere below them
        assert change_page.index(WARNING) < change_page.index(f"/e/{exhibit.code}/qr.png?download=1")
