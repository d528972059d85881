"""QR codes (PNG and SVG, decoded with zxing-cpp) and the printable label sheets."""
from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET

import pytest
import zxingcpp
from django.test import RequestFactory
from PIL import Image, ImageDraw

from exhibits.admin.labels import compact, print_gallery_labels, print_labels
from exhibits.models import Exhibit, Gallery
from exhibits.visitor import qr
from tests.visitor_fixtures import *  # noqa: F401,F403

pytestmark = pytest.mark.django_db
BASE = "https://museum.example.org"
SVG_NS = "{http://www.w3.org/2000/svg}"


@pytest.fixture(autouse=True)
def site_url(settings):
    settings.SITE_BASE_URL = BASE


def rasterise(svg: str, scale: int = 8) -> Image.Image:
    """Draw an SVG made of rects and rectilinear paths (M/H/V/L/h/v/l/Z, the shapes QR writers
    use), reading only the markup: an independent check of what a browser or printer draws."""
    root = ET.fromstring(svg)
    _, _, width, height = (float(v) for v in root.get("viewBox").split())
    img = Image.new("L", (int(width * scale), int(height * scale)), 255)
    draw = ImageDraw.Draw(img)
    fill = lambda el: 255 if el.get("fill", "#000").lower() in ("#fff", "#ffffff", "white") else 0  # noqa: E731
    for el in root.iter():
        if el.tag == SVG_NS + "rect":
            x, y = float(el.get("x", 0)), float(el.get("y", 0))
            w, h = float(el.get("width")), float(el.get("height"))
            draw.rectangle((x * scale, y * scale, (x + w) * scale - 1, (y + h) * scale - 1), fill=fill(el))
        elif el.tag == SVG_NS + "path":
            x = y = 0.0
            polygon: list[tuple[float, float]] = []
            tokens = re.findall(r"[MmHhVvLlZz]|-?\d*\.?\d+", el.get("d"))
            i = 0
            while i < len(tokens):
                cmd = tokens[i]
                i += 1
                if cmd in "Zz":
                    draw.polygon([(px * scale, py * scale) for px, py in polygon], fill=fill(el))
                    polygon = []
                    continue
                if cmd in "MmLl":
                    dx, dy = float(tokens[i]), float(tokens[i + 1])
                    i += 2
                    x, y = (x + dx, y + dy) if cmd.islower() else (dx, dy)
                elif cmd in "Hh":
                    x = x + float(tokens[i]) if cmd == "h" else float(tokens[i])
                    i += 1
                else:
                    y = y + float(tokens[i]) if cmd == "v" else float(tokens[i])
                    i += 1
                polygon.append((x, y))
    return img


def decode(image: Image.Image) -> list:
    return zxingcpp.read_barcodes(image)


def assert_quiet_zone(image: Image.Image, modules: int) -> None:
    # Minus one pixel: PIL fills a polygon's right and bottom edge pixels too.
    border = image.width * qr.BORDER // modules - 1
    pixels = image.convert("L").load()
    for i in range(image.width):
        for j in range(border):
            assert pixels[i, j] > 128 and pixels[j, i] > 128 and pixels[i, image.height - 1 - j] > 128


def test_png_encodes_the_exact_exhibit_url(visitor, museum):
    response = visitor.get(f"/e/{museum.ready.code}/qr.png")
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert response["Content-Disposition"] == f'inline; filename="exhibit-{museum.ready.code}-qr.png"'
    image = Image.open(io.BytesIO(response.content))
    [code] = decode(image)
    assert code.text == f"{BASE}/e/{museum.ready.code}/"
    assert code.ec_level in ("Q", "H")
    assert_quiet_zone(image, len(qr.matrix(code.text)))


def test_svg_encodes_the_exact_exhibit_url(visitor, museum):
    response = visitor.get(f"/e/{museum.vase.code}/qr.svg", {"download": "1"})
    assert response.status_code == 200 and response["Content-Type"] == "image/svg+xml"
    assert response["Content-Disposition"] == f'attachment; filename="exhibit-{museum.vase.code}-qr.svg"'
    assert response["Cache-Control"] == "public, max-age=86400"
    image = rasterise(response.content.decode())
    [code] = decode(image)
    assert code.text == f"{BASE}/e/{museum.vase.code}/" and code.ec_level in ("Q", "H")
    assert_quiet_zone(image, len(qr.matrix(code.text)))


