"""Listening analytics and offline galleries in headless Chromium (issue #18).

The page's real ``listen.js`` sends real beacons to the live server; the roll-up then counts
them. Offline: the gallery page's download fills the service worker's cache, the context goes
offline, and another exhibit of the gallery opens and plays from it. Screenshots go to
tests/artifacts/ (listening-*.png, offline-*.png, dashboard.png).

Database checks run in a worker thread: Playwright's sync API keeps an event loop running in
the test's thread, where Django refuses ORM calls.
"""
from __future__ import annotations

import re
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.conf import settings

from tests.test_browser import PHONE, shot, site  # noqa: F401  (site is a fixture)
from tests.test_listening import fresh_counters  # noqa: F401  (autouse: no beacons queued by other tests)
from tests.visitor_fixtures import *  # noqa: F401,F403

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# headless Chromium says "HeadlessChrome", which the endpoint rightly files as a bot.
PHONE_UA = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36"
VISITOR = dict(PHONE, user_agent=PHONE_UA)


def orm(fn, *args):
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(fn, *args).result()


def _events():
    from django.db import connection

    from exhibits.analytics.buffer import flush
    from exhibits.models import ListeningEvent

    try:
        flush()
        return list(ListeningEvent.objects.values_list("kind", "sentence"))
    finally:
        connection.close()


def wait_for_events(kind: str, count: int = 1, timeout: float = 10) -> list:
    deadline = time.monotonic() + timeout
    while True:
        events = orm(_events)
        if sum(k == kind for k, _ in events) >= count or time.monotonic() > deadline:
            return events
        time.sleep(0.2)


def _rollup():
    from django.db import connection

    from exhibits.analytics.rollup import roll_up
    from exhibits.models import DailyListening

    try:
        roll_up()
        return list(DailyListening.objects.values("exhibit_id", "plays", "completions", "reached"))
    finally:
        connection.close()


def open_exhibit(browser, url: str):
    page = browser.new_context(**VISITOR).new_page()
    page.goto(url)
    page.wait_for_function("() => document.getElementById('player').duration > 0", timeout=15000)
    return page


def play_to_the_end(page, rate: float = 2.0) -> None:
    page.evaluate(f"const a = document.getElementById('player'); a.muted = true; a.playbackRate = {rate}; a.play()")
    page.wait_for_function("() => document.getElementById('player').ended", timeout=30000)


def test_listening_to_the_end_is_one_play_one_completion_every_sentence(site):
    browser, base, museum = site
    sentences = len(museum.rendition.timings)
    page = open_exhibit(browser, f"{base}/e/{museum.ready.code}/")
    play_to_the_end(page)
    shot(page, "listening-ended")
    events = wait_for_events("end")
    assert sorted(s for k, s in events if k == "progress") == list(range(sentences))
    [row] = orm(_rollup)
    assert (row["exhibit_id"], row["plays"], row["completions"], row["reached"]) == (museum.ready.pk, 1, 1, [1] * sentences)


def test_seeking_back_and_forth_does_not_double_count(site):
    browser, base, museum = site
    sentences = len(museum.rendition.timings)
    page = open_exhibit(browser, f"{base}/e/{museum.ready.code}/")
    page.evaluate("const a = document.getElementById('player'); a.muted = true; a.play()")
    page.wait_for_function("() => document.querySelectorAll('#transcript .c')[1].classList.contains('on')", timeout=15000)
    clauses = page.locator("#transcript .c")
    for target in (0, sentences - 1, 0, 1, sentences - 1):  # tap back and forth through the script
        clauses.nth(target).tap()
        page.wait_for_function(f"() => document.querySelectorAll('#transcript .c')[{target}].classList.contains('on')", timeout=5000)
        page.wait_for_timeout(400)
    page.evaluate("document.getElementById('player').pause()")
    page.evaluate("document.getElementById('player').play()")
    page.wait_for_function("() => document.getElementById('player').ended", timeout=30000)
    events = wait_for_events("end")
    assert sum(k == "seek" for k, _ in events) >= 5 and sum(k == "play" for k, _ in events) >= 2
    [row] = orm(_rollup)
    assert (row["plays"], row["completions"]) == (1, 1)
    assert max(row["reached"]) == 1 and row["reached"][0] == row["reached"][-1] == 1


def _new_rendition(exhibit_id: int, old_id: int) -> str:
    """A new rendition for one exhibit (a copy of the audio under a new name, as a re-render makes)."""
    from django.db import connection

    from exhibits.models import Narration, Rendition

    try:
        old = Rendition.objects.get(pk=old_id)
        new_mp3 = old.mp3.replace(".mp3", "-v2.mp3")
        shutil.copyfile(Path(settings.MEDIA_ROOT) / old.mp3, Path(settings.MEDIA_ROOT) / new_mp3)
        new = Rendition.objects.create(**{f.name: getattr(old, f.name) for f in Rendition._meta.concrete_fields
                                          if f.name not in ("id", "cache_key", "mp3")}, cache_key="v2" + old.cache_key[2:], mp3=new_mp3)
        narration = Narration.objects.get(exhibit_id=exhibit_id)
        narration.rendition = new
        narration.save()
        return f"/media/{new_mp3}"
    finally:
        connection.close()


