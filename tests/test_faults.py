"""Faults with real processes: a Celery worker SIGKILLed mid-render, Redis restarted empty with a
message in flight, MEDIA_ROOT not writable for minutes. Real PostgreSQL, real Redis, the bundled
voice; recovery comes from the sweeper's liveness rules (heartbeats, claim deadlines) and the
healing retries, never from an operator.

Each test prints its recovery time (``pytest -s``). The suite runs the Redis and disk faults with
shortened intervals (settings given to the worker, named below) so they take seconds;
``FAULT_REAL_TIMINGS=1`` runs them with the shipped defaults and a 3-minute disk fault.
"""
from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest
from django.conf import settings

from exhibits import services
from exhibits.models import Narration, RenderJob, Rendition
from tests.test_pipeline_worker import assert_decodes
from tests.worker import RedisServer, publishing_to, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
State = RenderJob.State
REAL = os.environ.get("FAULT_REAL_TIMINGS") == "1"
FIRST = "第一版讲解词，马上就会改掉。"
FINAL = "这件青铜器是商代晚期的王室重器，高1.33米，重832.84公斤，1939年在河南安阳出土。"
# root ignores file modes; without these capabilities it obeys them like any service user.
NO_DAC_OVERRIDE = ("setpriv", "--inh-caps=-dac_override,-dac_read_search,-fowner",
                   "--bounding-set=-dac_override,-dac_read_search,-fowner")


def audio_for(exhibit, script: str):
    """The narration once its published audio is of ``script`` (current version), else None."""
    narration = Narration.objects.select_related("rendition").get(exhibit=exhibit)
    if narration.audio_is_current and narration.script == script:
        return narration
    return None


def leftover_temp_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*.tmp")] if root.exists() else []


def report(fault: str, seconds: float, detail: str = "") -> None:
    print(f"\nFAULT {fault}: recovered in {seconds:.1f} s {detail}")


def test_worker_sigkilled_mid_render_final_text_is_ready_within_a_minute(worker_factory, make_exhibit, clean_media):
    """Defaults: heartbeat 10 s, stale after 30 s, sweeper every 15 s: <= 45 s + the render from
    another host; here (one host) the sweeper sees the claiming process is gone: <= 15 s."""
    worker = worker_factory(beat=True)
    exhibit = make_exhibit(script=FIRST)
    services.do_save_narration(exhibit, FINAL)  # two fast edits: only the second may be heard
    job = RenderJob.objects.get(narration__exhibit=exhibit, version=2)
    wait_for(lambda: RenderJob.objects.get(pk=job.pk).state == State.RENDERING, 90, "the final text to render", 0.02)
    worker.kill()  # SIGKILL the main process and the pool: no ack, no cleanup, no goodbye
    assert audio_for(exhibit, FINAL) is None

    worker.start()
    running = time.monotonic()
    narration = wait_for(lambda: audio_for(exhibit, FINAL), 150, "audio for the final text", 0.2)
    elapsed = time.monotonic() - running
    job.refresh_from_db()
    render_seconds = (job.finished_at - job.started_at).total_seconds()
    report("worker SIGKILL mid-render", elapsed, f"after the worker was running again (render {render_seconds:.1f} s)")
    assert elapsed <= 60 + render_seconds + 10  # 10 s: a busy 2-core CI box
    assert (job.state, job.attempts, job.lost_workers) == (State.READY, 2, 1)
    assert narration.rendition.transcript == FINAL and assert_decodes(narration.rendition) > 1
    # Never published: the first text, or any partial file.
    assert RenderJob.objects.get(narration__exhibit=exhibit, version=1).state == State.SUPERSEDED
    assert all(not name.endswith(".tmp") for r in Rendition.objects.all() for name in r.files)


