"""Input limits at the admin, login throttling (django-axes) and the Content-Security-Policy."""
from __future__ import annotations

import base64
import hashlib
import re
import time

import pytest
from django.conf import settings
from django.test import Client

from exhibits.models import Narration
from tests.test_pipeline_worker import exhibit_form
from tests.visitor_fixtures import *  # noqa: F401,F403

pytestmark = pytest.mark.django_db
TEXT = "这件后母戊鼎高1.33米。"


def test_a_200000_character_script_is_a_form_error_before_the_front_end_runs(curator, make_exhibit, monkeypatch):
    exhibit = make_exhibit(script=TEXT)

    def front_end_must_not_run(*args, **kwargs):
        raise AssertionError("the text front end ran on an over-long script")

    monkeypatch.setattr("synthesis.frontend.analyse", front_end_must_not_run)
    started = time.monotonic()
    response = curator.post(f"/admin/exhibits/exhibit/{exhibit.pk}/change/", exhibit_form(exhibit, "长" * 200_000))
    elapsed = time.monotonic() - started
    print(f"\n200,000-character script: form error after {elapsed:.2f} s")
    assert response.status_code == 200  # the form again, with the error
    errors = str(response.context["inline_admin_formsets"][0].formset.errors)
    assert "200000" in errors and str(settings.NARRATION_MAX_CHARS) in errors
    narration = Narration.objects.get(exhibit=exhibit)
    assert (narration.script, narration.version) == (TEXT, 1)  # nothing stored


def test_the_script_field_tells_the_browser_the_limit(curator, make_exhibit):
    exhibit = make_exhibit(script=TEXT)
    page = curator.get(f"/admin/exhibits/exhibit/{exhibit.pk}/change/").content.decode()
    assert f'maxlength="{settings.NARRATION_MAX_CHARS}"' in page


# --- login throttling ----------------------------------------------------------------------------
def login(client: Client, username: str, password: str, ip: str = "203.0.113.7"):
    return client.post("/admin/login/?next=/admin/", {"username": username, "password": password}, REMOTE_ADDR=ip)


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_user("kurator", password="right-password-42", is_staff=True)


def test_normal_admin_login_still_works(staff):
    client = Client()
    assert login(client, "kurator", "wrong").status_code == 200  # the form again
    response = login(client, "kurator", "right-password-42")
    assert response.status_code == 302 and response["Location"] == "/admin/"


def test_wrong_passwords_lock_out_that_user_from_that_address(staff):
    client = Client()
    for _attempt in range(settings.AXES_FAILURE_LIMIT - 1):
        assert login(client, "kurator", "guess").status_code == 200
    assert login(client, "kurator", "guess").status_code == 429  # the limit reached: locked out
    # Locked out means locked out: the right password from there is refused too.
    assert login(Client(), "kurator", "right-password-42").status_code == 429
    # The attempts are rows in the real database (AxesDatabaseHandler), shared by every process.
    from axes.models import AccessAttempt

    assert AccessAttempt.objects.get(username="kurator").failures_since_start >= settings.AXES_FAILURE_LIMIT
    # The owner logging in from elsewhere is not punished for the attacker's guesses.
    response = login(Client(), "kurator", "right-password-42", ip="198.51.100.9")
    assert response.status_code == 302


def test_behind_the_proxy_the_client_address_is_the_one_nginx_saw(rf, settings):
    from exhibits.ops.login_guard import client_ip

    request = rf.get("/", HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.7", REMOTE_ADDR="10.0.0.2")
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    assert client_ip(request) == "203.0.113.7"  # the left end is whatever the client wrote
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 0}
    assert client_ip(request) == "10.0.0.2"


# --- Content-Security-Policy ---------------------------------------------------------------------
def policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


def inline_blocks(html: str) -> list[tuple[str, str]]:
    """(directive, text) of every inline <script>/<style> that runs (JSON data blocks do not)."""
    blocks = [("script-src", m[1]) for m in re.finditer(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>(.*?)</script>", html, re.S)]
    return blocks + [("style-src", m[1]) for m in re.finditer(r"<style[^>]*>(.*?)</style>", html, re.S)]


def sha256_source(text: str) -> str:
    return f"'sha256-{base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()}'"


@pytest.mark.parametrize("page", ["home", "ready", "outdated", "not_found", "labels", "admin"])
def test_every_page_has_a_csp_that_allows_exactly_its_inline_code(visitor, operator, museum, page):
    client = operator if page in ("labels", "admin") else visitor
    url = {"home": "/", "ready": f"/e/{museum.ready.code}/", "outdated": f"/e/{museum.outdated.code}/",
           "not_found": "/e/99999/", "labels": f"/labels/?codes={museum.ready.code}",
           "admin": "/admin/exhibits/exhibit/"}[page]
    response = client.get(url)
    assert response.status_code in (200, 404)
    rules = policy(response)
    assert "'unsafe-inline'" not in response["Content-Security-Policy"]
    assert rules["default-src"] == ["'self'"] and rules["object-src"] == ["'none'"]
    html = response.content.decode()
    assert ' style="' not in html and " onclick=" not in html  # attributes no hash can allow
    for directive, text in inline_blocks(html):
        assert sha256_source(text) in rules[directive], f"{directive} does not allow: {text[:80]}"
