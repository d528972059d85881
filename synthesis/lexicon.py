"""Curated readings for historical names and terms that general dictionaries get wrong.

The shipped table (``data/museum_lexicon.tsv``) holds readings a museum must get right
(单于 chan2 yu2, 龟兹 qiu1 ci2 …). A caller (an exhibit, a curator's settings page) may
add or replace entries; the caller's word wins. ``version`` is a hash of the merged
readings so that cached audio is invalidated whenever any reading changes. ``origin`` tells
the two apart ("museum lexicon" or "lexicon"), so the front end can apply the curator's
entries over the shipped ones and say which one decided a reading.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping, Sequence
from functools import lru_cache
from pathlib import Path

from synthesis.syllables import has_reading, parse_syllables

SHIPPED_PATH = Path(__file__).resolve().parent / "data" / "museum_lexicon.tsv"
ORIGINS = ("lexicon", "museum lexicon")  # the caller's entries win over the shipped ones


class LexiconError(ValueError):
    """A lexicon entry is malformed; the message names the term and what to fix."""


def _check_entry(term: str, reading: str | Sequence[str], where: str) -> tuple[str, ...]:
    if not term or not all(has_reading(ch) for ch in term):
        raise LexiconError(f"{where}: term {term!r} must be Chinese characters only")
    text = reading if isinstance(reading, str) else " ".join(reading)
    try:
        syllables = parse_syllables(text)
    except ValueError as exc:
        raise LexiconError(f"{where}: {term}: {exc}") from None
    if len(syllables) != len(term):
        raise LexiconError(
            f"{where}: {term} has {len(term)} characters but {len(syllables)} syllables "
            f"({text!r}); give one tone-numbered syllable per character"
        )
    return syllables


def _read_tsv(path: Path) -> dict[str, tuple[tuple[str, ...], str]]:
    entries: dict[str, tuple[tuple[str, ...], str]] = {}
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        fields = raw.split("\t")
        if len(fields) < 2:
            raise LexiconError(f"{path.name}:{number}: expected term<TAB>pinyin<TAB>note")
        term = fields[0].strip()
        where = f"{path.name}:{number}"
        if term in entries:
            raise LexiconError(f"{where}: duplicate term {term}")
        note = fields[2].strip() if len(fields) > 2 else ""
        entries[term] = (_check_entry(term, fields[1].strip(), where), note)
    return entries


class Lexicon:
    """Shipped museum readings merged with caller overrides; longest-match lookup."""

    def __init__(self, overrides: Mapping[str, str | Sequence[str]] | None = None, *,
                 path: Path | None = SHIPPED_PATH):
        shipped = _read_tsv(path) if path is not None else {}
        self._readings: dict[str, tuple[str, ...]] = {t: s for t, (s, _) in shipped.items()}
        self._notes: dict[str, str] = {t: n for t, (_, n) in shipped.items()}
        self._curated: set[str] = set()
        for term, reading in (overrides or {}).items():
            term = term.strip()
            self._readings[term] = _check_entry(term, reading, "lexicon override")
            self._notes.pop(term, None)
            self._curated.add(term)
        self._max_len = {origin: max((len(t) for t in self._readings if self.origin(t) == origin), default=0)
                         for origin in ORIGINS}
        # Notes are excluded: they do not change what is spoken, so they must not bust caches.
        canonical = "\n".join(f"{t}\t{' '.join(s)}" for t, s in sorted(self._readings.items()))
        self._version = hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:12]

    @classmethod
    def default(cls) -> "Lexicon":
        """The shipped lexicon, parsed once per process."""
        return _default_lexicon()

    @property
    def version(self) -> str:
        return self._version

    @property
    def max_len(self) -> int:
        return max(self._max_len.values())

    def lookup(self, term: str) -> tuple[str, ...] | None:
        return self._readings.get(term)

    def note(self, term: str) -> str:
        return self._notes.get(term, "")

    def origin(self, term: str) -> str:
        """"lexicon" for the caller's entries, "museum lexicon" for shipped ones."""
        return "lexicon" if term in self._curated else "museum lexicon"

    def match(self, text: str, pos: int = 0, *, origin: str | None = None) -> tuple[str, tuple[str, ...]] | None:
        """The longest entry starting at text[pos] (only entries of ``origin`` if given), or None."""
        longest = self._max_len[origin] if origin else self.max_len
        for length in range(min(longest, len(text) - pos), 0, -1):
            term = text[pos:pos + length]
            reading = self._readings.get(term)
            if reading is not None and origin in (None, self.origin(term)):
                return term, reading
        return None

    def __contains__(self, term: object) -> bool:
        return term in self._readings

    def __len__(self) -> int:
        return len(self._readings)

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._readings))

    def __repr__(self) -> str:
        return f"Lexicon({len(self)} entries, version={self.version})"


@lru_cache(maxsize=1)
def _default_lexicon() -> Lexicon:
    return Lexicon()
