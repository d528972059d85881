"""Beacons wait in Redis and reach PostgreSQL in batches, off the request path.

Storing each beacon with its own INSERT costs a beacon several database round trips and a
commit; under load that, not Python, limits the web workers. So the endpoint makes one Redis
call per beacon: a script that counts it against the client's rate limit and, if allowed,
appends it to a list. A web request never writes the batch itself: a thread doing a 100-row
INSERT is a thread the visitor pages queue behind (it took page p99 from a few ms to hundreds).
Instead, the script that finds the list FLUSH_AT long also sets a "flush pending" mark (SET NX,
in the same call) and the one request that set it sends ``exhibits.flush_listening_buffer`` to
a Celery worker, which moves the list into ``ListeningEvent`` rows in one INSERT per batch. The
worker clears the mark when it starts, so at most one flush message waits at a time; the mark
expires after FLUSH_PENDING_SECONDS so a message lost on the way is asked for again. Celery beat
also runs the flush every LISTENING_FLUSH_SECONDS (a quiet museum whose list never reaches
FLUSH_AT), and the roll-up flushes before every run.

With no worker running the list is bounded: past LISTENING_QUEUE_MAX beacons the script refuses
new ones (the endpoint answers 503) and keeps what is queued, so what is lost is the listening
of visitors who came while the queue was full, never what was already accepted. Without Redis
(the file-queue demo) the rate limit uses the Django cache and each beacon is written at once.
A Redis that loses its data loses at most the beacons not yet flushed.
"""
from __future__ import annotations

import enum
import json
import logging
from datetime import datetime, timezone

from celery import current_app
from django.conf import settings

from exhibits.analytics.actions import do_record_listening_event
from exhibits.analytics.beacon import Beacon, Event
from exhibits.api.throttling import WINDOW_SECONDS, hit
from exhibits.render.redis_conn import redis_client

log = logging.getLogger(__name__)
QUEUE = "listening:buffer"
FLUSH_PENDING = "listening:flush-pending"
FLUSH_PENDING_SECONDS = 60  # a flush message lost on the way is asked for again after this
# Sent by name: tasks.py imports the roll-up, which imports this module.
FLUSH_TASK = "exhibits.flush_listening_buffer"
FLUSH_AT = 500  # beacons: one flush a second at 500 beacons/s; a flush has a fixed cost (task, connection, transaction)
BATCH = 2000


class Accepted(enum.Enum):
    QUEUED = "queued"  # or stored at once, without Redis
    OVER_LIMIT = "over limit"
    QUEUE_FULL = "queue full"


# Returns -1 over the rate limit, -2 queue full (not counted), 2 queued and the caller must send
# the flush task (this call set the pending mark), 1 queued.
_COUNT_AND_PUSH = """
if redis.call('LLEN', KEYS[2]) >= tonumber(ARGV[4]) then return -2 end
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
if n > tonumber(ARGV[2]) then return -1 end
local length = redis.call('RPUSH', KEYS[2], ARGV[3])
if length >= tonumber(ARGV[5]) and redis.call('SET', KEYS[3], '1', 'NX', 'EX', ARGV[6]) then return 2 end
return 1
"""
_scripts: dict[int, object] = {}


def _encode(beacon: Beacon, exhibit_id: int, now: float) -> str:
    events = [[e.seq, e.kind, e.position, e.sentence, e.listened] for e in beacon.events]
    return json.dumps([beacon.listen, exhibit_id, beacon.rendition_id, now, events], separators=(",", ":"))


def _decode(raw: bytes):
    listen, exhibit_id, rendition_id, at, events = json.loads(raw)
    beacon = Beacon(listen, 0, rendition_id, tuple(Event(*e) for e in events))
    return beacon, exhibit_id, datetime.fromtimestamp(at, tz=timezone.utc)


def accept(bucket: str, limit: int, beacon: Beacon, exhibit_id: int, now: float) -> Accepted:
    """Count the beacon against ``bucket``; queue it (store it, without Redis) if within ``limit``
    and the queue has room. Never writes to the database when Redis is there."""
    client = redis_client()
    if client is None:
        if hit(bucket, now)[0] > limit:
            return Accepted.OVER_LIMIT
        do_record_listening_event([(beacon, exhibit_id, datetime.fromtimestamp(now, tz=timezone.utc))])
        return Accepted.QUEUED
    script = _scripts.get(id(client))
    if script is None:
        script = _scripts[id(client)] = client.register_script(_COUNT_AND_PUSH)
    window = int(now // WINDOW_SECONDS)
    outcome = script(keys=[f"{bucket}:{window}", QUEUE, FLUSH_PENDING],
                     args=[WINDOW_SECONDS + 5, limit, _encode(beacon, exhibit_id, now), settings.LISTENING_QUEUE_MAX,
                           FLUSH_AT, FLUSH_PENDING_SECONDS])
    if outcome == -1:
        return Accepted.OVER_LIMIT
    if outcome == -2:
        return Accepted.QUEUE_FULL
    if outcome == 2:
        _send_flush()
    return Accepted.QUEUED


def _send_flush() -> None:
    try:
        current_app.send_task(FLUSH_TASK)
    except Exception:  # the beacon is queued; the mark expires and a later beacon asks again, beat flushes too
        log.warning("could not send %s to the broker", FLUSH_TASK, exc_info=True)


def flush_pending() -> int:
    """The flush task's body: clear the pending mark first (beacons arriving during this flush
    may ask for the next one), then move the queue; returns how many beacons were moved."""
    client = redis_client()
    if client is not None:
        client.delete(FLUSH_PENDING)
    return flush()


def flush() -> int:
    """Move queued beacons into the database; returns how many beacons were moved. Stops at a
    short batch (the queue was empty then), so beacons arriving meanwhile cannot keep it going."""
    client = redis_client()
    moved = 0
    while client is not None:
        raw = client.lpop(QUEUE, BATCH)
        if not raw:
            break
        do_record_listening_event(_decode(item) for item in raw)
        moved += len(raw)
        if len(raw) < BATCH:
            break
    return moved


def queued() -> int:
    client = redis_client()
    return int(client.llen(QUEUE)) if client is not None else 0
