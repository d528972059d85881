"""The project's syllable format, shared by the pinyin front end, the lexicon and the markup.

A syllable is toneless pinyin spelled as pypinyin's TONE3 style spells it (ü as v) plus a
tone digit 1–5, 5 being the neutral tone: "chan2", "lv4", "er5". This module imports only
pypinyin's tables, so ``lexicon``, ``markup`` and ``pinyin`` can all use it without importing
each other.
"""
from __future__ import annotations

import re
from functools import lru_cache

from pypinyin.constants import PINYIN_DICT
from pypinyin.contrib.tone_convert import to_tone3

_TONE_MARKS = re.compile("[āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜńňǹḿ]")
_SYLLABLE = re.compile(r"([a-z]+)(\d)")


def has_reading(ch: str) -> bool:
    """True for characters pypinyin can read (Han characters and 〇)."""
    return len(ch) == 1 and ord(ch) in PINYIN_DICT


# Tone-marked letter → the letter pypinyin's TONE3 style writes for it (ü as v). Stripping
# marks with this table gives the same set as to_tone3() does, twenty times faster: the
# set is built on a worker's first render, so its cost is paid by a visitor or curator.
_UNMARK = str.maketrans({mark: plain for plain, marks in [
    ("a", "āáǎà"), ("e", "ēéěè"), ("i", "īíǐì"), ("o", "ōóǒò"), ("u", "ūúǔù"), ("v", "ǖǘǚǜü"),
    ("n", "ńňǹ"), ("m", "ḿ"), ("ê", "ếề")] for mark in marks})
_COMBINING = re.compile("[\u0300-\u036f]")  # m̀ ê̄: a base letter plus a combining tone mark


@lru_cache(maxsize=1)
def _valid_bases() -> frozenset[str]:
    # Every toneless syllable that some character is read as, spelled as pypinyin spells
    # it in TONE3 (ü as v): exactly the set our own output can contain. The 42,000 entries
    # hold ~1,500 distinct readings: unmarking those alone takes 6 ms instead of 60 (the
    # polyphone model needs the set when it loads, on every cold start).
    readings = {reading for entry in set(PINYIN_DICT.values()) for reading in entry.split(",")}
    return frozenset(_COMBINING.sub("", reading.translate(_UNMARK)) for reading in readings)


def is_valid_syllable(syllable: str) -> bool:
    m = _SYLLABLE.fullmatch(syllable)
    return bool(m) and m.group(2) in "12345" and m.group(1) in _valid_bases()


def _parse_one(raw: str) -> str:
    text = raw.strip().lower()
    if _TONE_MARKS.search(text):  # accept chán as chan2: curators copy from dictionaries
        text = to_tone3(text, neutral_tone_with_five=True)
    text = text.replace("u:", "v").replace("ü", "v")
    m = _SYLLABLE.fullmatch(text)
    if not m:
        if re.fullmatch(r"[a-z]+", text):
            raise ValueError(f"syllable {raw!r} has no tone number; write e.g. {text}1 … {text}5")
        raise ValueError(f"{raw!r} is not a tone-numbered pinyin syllable such as chan2")
    base, tone_digit = m.groups()
    if tone_digit not in "12345":
        raise ValueError(f"syllable {raw!r}: tone must be 1–5 (5 = neutral), e.g. {base}2")
    if base not in _valid_bases():
        raise ValueError(f"{raw!r} is not a Mandarin syllable; check the spelling (ü is written v)")
    return base + tone_digit


def parse_syllables(text: str) -> tuple[str, ...]:
    """'chan2 yu2' → ('chan2', 'yu2'); raises ValueError naming the bad syllable."""
    parts = [p for p in re.split(r"[\s,，']+", text) if p]
    if not parts:
        raise ValueError("no pinyin given; write tone-numbered syllables such as chan2 yu2")
    return tuple(_parse_one(p) for p in parts)


def tone(syllable: str) -> int:
    return int(syllable[-1])


def with_tone(syllable: str, new_tone: int) -> str:
    return f"{syllable[:-1]}{new_tone}"
