"""The one write of raw listening events (the visitor site never writes; this is not the visitor site)."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db import connection, transaction

from exhibits.analytics.beacon import Beacon
from exhibits.models.analytics import ListeningEvent
from exhibits.models.catalog import Exhibit

Received = tuple[Beacon, int, datetime]  # a beacon, its exhibit's id, when it arrived


def do_record_listening_event(received: Iterable[Received]) -> None:
    """Store the beacons' events in one statement; a duplicate beacon (same listen and seq) adds nothing."""
    received = list(received)
    # An exhibit deleted while its beacons waited in the queue: those events have nowhere to go.
    exists = set(Exhibit.objects.filter(id__in={r[1] for r in received}).values_list("id", flat=True))
    kept = [(beacon, exhibit_id, at) for beacon, exhibit_id, at in received if exhibit_id in exists]
    if not any(beacon.events for beacon, _, _ in kept):
        return
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # Do not wait for the WAL flush: a crash may lose the last fraction of a second of
            # listening statistics, which is worth the beacon costing no disk sync.
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
                _insert_unnested(cursor, kept)
            return
        # ON CONFLICT DO NOTHING on (listen, seq): a resent beacon is a no-op.
        ListeningEvent.objects.bulk_create([
            ListeningEvent(listen=beacon.listen, seq=e.seq, exhibit_id=exhibit_id, rendition_id=beacon.rendition_id,
                           kind=e.kind, position=e.position, sentence=e.sentence, listened=e.listened, received_at=at)
            for beacon, exhibit_id, at in kept for e in beacon.events
        ], ignore_conflicts=True, batch_size=1000)


_COLUMNS = ("listen", "seq", "exhibit_id", "rendition_id", "kind", "position", "sentence", "listened", "received_at")
_TYPES = ("text", "integer", "bigint", "integer", "text", "double precision", "smallint", "double precision", "timestamptz")


def _insert_unnested(cursor, kept: list[Received]) -> None:
    """One INSERT ... SELECT FROM unnest(column arrays) ON CONFLICT DO NOTHING: the same rows and
    conflict rule as bulk_create, without building a model instance and a placeholder group per
    event (the ORM's share was ~0.2 ms of CPU per event in the worker, and on a 2-core host that
    CPU is taken from the web workers serving pages)."""
    columns: list[list] = [[] for _ in _COLUMNS]
    listen, seq, exhibit, rendition, kind, position, sentence, listened, received_at = columns
    for beacon, exhibit_id, at in kept:
        for e in beacon.events:
            listen.append(beacon.listen)
            seq.append(e.seq)
            exhibit.append(exhibit_id)
            rendition.append(beacon.rendition_id)
            kind.append(e.kind)
            position.append(float(e.position))  # JSON gives 0 or 0.5: one array type
            sentence.append(e.sentence)
            listened.append(float(e.listened))
            received_at.append(at)
    table = ListeningEvent._meta.db_table
    arrays = ", ".join(f"%s::{kind}[]" for kind in _TYPES)
    cursor.execute(
        f"INSERT INTO {table} ({', '.join(_COLUMNS)}, rolled_up) "
        f"SELECT *, false FROM unnest({arrays}) ON CONFLICT (listen, seq) DO NOTHING",
        columns,
    )
