"""Celery tasks of the narration pipeline. Messages carry job ids only; state lives in RenderJob.

Delivery is at-least-once (acks_late + reject_on_worker_lost): a worker killed mid-render gets
its message redelivered, and ``exhibits.render.job.run_job`` is safe to run again for the same job
(a finished job ignores it, files are written atomically, publishing re-checks the version).
"""
from __future__ import annotations

import logging
import random

from celery import Task, shared_task
from celery.signals import worker_process_init
from django.conf import settings

from exhibits import services
from exhibits.render import claims
from exhibits.render import job as render_job

log = logging.getLogger(__name__)


@worker_process_init.connect
def load_voice(**_kwargs) -> None:
    """Load the voice once per pool process, before the first job, not inside it (~3 s)."""
    from synthesis.engines import EngineUnavailable, get_engine

    from exhibits.render.voice_version import publish_model_version

    try:
        publish_model_version(get_engine(settings.SYNTHESIS_ENGINE))
    except EngineUnavailable as exc:  # jobs will fail with this message; the worker stays up
        log.error("speech engine %s unavailable: %s", settings.SYNTHESIS_ENGINE, exc)


def retry_countdown(retries: int) -> float:
    """5, 10, 20, 40 … s, at most RENDER_RETRY_BACKOFF_MAX_SECONDS, with up to 20% jitter so
    jobs that failed together (a full disk) do not all come back in the same second."""
    base = min(settings.RENDER_RETRY_BACKOFF_MAX_SECONDS, settings.RENDER_RETRY_BACKOFF_SECONDS * 2 ** min(retries, 20))
    return base * (1 - random.random() * 0.2)


class RenderTask(Task):
    def on_failure(self, exc, task_id, args, kwargs, einfo):
        # What run_job did not handle itself (e.g. the broker was down when the retry was to be
        # scheduled): fail the job, as healable if it is; the sweeper gives it a new job then.
        if isinstance(exc, render_job.Busy):
            return  # another worker is rendering the job; the sweeper watches its heartbeat
        claims.do_fail_job(args[0], render_job.describe_error(exc), healable=isinstance(exc, render_job.HEALABLE))


@shared_task(
    bind=True,
    base=RenderTask,
    name=services.RENDER_TASK,  # "exhibits.render_narration": services sends jobs by this name
    max_retries=None,  # bounded by time instead: RENDER_HEAL_WINDOW_SECONDS (claims.do_retry_job)
    acks_late=True,
    reject_on_worker_lost=True,
)
def render_narration(self, job_id: int) -> str:
    try:
        return render_job.run_job(job_id)
    except render_job.Busy as busy:
        # A duplicate message while another worker renders the job: come back when that
        # worker's heartbeat would have gone stale (then this delivery takes the job over).
        raise self.retry(countdown=busy.seconds, exc=busy) from None
    except render_job.HEALABLE as exc:
        countdown = retry_countdown(self.request.retries)
        message = f"第{self.request.retries + 1}次尝试出错，稍后重试 / retrying: {render_job.describe_error(exc)}"
        if claims.do_retry_job(job_id, message, countdown):
            raise self.retry(countdown=countdown, exc=exc) from None
        log.warning("render job %s: healable error past its heal window: %s", job_id, exc)
        return render_job.FAILED


@shared_task(name="exhibits.sweep_stale_renders", acks_late=False, time_limit=120, soft_time_limit=100)
def sweep_stale_renders() -> int:
    """Beat, every SWEEP_INTERVAL_SECONDS: re-send lost jobs, render narrations without audio."""
    return len(services.do_sweep_stale().jobs)


@shared_task(name="exhibits.preview_sentence", acks_late=False, time_limit=120, soft_time_limit=100)
def preview_sentence(sentence: str, voice: str, emotion: str, preview_id: str) -> str:
    """The studio's "hear one sentence": the unsaved sentence through the same pipeline and cache
    (audio under MEDIA_ROOT/preview/), then a small answer file the admin page polls for."""
    import dataclasses
    import json
    from pathlib import Path

    from exhibits.render.lock import render_and_mark_used
    from synthesis.pipeline import prepare

    root = Path(settings.MEDIA_ROOT)
    folder = root / "preview"
    config = dataclasses.replace(render_job.render_config(sentence, voice, emotion), out_dir=folder, formats=("mp3",))
    parsed, key = prepare(sentence, config)
    rendering = render_and_mark_used(sentence, config, key, parsed)  # previews are swept by last use
    answer = {"audio": {"url": f"{settings.MEDIA_URL}{rendering.paths['mp3'].relative_to(root)}",
                        "duration": round(rendering.duration, 2)}, "cached": rendering.cached}
    tmp = folder / f".{preview_id}.json.tmp"
    tmp.write_text(json.dumps(answer), encoding="utf-8")
    tmp.replace(folder / f"{preview_id}.json")  # the page polls for this name: write it whole
    return preview_id
