"""The visitor site in a real headless Chromium (Debian's /usr/bin/chromium, driven by Playwright)
against pytest-django's live server: audio loads and plays, the transcript follows it, tapping
seeks, the keypad navigates, printed QR codes scan. Screenshots go to tests/artifacts/.

Needs: apt-get install chromium fonts-noto-cjk (without the fonts Chinese renders as boxes).
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image

from tests.visitor_fixtures import *  # noqa: F401,F403

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--autoplay-policy=no-user-gesture-required",
]
ARTIFACTS = Path(__file__).parent / "artifacts"
PHONE = dict(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True, has_touch=True, locale="zh-CN")


@pytest.fixture
def site(museum, live_server, settings, django_user_model, monkeypatch):
    """Data first, then the browser: Playwright's sync API runs an event loop, and Django refuses
    ORM calls from a thread with a running loop, so the test itself makes none."""
    from django.test import testcases

    # Django's live server answers MEDIA_URL itself with django.views.static.serve (no byte
    # ranges, so no seeking) before the URLconf; let it fall through to our view as in production.
    monkeypatch.setattr(testcases._MediaFilesHandler, "_should_handle", lambda self, path: False)
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} missing: apt-get install chromium fonts-noto-cjk")
    from playwright.sync_api import sync_playwright

    settings.SITE_BASE_URL = live_server.url  # printed QR codes must open this server
    django_user_model.objects.create_user("printer", password="print-labels", is_staff=True)
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            yield browser, live_server.url, museum
        finally:
            browser.close()


def shot(page, name: str) -> Path:
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def active_clause(page) -> int:
    return page.evaluate("[...document.querySelectorAll('#transcript .c')].findIndex(c => c.classList.contains('on'))")


def test_exhibit_page_plays_follows_and_seeks(site):
    browser, base, museum = site
    page = browser.new_context(**PHONE).new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{base}/e/{museum.ready.code}/")
    page.wait_for_function("() => document.getElementById('player').duration > 0", timeout=15000)
    duration = page.evaluate("document.getElementById('player').duration")
    assert duration == pytest.approx(museum.rendition.duration, abs=0.3)
    assert page.evaluate("navigator.mediaSession.metadata.title") == museum.ready.title
    assert page.evaluate("navigator.mediaSession.metadata.artist") == museum.bronze.name
    assert page.evaluate("navigator.mediaSession.metadata.artwork[0].src").endswith(".jpg")
    assert page.is_visible("#tap-hint") and page.is_visible(".speeds")
    shot(page, "exhibit-loaded")

    page.evaluate("const a = document.getElementById('player'); a.muted = true; a.play()")
    page.wait_for_function("() => document.querySelector('#transcript .c.on .said')", timeout=10000)
    first = active_clause(page)
    page.wait_for_function(f"() => [...document.querySelectorAll('#transcript .c')].findIndex(c => c.classList.contains('on')) > {first}", timeout=10000)
    assert page.evaluate("document.querySelector('#transcript .c.on').getAttribute('aria-current')") == "true"
    shot(page, "exhibit-playing")

    # Tapping the last clause seeks to its start and lights it.
    target = page.evaluate("document.querySelectorAll('#transcript .c').length") - 1
    start = page.evaluate(f"JSON.parse(document.getElementById('sync').textContent)[{target}][0]")
    page.locator("#transcript .c").nth(target).tap()
    page.wait_for_function(f"() => document.querySelectorAll('#transcript .c')[{target}].classList.contains('on')", timeout=5000)
    assert page.evaluate("document.getElementById('player').currentTime") >= start - 0.05

    # Speed buttons.
    page.get_by_role("button", name="1.5×").click()
    assert page.evaluate("document.getElementById('player').playbackRate") == 1.5
    assert page.get_by_role("button", name="1.5×").get_attribute("aria-pressed") == "true"

    # Keyboard: one tab stop in the transcript, arrows move, Enter plays from there.
    page.evaluate("const a = document.getElementById('player'); a.pause(); a.currentTime = 0")
    page.locator("#transcript .c").nth(0).focus()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.querySelectorAll('#transcript .c')[1].classList.contains('on')", timeout=5000)
    assert errors == []


def test_keypad_not_found_and_no_javascript(site):
    browser, base, museum = site
    page = browser.new_context(**PHONE).new_page()
    page.goto(f"{base}/")
    assert page.get_attribute("html", "lang") == "zh-Hans"
    for digit in str(museum.vase.code):
        page.locator(f".keypad button[data-k='{digit}']").click()
    shot(page, "home-keypad")
    page.locator(".keypad button[type=submit]").click()
    page.wait_for_url(f"{base}/e/{museum.vase.code}/")
    assert museum.vase.title in page.inner_text("h1")

    response = page.goto(f"{base}/e/{museum.draft.code}/")
    assert response.status == 404
    assert "没有找到" in page.inner_text("h1") and page.is_visible(".keypad")
    shot(page, "not-found")

    page.goto(f"{base}/e/{museum.pending.code}/")
    assert "讲解音频正在生成" in page.inner_text("main")
    shot(page, "exhibit-rendering")

    plain = browser.new_context(java_script_enabled=False, **PHONE).new_page()
    plain.goto(f"{base}/e/{museum.ready.code}/")
    assert plain.is_visible("audio") and not plain.is_visible(".speeds")
    assert "兽面纹" in plain.inner_text("#transcript")
    plain.fill("#code-more", str(museum.outdated.code))
    plain.press("#code-more", "Enter")
    plain.wait_for_url(f"{base}/e/{museum.outdated.code}/")
    assert "正在更新" in plain.inner_text("main")
    shot(plain, "exhibit-outdated-nojs")


@pytest.fixture
def many_labels(museum):
    """Nine exhibits in one gallery: more than one A4 sheet (8 labels) holds. Made before the
    browser starts (see ``site``)."""
    from exhibits.models import Exhibit

    extra = [Exhibit.objects.create(title=f"青花瓷碗 {i}", gallery=museum.ceramics, order=10 + i) for i in range(8)]
    return [museum.vase, *extra]


def test_printed_labels_scan(many_labels, site):
    browser, base, museum = site
    page = browser.new_context(viewport={"width": 900, "height": 1200}).new_page()
    page.goto(f"{base}/admin/login/?next=/labels/%3Fgallery%3D{museum.ceramics.pk}")
    page.fill("#id_username", "printer")
    page.fill("#id_password", "print-labels")
    page.click("input[type=submit]")
    page.wait_for_selector(".label")
    wanted = {f"{base}/e/{e.code}/" for e in many_labels}
    path = shot(page, "labels")
    assert {r.text for r in zxingcpp.read_barcodes(Image.open(path))} == wanted
    # Printed: two A4 pages, and the print layout (no toolbar) still scans.
    pdf = page.pdf(prefer_css_page_size=True)
    assert re.findall(rb"/Count (\d+)", pdf) == [b"2"]
    page.emulate_media(media="print")
    assert {r.text for r in zxingcpp.read_barcodes(Image.open(shot(page, "labels-print")))} == wanted


# Every CSP violation: the DOM event (with the blocked directive) and Chromium's console report.
RECORD_CSP_VIOLATIONS = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));
"""


