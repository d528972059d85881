"""The worker side of a render job: claim, heartbeat, publish, fail, retry (``do_*`` actions).

The same rules as ``exhibits.services`` (each action in ``transaction.atomic``, the narration
row locked before its jobs); ``exhibits.render.job`` calls these around the speech library. They
live beside the render jobs because only a worker calls them; the curator-facing actions that
create and send jobs stay in ``exhibits.services``.
"""
from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from exhibits.models import Narration, RenderJob, Rendition

State = RenderJob.State


@dataclass(frozen=True)
class JobWork:
    """A claimed job: the text to render, snapshotted under the lock with its version."""

    job_id: int
    narration_id: int
    version: int
    script: str
    voice: str
    emotion: str
    attempt: int


@dataclass(frozen=True)
class JobBusy:
    """Another worker is rendering the job (its heartbeat is fresh): look again in ``seconds``."""

    seconds: float


def _lock_job(job_id: int) -> tuple[Narration, RenderJob] | None:
    """Lock narration then job (the order every action uses); None if either is gone."""
    narration_id = RenderJob.objects.filter(pk=job_id).values_list("narration_id", flat=True).first()
    if narration_id is None:
        return None
    narration = Narration.objects.select_for_update().filter(pk=narration_id).first()
    job = RenderJob.objects.select_for_update().filter(pk=job_id).first()
    return (narration, job) if narration is not None and job is not None else None


def _close(job: RenderJob, state: str, error: str = "", **fields) -> None:
    job.state, job.error, job.finished_at = state, error, timezone.now()
    for name, value in fields.items():
        setattr(job, name, value)
    job.save()


@transaction.atomic
def do_start_job(job_id: int) -> JobWork | JobBusy | None:
    """Claim a job for rendering. Idempotent: None when there is nothing to do (finished, edited
    since, its workers keep dying), JobBusy while another worker's heartbeat says it renders it."""
    locked = _lock_job(job_id)
    if locked is None:
        return None
    narration, job = locked
    now = timezone.now()
    if job.state in RenderJob.DONE_STATES:
        return None
    if job.version != narration.version:
        _close(job, State.SUPERSEDED)
        return None
    if job.state == State.RENDERING:
        if job.heartbeat_is_fresh(now) and not job.claimer_is_gone():
            beat = job.heartbeat_at or job.started_at
            stale_at = beat + timedelta(seconds=settings.RENDER_RUNNING_STALE_SECONDS)
            return JobBusy(max(1.0, (stale_at - now).total_seconds() + 1))
        job.lost_workers += 1  # its worker was killed mid-render
        if job.lost_workers >= settings.RENDER_MAX_ATTEMPTS:
            # e.g. a render that keeps killing its worker (memory): stop redelivering it.
            last = f" 最后的错误 last error: {job.error}" if job.error else ""
            _close(job, State.FAILED, f"放弃：工作进程已中断 {job.lost_workers} 次 / gave up: its worker died "
                                      f"{job.lost_workers} times.{last}")
            return None
    job.state, job.attempts, job.started_at, job.heartbeat_at = State.RENDERING, job.attempts + 1, now, now
    job.claimed_by = f"{socket.gethostname()}:{os.getpid()}"
    job.save()
    return JobWork(job.pk, narration.pk, job.version, narration.script, narration.voice, narration.emotion, job.attempts)


def do_heartbeat(job_id: int) -> bool:
    """The worker rendering ``job_id`` is alive; False once the job is no longer rendering."""
    return RenderJob.objects.filter(pk=job_id, state=State.RENDERING).update(heartbeat_at=timezone.now()) > 0


@transaction.atomic
def do_finish_job(job_id: int, rendition_fields: dict, reused: bool) -> str | None:
    """Record the audio and publish it if the job's version is still current; the final state.

    The Rendition row is kept even for a superseded job: its files are complete and the next
    identical text reuses them.
    """
    locked = _lock_job(job_id)
    if locked is None:
        return None
    narration, job = locked
    fields = dict(rendition_fields)
    rendition, created = Rendition.objects.get_or_create(cache_key=fields.pop("cache_key"), defaults=fields)
    if not created and not reused:  # files were missing and have been re-rendered at the same paths
        Rendition.objects.filter(pk=rendition.pk).update(**fields)
    if job.state in RenderJob.DONE_STATES:  # a duplicate delivery finished first, or superseded on save
        return job.state
    if job.version != narration.version:
        _close(job, State.SUPERSEDED, rendition=rendition, reused=reused)
        return job.state
    narration.rendition, narration.rendition_version = rendition, job.version
    narration.save(update_fields=["rendition", "rendition_version"])
    _close(job, State.READY, rendition=rendition, reused=reused, healable=False)
    return job.state


def do_count_job_units(job_id: int, units: int) -> None:
    """How many sentences the claimed job renders (the studio's progress bar counts against it)."""
    RenderJob.objects.filter(pk=job_id).update(units_total=units)


@transaction.atomic
def do_fail_job(job_id: int, message: str, healable: bool = False) -> None:
    """``healable``: the sweeper queues the version again by itself (see do_retry_job)."""
    locked = _lock_job(job_id)
    if locked is not None and locked[1].state not in RenderJob.DONE_STATES:
        _close(locked[1], State.FAILED, message[:2000], healable=healable)


@transaction.atomic
def do_retry_job(job_id: int, message: str, countdown: float) -> bool:
    """A healable error: back to queued, due again in ``countdown`` seconds (the caller schedules
    the retry). The first such error opens a heal window of RENDER_HEAL_WINDOW_SECONDS; once it
    is over the job fails as healable and False is returned (do not retry): the sweeper will
    queue the version again, so a disk full for hours still ends in audio."""
    locked = _lock_job(job_id)
    if locked is None or locked[1].state != State.RENDERING:
        return False
    job, now = locked[1], timezone.now()
    job.heal_until = job.heal_until or now + timedelta(seconds=settings.RENDER_HEAL_WINDOW_SECONDS)
    if now + timedelta(seconds=countdown) > job.heal_until:
        _close(job, State.FAILED, f"暂时性错误持续过久，稍后自动重试 / still failing after the heal window, "
                                  f"the sweeper will retry: {message}"[:2000], healable=True)
        return False
    # sent_at = when the retry is due: the sweeper counts "not claimed in time" from then.
    job.state, job.error, job.sent_at = State.QUEUED, message[:2000], now + timedelta(seconds=countdown)
    job.save()
    return True
