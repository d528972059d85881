"""How much synchronous speech the render workers can finish within one wait.

A synchronous /api/tts call is only worth admitting if a worker will have rendered it before the
caller's wait (API_SYNC_TIMEOUT_SECONDS) runs out. Counting waits is not enough: one 1,200
character text is minutes of audio, and two of them queued on one worker process finish the
second long after its caller gave up (and the worker then renders for nobody). So each wait is
admitted with an estimate of its render time, and ``exhibits.api.relay`` refuses a wait at once
(503 + Retry-After) when the renders already admitted, spread over the workers' slots, plus this
one would not end within ADMIT_WITHIN of the wait.

The estimate is the text's length times the seconds per character the workers measured on their
recent renders (``record_render``, a decaying average kept in Redis, so it follows the machine's
load); the slots are what the live workers of the queue said in their heartbeats.
"""
from __future__ import annotations

from django.conf import settings

from exhibits.api.memo import Memo
from exhibits.ops import heartbeat
from exhibits.render.redis_conn import redis_client

SPEED_PREFIX = "api:tts:speed:"  # + engine name: hash of decayed sums {seconds, chars}
# Admit while the expected finish is within this share of the wait: the speed is an average of
# past renders, the rest of the wait absorbs its error (and the web tier's own work).
ADMIT_WITHIN = 0.75
# Until a worker has measured anything: about what a loaded 2-core host manages (RTF ~0.06).
DEFAULT_SECONDS_PER_CHAR = 0.01
# Each new render weighs as much as all the older ones times (1 - DECAY) / DECAY, by characters.
DECAY = 0.8
SLOTS_CACHE_SECONDS = 5  # heartbeats come every 10 s; no need to scan Redis on every call

_RECORD = """
local seconds = tonumber(redis.call('HGET', KEYS[1], 'seconds') or '0') * ARGV[3] + ARGV[1]
local chars = tonumber(redis.call('HGET', KEYS[1], 'chars') or '0') * ARGV[3] + ARGV[2]
redis.call('HSET', KEYS[1], 'seconds', seconds, 'chars', chars)
return 1
"""

_slots = Memo(size=8)


def speed_key(engine: str | None = None) -> str:
    return f"{SPEED_PREFIX}{engine or settings.SYNTHESIS_ENGINE}"


def record_render(seconds: float, chars: int, engine: str | None = None) -> None:
    """A worker rendered ``chars`` characters (nothing cached) in ``seconds`` of wall time."""
    client = redis_client()
    if client is None or chars <= 0:
        return
    client.eval(_RECORD, 1, speed_key(engine), float(seconds), int(chars), DECAY)


def seconds_per_char(engine: str | None = None) -> float:
    seconds, chars = redis_client().hmget(speed_key(engine), "seconds", "chars")
    if not chars or float(chars) <= 0:
        return DEFAULT_SECONDS_PER_CHAR
    return float(seconds) / float(chars)


def estimate_seconds(text: str) -> float:
    return len(text) * seconds_per_char()


def render_slots(queue: str) -> int:
    """Tasks the live workers of ``queue`` run at once; 1 when none beat (the wait then tells)."""
    return _slots.get_or_compute(queue, lambda: heartbeat.slots_for(queue), ttl=SLOTS_CACHE_SECONDS) or 1


def budget_seconds() -> float:
    return ADMIT_WITHIN * settings.API_SYNC_TIMEOUT_SECONDS
