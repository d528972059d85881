"""Celery tasks of the speech API: asynchronous TTS and the media cleanup on the beat schedule.

Messages carry ids only (JSON); the state lives in SpeechTask rows, so a task redelivered after
a worker died simply picks its row up again.
"""
from __future__ import annotations

import logging
import time

from django.core.management import call_command
from django.db.models import Q
from django.utils import timezone

from guide_site.celery import app

log = logging.getLogger(__name__)


def enqueue_speech_task(task_id) -> None:
    synthesize_speech.delay(str(task_id))


@app.task(name="exhibits.synthesize_speech")
def synthesize_speech(task_id: str) -> None:
    from exhibits.api import speech
    from exhibits.api.errors import ApiError
    from exhibits.models import SpeechTask
    from exhibits.models.api import result_ttl

    State = SpeechTask.State
    now = timezone.now()
    # Claim atomically; RUNNING is claimable too (its worker died and the message came back).
    claimed = SpeechTask.objects.filter(Q(state=State.QUEUED) | Q(state=State.RUNNING), pk=task_id).update(
        state=State.RUNNING, started_at=now, progress=0.1
    )
    if not claimed:
        log.info("speech task %s: unknown or already finished", task_id)
        return
    task = SpeechTask.objects.get(pk=task_id)
    params = task.params
    try:
        config = speech.render_config(params)
        rendering = timed_synthesis(params["text"], config)
    except ApiError as exc:  # the request was valid when queued; the lexicon or engine changed since
        _finish(task_id, state=State.FAILED, error=_message(exc.payload))
        return
    except Exception:
        log.exception("speech task %s failed", task_id)
        _finish(task_id, state=State.FAILED, error="internal error while synthesising; it has been logged")
        return
    done = timezone.now()
    _finish(
        task_id,
        state=State.READY,
        cache_key=rendering.cache_key,
        audio_path=speech.media_path(rendering, params["format"]),
        duration=rendering.duration,
        cache_hit=rendering.cached,
        expires_at=done + result_ttl(),
    )


@app.task(name="exhibits.tts_for_web", acks_late=False, ignore_result=True)
def tts_for_web(params: dict, reply_key: str) -> None:
    """A synchronous /api/tts request rendered here and answered on ``reply_key`` (see
    ``exhibits.api.relay``). Not acked late: a redelivered copy would find nobody waiting."""
    from exhibits.api import relay, speech
    from exhibits.api.errors import ApiError
    from exhibits.render.voice_version import publish_model_version

    try:
        config = speech.render_config(params)
        publish_model_version(speech.engine())
        speech.check_voice(params.get("voice", ""), params.get("emotion", "neutral"))
        rendering = timed_synthesis(params["text"], config)
        payload = {"ok": relay.rendering_fields(rendering)}
    except ApiError as exc:
        payload = {"error": exc.error_code, "detail": exc.payload, "status": exc.status_code}
    except Exception:
        log.exception("synchronous speech request failed")
        payload = {"error": "server_error", "detail": "internal error while synthesising; it has been logged", "status": 500}
    relay.reply(reply_key, payload)


def timed_synthesis(text: str, config):
    """The front end and ``render_and_mark_used``, their time told to the web tier, which admits
    synchronous waits by it (``exhibits.api.admission``)."""
    from exhibits.api import admission, speech
    from exhibits.render.lock import render_and_mark_used

    started = time.monotonic()
    rendering = render_and_mark_used(text, config, speech.check_script(text, config))
    if not rendering.cached:
        try:
            admission.record_render(time.monotonic() - started, len(text), config.engine)
        except Exception:  # Redis hiccup: the estimate just stays as it was
            log.warning("could not record the render speed", exc_info=True)
    return rendering


def _finish(task_id: str, **fields) -> None:
    from exhibits.models import SpeechTask

    SpeechTask.objects.filter(pk=task_id).update(progress=1.0, finished_at=timezone.now(), **fields)


def _message(payload) -> str:
    return (payload.get("text") or str(payload)) if isinstance(payload, dict) else str(payload)


@app.task(name="exhibits.cleanup_media")
def cleanup_media() -> None:
    call_command("cleanup_media")
