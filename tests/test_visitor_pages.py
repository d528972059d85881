"""Visitor pages: home + keypad, exhibit pages in every audio state, friendly 404s, caching."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from django.utils import timezone

from exhibits.models import Exhibit, Narration, RenderJob
from exhibits.visitor import pages as visitor_cache, transcript
from tests.visitor_fixtures import *  # noqa: F401,F403

pytestmark = pytest.mark.django_db
CSS = Path(__file__).resolve().parent.parent / "exhibits/templates/exhibits/inline/site.css"


def page(client, exhibit, status=200) -> str:
    response = client.get(f"/e/{exhibit.code}/")
    assert response.status_code == status
    return response.content.decode()


def sync_table(html: str) -> list:
    return json.loads(re.search(r'<script id="sync" type="application/json">(.*?)</script>', html, re.S)[1])


# --- home and keypad ---------------------------------------------------------------------------

def test_home_lists_published_exhibits_by_gallery(visitor, museum):
    html = visitor.get("/").content.decode()
    assert '<html lang="zh-Hans">' in html
    assert "输入展品标签上的编号" in html and 'action="/go/"' in html and 'inputmode="numeric"' in html
    for exhibit in museum.published:
        assert f'href="/e/{exhibit.code}/"' in html and exhibit.title in html
    assert museum.draft.title not in html
    assert html.index(museum.bronze.name) < html.index(museum.ceramics.name)
    assert html.index(museum.ready.title) < html.index(museum.pending.title) < html.index(museum.outdated.title)


@pytest.mark.parametrize("typed", ["105", " 105 ", "１０５", "1 0 5"])
def test_keypad_form_redirects_to_the_exhibit(visitor, typed):
    response = visitor.get("/go/", {"code": typed})
    assert response.status_code == 302 and response["Location"] == "/e/105/"


@pytest.mark.parametrize("typed", ["abc", "10a", "-5", "1.5", "", "1234567890"])
def test_keypad_form_explains_bad_input(visitor, db, typed):
    response = visitor.get("/go/", {"code": typed})
    assert response.status_code == 400
    html = response.content.decode()
    assert "请输入展品编号" in html or "不是展品编号" in html
    assert 'class="keypad"' in html


# --- exhibit page ------------------------------------------------------------------------------

def test_exhibit_page_with_current_audio(visitor, museum, rendered_audio):
    html = page(visitor, museum.ready)
    mp3 = f"/media/{museum.rendition.mp3}"
    assert f'<audio id="player" controls preload="metadata" src="{mp3}">' in html
    assert museum.ready.title in html and museum.bronze.name in html and "/media/images/" in html
    for rate in ("0.75×", "1×", "1.25×", "1.5×"):
        assert rate in html
    # One tappable span per clause; the spans spell out the transcript exactly.
    spans = re.findall(r'<span class="c">(.*?)</span>', html)
    assert "".join(spans) == rendered_audio.transcript.strip()
    sync = sync_table(html)
    assert len(sync) == len(spans) == len(rendered_audio.timings)
    assert [row[0] for row in sync] == sorted(row[0] for row in sync)
    assert sync[-1][1] <= rendered_audio.duration + 0.01
    media = json.loads(re.search(r'<script id="media" type="application/json">(.*?)</script>', html, re.S)[1])
    assert media == {"title": museum.ready.title, "gallery": museum.bronze.name, "artwork": f"/media/{museum.ready.image}",
                     "code": museum.ready.code, "rendition": museum.rendition.pk, "beacon": "/listen"}
    assert "正在生成" not in html and "正在更新" not in html
    assert f'rel="next" href="/e/{museum.pending.code}/"' in html and 'rel="prev"' not in html


def test_previous_and_next_skip_drafts_and_stay_in_the_gallery(visitor, museum):
    html = page(visitor, museum.pending)
    assert f'rel="prev" href="/e/{museum.ready.code}/"' in html
    assert f'rel="next" href="/e/{museum.outdated.code}/"' in html  # the draft in between is skipped
    html = page(visitor, museum.vase)
    assert 'rel="prev"' not in html and 'rel="next"' not in html


def test_audio_still_rendering_shows_the_script_without_markup(visitor, museum):
    html = page(visitor, museum.pending)
    assert "讲解音频正在生成" in html and "<audio" not in html
    assert "这是一件新到的展品，讲解正在录制。" in html and "[happy]" not in html
    assert sync_table(html) == []


def test_script_with_a_markup_error_still_shows_its_text(visitor, museum):
    Narration.objects.filter(exhibit=museum.pending).update(script="[happy]没有结束标记的脚本", version=5)
    RenderJob.objects.filter(narration__exhibit=museum.pending).update(version=5)
    html = page(visitor, museum.pending)
    assert "讲解音频正在生成" in html and "[happy]没有结束标记的脚本" in html


def test_outdated_audio_still_plays_with_a_note(visitor, museum):
    html = page(visitor, museum.outdated)
    assert "讲解内容正在更新" in html and f'src="/media/{museum.rendition.mp3}"' in html


def test_published_exhibit_without_narration(visitor, museum):
    exhibit = Exhibit.objects.create(title="无讲解的展品", gallery=museum.ceramics, status="published")
    html = page(visitor, exhibit)
    assert "暂时没有语音讲解" in html and "<audio" not in html


@pytest.mark.parametrize("which", ["draft", "unknown"])
def test_drafts_and_unknown_codes_get_the_friendly_404(visitor, museum, which):
    code = museum.draft.code if which == "draft" else 99999
    response = visitor.get(f"/e/{code}/")
    assert response.status_code == 404
    html = response.content.decode()
    assert f"没有找到编号 {code} 的展品" in html and 'class="keypad"' in html and 'lang="zh-Hans"' in html
    assert museum.draft.title not in html


@pytest.mark.parametrize("code", ["0", "2147483648", "99999999999999999999999"])
def test_out_of_range_codes_are_just_unknown(visitor, db, code):
    assert visitor.get(f"/e/{code}/").status_code == 404
    assert visitor.get(f"/e/{code}/qr.png").status_code == 404


def test_missing_audio_file_reads_as_no_audio_until_a_render_is_under_way(visitor, museum, settings):
    (Path(settings.MEDIA_ROOT) / museum.rendition.mp3).unlink()
    html = page(visitor, museum.vase)
    assert "暂时没有语音讲解" in html and "<audio" not in html and "兽面纹" in html
    RenderJob.objects.create(narration=Narration.objects.get(exhibit=museum.vase), version=1)
    visitor_cache.forget_pages()  # within FRESH_SECONDS the cached page is served as it was
    html = page(visitor, museum.vase)
    assert "讲解音频正在生成" in html and "<audio" not in html and "兽面纹" in html


def test_being_updated_is_said_only_while_a_job_is_live(visitor, museum):
    """A failed render of the new text: the old audio plays, and nobody claims it is updating."""
    RenderJob.objects.filter(narration__exhibit=museum.outdated).update(state=RenderJob.State.FAILED)
    html = page(visitor, museum.outdated)
    assert "讲解内容正在更新" not in html and f'src="/media/{museum.rendition.mp3}"' in html
    RenderJob.objects.filter(narration__exhibit=museum.pending).update(state=RenderJob.State.FAILED)
    visitor_cache.forget_pages()
    html = page(visitor, museum.pending)
    assert "讲解音频正在生成" not in html and "暂时没有语音讲解" in html


def test_head_requests(visitor, museum):
    response = visitor.head(f"/e/{museum.ready.code}/")
    assert response.status_code == 200 and response.content == b""


def test_any_unknown_url_gets_the_friendly_404(visitor, db):
    response = visitor.get("/e/not-a-number/")
    assert response.status_code == 404 and "没有找到这件展品" in response.content.decode()


def test_titles_are_escaped(visitor, museum):
    museum.vase.title = '<script>alert("x")</script>瓶'
    museum.vase.save()
    html = page(visitor, museum.vase)
    assert '<script>alert("x")' not in html and "&lt;script&gt;" in html


# --- cost and caching --------------------------------------------------------------------------

def test_exhibit_page_is_a_few_queries_then_none(visitor, museum, django_assert_max_num_queries, monkeypatch):
    with django_assert_max_num_queries(4):
        page(visitor, museum.ready)
    with django_assert_max_num_queries(0):  # within FRESH_SECONDS
        page(visitor, museum.ready)
    monkeypatch.setattr(visitor_cache, "FRESH_SECONDS", 0)
    with django_assert_max_num_queries(1):  # stamp unchanged: no rebuild
        page(visitor, museum.ready)
    with django_assert_max_num_queries(3):
        visitor.get("/")
    with django_assert_max_num_queries(1):
        visitor.get("/")


def test_saves_show_at_once(visitor, museum):
    assert "商代青铜鼎" in page(visitor, museum.ready)
    museum.ready.title = "商代大鼎"
    museum.ready.save()
    assert "商代大鼎" in page(visitor, museum.ready)
    narration = museum.pending.narrations.get()
    narration.rendition, narration.rendition_version = museum.rendition, narration.version
    narration.save()
    assert "<audio" in page(visitor, museum.pending)
    museum.ready.status = Exhibit.Status.DRAFT
    museum.ready.save()
    page(visitor, museum.ready, status=404)


def test_changes_from_other_processes_show_through_the_stamp(visitor, museum, monkeypatch):
    """``QuerySet.update`` sends no signal: like a save in another worker, only the stamp sees it."""
    monkeypatch.setattr(visitor_cache, "FRESH_SECONDS", 0)
    assert "商代青铜鼎" in page(visitor, museum.ready)
    Exhibit.objects.filter(pk=museum.pending.pk).update(title="西周簋", updated_at=timezone.now())
    assert "西周簋" in page(visitor, museum.ready)  # the neighbour's title in the next link
    Narration.objects.filter(exhibit=museum.pending).update(rendition=museum.rendition, rendition_version=1)
    assert "<audio" in page(visitor, museum.pending)
    Exhibit.objects.filter(pk=museum.ready.pk).update(status=Exhibit.Status.DRAFT)
    page(visitor, museum.ready, status=404)


def test_other_processes_changes_wait_at_most_the_fresh_window(visitor, museum, monkeypatch):
    monkeypatch.setattr(visitor_cache, "FRESH_SECONDS", 60)
    page(visitor, museum.ready)
    Exhibit.objects.filter(pk=museum.ready.pk).update(title="别处改的", updated_at=timezone.now())
    assert "别处改的" not in page(visitor, museum.ready)
    museum.vase.save()  # any save in this process forgets cached pages
    assert "别处改的" in page(visitor, museum.ready)


def test_page_is_small(visitor, museum):
    # A weak phone on museum Wi-Fi: everything inline, no framework.
    assert len(page(visitor, museum.ready).encode()) < 20_000


# --- transcript segmentation -------------------------------------------------------------------

def test_character_marks_map_spoken_characters_onto_the_text():
    text = "占50%。"
    timings = [{"text": text, "start": 0, "end": 5, "t0": 1.0, "t1": 2.0,
                "chars": [[1.0 + i / 10, 1.1 + i / 10] for i in range(6)]}]  # 占百分之五十
    segments, sync = transcript.build(text, timings)
    assert [s.text for s in segments] == [text]
    marks = sync[0][2]
    assert marks[0] == [1.0, 1] and marks[-1][1] == 3  # ends after "0", before "%。"
    assert [m[1] for m in marks] == sorted(m[1] for m in marks)


def test_bad_timings_fall_back_to_plain_text():
    text = "第一句。第二句。"
    timings = [{"start": 0, "end": 4, "t0": 0, "t1": 1, "chars": []}, {"start": 2, "end": 99, "t0": 1, "t1": 2}, "junk"]
    segments, sync = transcript.build(text, timings)
    assert "".join(s.text for s in segments) == text
    assert [s.clause for s in segments] == [0, None] and len(sync) == 1


# --- accessibility -----------------------------------------------------------------------------

def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


@pytest.mark.parametrize(
    "fg,bg",
    [("ink", "paper"), ("muted", "paper"), ("accent", "paper"), ("accent", "card"), ("on-accent", "accent"),
     ("ink", "hl"), ("said", "hl"), ("ink", "note"), ("muted", "card"), ("ink", "card")],
)
def test_colour_pairs_meet_wcag_aa(fg, bg):
    colours = dict(re.findall(r"--([a-z-]+):(#[0-9a-fA-F]{6})", CSS.read_text()))
    light, dark = sorted((_luminance(colours[fg]), _luminance(colours[bg])), reverse=True)
    assert (light + 0.05) / (dark + 0.05) >= 4.5


def test_text_sizes_scale_with_the_reader_font_size():
    sizes = re.findall(r"font(?:-size)?:([^;}]*)", CSS.read_text())
    assert sizes and not [s for s in sizes if "px" in s]
