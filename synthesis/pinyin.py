"""Citation pinyin for spoken characters, and the tone sandhi that turns it into speech.

Every syllable is tone-numbered (TONE3 with neutral tone as 5: "ma5"), one per character.
Precedence, lowest to highest: pypinyin (with its phrase dictionary) < the small fix
table below (general words pypinyin misreads) < the museum ``Lexicon`` < a per-occurrence
override from the script markup.
"""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING

from pypinyin import Style, lazy_pinyin
from pypinyin.constants import PHRASES_DICT, PINYIN_DICT
from pypinyin.contrib.tone_convert import to_tone3

if TYPE_CHECKING:  # lexicon imports this module for syllable validation
    from synthesis.lexicon import Lexicon

# Everyday words where pypinyin 0.55 picks the wrong reading in exhibit labels
# (measurements and vessel descriptions). Historical names belong in the lexicon TSV.
_PHRASE_FIXES: dict[str, tuple[str, ...]] = {
    term: tuple(reading.split()) for term, reading in {
        "长约": "chang2 yue1",  # 长约三十厘米: a length, not 长 zhang3
        "长达": "chang2 da2",
        "全长": "quan2 chang2",
        "通长": "tong1 chang2",
        "残长": "can2 chang2",
        "长宽": "chang2 kuan1",
        "盛放": "cheng2 fang4",  # 用于盛放酒: to hold, not 盛 sheng4
        "盛酒": "cheng2 jiu3",
        "盛水": "cheng2 shui3",
        "盛食": "cheng2 shi2",
        "蒙古": "meng3 gu3",
        "中举": "zhong4 ju3",
    }.items()
}
_FIX_MAX = max(len(t) for t in _PHRASE_FIXES)

# 长 directly before a number is a length (长三十厘米), which pypinyin reads zhang3.
_NUMERALS = frozenset("零〇一二三四五六七八九十百千万亿两半")
_DIGITS = frozenset("零〇一二三四五六七八九十两")  # counting digits, not 百千万亿
_BIG_UNITS = frozenset("百千万亿")
# 一 stays yi1 after these: ordinals (第一 初一), fractions (之一), and words that end in
# 一 (统一 唯一 单一 专一 划一 逐一) — pypinyin's phrase table is too sparse to find them.
_YI_KEEP_AFTER = frozenset("第初之统唯单专划逐")
_TONE_MARKS = re.compile("[āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜńňǹḿ]")
_SYLLABLE = re.compile(r"([a-z]+)(\d)")


def has_reading(ch: str) -> bool:
    """True for characters pypinyin can read (Han characters and 〇)."""
    return len(ch) == 1 and ord(ch) in PINYIN_DICT


@lru_cache(maxsize=1)
def _valid_bases() -> frozenset[str]:
    # Every toneless syllable that some character is read as, spelled as pypinyin spells
    # it in TONE3 (ü as v): exactly the set our own output can contain.
    bases = set()
    for readings in PINYIN_DICT.values():
        for reading in readings.split(","):
            bases.add(to_tone3(reading).rstrip("12345"))
    return frozenset(bases)


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
    base, tone = m.groups()
    if tone not in "12345":
        raise ValueError(f"syllable {raw!r}: tone must be 1–5 (5 = neutral), e.g. {base}2")
    if base not in _valid_bases():
        raise ValueError(f"{raw!r} is not a Mandarin syllable; check the spelling (ü is written v)")
    return base + tone


def parse_syllables(text: str) -> tuple[str, ...]:
    """'chan2 yu2' → ('chan2', 'yu2'); raises ValueError naming the bad syllable."""
    parts = [p for p in re.split(r"[\s,，']+", text) if p]
    if not parts:
        raise ValueError("no pinyin given; write tone-numbered syllables such as chan2 yu2")
    return tuple(_parse_one(p) for p in parts)


def tone(syllable: str) -> int:
    return int(syllable[-1])


def _with_tone(syllable: str, new_tone: int) -> str:
    return f"{syllable[:-1]}{new_tone}"


def _longest(table: Mapping[str, tuple[str, ...]], max_len: int, text: str, pos: int):
    for length in range(min(max_len, len(text) - pos), 1, -1):
        reading = table.get(text[pos:pos + length])
        if reading is not None:
            return text[pos:pos + length], reading
    return None


def _overlay(chars: str, out: list[str], match, pinned: Mapping[int, str]) -> None:
    """Write longest matches from ``match`` over ``out``, never across a pinned syllable."""
    i = 0
    while i < len(chars):
        if i in pinned:
            i += 1
            continue
        limit = next((j for j in range(i, len(chars)) if j in pinned), len(chars))
        found = match(chars[:limit], i)
        if found:
            term, reading = found
            out[i:i + len(term)] = reading
            i += len(term)
        else:
            i += 1


