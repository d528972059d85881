"""The narration studio in a real headless Chromium against the live server and a real worker:
live validation before saving, reading hints, the toolbar by keyboard, a sentence heard from unsaved text, the
badge reaching "ready" without a reload, and restore bringing back earlier audio without synthesis.
Screenshots go to tests/artifacts/studio-*.png.
"""
from __future__ import annotations

import time
from pathlib import Path

import pytest
from django.conf import settings

from exhibits import services
from exhibits.models import Exhibit, Narration, RenderJob, Rendition
from synthesis import audio
from tests.test_browser import ARTIFACTS, CHROMIUM
from tests.test_pipeline_worker import ready_narration

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]
FIRST = "欢迎来到青铜器展厅。"
BROKEN = "第一句。\n这里[happy]没有结束。"
EDITED = "欢迎来到青铜器展厅。请随我参观。"
HINTED = "单于的行为。"


@pytest.fixture
def studio(live_server, worker_factory, clean_media, gallery, django_user_model, monkeypatch):
    """A curator who can log in, an exhibit whose first version has audio, a worker; all before
    the browser starts (Playwright's loop forbids ORM calls in the test's thread)."""
    from django.test import testcases

    from exhibits.ops.roles import ensure_curator_group

    monkeypatch.setattr(testcases._MediaFilesHandler, "_should_handle", lambda self, path: False)
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} missing: apt-get install chromium fonts-noto-cjk")
    user = django_user_model.objects.create_user("curator", password="curator-pw", is_staff=True)
    user.groups.add(ensure_curator_group())
    worker_factory()
    exhibit = services.do_save_exhibit(Exhibit(title="后母戊鼎", gallery=gallery))
    services.do_save_narration(exhibit, FIRST, user=user)
    ready_narration(exhibit, 1, timeout=120)
    ARTIFACTS.mkdir(exist_ok=True)
    return live_server.url, exhibit


def shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"studio-{name}.png"), full_page=True)


def run_browser(base: str, exhibit: Exhibit) -> dict:
    from playwright.sync_api import sync_playwright

    seen: dict = {"errors": []}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--autoplay-policy=no-user-gesture-required"])
        page = browser.new_context(viewport={"width": 1280, "height": 1100}, locale="zh-CN").new_page()
        page.on("pageerror", lambda e: seen["errors"].append(str(e)))
        page.goto(f"{base}/admin/login/?next=/admin/exhibits/exhibit/{exhibit.pk}/change/")
        page.fill("#id_username", "curator")
        page.fill("#id_password", "curator-pw")
        page.click("input[type=submit]")
        page.wait_for_selector("#studio-check.ok")
        area = page.locator("textarea[name='narrations-0-script']")

        # Live validation: the library's line/column message appears before saving.
        area.fill(BROKEN)
        page.wait_for_selector("#studio-check.error")
        seen["error"] = page.inner_text("#studio-check")
        seen["invalid"] = area.get_attribute("aria-invalid")
        shot(page, "editor-error")

        # Reading hints: the uncertain 行 is underlined; choosing a reading pins it in the text.
        area.fill(HINTED)
        page.locator("#studio-markup button.hint.uncertain", has_text="行").click()
        page.wait_for_selector("#studio-readings button[data-pinyin=xing2]")
        seen["lexicon_hint"] = page.inner_text("#studio-markup .hint.lexicon")
        shot(page, "editor-hints")
        page.click("#studio-readings button[data-pinyin=xing2]")
        seen["pinned"] = area.input_value()

        # Toolbar by keyboard: select 青铜器, Shift+Tab back to the wrap button, Enter.
        area.fill(EDITED)
        start = EDITED.index("青铜器")
        area.focus()
        page.evaluate(f"document.querySelector('textarea[name=\"narrations-0-script\"]').setSelectionRange({start}, {start + 3})")
        for _ in range(5):  # textarea <- pin <- pinyin <- pause <- pause ms <- wrap
            page.keyboard.press("Shift+Tab")
        seen["focused"] = page.evaluate("document.activeElement.id")
        page.keyboard.press("Enter")
        seen["wrapped"] = area.input_value()
        page.wait_for_function("() => document.querySelectorAll('.studio-play').length === 2")
        page.wait_for_selector("#studio-check.ok")
        shot(page, "editor-toolbar")

        # Hear one sentence of the unsaved text, rendered by the worker.
        clicked = time.monotonic()
        page.locator(".studio-play").first.click()
        page.wait_for_function("() => (document.querySelector('audio.studio-sentence-audio') || {}).duration > 0", timeout=60000)
        seen["sentence_seconds"] = time.monotonic() - clicked  # printed, not asserted (see tests/bench)
        seen["sentence_url"] = page.get_attribute("audio.studio-sentence-audio", "src")
        seen["sentence_duration"] = page.evaluate("document.querySelector('audio.studio-sentence-audio').duration")
        shot(page, "sentence-preview")

        # Save and watch the badge move without a reload.
        page.click("input[name=_continue]")
        page.wait_for_selector(".field-state .render-badge")
        page.evaluate("window.studioMarker = 1")
        seen["after_save"] = page.get_attribute(".field-state .render-badge", "class")
        shot(page, "saved-" + seen["after_save"].split("render-")[-1])
        page.wait_for_function("() => document.querySelector('.field-state .render-badge').dataset.state === 'rendering' || "
                               "document.querySelector('.field-state .render-badge').dataset.state === 'ready'", timeout=60000)
        if page.get_attribute(".field-state .render-badge", "data-state") == "rendering":
            shot(page, "live-rendering")
        page.wait_for_function("() => document.querySelector('.field-state .render-badge').dataset.state === 'ready'", timeout=120000)
        page.wait_for_function("() => (document.querySelector('.field-preview audio') || {}).duration > 0", timeout=15000)
        seen["no_reload"] = page.evaluate("window.studioMarker")
        seen["player"] = page.get_attribute(".field-preview audio", "src")
        shot(page, "live-ready")

        # The list page polls too.
        page.goto(f"{base}/admin/exhibits/exhibit/")
        page.wait_for_function("() => document.querySelector('#result_list .render-badge').dataset.state === 'ready'")
        shot(page, "list")

        # History: diff v1 -> v2, then restore v1.
        page.goto(f"{base}/admin/exhibits/exhibit/{exhibit.pk}/versions/?a=1&b=2")
        seen["inserted"] = page.eval_on_selector_all(".studio-diff ins", "nodes => nodes.map(n => n.textContent)")
        shot(page, "history-diff")
        page.get_by_role("button", name="恢复此版 Restore v1").click()
        page.wait_for_selector(".field-state .render-badge")
        seen["restored_text"] = area.input_value()
        page.wait_for_function("() => document.querySelector('.field-state .render-badge').dataset.state === 'ready'", timeout=60000)
        shot(page, "restored")

        # Without JavaScript the change page is the plain form.
        plain = browser.new_context(java_script_enabled=False, storage_state=page.context.storage_state()).new_page()
        plain.goto(f"{base}/admin/exhibits/exhibit/{exhibit.pk}/change/")
        seen["plain_toolbar"] = plain.locator(".studio-toolbar").count()
        seen["plain_textarea"] = plain.is_visible("textarea[name='narrations-0-script']")
        browser.close()
    return seen


