"""The whole pipeline with a real Celery worker, PostgreSQL, Redis and the bundled voice.

Each test starts its own worker (subprocess on the test database) and kills it at teardown.
Scripts are short so a render takes a second or two.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from exhibits import services
from exhibits.models import Narration, RenderJob, Rendition
from synthesis import audio
from tests.worker import ROOT, RedisServer, publishing_to, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
State = RenderJob.State
TEXT = "这件后母戊鼎高1.33米。"


def ready_narration(exhibit, version: int, timeout: float = 90) -> Narration:
    """Wait until the exhibit's narration publishes audio for ``version``; fail fast on a failed job."""

    def check():
        failed = RenderJob.objects.filter(narration__exhibit=exhibit, version=version, state=State.FAILED).first()
        assert failed is None, f"job failed: {failed.error}"
        narration = Narration.objects.select_related("rendition").get(exhibit=exhibit)
        return narration if narration.rendition_id and narration.rendition_version == version else None

    return wait_for(check, timeout, f"audio for version {version}", 0.2)


def audio_files() -> set[Path]:
    root = Path(settings.MEDIA_ROOT) / settings.AUDIO_DIR
    return {p for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def assert_decodes(rendition: Rendition) -> float:
    for name in rendition.files:
        assert not Path(name).name.startswith(".") and not name.endswith(".tmp")
        samples, rate = audio.decode(Path(settings.MEDIA_ROOT) / name)
        assert rate == rendition.sample_rate and len(samples) / rate > 0.3
        assert abs(len(samples) / rate - rendition.duration) < 0.1  # the whole file, not a prefix
    return rendition.duration


def test_save_publishes_audio_that_decodes(worker_factory, make_exhibit, curator_user, clean_media):
    worker_factory()
    exhibit = make_exhibit(script=TEXT, user=curator_user)
    narration = ready_narration(exhibit, 1)
    assert assert_decodes(narration.rendition) > 0.5
    assert narration.rendition.transcript == TEXT and narration.rendition.timings
    job = RenderJob.objects.get(narration=narration)
    assert (job.state, job.attempts, job.reused, job.rendition_id) == (State.READY, 1, False, narration.rendition_id)


def test_identical_text_is_never_synthesised_twice(worker_factory, make_exhibit, clean_media):
    worker_factory()
    exhibit = make_exhibit(script=TEXT)
    first = ready_narration(exhibit, 1).rendition
    assert services.do_save_narration(exhibit, TEXT).job is None  # identical re-save: nothing to do

    services.do_save_narration(exhibit, "这件四羊方尊是商代晚期的。")
    ready_narration(exhibit, 2)
    files = audio_files()
    services.do_save_narration(exhibit, TEXT)  # back to the first text: same cache key
    narration = ready_narration(exhibit, 3)
    assert narration.rendition == first
    assert RenderJob.objects.get(narration=narration, version=3).reused
    assert audio_files() == files  # no new file written


def test_two_quick_edits_publish_the_final_text(worker_factory, make_exhibit, clean_media):
    worker_factory()
    exhibit = make_exhibit(script="第一版讲解词，很快就会被改掉。")
    services.do_save_narration(exhibit, "第二版讲解词。")
    services.do_save_narration(exhibit, "第三版，也是最后一版。")
    narration = ready_narration(exhibit, 3)
    assert narration.rendition.transcript == "第三版，也是最后一版。"
    states = dict(RenderJob.objects.filter(narration=narration).values_list("version", "state"))
    assert states == {1: State.SUPERSEDED, 2: State.SUPERSEDED, 3: State.READY}
    # Whatever v1/v2 managed to render never became the published audio.
    assert Narration.objects.get(pk=narration.pk).rendition.transcript == "第三版，也是最后一版。"


LONG = "这件青铜器是商代晚期的王室重器，高1.33米，重832.84公斤，1939年在河南安阳出土。"


def test_worker_killed_mid_render_recovers_without_publishing_a_partial_file(worker_factory, make_exhibit, clean_media):
    # kombu's Redis transport restores unacknowledged messages older than the visibility timeout
    # when a worker starts (then only every ~100 s): a short one makes the restart pick it up.
    worker = worker_factory(CELERY_VISIBILITY_TIMEOUT=2)
    exhibit = make_exhibit(script=LONG)
    job = RenderJob.objects.get(narration__exhibit=exhibit)
    wait_for(lambda: RenderJob.objects.get(pk=job.pk).state == State.RENDERING, 60, "the render to start", 0.02)
    worker.kill()  # SIGKILL main process and pool: no cleanup, no ack
    assert Narration.objects.get(exhibit=exhibit).rendition is None
    assert not Rendition.objects.exists()

    started = RenderJob.objects.get(pk=job.pk).started_at
    wait_for(lambda: (timezone.now() - started).total_seconds() > 3, 10, "the visibility timeout to pass")
    worker.start()
    narration = ready_narration(exhibit, 1, timeout=120)
    assert_decodes(narration.rendition)
    job.refresh_from_db()
    assert job.state == State.READY and job.attempts == 2
    referenced = {Path(settings.MEDIA_ROOT) / name for r in Rendition.objects.all() for name in r.files}
    assert not any(p.name.endswith(".tmp") for p in referenced)


def test_pool_process_killed_mid_render_is_redelivered(worker_factory, make_exhibit, clean_media):
    worker = worker_factory()
    exhibit = make_exhibit(script=LONG)
    job = RenderJob.objects.get(narration__exhibit=exhibit)
    wait_for(lambda: RenderJob.objects.get(pk=job.pk).state == State.RENDERING, 60, "the render to start", 0.02)
    for pid in worker.pool_pids():
        os.kill(pid, 9)  # the worker's main process survives and rejects (requeues) the message
    narration = ready_narration(exhibit, 1, timeout=120)
    assert_decodes(narration.rendition)
    assert RenderJob.objects.get(pk=job.pk).attempts == 2


def test_redis_down_while_curator_saves_then_sweeper_renders(worker_factory, make_exhibit, curator, caplog, clean_media):
    redis = RedisServer().start()
    try:
        # The worker runs beat too, sweeping every 2 s, as in production (just more often).
        worker_factory(broker_url=redis.url, beat=True, SWEEP_INTERVAL_SECONDS=2)
        exhibit = make_exhibit()
        redis.stop()
        with publishing_to(redis.url):
            response = curator.post(f"/admin/exhibits/exhibit/{exhibit.pk}/change/", exhibit_form(exhibit, TEXT))
        assert response.status_code == 302, response.content.decode()[:2000]  # saved, no error page
        job = RenderJob.objects.get(narration__exhibit=exhibit)
        assert job.state == State.QUEUED and job.sent_at is None
        assert "sweeper will retry" in caplog.text

        redis.start()  # same port: the worker reconnects, beat's sweeper re-sends the job
        narration = ready_narration(exhibit, 1, timeout=150)
        assert_decodes(narration.rendition)
    finally:
        redis.stop()


def exhibit_form(exhibit, script: str, emotion: str = "neutral") -> dict:
    """POST data of the exhibit change page with its narration inline."""
    narration = exhibit.narrations.first()
    return {
        "title": exhibit.title, "gallery": exhibit.gallery_id, "slug": exhibit.slug, "description": exhibit.description,
        "order": exhibit.order,
        "narrations-TOTAL_FORMS": "1", "narrations-INITIAL_FORMS": "1" if narration else "0",
        "narrations-MIN_NUM_FORMS": "0", "narrations-MAX_NUM_FORMS": "1",
        "narrations-0-id": narration.pk if narration else "", "narrations-0-exhibit": exhibit.pk,
        "narrations-0-script": script, "narrations-0-emotion": emotion, "narrations-0-voice": "",
    }


def test_demo_mode_sqlite_and_file_queue(tmp_path, worker_factory):
    """The defaults ``make demo`` relies on: SQLite and kombu's filesystem transport, real worker."""
    env = {"VAR_DIR": str(tmp_path / "var"), "MEDIA_ROOT": str(tmp_path / "media"), "DATABASE_URL": None,
           "CELERY_BROKER_URL": None, "REDIS_URL": None}
    manage = [sys.executable, "manage.py"]
    clean_env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL")}
    clean_env.update(DJANGO_SETTINGS_MODULE="guide_site.settings", VAR_DIR=env["VAR_DIR"], MEDIA_ROOT=env["MEDIA_ROOT"])
    subprocess.run([*manage, "migrate", "-v", "0"], cwd=ROOT, env=clean_env, check=True, timeout=120)
    worker_factory(broker_url="filesystem://", purge=False, **env)
    create = (
        "from exhibits import services; from exhibits.models import Exhibit, Gallery;"
        "g = Gallery.objects.create(name='青铜时代', slug='bronze');"
        f"e = services.do_save_exhibit(Exhibit(title='鼎', gallery=g)); services.do_save_narration(e, '{TEXT}')"
    )
    subprocess.run([*manage, "shell", "-c", create], cwd=ROOT, env=clean_env, check=True, timeout=60)
    done = subprocess.run([*manage, "render_audio", "--timeout", "120"], cwd=ROOT, env=clean_env, timeout=180,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "rendered" in done.stdout and list((tmp_path / "media" / "audio").rglob("*.mp3"))
