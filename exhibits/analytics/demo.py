"""Made-up listening traffic for a demo dashboard (``manage.py demo_listening``).

Listens go through the same action as real beacons (``do_record_listening_event``) with their
days moved into the past, then the roll-up runs, so the dashboard shows exactly what it would
for real traffic. Every exhibit's script has one sentence where many listeners leave (the one a
curator should shorten), more visitors come at weekends, and the numbers are reproducible (seed).
"""
from __future__ import annotations

import random
import secrets
from datetime import datetime, time, timedelta

from django.utils import timezone

from exhibits.analytics.actions import do_record_listening_event
from exhibits.analytics.beacon import Beacon, Event
from exhibits.analytics.rollup import roll_up
from exhibits.models import Exhibit, Narration


def _listen(rng: random.Random, timings: list, weak: int) -> list[Event]:
    """One visitor: plays, hears sentences until they leave (likelier after ``weak``), maybe seeks."""
    events = [Event(0, "play", 0.0, None, 0.0)]
    listened = 0.0
    for i, clause in enumerate(timings):
        stay = 0.55 if i == weak + 1 else 0.95
        if i and rng.random() > stay:
            events.append(Event(len(events), "pause", float(clause["t0"]), None, listened))
            return events
        listened = float(clause["t1"])
        events.append(Event(len(events), "progress", float(clause["t0"]), i, float(clause["t0"])))
        if rng.random() < 0.03:  # went back to hear a sentence again: must not count twice
            events.append(Event(len(events), "seek", float(clause["t0"]), None, listened))
            events.append(Event(len(events), "progress", float(clause["t0"]), i, listened))
    events.append(Event(len(events), "end", listened, None, listened))
    return events


def generate(days: int = 30, seed: int = 18, scale: float = 1.0) -> dict:
    rng = random.Random(seed)
    today = timezone.localdate()
    narrations = (Narration.objects.filter(exhibit__status=Exhibit.Status.PUBLISHED, rendition__isnull=False)
                  .select_related("exhibit", "rendition").order_by("exhibit__code"))
    received = []
    for rank, narration in enumerate(narrations):
        timings = [c for c in narration.rendition.timings or [] if isinstance(c, dict) and "t0" in c]
        if not timings:
            continue
        popularity = scale * 40 / (1 + rank * 0.35)
        weak = rng.randrange(max(1, len(timings) - 1))
        for back in range(days):
            day = today - timedelta(days=back)
            weekend = 1.6 if day.weekday() >= 5 else 1.0
            for _ in range(max(0, round(rng.gauss(popularity * weekend, popularity * 0.2)))):
                at = timezone.make_aware(datetime.combine(day, time(9))) + timedelta(seconds=rng.randrange(8 * 3600))
                beacon = Beacon(secrets.token_hex(12), narration.exhibit.code, narration.rendition_id,
                                tuple(_listen(rng, timings, weak)))
                received.append((beacon, narration.exhibit_id, min(at, timezone.now())))
    do_record_listening_event(received)
    return {"listens": len(received), **roll_up()}
