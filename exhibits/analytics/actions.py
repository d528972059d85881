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
    rows = [
        ListeningEvent(listen=beacon.listen, seq=e.seq, exhibit_id=exhibit_id, rendition_id=beacon.rendition_id,
                       kind=e.kind, position=e.position, sentence=e.sentence, listened=e.listened, received_at=at)
        for beacon, exhibit_id, at in received if exhibit_id in exists for e in beacon.events
    ]
    if not rows:
        return
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # Do not wait for the WAL flush: a crash may lose the last fraction of a second of
            # listening statistics, which is worth the beacon costing no disk sync.
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
        # ON CONFLICT DO NOTHING on (listen, seq): a resent beacon is a no-op.
        ListeningEvent.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000)
