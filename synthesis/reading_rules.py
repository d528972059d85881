"""Readings fixed by grammar, which pypinyin's phrases and the polyphone model both miss.

Each rule looks at one character, its neighbours and the word segmentation, and either
returns the reading or None. The front end treats a rule like a phrase-dictionary match:
it outranks the model, and a disagreement with the model is shown to curators as uncertain.
Historical names and set phrases belong in the museum lexicon, not here.
"""
from __future__ import annotations

import re
from collections.abc import Sequence

NUMERALS = "零〇一二三四五六七八九十百千万亿两半"
_LENGTH_FOLLOWS = re.compile(f"[约达近逾]?[{NUMERALS}]")
_PRONOUN_ENDS = frozenset("你我他她它们谁")
_LAND_MEASURES = frozenset("块片亩顷处")
_COUNTING = frozenset("一二三四五六七八九十两几这那哪每某")


class Words:
    """Where the words of a clause start and end, for the rules below."""

    def __init__(self, words: Sequence[tuple[int, int]]):
        self.lone = {s for s, e in words if e - s == 1}  # characters that are a word by themselves
        self.ending = {e: e - s for s, e in words}  # offset → length of the word ending there


def rule_reading(chars: str, i: int, words: Words) -> str | None:
    ch, prev = chars[i], chars[i - 1] if i > 0 else ""
    if ch == "长" and _LENGTH_FOLLOWS.match(chars, i + 1):
        # a length before a number (长三十厘米, 船长十余米, 总长约三千公里): pypinyin reads
        # 船长 chuan2 zhang3 and 总长 zong3 zhang3, and the model often says zhang3 too
        return "chang2"
    if i not in words.lone and not (ch == "只" and words.ending.get(i + 1) == 2):
        return None
    if not prev or i + 1 == len(chars):
        return None
    if ch == "得" and prev not in _PRONOUN_ENDS:
        # the complement particle after a verb or adjective (保存得很好, 看得太重), read de2
        # by both; after a pronoun it may be the modal dei3 (你得去), which is the model's call
        return "de5"
    if ch == "地" and words.ending.get(i, 0) > 1 and prev not in _LAND_MEASURES:
        # adverbial after a word of its own (认真地研究, 不停地), but land after a measure (这块地)
        return "de5"
    if ch == "只" and prev in _COUNTING:
        # the measure word after a number or demonstrative (这只铜鹤, 两只); 只是 and 只有 are
        # words of their own, so 这/只是 never gets here
        return "zhi1"
    return None