def citation(chars: str, lexicon: "Lexicon", pinned: Mapping[int, str] | None = None) -> tuple[str, ...]:
    """Dictionary (pre-sandhi) reading of ``chars``, which must all satisfy has_reading()."""
    pinned = pinned or {}
    if not chars:
        return ()
    out = lazy_pinyin(chars, style=Style.TONE3, neutral_tone_with_five=True)
    if len(out) != len(chars):  # only readable characters come in, so this is a bug
        raise AssertionError(f"pypinyin returned {len(out)} syllables for {len(chars)} characters")
    for i, ch in enumerate(chars):
        # pypinyin's phrase table stores 一个 yi2 and 不是 bu2 already sandhied; citation
        # tones must be the dictionary ones so sandhi() is applied exactly once.
        if ch == "一" and out[i] in ("yi2", "yi4"):
            out[i] = "yi1"
        elif ch == "不" and out[i] == "bu2":
            out[i] = "bu4"
        elif ch == "长" and i + 1 < len(chars) and chars[i + 1] in _NUMERALS:
            out[i] = "chang2"
    _overlay(chars, out, lambda text, pos: _longest(_PHRASE_FIXES, _FIX_MAX, text, pos), pinned)
    _overlay(chars, out, lexicon.match, pinned)
    for i, syllable in pinned.items():
        out[i] = syllable
    return tuple(out)


def segment(chars: str, lexicon: "Lexicon", spans: Sequence[tuple[int, int]] = ()) -> list[tuple[int, int]]:
    """Greedy max-match words as [start, end) pairs; ``spans`` (overrides) are kept whole.

    The dictionary is pypinyin's phrase table plus our lexicon: it only knows words with
    polyphones, so most text falls apart into single characters, which the sandhi rules
    below treat sensibly.
    """
    starts = {s: e for s, e in spans}
    words, i = [], 0
    while i < len(chars):
        if i in starts:
            words.append((i, starts[i]))
            i = starts[i]
            continue
        limit = next((s for s in sorted(starts) if s > i), len(chars))
        end = i + 1
        for length in range(min(10, limit - i), 1, -1):
            word = chars[i:i + length]
            if word in lexicon or word in _PHRASE_FIXES or word in PHRASES_DICT:
                end = i + length
                break
        words.append((i, end))
        i = end
    return words


def _yi_tone(chars: str, i: int, syllables: Sequence[str], word_final: bool) -> str:
    prev = chars[i - 1] if i > 0 else ""
    nxt = chars[i + 1] if i + 1 < len(chars) else ""
    if not nxt or word_final or prev in _YI_KEEP_AFTER:
        return "yi1"
    if nxt in _DIGITS or prev in _DIGITS:  # digits of a year (一九九八) or a number (十一)
        return "yi1"
    if prev in _BIG_UNITS and nxt not in _BIG_UNITS:  # 一百零一, 万一; but 一千一百 yi4
        return "yi1"
    if nxt in "月号" or (nxt == "日" and prev == "月"):  # dates and numbering: 一月, 一号坑
        return "yi1"
    if prev == nxt:  # reduplicated verb: 看一看
        return "yi5"
    return "yi2" if tone(syllables[i + 1]) in (4, 5) else "yi4"


def sandhi(chars: str, syllables: Sequence[str], words: Sequence[tuple[int, int]]) -> tuple[str, ...]:
    """Apply 一/不 and third-tone sandhi within one clause (one prosodic group)."""
    out = list(syllables)
    word_final = {e - 1 for s, e in words if e - s > 1}
    for i, ch in enumerate(chars):
        if ch == "一" and syllables[i] == "yi1":
            out[i] = _yi_tone(chars, i, syllables, i in word_final)
        elif ch == "不" and syllables[i] == "bu4" and i + 1 < len(chars):
            if i > 0 and chars[i - 1] == chars[i + 1]:  # 是不是: neutral in A-not-A questions
                out[i] = "bu5"
            elif tone(syllables[i + 1]) == 4:
                out[i] = "bu2"
    # Third tone: first inside each word (展览 zhan2 lan3), then across word boundaries
    # left to right using the tones already changed, so 老+保管 stays lao3 bao2 guan3 while
    # a run of single characters (我很好) becomes 2 2 3.
    for s, e in words:
        for i in range(s, e - 1):
            if tone(out[i]) == 3 and tone(out[i + 1]) == 3:
                out[i] = _with_tone(out[i], 2)
    for (_, end), (start, _) in zip(words, words[1:]):
        if tone(out[end - 1]) == 3 and tone(out[start]) == 3:
            out[end - 1] = _with_tone(out[end - 1], 2)
    return tuple(out)


def to_pinyin(chars: str, lexicon: "Lexicon", pinned: Mapping[int, str] | None = None,
              spans: Sequence[tuple[int, int]] = ()) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(citation, spoken) syllables for ``chars``; ``spans`` are override terms kept as words."""
    cited = citation(chars, lexicon, pinned)
    return cited, sandhi(chars, cited, segment(chars, lexicon, spans))
