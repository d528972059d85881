"""The sweeper's rules by liveness, healing retries and input limits, on rows (no worker).

The same rules run with real workers, Redis and a failing disk in tests/test_faults.py.
"""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from exhibits.render import claims
from exhibits import services
from exhibits.models import Narration, RenderJob, RenderState

pytestmark = pytest.mark.django_db
State = RenderJob.State
TEXT = "这件后母戊鼎高1.33米。"


def ago(seconds: float):
    return timezone.now() - timedelta(seconds=seconds)


def swept(django_capture_on_commit_callbacks, **kwargs) -> set[int]:
    with django_capture_on_commit_callbacks():
        return set(services.do_sweep_stale(**kwargs).jobs)


def job_of(exhibit) -> RenderJob:
    return RenderJob.objects.filter(narration__exhibit=exhibit).latest("id")


def test_sweeper_resends_by_heartbeat_and_claim_time_not_by_age(make_exhibit, settings, django_capture_on_commit_callbacks):
    settings.RENDER_RUNNING_STALE_SECONDS, settings.RENDER_QUEUED_STALE_SECONDS = 30, 60
    beating, silent, waiting, lost, retry_due_later = (make_exhibit(t, script=TEXT) for t in "甲乙丙丁戊")
    for exhibit in (beating, silent):
        claims.do_start_job(job_of(exhibit).pk)
    # Started 20 minutes ago and still beating: a long render, leave it alone.
    RenderJob.objects.filter(pk=job_of(beating).pk).update(started_at=ago(1200), heartbeat_at=ago(5))
    RenderJob.objects.filter(pk=job_of(silent).pk).update(started_at=ago(40), heartbeat_at=ago(31))
    RenderJob.objects.filter(pk=job_of(waiting).pk).update(created_at=ago(100), sent_at=ago(50))
    RenderJob.objects.filter(pk=job_of(lost).pk).update(created_at=ago(100), sent_at=ago(61))
    # A retry's message is due in 4 minutes (sent_at is when it is due): not lost.
    RenderJob.objects.filter(pk=job_of(retry_due_later).pk).update(created_at=ago(100), sent_at=ago(-240))
    assert swept(django_capture_on_commit_callbacks) == {job_of(silent).pk, job_of(lost).pk}


def test_a_duplicate_delivery_waits_for_a_beating_worker_then_takes_over(make_exhibit):
    job = job_of(make_exhibit(script=TEXT))
    assert claims.do_start_job(job.pk).attempt == 1
    busy = claims.do_start_job(job.pk)
    assert isinstance(busy, claims.JobBusy) and 25 < busy.seconds <= 31
    assert claims.do_heartbeat(job.pk)
    RenderJob.objects.filter(pk=job.pk).update(heartbeat_at=ago(31))
    work = claims.do_start_job(job.pk)
    assert work.attempt == 2 and RenderJob.objects.get(pk=job.pk).lost_workers == 1


def test_a_redelivery_on_the_same_host_takes_over_from_a_dead_process_at_once(make_exhibit):
    import socket
    import subprocess

    job = job_of(make_exhibit(script=TEXT))
    claims.do_start_job(job.pk)
    gone = subprocess.Popen(["true"])
    gone.wait()  # a pid that existed and is no more, like a pool process the OOM killer took
    RenderJob.objects.filter(pk=job.pk).update(claimed_by=f"{socket.gethostname()}:{gone.pid}")
    work = claims.do_start_job(job.pk)  # the heartbeat is fresh, but its process is gone
    assert work.attempt == 2 and RenderJob.objects.get(pk=job.pk).lost_workers == 1
    RenderJob.objects.filter(pk=job.pk).update(claimed_by="another-host:1")
    assert isinstance(claims.do_start_job(job.pk), claims.JobBusy)  # elsewhere: wait for its heartbeat


def test_healable_errors_retry_within_the_window_then_the_sweeper_starts_again(make_exhibit, settings,
                                                                                django_capture_on_commit_callbacks):
    settings.RENDER_HEAL_WINDOW_SECONDS = 1800
    exhibit = make_exhibit(script=TEXT)
    job = job_of(exhibit)
    claims.do_start_job(job.pk)
    assert claims.do_retry_job(job.pk, "PermissionError: media", countdown=40)
    job.refresh_from_db()
    assert job.state == State.QUEUED and job.heal_until > timezone.now() + timedelta(seconds=1700)
    assert job.sent_at > timezone.now() + timedelta(seconds=35)  # due when the countdown ends
    assert swept(django_capture_on_commit_callbacks) == set()  # the retry is on its way

    claims.do_start_job(job.pk)
    RenderJob.objects.filter(pk=job.pk).update(heal_until=ago(1))  # the window is over
    assert not claims.do_retry_job(job.pk, "PermissionError: media", countdown=40)
    job.refresh_from_db()
    assert job.state == State.FAILED and job.healable and "sweeper will retry" in job.error
    narration = Narration.objects.with_render_state().get(exhibit=exhibit)
    assert narration.render_state == RenderState.FAILED and narration.latest_job_healable
    fresh = swept(django_capture_on_commit_callbacks)
    assert len(fresh) == 1 and fresh != {job.pk}  # a new job for the same version
    assert RenderJob.objects.get(pk=fresh.pop()).state == State.QUEUED


def test_permanent_failures_stay_failed_unless_asked(make_exhibit, django_capture_on_commit_callbacks):
    exhibit = make_exhibit(script=TEXT)
    claims.do_fail_job(job_of(exhibit).pk, "第1行第1列: 坏的标记")
    with django_capture_on_commit_callbacks():
        report = services.do_sweep_stale()
    assert report.jobs == [] and report.skipped_failed == 1
    assert swept(django_capture_on_commit_callbacks, retry_failed=True)


def test_script_length_limit_names_both_numbers_and_stores_nothing(make_exhibit, settings):
    settings.NARRATION_MAX_CHARS = 50
    exhibit = make_exhibit(script=TEXT)
    with pytest.raises(services.ScriptTooLong) as raised:
        services.do_save_narration(exhibit, "长" * 51)
    assert "51" in str(raised.value) and "50" in str(raised.value)
    assert Narration.objects.get(exhibit=exhibit).script == TEXT


def test_time_limit_scales_with_length(settings):
    settings.RENDER_TIME_LIMIT_BASE_SECONDS, settings.RENDER_TIME_LIMIT_MS_PER_CHAR = 120, 100
    assert services.render_time_limits(0) == (120, 180)
    assert services.render_time_limits(20000) == (2120, 2180)