CACHED_URLS = "caches.open('gallery-' + %d).then(c => c.keys()).then(ks => ks.map(k => new URL(k.url).pathname))"


def test_a_downloaded_gallery_opens_and_plays_offline(site):
    browser, base, museum = site
    context = browser.new_context(**VISITOR)
    page = context.new_page()
    media_responses = []
    page.on("response", lambda r: media_responses.append((r.url, r.status, r.from_service_worker)) if "/media/audio/" in r.url else None)
    page.goto(f"{base}/g/{museum.bronze.pk}/")
    button = page.get_by_role("button", name=re.compile("下载本展厅，离线收听"))
    label = button.inner_text()
    assert re.search(r"约 [\d.]+ (MB|KB)", label), label
    shot(page, "offline-gallery")
    button.click()
    page.wait_for_selector(".offline[data-state=ready]", timeout=30000)
    assert "已下载" in page.inner_text("#offline-status")
    shot(page, "offline-downloaded")
    cached = page.evaluate(CACHED_URLS % museum.bronze.pk)
    mp3 = f"/media/{museum.rendition.mp3}"
    assert {f"/e/{museum.ready.code}/", f"/e/{museum.outdated.code}/", f"/e/{museum.pending.code}/", mp3} <= set(cached)
    assert f"/e/{museum.vase.code}/" not in cached  # another gallery's exhibit

    context.set_offline(True)
    exhibit = context.new_page()
    exhibit.on("response", lambda r: media_responses.append((r.url, r.status, r.from_service_worker)) if "/media/audio/" in r.url else None)
    exhibit.goto(f"{base}/e/{museum.outdated.code}/")
    assert exhibit.evaluate("navigator.onLine") is False
    assert museum.outdated.title in exhibit.inner_text("h1")
    exhibit.wait_for_function("() => document.getElementById('player').duration > 0", timeout=15000)
    exhibit.evaluate("const a = document.getElementById('player'); a.muted = true; a.play()")
    exhibit.wait_for_function("() => document.getElementById('player').currentTime > 1", timeout=15000)
    shot(exhibit, "offline-exhibit-playing")
    # A byte range of the audio, answered by the service worker from the cache.
    size = (Path(settings.MEDIA_ROOT) / museum.rendition.mp3).stat().st_size
    data = (Path(settings.MEDIA_ROOT) / museum.rendition.mp3).read_bytes()[100:200]
    ranged = exhibit.evaluate(f"""fetch('{mp3}', {{headers: {{Range: 'bytes=100-199'}}}}).then(async r => ({{
        status: r.status, range: r.headers.get('Content-Range'), from: r.headers.get('X-Offline-Cache'),
        bytes: Array.from(new Uint8Array(await r.arrayBuffer()))}}))""")
    assert (ranged["status"], ranged["range"], ranged["from"]) == (206, f"bytes 100-199/{size}", "hit")
    assert bytes(ranged["bytes"]) == data
    assert any(status == 206 and from_sw for url, status, from_sw in media_responses if url.endswith(mp3)), media_responses
    # A page that was not downloaded says so instead of the browser's error page.
    other = context.new_page()
    response = other.goto(f"{base}/e/{museum.vase.code}/")
    assert response.status == 503 and "没有网络" in other.inner_text("h1")
    shot(other, "offline-not-downloaded")

    # Back online, a new rendition of an exhibit replaces the cached one when its page is opened.
    context.set_offline(False)
    new_mp3 = orm(_new_rendition, museum.outdated.pk, museum.rendition.pk)
    time.sleep(1.1)  # the visitor pages' FRESH_SECONDS
    exhibit.goto(f"{base}/e/{museum.outdated.code}/")
    exhibit.wait_for_function(f"() => ({CACHED_URLS % museum.bronze.pk}).then(u => u.includes('{new_mp3}'))", polling=200, timeout=15000)
    page.wait_for_timeout(300)
    context.set_offline(True)
    exhibit.goto(f"{base}/e/{museum.outdated.code}/")
    assert exhibit.get_attribute("#player", "src") == new_mp3
    exhibit.wait_for_function("() => document.getElementById('player').duration > 0", timeout=15000)
    cached = set(exhibit.evaluate(CACHED_URLS % museum.bronze.pk))
    assert mp3 in cached  # still used by another exhibit of the gallery
    context.close()


def test_dashboard_screenshot(site, django_user_model):
    browser, base, museum = site
    orm(_demo_traffic)
    page = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN").new_page()
    page.goto(f"{base}/admin/login/?next=/admin/exhibits/dailylistening/%3Fexhibit%3D{museum.ready.code}")
    page.fill("#id_username", "printer")
    page.fill("#id_password", "print-labels")
    page.click("input[type=submit]")
    page.wait_for_selector("#dropoff")
    assert page.locator("svg[role=img]").count() >= 3
    shot(page, "dashboard")


def _demo_traffic():
    from django.contrib.auth.models import User
    from django.db import connection

    from exhibits.analytics.demo import generate
    from exhibits.ops.roles import ensure_curator_group

    try:
        User.objects.get(username="printer").groups.add(ensure_curator_group())
        generate(days=30, seed=18)
    finally:
        connection.close()