def test_redis_restarted_empty_with_a_message_in_flight(worker_factory, make_exhibit, clean_media):
    """Defaults: a queued job not claimed 60 s after it was sent is re-sent (sweeper every 15 s)."""
    timings = {} if REAL else {"RENDER_QUEUED_STALE_SECONDS": 10, "SWEEP_INTERVAL_SECONDS": 2}
    redis = RedisServer().start()
    try:
        with publishing_to(redis.url):
            exhibit = make_exhibit(script=FINAL)
        job = RenderJob.objects.get(narration__exhibit=exhibit)
        assert job.state == State.QUEUED and job.sent_at is not None  # the broker has the message

        redis.stop()  # nothing consumed it; no persistence: the message dies with Redis
        redis.start()
        back = time.monotonic()
        worker_factory(broker_url=redis.url, beat=True, **timings)
        narration = wait_for(lambda: audio_for(exhibit, FINAL), 150, "audio after Redis came back", 0.2)
        elapsed = time.monotonic() - back
        report("Redis restarted empty", elapsed, f"after Redis returned ({'defaults' if REAL else timings})")
        assert elapsed <= 90
        assert narration.rendition.transcript == FINAL and assert_decodes(narration.rendition) > 1
        assert RenderJob.objects.filter(narration__exhibit=exhibit).count() == 1  # re-sent, not duplicated
    finally:
        redis.stop()


def test_media_root_unwritable_for_minutes_heals_by_itself(worker_factory, make_exhibit, clean_media, tmp_path):
    """The fault outlasts the healing retries' window; the sweeper starts again and the job
    heals once the disk does. Suite: 30 s fault, RENDER_HEAL_WINDOW_SECONDS=8 (defaults: 3 min
    fault inside a 30-minute window, backoff 5 s doubling to 5 minutes)."""
    fault_seconds = 180 if REAL else 30
    timings = {} if REAL else {"RENDER_HEAL_WINDOW_SECONDS": 8, "RENDER_RETRY_BACKOFF_SECONDS": 1,
                               "RENDER_RETRY_BACKOFF_MAX_SECONDS": 3, "SWEEP_INTERVAL_SECONDS": 2}
    if not shutil.which("setpriv"):
        pytest.fail("setpriv (util-linux) is needed to run the worker without root's DAC override")
    audio_dir = clean_media / settings.AUDIO_DIR
    audio_dir.mkdir()
    scratch = tmp_path / "worker-tmp"
    scratch.mkdir()
    worker_factory(beat=True, wrap=NO_DAC_OVERRIDE, TMPDIR=scratch, **timings)
    for folder in (clean_media, audio_dir):
        folder.chmod(0o555)
    try:
        started = time.monotonic()
        exhibit = make_exhibit(script=FINAL)
        wait_for(lambda: "retrying" in RenderJob.objects.filter(narration__exhibit=exhibit).latest("id").error,
                 60, "a healing retry", 0.2)
        if not REAL:  # past the window: failed as healable, and the sweeper queued the version again
            wait_for(lambda: RenderJob.objects.filter(narration__exhibit=exhibit, state=State.FAILED, healable=True)
                     .exists() and RenderJob.objects.filter(narration__exhibit=exhibit).count() >= 2,
                     fault_seconds, "the sweeper to start again after the heal window", 0.2)
        assert audio_for(exhibit, FINAL) is None
        time.sleep(max(0.0, fault_seconds - (time.monotonic() - started)))
    finally:
        for folder in (clean_media, audio_dir):
            folder.chmod(0o755)
    healed = time.monotonic()
    narration = wait_for(lambda: audio_for(exhibit, FINAL), 400 if REAL else 60, "the render to heal", 0.2)
    elapsed = time.monotonic() - healed
    jobs = RenderJob.objects.filter(narration__exhibit=exhibit).count()
    report("MEDIA_ROOT unwritable", elapsed, f"after a {fault_seconds} s fault ended ({jobs} job(s))")
    assert narration.rendition.transcript == FINAL and assert_decodes(narration.rendition) > 1
    assert RenderJob.objects.filter(narration__exhibit=exhibit, state__in=RenderJob.LIVE_STATES).count() == 0
    # Nothing left behind: no half-written file in the media root, no encoder WAV in TMPDIR
    # (billiard's empty pymp-* folder is the running worker's own).
    assert leftover_temp_files(clean_media) == [] and [p for p in scratch.rglob("*") if p.is_file()] == []
