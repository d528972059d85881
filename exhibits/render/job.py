"""Run one render job: claim it, reuse or synthesise the audio, publish it if still current.

Shared by the Celery task (``exhibits.render.tasks``) and in-process bulk rendering
(``render_audio --sync``), so both follow the same rules. Only rows change through
``exhibits.services``; this module adds the speech library calls in between, outside any
transaction (a render takes seconds and must not hold row locks).
"""
from __future__ import annotations

import logging
from contextlib import contextmanager
from pathlib import Path

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import InterfaceError, OperationalError, connection
from kombu.exceptions import OperationalError as KombuOperationalError
from redis.exceptions import ConnectionError as RedisConnectionError, TimeoutError as RedisTimeoutError

from exhibits.models import Rendition
from exhibits.models.narration import lexicon_for_script
from exhibits.render import claims, ticker

log = logging.getLogger(__name__)

# Errors that heal by themselves (database restarting, disk briefly full, unmounted or not
# writable, Redis or the broker away): retry, then let the sweeper try again. Everything else -
# bad markup, unknown voice, an engine that cannot load, the time limit - fails the job with its
# message, because trying again gives the same answer.
HEALABLE = (OperationalError, InterfaceError, OSError, RedisConnectionError, RedisTimeoutError, KombuOperationalError)

RENDERED, REUSED, SKIPPED, FAILED = "rendered", "reused", "skipped", "failed"


class Busy(Exception):
    """Another worker is rendering this job right now; look again after ``seconds``."""

    def __init__(self, seconds: float):
        super().__init__(f"job is being rendered elsewhere; retry in {seconds:.0f} s")
        self.seconds = seconds


def audio_root() -> Path:
    return Path(settings.MEDIA_ROOT) / settings.AUDIO_DIR


def unit_cache_root() -> Path:
    return Path(settings.MEDIA_ROOT) / settings.UNIT_CACHE_DIR


def render_config(script: str, voice: str, emotion: str):
    from synthesis.pipeline import RenderConfig

    return RenderConfig(
        out_dir=audio_root(),
        engine=settings.SYNTHESIS_ENGINE,
        voice=voice or settings.SYNTHESIS_VOICE,
        emotion=emotion,
        sample_rate=settings.AUDIO_SAMPLE_RATE,
        lexicon=lexicon_for_script(script),
        unit_cache_dir=unit_cache_root(),
    )


def files_exist(rendition: Rendition) -> bool:
    root = Path(settings.MEDIA_ROOT)
    return bool(rendition.files) and all((root / name).is_file() for name in rendition.files)


def run_job(job_id: int) -> str:
    """RENDERED / REUSED / SKIPPED (nothing to do, or superseded) / FAILED.

    HEALABLE errors propagate so the caller can retry (the job is left "rendering"; the
    Celery task moves it back to "queued"); so does Busy (another worker has the job).
    """
    work = claims.do_start_job(job_id)
    if work is None:
        return SKIPPED
    if isinstance(work, claims.JobBusy):
        raise Busy(work.seconds)
    try:
        with heartbeat(job_id):
            fields, reused = _produce_audio(work)
    except HEALABLE:
        raise
    except Exception as exc:  # noqa: BLE001 - every other failure is final and told to the curator
        message = describe_error(exc)
        log.warning("render job %s failed: %s", job_id, message, exc_info=not _is_expected(exc))
        claims.do_fail_job(job_id, message)
        return FAILED
    state = claims.do_finish_job(job_id, fields, reused)
    if state != "ready":
        return SKIPPED
    return REUSED if reused else RENDERED


@contextmanager
def heartbeat(job_id: int):
    """Renew the job's heartbeat every RENDER_HEARTBEAT_SECONDS while the body runs. When the
    process dies the beats stop, and the sweeper re-sends the job once the last beat is
    RENDER_RUNNING_STALE_SECONDS old."""
    def beat() -> bool:
        try:
            return claims.do_heartbeat(job_id)  # False: superseded or finished, nothing to keep alive
        except Exception:  # database away for a moment: the next beat may get through
            log.warning("could not renew the heartbeat of render job %s", job_id, exc_info=True)
            return True

    # on_exit closes the beating thread's own database connection: ``connection`` resolves per
    # thread, so it must be looked up inside that thread, not bound here.
    with ticker.every(settings.RENDER_HEARTBEAT_SECONDS, beat, f"render-heartbeat-{job_id}",
                      lambda: connection.close()):
        yield


def run_here(job_id: int) -> str:
    """One job in this process, without Celery (``render_audio --sync`` and its pool processes):
    healable errors fail the job as healable (the sweeper, or a re-run, tries again)."""
    try:
        return run_job(job_id)
    except Busy:
        return SKIPPED  # a worker has it: the bulk command waits for the row, not for us
    except HEALABLE as exc:
        claims.do_fail_job(job_id, describe_error(exc), healable=True)  # the sweeper tries again
        return FAILED


def _produce_audio(work: claims.JobWork) -> tuple[dict, bool]:
    from exhibits.render.lock import render_once
    from synthesis.pipeline import prepare
    from synthesis.prosody import sentences

    config = render_config(work.script, work.voice, work.emotion)
    parsed, key = prepare(work.script, config)  # ScriptError here fails the job
    claims.do_count_job_units(work.job_id, len(sentences(parsed.clauses, config.pauses.comma)))
    existing = Rendition.objects.filter(cache_key=key).first()
    if existing is not None and files_exist(existing):
        fields = {f.name: getattr(existing, f.name) for f in Rendition._meta.concrete_fields if f.name not in ("id", "created_at")}
        return fields, True
    # One synthesis per cache key across workers and hosts; files are written atomically anyway.
    rendering = render_once(work.script, config, key, parsed)
    root = Path(settings.MEDIA_ROOT)
    fields = {
        "cache_key": rendering.cache_key,
        "mp3": str(rendering.paths["mp3"].relative_to(root)) if "mp3" in rendering.paths else "",
        "wav": str(rendering.paths["wav"].relative_to(root)) if "wav" in rendering.paths else "",
        "duration": rendering.duration,
        "sample_rate": rendering.sample_rate,
        "transcript": rendering.transcript,
        "timings": rendering.timings,
        "warnings": rendering.warnings,
        "engine": rendering.engine,
        "model_version": rendering.model_version,
    }
    # Files already on disk without a row (database restored, or another narration raced us).
    return fields, rendering.cached


def _is_expected(exc: Exception) -> bool:
    from synthesis.engines import EngineUnavailable
    from synthesis.markup import ScriptError

    return isinstance(exc, (ScriptError, EngineUnavailable, SoftTimeLimitExceeded, ValueError))


def describe_error(exc: BaseException) -> str:
    """The message a curator reads on the job (the library's messages are already bilingual)."""
    if isinstance(exc, SoftTimeLimitExceeded):
        return "合成超时 / rendering took longer than its time limit (RENDER_TIME_LIMIT_* settings)"
    text = str(exc) or exc.__class__.__name__
    return text if _is_expected(exc) else f"{exc.__class__.__name__}: {text}"
