"""Raw listening events -> one ``DailyListening`` row per day, exhibit and rendition.

A day is recomputed whole from its raw events whenever it has events not rolled up yet, so
running the roll-up twice, or while beacons arrive, never counts anything twice: events that
arrive during a run stay pending and their day is recomputed by the next run. Counting is per
*listen* (one page view's listening): a listen with a play event is one play however often the
visitor paused, seeked back or replayed; it completes if it also has an end event; a sentence is
reached once per listen however often it was heard.

Raw events are dropped LISTENING_RAW_RETENTION_DAYS after their day (after being rolled up).
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from exhibits.analytics import buffer
from exhibits.models.analytics import DailyListening, ListeningEvent, ListeningKind


@dataclass
class Listen:
    exhibit_id: int
    rendition_id: int | None
    played: bool = False
    ended: bool = False
    listened: float = 0.0
    sentences: set[int] = field(default_factory=set)


@dataclass
class Totals:
    plays: int = 0
    completions: int = 0
    listen_seconds: dict[str, int] = field(default_factory=dict)
    reached: list[int] = field(default_factory=list)

    def add(self, listen: Listen) -> None:
        self.plays += 1
        self.completions += listen.ended
        second = str(int(listen.listened))
        self.listen_seconds[second] = self.listen_seconds.get(second, 0) + 1
        if listen.sentences:
            top = max(listen.sentences)
            self.reached.extend([0] * (top + 1 - len(self.reached)))
            for i in listen.sentences:
                self.reached[i] += 1


def day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())
    return start, start + timedelta(days=1)


def _listens(day: date, until: datetime) -> dict[str, Listen]:
    start, end = day_bounds(day)
    listens: dict[str, Listen] = {}
    rows = (ListeningEvent.objects.filter(received_at__gte=start, received_at__lt=min(end, until))
            .values_list("listen", "exhibit_id", "rendition_id", "kind", "sentence", "listened"))
    for listen_id, exhibit_id, rendition_id, kind, sentence, listened in rows.iterator(chunk_size=5000):
        listen = listens.get(listen_id)
        if listen is None:
            listen = listens[listen_id] = Listen(exhibit_id, rendition_id)
        listen.played |= kind == ListeningKind.PLAY
        listen.ended |= kind == ListeningKind.END
        listen.listened = max(listen.listened, listened)
        if kind == ListeningKind.PROGRESS and sentence is not None:
            listen.sentences.add(sentence)
    return listens


def roll_up_day(day: date, until: datetime) -> int:
    """Recompute ``day`` from its raw events received before ``until``; returns rows written."""
    totals: dict[tuple[int, int | None], Totals] = defaultdict(Totals)
    for listen in _listens(day, until).values():
        if listen.played:  # pause/progress without a play: its play beacon was lost or forged
            totals[(listen.exhibit_id, listen.rendition_id)].add(listen)
    start, end = day_bounds(day)
    with transaction.atomic():
        DailyListening.objects.filter(day=day).delete()
        DailyListening.objects.bulk_create(
            DailyListening(day=day, exhibit_id=exhibit_id, rendition_id=rendition_id, plays=t.plays,
                           completions=t.completions, listen_seconds=t.listen_seconds, reached=t.reached)
            for (exhibit_id, rendition_id), t in totals.items()
        )
        ListeningEvent.objects.filter(received_at__gte=start, received_at__lt=min(end, until), rolled_up=False
                                      ).update(rolled_up=True)
    return len(totals)


def pending_days(until: datetime) -> list[date]:
    stamps = ListeningEvent.objects.filter(rolled_up=False, received_at__lt=until).datetimes("received_at", "day")
    return sorted({timezone.localtime(stamp).date() for stamp in stamps})


def drop_old_events(now: datetime) -> int:
    keep_from, _ = day_bounds(timezone.localtime(now).date() - timedelta(days=settings.LISTENING_RAW_RETENTION_DAYS))
    deleted, _ = ListeningEvent.objects.filter(received_at__lt=keep_from, rolled_up=True).delete()
    return deleted


def roll_up(now: datetime | None = None) -> dict:
    """Store queued beacons, roll up every day with pending events, then drop raw events past
    the retention period."""
    now = now or timezone.now()
    buffer.flush()
    days = pending_days(now)
    rows = sum(roll_up_day(day, now) for day in days)
    return {"days": [d.isoformat() for d in days], "rows": rows, "dropped": drop_old_events(now)}
