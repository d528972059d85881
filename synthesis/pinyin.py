"""Citation pinyin for spoken characters, and the tone sandhi that turns it into speech.

Every syllable is tone-numbered (TONE3 with neutral tone as 5: "ma5"), one per character;
the format lives in ``synthesis.syllables``. ``read()`` decides each character's reading
and records which source decided it, highest precedence first:

    override        {字|pinyin} in the script, for this occurrence only
    lexicon         the caller's (curator's) lexicon entries
    museum lexicon  the shipped table, data/museum_lexicon.tsv
    model           the g2pM polyphone model (``synthesis.polyphone``), for polyphonic characters
    dictionary      pypinyin: its phrase dictionary on whole words, else the usual reading

except that a multi-character phrase outranks the model (``PHRASE_BEATS_MODEL``: measured).

Words come from jieba (``synthesis.wordseg``), with override spans and lexicon terms kept
whole; a few grammar rules (``synthesis.reading_rules``) rank with phrases. Where the model
and the dictionary disagree the character is *uncertain*: ``Reading.uncertain`` lists the
readings that lost, so a curator can pin the right one.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pypinyin import Style, lazy_pinyin
from pypinyin.constants import PHRASES_DICT
from pypinyin.seg.mmseg import seg as phrase_seg

from synthesis import polyphone, wordseg
from synthesis.reading_rules import Words, rule_reading
from synthesis.syllables import tone, with_tone

if TYPE_CHECKING:  # only for annotations: lexicon and pinyin never import each other
    from synthesis.lexicon import Lexicon

SOURCES = ("override", "lexicon", "museum lexicon", "model", "dictionary")

# On disagreement between the model and a multi-character phrase-dictionary match, which is
# right more often? Measured on tests/data/polyphones.tsv (795 cases; lexicons and the rules of
# reading_rules left out of the count): the phrase was right 141 times, the model 6 times,
# both wrong 7 times. Where the dictionary had no phrase, only the character's usual reading,
# the model was right 19 times and the usual reading 13 times. So a phrase beats the model,
# and the model beats a usual reading. (g2pM alone reads 75.1% of the set: it was trained on
# Wikipedia sentences and misses e.g. 为 wei4 and 了解 here; pypinyin alone reads 91.2%.)
PHRASE_BEATS_MODEL = True

_PHRASE_MAX = 8  # longest phrase looked up across words (pypinyin has a few longer idioms)
_DIGITS = frozenset("零〇一二三四五六七八九十两")  # counting digits, not 百千万亿
_BIG_UNITS = frozenset("百千万亿")
# 一 stays yi1 after these: ordinals (第一 初一), fractions (之一), and words that end in
# 一 (统一 唯一 单一 专一 划一 逐一) — pypinyin's phrase table is too sparse to find them.
_YI_KEEP_AFTER = frozenset("第初之统唯单专划逐")


@dataclass(frozen=True)
class Reading:
    cited: tuple[str, ...]  # citation syllable per character
    spoken: tuple[str, ...]  # after tone sandhi
    sources: tuple[str, ...]  # per character, one of SOURCES
    uncertain: tuple[tuple[int, tuple[str, ...]], ...]  # (index, readings that lost), model vs dictionary
    words: tuple[tuple[int, int], ...]  # [start, end) word spans


def _fixed_terms(chars: str, lexicon: Lexicon, spans: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """Override spans and longest lexicon matches outside them: words nothing may cut."""
    starts = dict(spans)
    fixed, i = [], 0
    while i < len(chars):
        if i in starts:
            fixed.append((i, starts[i]))
            i = starts[i]
            continue
        limit = next((s for s in sorted(starts) if s > i), len(chars))
        found = lexicon.match(chars[:limit], i)
        if found and len(found[0]) > 1:
            fixed.append((i, i + len(found[0])))
            i += len(found[0])
        else:
            i += 1
    return fixed


def segment(chars: str, lexicon: Lexicon, spans: Sequence[tuple[int, int]] = ()) -> list[tuple[int, int]]:
    """Words as [start, end) pairs: jieba's, with ``spans`` (overrides) and lexicon terms whole."""
    out, pos = [], 0
    for start, end in _fixed_terms(chars, lexicon, spans) + [(len(chars), len(chars))]:
        if pos < start:
            out += [(pos + s, pos + e) for s, e in wordseg.words(chars[pos:start])]
        if start < end:
            out.append((start, end))
        pos = end
    return out


