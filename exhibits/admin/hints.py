"""Reading hints for the studio editor: characters whose reading the curator may want to pin.

A character is a hint when pypinyin knows two or more readings for it that real words use (each
with an example word from its phrase table: 行 xing2 一行, hang2 上行 …), and when a museum
lexicon term or a ``{字|pinyin}`` override covers it (shown as already decided). Offsets are in
the script as typed, so the editor can replace exactly that character with ``{字|pinyin}``.
"""
from __future__ import annotations

import re
from functools import lru_cache

from synthesis.lexicon import Lexicon

# Function words whose reading the engine's context rules settle; underlining them is noise.
SETTLED = frozenset("的了着地得个一不么")
_MARKUP = re.compile(r"\[[^\]]*\]|\{[^}|]*\|[^}]*\}")
MAX_HINTS = 300


@lru_cache(maxsize=1)
def examples() -> dict[str, dict[str, str]]:
    """char -> {tone-numbered reading: a two-character word reading it so} (built once, ~1 s)."""
    from pypinyin.constants import PHRASES_DICT
    from pypinyin.contrib.tone_convert import to_tone3

    table: dict[str, dict[str, str]] = {}
    for word, readings in sorted(PHRASES_DICT.items()):
        if len(word) != 2:
            continue
        for ch, reading in zip(word, readings):
            table.setdefault(ch, {}).setdefault(to_tone3(reading[0], neutral_tone_with_five=True), word)
    return table


def candidates(ch: str) -> list[dict]:
    from pypinyin import Style, pinyin

    known = examples().get(ch, {})
    readings = pinyin(ch, style=Style.TONE3, heteronym=True, neutral_tone_with_five=True)[0]
    return [{"pinyin": r, "example": known[r]} for r in dict.fromkeys(readings) if r in known]


def reading_hints(script: str, lexicon: dict[str, str]) -> list[dict]:
    """[{"offset", "char", "kind": "uncertain"|"lexicon"|"override", "candidates"|"pinyin"}]."""
    hints: list[dict] = []
    terms = Lexicon(lexicon)  # the shipped museum lexicon and the curators' entries
    covered: set[int] = set()
    for match in _MARKUP.finditer(script):
        if match.group(0).startswith("{"):
            term, _, reading = match.group(0)[1:-1].partition("|")
            hints.append({"offset": match.start() + 1, "char": term, "kind": "override", "pinyin": reading.strip()})
        covered.update(range(match.start(), match.end()))
    position = 0
    while position < len(script) and len(hints) < MAX_HINTS:
        if position in covered:
            position += 1
            continue
        found = terms.match(script, position)
        if found is not None and not covered.intersection(range(position, position + len(found[0]))):
            term, reading = found
            hints.append({"offset": position, "char": term, "kind": "lexicon", "pinyin": " ".join(reading)})
            position += len(term)
            continue
        ch = script[position]
        if ch not in SETTLED and "\u4e00" <= ch <= "\u9fff":
            options = candidates(ch)
            if len(options) >= 2:
                hints.append({"offset": position, "char": ch, "kind": "uncertain", "candidates": options})
        position += 1
    return sorted(hints, key=lambda h: h["offset"])
