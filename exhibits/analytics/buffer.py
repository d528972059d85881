"""Beacons wait in Redis and reach PostgreSQL in batches.

Storing each beacon with its own INSERT costs a beacon several database round trips and a
commit; under load that, not Python, limits the web workers. So the endpoint makes one Redis
call per beacon (a script that counts it against the client's rate limit and, if allowed,
appends it to a list), and whoever finds the list FLUSH_AT long (the endpoint itself), and the
roll-up task before every run, moves it into ``ListeningEvent`` rows in one INSERT per batch.
Without Redis (the file-queue demo) the rate limit uses the Django cache and each beacon is
written at once. A Redis that loses its data loses at most the beacons not yet flushed.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone

from exhibits.analytics.actions import do_record_listening_event
from exhibits.analytics.beacon import Beacon, Event
from exhibits.api.throttling import WINDOW_SECONDS, hit
from exhibits.render.redis_conn import redis_client

QUEUE = "listening:buffer"
FLUSH_AT = 100  # beacons
BATCH = 2000
_COUNT_AND_PUSH = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
if n > tonumber(ARGV[2]) then return -1 end
return redis.call('RPUSH', KEYS[2], ARGV[3])
"""
_scripts: dict[int, object] = {}


def _encode(beacon: Beacon, exhibit_id: int, now: float) -> str:
    events = [[e.seq, e.kind, e.position, e.sentence, e.listened] for e in beacon.events]
    return json.dumps([beacon.listen, exhibit_id, beacon.rendition_id, now, events], separators=(",", ":"))


def _decode(raw: bytes):
    listen, exhibit_id, rendition_id, at, events = json.loads(raw)
    beacon = Beacon(listen, 0, rendition_id, tuple(Event(*e) for e in events))
    return beacon, exhibit_id, datetime.fromtimestamp(at, tz=timezone.utc)


def accept(bucket: str, limit: int, beacon: Beacon, exhibit_id: int, now: float) -> bool:
    """Count the beacon against ``bucket``; store (or queue) it if within ``limit``. False: over."""
    client = redis_client()
    if client is None:
        if hit(bucket, now)[0] > limit:
            return False
        do_record_listening_event([(beacon, exhibit_id, datetime.fromtimestamp(now, tz=timezone.utc))])
        return True
    script = _scripts.get(id(client))
    if script is None:
        script = _scripts[id(client)] = client.register_script(_COUNT_AND_PUSH)
    window = int(now // WINDOW_SECONDS)
    length = script(keys=[f"{bucket}:{window}", QUEUE], args=[WINDOW_SECONDS + 5, limit, _encode(beacon, exhibit_id, now)])
    if length < 0:
        return False
    if length >= FLUSH_AT:
        flush()
    return True


def flush(max_batches: int | None = None) -> int:
    """Move queued beacons into the database; returns how many beacons were moved."""
    client = redis_client()
    moved, batches = 0, 0
    while client is not None and (max_batches is None or batches < max_batches):
        raw = client.lpop(QUEUE, BATCH)
        if not raw:
            break
        do_record_listening_event(_decode(item) for item in raw)
        moved, batches = moved + len(raw), batches + 1
    return moved


def queued() -> int:
    client = redis_client()
    return int(client.llen(QUEUE)) if client is not None else 0