def test_draft_qr_only_for_staff(visitor, staff_client, museum):
    assert visitor.get(f"/e/{museum.draft.code}/qr.png").status_code == 404
    assert visitor.get(f"/e/{museum.draft.code}/qr.svg").status_code == 404
    assert visitor.get("/e/99999/qr.png").status_code == 404
    response = staff_client.get(f"/e/{museum.draft.code}/qr.svg")
    assert response.status_code == 200 and response["Cache-Control"] == "private, no-cache"
    [code] = decode(rasterise(response.content.decode()))
    assert code.text == f"{BASE}/e/{museum.draft.code}/"


def labels_on(html: str) -> dict[int, str]:
    """code -> decoded QR text for each label on a sheet."""
    found = {}
    for code, svg in re.findall(r'<article class="label" data-code="(\d+)".*?<div class="qr">(<svg.*?</svg>)</div>', html, re.S):
        [decoded] = decode(rasterise(svg))
        found[int(code)] = decoded.text
    return found


def test_gallery_label_sheet(staff_client, museum):
    response = staff_client.get("/labels/", {"gallery": museum.bronze.pk})
    assert response.status_code == 200
    html = response.content.decode()
    bronze = [museum.ready, museum.pending, museum.draft, museum.outdated]
    assert labels_on(html) == {e.code: f"{BASE}/e/{e.code}/" for e in bronze}
    for e in bronze:
        assert e.title in html and f"扫码收听 · <span class=\"nw\">或在首页输入编号 {e.code}</span>" in html
        assert f'<p class="num">{e.code}</p>' in html
    assert museum.vase.title not in html
    assert "@page{size:A4" in html and "尚未发布" in html  # the draft is pointed out on screen


def test_selected_codes_label_sheet(staff_client, museum):
    codes = f"{museum.vase.code},{museum.ready.code}-{museum.pending.code},99999"
    html = staff_client.get("/labels/", {"codes": codes}).content.decode()
    assert list(labels_on(html)) == [museum.vase.code, museum.ready.code, museum.pending.code]
    assert "没有这些编号的展品：99999" in html


def test_many_labels_fill_several_a4_sheets(staff_client, museum):
    for i in range(10):
        Exhibit.objects.create(title=f"陶片 {i}", gallery=museum.ceramics, order=10 + i)
    html = staff_client.get("/labels/", {"gallery": museum.ceramics.pk}).content.decode()
    assert html.count('<section class="sheet">') == 2 and html.count('<article class="label"') == 11


@pytest.mark.parametrize(
    "params,message",
    [
        ({}, "请用 ?gallery="),
        ({"codes": "abc"}, "格式不正确"),
        ({"codes": "101-"}, "格式不正确"),
        ({"codes": ","}, "请给出展品编号"),
        ({"codes": "1-100000"}, "最多打印"),
        ({"gallery": "x"}, "格式不正确"),
    ],
)
def test_bad_label_requests_say_what_to_do(staff_client, museum, params, message):
    response = staff_client.get("/labels/", params)
    assert response.status_code == 400 and message in response.content.decode()


def test_labels_are_staff_only(visitor, museum):
    response = visitor.get("/labels/", {"gallery": museum.bronze.pk})
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


def test_admin_actions_open_the_sheet(staff_client, museum):
    request = RequestFactory().post("/admin/exhibits/exhibit/")
    chosen = Exhibit.objects.filter(pk__in=[museum.ready.pk, museum.pending.pk, museum.vase.pk])
    response = print_labels(None, request, chosen)
    assert response.status_code == 302
    assert response["Location"] == f"/labels/?codes={museum.ready.code}-{museum.pending.code},{museum.vase.code}"
    assert list(labels_on(staff_client.get(response["Location"]).content.decode())) == [
        museum.ready.code, museum.pending.code, museum.vase.code
    ]
    response = print_gallery_labels(None, request, Gallery.objects.filter(pk=museum.ceramics.pk))
    assert response["Location"] == f"/labels/?gallery={museum.ceramics.pk}"
    assert list(labels_on(staff_client.get(response["Location"]).content.decode())) == [museum.vase.code]


def test_compact():
    assert compact([107, 101, 102, 103, 103]) == "101-103,107"
    assert compact([]) == ""
