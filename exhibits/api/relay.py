"""Synchronous /api/tts through the render worker, so web processes never load the voice.

The web process validates the request (front end only), sends ``exhibits.tts_for_web`` to the
render queue with a private Redis list to answer on, and waits on that list (BLPOP) for at most
API_SYNC_TIMEOUT_SECONDS. No answer in time - no worker running, or all busy - is a 503 with
Retry-After, never a hang or a 500; the message expires with the wait, so a worker that starts
later does not render for a client that has gone.

A waiting request holds a web thread, so waits are capped (per key, across all web processes,
and per process) well below the thread count: visitor pages always find a free thread. A wait is
also refused when the renders already admitted would keep the workers busy past it
(``exhibits.api.admission``): an admitted call gets its answer, the others are told at once.
Beyond a cap the answer is 429 (this key) or 503 (everyone) with Retry-After. The caps live in
Redis as sorted sets of wait ids (with their estimated render seconds) scored by their deadline,
so a web process that dies mid-wait frees its slot when the deadline passes.
"""
from __future__ import annotations

import json
import math
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from exhibits.api import admission
from exhibits.api.errors import ApiError
from exhibits.render.redis_conn import redis_client
from exhibits.render.voice_version import known_model_version, model_version_key  # noqa: F401 - the views' and tests' way in

TASK = "exhibits.tts_for_web"
REPLY_PREFIX = "api:tts:reply:"
WAITS_TOTAL = "api:tts:waits"
WAITS_KEY = "api:tts:waits:key:"
REPLY_TTL_SECONDS = 60  # an answer nobody collects (the wait timed out) expires

# KEYS: per-key set, total set. ARGV: now, deadline, member ("<wait id>|<estimated seconds>"),
# per-key cap, total cap, render slots, seconds the render must end within, own estimate.
# {0} = slot taken, {1} = this key is at its cap, {2} = every slot is taken, {3, seconds} = the
# admitted renders would make this one end too late (seconds: their backlog per slot).
_TAKE_SLOT = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then return {1} end
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[5]) then return {2} end
local backlog = 0
for _, member in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  backlog = backlog + (tonumber(string.match(member, '|([0-9.]+)$')) or 0)
end
backlog = backlog / tonumber(ARGV[6])
-- With nothing admitted a call always gets its chance, however long: it also renews the speed.
if backlog > 0 and backlog + tonumber(ARGV[8]) > tonumber(ARGV[7]) then return {3, tostring(backlog)} end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
redis.call('EXPIRE', KEYS[1], math.ceil(ARGV[2] - ARGV[1]) + 60)
redis.call('EXPIRE', KEYS[2], math.ceil(ARGV[2] - ARGV[1]) + 60)
return {0}
"""

_local_waits: threading.BoundedSemaphore | None = None
_local_lock = threading.Lock()


def enabled() -> bool:
    """Through the worker when configured and Redis carries the answers (the file-queue demo,
    without Redis, renders in the web process as before)."""
    return bool(getattr(settings, "API_TTS_IN_WORKER", False)) and redis_client() is not None


@dataclass(frozen=True)
class RelayedRendering:
    """What the views need of a ``synthesis.pipeline.Rendering``, rebuilt from the worker's answer."""

    cache_key: str
    paths: dict[str, Path]
    duration: float
    sample_rate: int
    transcript: str
    timings: list
    warnings: list
    cached: bool


def rendering_fields(rendering) -> dict:
    """The worker's answer: JSON, paths relative to MEDIA_ROOT (both sides share the media volume)."""
    root = Path(settings.MEDIA_ROOT)
    return {
        "cache_key": rendering.cache_key,
        "paths": {fmt: str(Path(p).relative_to(root)) for fmt, p in rendering.paths.items()},
        "duration": rendering.duration,
        "sample_rate": rendering.sample_rate,
        "transcript": rendering.transcript,
        "timings": rendering.timings,
        "warnings": list(rendering.warnings),
        "cached": rendering.cached,
    }


def reply(reply_key: str, payload: dict) -> None:
    client = redis_client()
    with client.pipeline(transaction=False) as pipe:
        pipe.rpush(reply_key, json.dumps(payload, ensure_ascii=False))
        pipe.expire(reply_key, REPLY_TTL_SECONDS)
        pipe.execute()


def _busy(code: str, message: str, status: int, retry_after: float = 0) -> ApiError:
    seconds = max(settings.API_SYNC_RETRY_AFTER_SECONDS, math.ceil(retry_after))
    return ApiError(code, message, status, headers={"Retry-After": str(seconds)})


def _local_slots() -> threading.BoundedSemaphore:
    global _local_waits
    with _local_lock:
        if _local_waits is None:
            _local_waits = threading.BoundedSemaphore(max(1, settings.API_SYNC_MAX_WAITS_PER_PROCESS))
        return _local_waits


def render_in_worker(params: dict, api_key_prefix: str) -> RelayedRendering:
    from celery import current_app

    from guide_site.celery import queue_for_engine

    timeout = settings.API_SYNC_TIMEOUT_SECONDS
    local = _local_slots()
    if not local.acquire(blocking=False):
        raise _busy("server_busy", "too many synchronous requests are waiting here; retry shortly or use /api/tts/async", 503)
    queue = queue_for_engine(settings.SYNTHESIS_ENGINE)
    estimate = admission.estimate_seconds(params["text"])
    member = f"{secrets.token_hex(8)}|{estimate:.3f}"
    per_key = f"{WAITS_KEY}{api_key_prefix}"
    client = redis_client(timeout=timeout + 5)  # BLPOP blocks for up to the whole wait
    try:
        now = time.time()
        taken, *backlog = client.eval(_TAKE_SLOT, 2, per_key, WAITS_TOTAL, now, now + timeout + 5, member,
                                      settings.API_SYNC_MAX_WAITS_PER_KEY, settings.API_SYNC_MAX_WAITS,
                                      admission.render_slots(queue), admission.budget_seconds(), estimate)
        if taken == 1:
            raise _busy("too_many_waits", "this key already has the most synchronous requests waiting; "
                        "retry shortly or use /api/tts/async", 429)
        if taken == 2:
            raise _busy("server_busy", "too many synchronous requests are waiting; retry shortly or use /api/tts/async", 503)
        if taken == 3:
            raise _busy("server_busy", f"the render workers cannot finish this within {timeout} s after the "
                        "synchronous requests already waiting; retry shortly or use /api/tts/async", 503, float(backlog[0]))
        try:
            reply_key = f"{REPLY_PREFIX}{member.partition('|')[0]}"
            try:
                current_app.send_task(TASK, args=(params, reply_key), queue=queue, expires=timeout)
            except Exception as exc:  # noqa: BLE001 - broker down: the same answer as no worker
                raise _busy("worker_unavailable", f"the render queue is unreachable ({exc.__class__.__name__})", 503) from exc
            answer = client.blpop([reply_key], timeout=timeout)
        finally:
            with client.pipeline(transaction=False) as pipe:
                pipe.zrem(per_key, member)
                pipe.zrem(WAITS_TOTAL, member)
                pipe.execute()
    finally:
        local.release()
    if answer is None:
        raise _busy("worker_unavailable", f"no render worker answered within {timeout} s; retry shortly or use /api/tts/async", 503)
    payload = json.loads(answer[1])
    if "error" in payload:
        raise ApiError(payload["error"], payload["detail"], payload["status"])
    fields = payload["ok"]
    root = Path(settings.MEDIA_ROOT)
    return RelayedRendering(**{**fields, "paths": {fmt: root / rel for fmt, rel in fields["paths"].items()}})
