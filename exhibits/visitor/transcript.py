"""A rendition's transcript and timings -> the clause spans the exhibit page shows and the
compact timing table its player script follows.

Timings come from ``synthesis.pipeline``: per clause ``start``/``end`` (offsets into the transcript),
``t0``/``t1`` (seconds) and ``chars`` (one [t0, t1] per *spoken* character). Spoken characters
are the normalised text ("1974年" is spoken 一九七四年, "50%" 百分之五十), so they do not always
line up one-to-one with the characters a visitor reads; ``_marks`` maps them proportionally onto
the clause's readable characters, which is exact whenever the counts agree (the usual case).
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass


@dataclass(frozen=True)
class Segment:
    text: str
    clause: int | None  # index into the sync table; None for text between clauses (spaces, newlines)


def _readable(ch: str) -> bool:
    # Letters and digits are what gets spoken; punctuation and spaces are not.
    return unicodedata.category(ch)[0] in "LN"


def _marks(text: str, chars: list, t0: float) -> list[list[float | int]]:
    """[[time, prefix length], ...]: from ``time`` on, the first ``prefix length`` characters of
    the clause have been said."""
    positions = [i for i, ch in enumerate(text) if _readable(ch)]
    if not positions or not chars:
        return []
    n, m = len(chars), len(positions)
    marks = []
    for i, pair in enumerate(chars):
        start = float(pair[0]) if isinstance(pair, (list, tuple)) and pair else t0
        # Spoken char i of n covers readable chars up to (i + 1) * m / n: exact when n == m.
        upto = positions[max(0, -(-(i + 1) * m // n) - 1)] + 1
        if marks and marks[-1][1] == upto:
            continue
        marks.append([round(start, 3), upto])
    return marks


def _valid(clause) -> bool:
    try:
        return (
            isinstance(clause, dict)
            and 0 <= int(clause["start"]) < int(clause["end"])
            and 0 <= float(clause["t0"]) <= float(clause["t1"])
        )
    except (KeyError, TypeError, ValueError):
        return False


def build(transcript: str, timings: list | None) -> tuple[list[Segment], list[list]]:
    """Split the transcript into segments and build the sync table ``[[t0, t1, marks], ...]``.

    Clauses that do not fit the transcript (overlapping, out of range, malformed: e.g. a
    rendition from an older timing format) are shown as plain text rather than failing the page.
    """
    segments: list[Segment] = []
    sync: list[list] = []
    cursor = 0
    clauses = sorted((c for c in (timings or []) if _valid(c)), key=lambda c: int(c["start"]))
    for clause in clauses:
        start, end = int(clause["start"]), int(clause["end"])
        if start < cursor or end > len(transcript):
            continue
        if start > cursor:
            segments.append(Segment(transcript[cursor:start], None))
        t0, t1 = float(clause["t0"]), float(clause["t1"])
        text = transcript[start:end]
        segments.append(Segment(text, len(sync)))
        sync.append([round(t0, 3), round(t1, 3), _marks(text, clause.get("chars") or [], t0)])
        cursor = end
    if cursor < len(transcript):
        segments.append(Segment(transcript[cursor:], None))
    return segments, sync


def plain(transcript: str) -> list[Segment]:
    return [Segment(transcript, None)] if transcript else []