def test_studio_in_the_browser(studio):
    base, exhibit = studio
    synthesised_before = set(Rendition.objects.values_list("pk", flat=True))
    seen = run_browser(base, exhibit)
    assert seen["errors"] == []
    assert seen["error"].startswith("第2行第3列") and "[/happy]" in seen["error"] and seen["invalid"] == "true"
    assert seen["pinned"] == "单于的{行|xing2}为。" and seen["lexicon_hint"] == "单于"
    assert seen["focused"] == "studio-wrap"
    assert seen["wrapped"] == "欢迎来到[happy]青铜器[/happy]展厅。请随我参观。"

    # the sentence's audio decodes (unsaved text: no narration version has it)
    samples, rate = audio.decode(Path(settings.MEDIA_ROOT) / seen["sentence_url"].split("/media/", 1)[1])
    assert len(samples) / rate > 0.3 and seen["sentence_duration"] > 0.3
    print(f"sentence preview: click to playable audio {seen['sentence_seconds']:.2f} s on a warm worker")

    assert seen["after_save"].startswith("render-badge render-") and seen["no_reload"] == 1
    narration = Narration.objects.select_related("rendition").get(exhibit=exhibit)
    assert (narration.version, narration.script) == (3, FIRST)  # v3 = restored v1
    assert seen["inserted"] == ["[happy]", "[/happy]", "请随我参观。"]

    # restore: v3 published v1's audio found by cache key; no new synthesis
    v1_job, v2_job, v3_job = (RenderJob.objects.get(narration=narration, version=v) for v in (1, 2, 3))
    assert v3_job.state == RenderJob.State.READY and v3_job.reused and v3_job.rendition_id == v1_job.rendition_id
    assert narration.rendition_id == v1_job.rendition_id and seen["restored_text"] == FIRST
    assert seen["player"].endswith(v2_job.rendition.mp3)
    assert set(Rendition.objects.values_list("pk", flat=True)) == synthesised_before | {v2_job.rendition_id}
    assert seen["plain_toolbar"] == 0 and seen["plain_textarea"]
