"""The one write of raw listening events (the visitor site never writes; this is not the visitor site)."""
from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from exhibits.analytics.beacon import Beacon
from exhibits.models.analytics import ListeningEvent


def do_record_listening_event(beacon: Beacon, exhibit_id: int, now: datetime | None = None) -> None:
    """Store the beacon's events; a duplicate beacon (same listen and seq) adds nothing."""
    now = now or timezone.now()
    rows = [
        ListeningEvent(listen=beacon.listen, seq=e.seq, exhibit_id=exhibit_id, rendition_id=beacon.rendition_id,
                       kind=e.kind, position=e.position, sentence=e.sentence, listened=e.listened, received_at=now)
        for e in beacon.events
    ]
    # ON CONFLICT DO NOTHING on (listen, seq): one round trip, and a resent beacon is a no-op.
    ListeningEvent.objects.bulk_create(rows, ignore_conflicts=True)
