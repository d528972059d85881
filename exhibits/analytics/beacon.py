"""What a listening beacon may contain, checked before anything is stored.

Body (JSON, at most MAX_BODY_BYTES): ``{"l": listen id, "e": exhibit code, "r": rendition id or
null, "ev": [[seq, kind, position, sentence or null, listened], ...]}``. One beacon carries the
events the page queued since its last one (a progress event per sentence reached is batched
with the next play/pause/seek/end, or sent when the page is hidden).
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass

from exhibits.models.analytics import ListeningKind

MAX_BODY_BYTES = 4096
MAX_EVENTS = 64
MAX_SECONDS = 6 * 3600.0  # longer than any narration: anything above is junk
MAX_SENTENCE = 2000
MAX_SEQ = 1_000_000
_LISTEN_ID = re.compile(r"[0-9a-f]{16,32}")
KINDS = frozenset(ListeningKind.values)


class BadBeacon(ValueError):
    """The beacon is malformed; the endpoint answers 400 and stores nothing."""


@dataclass(frozen=True)
class Event:
    seq: int
    kind: str
    position: float
    sentence: int | None
    listened: float


@dataclass(frozen=True)
class Beacon:
    listen: str
    exhibit_code: int
    rendition_id: int | None
    events: tuple[Event, ...]


def _int(value, low: int, high: int, what: str) -> int:
    if type(value) is not int or not low <= value <= high:  # bool is not an int here
        raise BadBeacon(f"{what} must be an integer in [{low}, {high}]")
    return value


def _seconds(value, what: str) -> float:
    if type(value) not in (int, float) or not math.isfinite(value) or not 0 <= value <= MAX_SECONDS:
        raise BadBeacon(f"{what} must be seconds in [0, {MAX_SECONDS:.0f}]")
    return round(float(value), 3)


def _event(item) -> Event:
    if not isinstance(item, list) or len(item) != 5:
        raise BadBeacon("each event is [seq, kind, position, sentence, listened]")
    seq, kind, position, sentence, listened = item
    if kind not in KINDS:
        raise BadBeacon(f"unknown event kind {str(kind)[:20]!r}")
    if sentence is not None:
        sentence = _int(sentence, 0, MAX_SENTENCE, "sentence")
    elif kind == ListeningKind.PROGRESS:
        raise BadBeacon("a progress event names its sentence")
    return Event(_int(seq, 0, MAX_SEQ, "seq"), kind, _seconds(position, "position"), sentence,
                 _seconds(listened, "listened"))


def parse(body: bytes) -> Beacon:
    if len(body) > MAX_BODY_BYTES:
        raise BadBeacon(f"beacon larger than {MAX_BODY_BYTES} bytes")
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise BadBeacon("beacon is not JSON") from None
    if not isinstance(data, dict) or set(data) != {"l", "e", "r", "ev"}:
        raise BadBeacon("beacon is an object with exactly l, e, r, ev")
    if not isinstance(data["l"], str) or not _LISTEN_ID.fullmatch(data["l"]):
        raise BadBeacon("l is 16-32 lowercase hex digits")
    rendition = None if data["r"] is None else _int(data["r"], 1, 2**31 - 1, "r")
    events = data["ev"]
    if not isinstance(events, list) or not 1 <= len(events) <= MAX_EVENTS:
        raise BadBeacon(f"ev is a list of 1-{MAX_EVENTS} events")
    parsed = tuple(_event(item) for item in events)
    if len({e.seq for e in parsed}) != len(parsed):
        raise BadBeacon("seq repeats within one beacon")
    return Beacon(data["l"], _int(data["e"], 0, 999_999_999, "e"), rendition, parsed)


# Crawlers, link previews, monitoring and headless browsers: their "listens" are not visitors.
_BOT = re.compile(
    r"bot|crawl|spider|slurp|scrape|preview|fetch|monitor|headless|phantom|lighthouse|python|curl|wget|"
    r"httpclient|okhttp|go-http|java/|libwww|axios|node-fetch|facebookexternalhit|embedly|pingdom",
    re.IGNORECASE,
)


def is_bot(user_agent: str) -> bool:
    return not user_agent or not user_agent.startswith("Mozilla/") or bool(_BOT.search(user_agent))
