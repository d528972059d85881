"""Museum text normalisation: digits, dates, units and symbols → spoken Chinese characters.

May import only the standard library, kaldifst (with wetext's grammar files) and
synthesis.markup (for ScriptError).

Two stages. Museum rules (``dates``, ``quantities``) read what a guide says differently from a
general normaliser, each claiming the characters it reads; then wetext, WeTextProcessing's
Chinese grammars (``general``), reads whatever digits are left, in their context.

Museum rules, in this order (the first claim wins):
* codes: catalogue and inventory numbers after 编号/馆藏号/登记号/No. (digit by digit,
  1986-045 → 一九八六杠零四五, No.57 → 编号五七), digit strings after 尾号/邮编/号码…, telephone
  numbers (电话/热线… and 11-digit mobiles, 1 said 幺 as on the phone), rooms and trains
  (307房间, G1234次), flight-style codes (CA1234), event dates 9·11 → 九一一, hyphens in
  names (COVID-19 → COVID十九, not 负十九), runs of over 12 digits;
* time: dates 2021-10-01, 2023.5.18 and year-months 2008-08 (→ 二零零八年八月); h:m and
  h:m:s clock times (03:04:05 → 三点零四分零五秒, 14:30:00 → 十四点三十分) unless the words
  around make it a score (比分17:16, 以3:1获胜 → 十七比十六, 三比一); year ranges
  618—907年 and bracketed dynasty/life spans 唐（618—907）→ 六百一十八年至九百零七年;
  centuries, decades, years, months, days;
* quantities: codes with leading zeros or over 12 digits (digit by digit), ordinals (第2名 →
  第二名: wetext says 第两名), fractions 1/3 and ½, temperatures (-10°C → 零下十摄氏度),
  SI and everyday units (10ms → 十毫秒, kg → 公斤, 50km/h → 每小时五十公里), money
  (¥ $ € £ HK$ A$ US$…), percentages and ‰ (100% → 百分之百), powers (3² → 三的平方,
  10⁶ → 十的六次方), thousands separators (1,000: wetext says 一,零零零), ± and 100+ (一百多),
  math signs next to numbers (6÷2 → 六除以二: wetext says 除), a number before a Latin word
  (2 meters: wetext says 两米eters), a lone 2 as 两 (see below), and number ranges with
  - ~ — (2-3人 → 二至三人; wetext reads - as 到 and leaves — unread);
* a range dash between two spans the rules read (9:30—17:00, 45%～55%) is 至.
Left to wetext: cardinals and decimals with the 两/二 choice before measure words
(2件 → 两件, 200件 → 两百件), negative numbers (-123.123 → 负一百二十三
点一二三), numbers before 万/亿 (距今约1.2万年), expressions with letters (x=-2 → x等于负二),
ratios (5:3 → 五比三) and anything else with digits.

Readings chosen (documented because curators will ask):
* 4-digit years are read digit by digit (1998年 → 一九九八年) but numbers of years as numbers
  (距今7000年 → 七千年, 5000多年, 约3000年前); shorter years as numbers (221年 → 二百二十一年);
  BCE years are quantities (公元前2070年 → 公元前两千零七十年).
* A leading 2 before 百/千/万/亿 is 两 (两百件, ¥200 → 两百元, 经过200年 → 两百年), not inside
  a number (1200 → 一千二百); a year keeps 二百 (公元前221年). A lone 2 before a measure word
  or 点 is 两 (每天2次, 2点半: wetext says 二). Ordinals, months, days, digits, decimals and
  numbers (2号, 2楼) keep 二.
* Ranges are said with 至, as written museum text is read aloud (3~5cm → 三至五厘米).

Latin letters that are not units are left alone so the front end can warn about them.
"""
from __future__ import annotations

import re
import unicodedata

from synthesis.markup import ScriptError
from synthesis.normalize import dates, general, quantities
from synthesis.normalize.numbers import read_digits, read_number
from synthesis.normalize.rules import Span, apply_rules

__all__ = ["normalize", "normalize_with_trace", "read_digits", "read_number", "warm_up", "RULES"]

RULES = quantities.CODE_RULES + dates.RULES + quantities.QUANTITY_RULES


class _Fold(dict):
    """One character for one, so spans keep their offsets: full-width forms, other scripts'
    digits (٣, 𝟑) and the minus sign to ASCII. Not ，：；！？（）: the splitter relies on those."""

    def __missing__(self, code: int) -> int:
        ch = chr(code)
        digit = unicodedata.decimal(ch, None)
        if digit is not None:
            folded = str(digit)
        elif 0xFF21 <= code <= 0xFF3A or 0xFF41 <= code <= 0xFF5A:
            folded = chr(code - 0xFEE0)
        else:
            folded = {"％": "%", "＄": "$", "．": ".", "－": "-", "／": "/", "＋": "+", "−": "-"}.get(ch, ch)
        self[code] = ord(folded)
        return self[code]


_FOLD = _Fold()
_RANGE_DASH = re.compile(r"\s*[-—–―~～]{1,2}\s*")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def _join_ranges(text: str, spans: list[Span]) -> list[Span]:
    """9:30—17:00, 45%～55%: the dash between two spans the rules read is 至."""
    out = list(spans)
    for a, b in zip(spans, spans[1:]):
        if "power" not in (a.rule, b.rule) and a.end < b.start and _RANGE_DASH.fullmatch(text, a.end, b.start):
            out.append(Span(a.end, b.start, "至", "range"))
    return sorted(out, key=lambda s: s.start)


def _check(text: str, at: tuple[int, int]) -> None:
    m = _SURROGATE.search(text)
    if m:
        line = text.count("\n", 0, m.start())
        column = m.start() - (text.rfind("\n", 0, m.start()) + 1) + 1
        raise ScriptError(at[0] + line, column + (at[1] - 1 if line == 0 else 0),
                          "无法识别的字符（不成对的代理项）/ unreadable character (a lone surrogate)")


def normalize_with_trace(text: str, *, at: tuple[int, int] = (1, 1)) -> tuple[str, list[tuple[str, str, str]]]:
    """Spoken form of ``text`` and, in text order, (source text, spoken text, rule name) for
    each stretch that was rewritten; rule name is a museum rule's name or "wetext".

    ``at`` is the line and column of text[0] in the script, for ScriptError.
    """
    _check(text, at)
    folded = text.translate(_FOLD)
    spans = _join_ranges(folded, apply_rules(RULES, folded))
    parts: list[str] = []
    trace: list[tuple[str, str, str]] = []
    pos = 0
    for span in spans + [Span(len(text), len(text), "", "")]:
        gap = pos
        for start, end, spoken, rule in general.normalise_gap(folded[gap:span.start]):
            start, end = gap + start, gap + end
            parts.append(folded[pos:start] + spoken)
            if text[start:end].strip() or spoken:
                trace.append((text[start:end], spoken, rule))
            pos = end
        parts.append(folded[pos:span.start] + span.spoken)
        if span.rule:
            trace.append((text[span.start:span.end], span.spoken, span.rule))
        pos = span.end
    return "".join(parts), trace


def normalize(text: str, *, at: tuple[int, int] = (1, 1)) -> str:
    """Spoken form of ``text``: numbers, dates, units and symbols in Chinese characters."""
    return normalize_with_trace(text, at=at)[0]


def warm_up() -> None:
    """Load wetext's grammars now (~0.03 s) rather than in the first clause."""
    general.load()
