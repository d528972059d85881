"""The numbers of the curators' listening dashboard, read from ``DailyListening`` rows."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from exhibits.models import Exhibit, Gallery, Narration
from exhibits.models.analytics import DailyListening

LANGUAGE = "zh"


def median_seconds(histogram: dict[str, int]) -> float | None:
    """Median of a {"whole seconds": listens} histogram (the lower middle for an even count)."""
    total = sum(histogram.values())
    if not total:
        return None
    seen = 0
    for second in sorted(histogram, key=int):
        seen += histogram[second]
        if seen * 2 >= total:
            return float(second)
    return None


def merge_histograms(histograms) -> dict[str, int]:
    merged: dict[str, int] = defaultdict(int)
    for histogram in histograms:
        for second, count in histogram.items():
            merged[second] += count
    return dict(merged)


@dataclass
class ExhibitLine:
    code: int
    title: str
    gallery: str
    plays: int
    completions: int
    median: float | None
    per_day: list[int]

    @property
    def completion_rate(self) -> float | None:
        return self.completions / self.plays if self.plays else None


@dataclass
class Overview:
    days: list[date]
    galleries: dict[str, list[int]]  # gallery name -> plays per day
    exhibits: list[ExhibitLine]  # most played first

    @property
    def plays(self) -> int:
        return sum(e.plays for e in self.exhibits)

    @property
    def completions(self) -> int:
        return sum(e.completions for e in self.exhibits)


def day_range(last: date, count: int) -> list[date]:
    return [last - timedelta(days=count - 1 - i) for i in range(count)]


def overview(last: date, count: int, gallery: Gallery | None = None) -> Overview:
    days = day_range(last, count)
    index = {d: i for i, d in enumerate(days)}
    rows = DailyListening.objects.filter(day__gte=days[0], day__lte=last).select_related("exhibit__gallery")
    if gallery is not None:
        rows = rows.filter(exhibit__gallery=gallery)
    galleries: dict[str, list[int]] = {}
    lines: dict[int, ExhibitLine] = {}
    histograms: dict[int, list[dict]] = defaultdict(list)
    for row in rows.order_by("exhibit__gallery__order", "exhibit__gallery_id", "day"):
        exhibit = row.exhibit
        galleries.setdefault(exhibit.gallery.name, [0] * count)[index[row.day]] += row.plays
        line = lines.get(exhibit.pk)
        if line is None:
            line = lines[exhibit.pk] = ExhibitLine(exhibit.code, exhibit.title, exhibit.gallery.name, 0, 0, None, [0] * count)
        line.plays += row.plays
        line.completions += row.completions
        line.per_day[index[row.day]] += row.plays
        histograms[exhibit.pk].append(row.listen_seconds)
    for pk, line in lines.items():
        line.median = median_seconds(merge_histograms(histograms[pk]))
    return Overview(days, galleries, sorted(lines.values(), key=lambda e: (-e.plays, e.code)))


@dataclass
class Sentence:
    index: int
    text: str
    reached: int
    share: float  # of the listens that played this rendition


@dataclass
class DropOff:
    exhibit: Exhibit
    plays: int
    sentences: list[Sentence]


def current_sentences(exhibit: Exhibit) -> tuple[int | None, list[str]]:
    """(rendition id, its clauses' texts) for the exhibit's current audio, as the page shows them."""
    narration = Narration.objects.select_related("rendition").filter(exhibit=exhibit, language=LANGUAGE).first()
    rendition = narration.rendition if narration else None
    if rendition is None:
        return None, []
    texts = []
    for clause in rendition.timings or []:
        try:
            texts.append(rendition.transcript[int(clause["start"]):int(clause["end"])].strip())
        except (KeyError, TypeError, ValueError):
            continue
    return rendition.pk, texts


def drop_off(exhibit: Exhibit, first: date, last: date) -> DropOff:
    """Each sentence of the current audio with the share of its listeners who reached it. Listens
    to older renditions are left out: their sentences were different."""
    rendition_id, texts = current_sentences(exhibit)
    rows = DailyListening.objects.filter(exhibit=exhibit, rendition_id=rendition_id, day__gte=first, day__lte=last)
    plays, reached = 0, [0] * len(texts)
    for row in rows:
        plays += row.plays
        for i, count in enumerate(row.reached[: len(texts)]):
            reached[i] += count
    sentences = [Sentence(i, text, reached[i], reached[i] / plays if plays else 0.0) for i, text in enumerate(texts)]
    return DropOff(exhibit, plays, sentences)