def test_pages_run_under_the_csp_without_violations(site):
    browser, base, museum = site
    context = browser.new_context(**PHONE)
    context.add_init_script(RECORD_CSP_VIOLATIONS)
    page = context.new_page()
    console = []  # (string predicates below are functions: Playwright evals plain expressions)
    page.on("console", lambda m: console.append(m.text) if "Content Security Policy" in m.text else None)
    visited = []

    def visit(url: str):
        response = page.goto(url)
        policy = response.headers.get("content-security-policy", "")
        assert "default-src 'self'" in policy and "unsafe-inline" not in policy, (url, policy)
        visited.append(url)
        return response

    visit(f"{base}/e/{museum.ready.code}/")
    page.wait_for_function("() => document.getElementById('player').duration > 0", timeout=15000)
    page.evaluate("const a = document.getElementById('player'); a.muted = true; a.play()")
    page.wait_for_function("() => document.querySelector('#transcript .c.on')", timeout=10000)  # the inline script ran
    assert page.evaluate("getComputedStyle(document.querySelector('header.top')).display") != "inline"  # CSS applied
    visit(f"{base}/")
    page.locator(f".keypad button[data-k='{str(museum.vase.code)[0]}']").click()  # the keypad script ran
    assert page.input_value("#code") == str(museum.vase.code)[0]
    visit(f"{base}/admin/login/?next=/labels/%3Fgallery%3D{museum.ceramics.pk}")
    page.fill("#id_username", "printer")
    page.fill("#id_password", "print-labels")
    page.click("input[type=submit]")
    page.wait_for_selector(".label")
    visit(f"{base}/admin/")
    assert page.evaluate("window.__csp") == [] and console == [], (visited, console)