def _phrase_pieces(chars: str, words: Sequence[tuple[int, int]]) -> list[str]:
    """``chars`` cut for phrase lookup: the longest phrase-dictionary entry made of whole words
    (三更 from 三+更, never 了结 out of 递交/了/结案), else the word cut by pypinyin's own
    segmenter (a long word may hold a shorter phrase)."""
    pieces, n = [], 0
    while n < len(words):
        start, end = words[n]
        last = None  # index of the last word of the longest phrase starting here
        for m in range(n, len(words)):
            if words[m][1] - start > _PHRASE_MAX:
                break
            if words[m][1] - start > 1 and chars[start:words[m][1]] in PHRASES_DICT:
                last = m
        if last is not None:
            pieces.append(chars[start:words[last][1]])
            n = last + 1
        else:
            pieces += phrase_seg.cut(chars[start:end])
            n += 1
    return pieces


def _dictionary(chars: str, words: Sequence[tuple[int, int]]) -> tuple[list[str], list[bool]]:
    """pypinyin's reading of each word, and per character whether it is certain: given by a
    multi-character phrase of its dictionary or a grammar rule (``reading_rules``), not by
    the character's usual reading."""
    syllables, certain = [], []
    for piece in _phrase_pieces(chars, words):
        syllables += lazy_pinyin(piece, style=Style.TONE3, neutral_tone_with_five=True)
        certain += [len(piece) > 1 and piece in PHRASES_DICT] * len(piece)
    layout = Words(words)
    for i, ch in enumerate(chars):
        # pypinyin's phrase table stores 一个 yi2 and 不是 bu2 already sandhied; citation
        # tones must be the dictionary ones so sandhi() is applied exactly once.
        if ch == "一" and syllables[i] in ("yi2", "yi4"):
            syllables[i] = "yi1"
        elif ch == "不" and syllables[i] == "bu2":
            syllables[i] = "bu4"
        elif ch in "长得地只" and (ruled := rule_reading(chars, i, layout)):
            syllables[i], certain[i] = ruled, True
    return syllables, certain


def _overlay_lexicon(chars: str, out: list[str], sources: list[str], lexicon: Lexicon,
                     pinned: Mapping[int, str]) -> None:
    """Shipped entries first, then the curator's over them; never across a pinned syllable."""
    for origin in ("museum lexicon", "lexicon"):
        i = 0
        while i < len(chars):
            limit = next((j for j in range(i, len(chars)) if j in pinned), len(chars))
            found = lexicon.match(chars[:limit], i, origin=origin) if i not in pinned else None
            if found:
                term, syllables = found
                out[i:i + len(term)] = syllables
                sources[i:i + len(term)] = [origin] * len(term)
                i += len(term)
            else:
                i += 1


def read(chars: str, lexicon: Lexicon, pinned: Mapping[int, str] | None = None,
         spans: Sequence[tuple[int, int]] = ()) -> Reading:
    """Readings, their sources and the words of ``chars`` (all satisfying has_reading())."""
    pinned = pinned or {}
    words = segment(chars, lexicon, spans)
    cited, in_phrase = _dictionary(chars, words)
    if len(cited) != len(chars):  # only readable characters come in, so this is a bug
        raise AssertionError(f"pypinyin returned {len(cited)} syllables for {len(chars)} characters")
    sources = ["dictionary"] * len(chars)
    _overlay_lexicon(chars, cited, sources, lexicon, pinned)
    for i, syllable in pinned.items():
        cited[i], sources[i] = syllable, "override"
    model = polyphone.model()
    open_chars = [i for i, src in enumerate(sources) if src == "dictionary" and model.readings(chars[i])]
    uncertain = []
    for i, guess in model.predict(chars, open_chars).items():
        best, listed = guess.ranked[0], cited[i]
        if best == listed or not (in_phrase[i] and PHRASE_BEATS_MODEL):
            cited[i], sources[i] = best, "model"
        if best != listed:
            loser = listed if cited[i] == best else best
            uncertain.append((i, (loser,) + tuple(r for r in guess.ranked if r not in (cited[i], loser))))
    spoken = sandhi(chars, cited, words)
    return Reading(tuple(cited), spoken, tuple(sources), tuple(uncertain), tuple(words))


def citation(chars: str, lexicon: Lexicon, pinned: Mapping[int, str] | None = None) -> tuple[str, ...]:
    """Dictionary (pre-sandhi) reading of ``chars``, which must all satisfy has_reading()."""
    return read(chars, lexicon, pinned).cited if chars else ()


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
                out[i] = with_tone(out[i], 2)
    for (_, end), (start, _) in zip(words, words[1:]):
        if tone(out[end - 1]) == 3 and tone(out[start]) == 3:
            out[end - 1] = with_tone(out[end - 1], 2)
    return tuple(out)


def to_pinyin(chars: str, lexicon: Lexicon, pinned: Mapping[int, str] | None = None,
              spans: Sequence[tuple[int, int]] = ()) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(citation, spoken) syllables for ``chars``; ``spans`` are override terms kept as words."""
    reading = read(chars, lexicon, pinned, spans)
    return reading.cited, reading.spoken
