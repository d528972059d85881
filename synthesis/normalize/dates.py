"""Museum rules for time: years and eras, dynasty and life ranges, centuries, dates, clock times, scores.

wetext reads every 4-digit number before 年 digit by digit (距今7000年 → 七零零零年), leaves
range dashes unread (618—907年 → 六百一十八—九百零七年) and reads 比分17:16 as a clock time,
so these come first.
"""
from __future__ import annotations

import re

from synthesis.normalize.numbers import SEP, read_digits, read_number, read_ordinal
from synthesis.normalize.rules import Rule

# A number of years is a duration (read as a number), not a year (read digit by digit),
# after these words (not a bare 有: 馆内有1998年入藏的文物 is a year)…
_DURATION_BEFORE = re.compile(r"(距今|长达|历时|历经|延续|持续|相隔|超过|已有|约有|逾|经过|近)(约|大约|将近)?\s*$")
# …or before these.
_DURATION_AFTER = re.compile(r"\s*(多|余|之久|来|以上|左右的历史|的历史|历史|树龄)")
_YEAR_LIANG = "千万亿"  # years keep 二百 (公元前221年 → 二百二十一年) but say 两千 (公元前2070年)


def _is_duration(m: re.Match, number: str) -> bool:
    text = m.string
    before, after = text[max(0, m.start() - 6):m.start()], text[m.end():m.end() + 6]
    if _DURATION_BEFORE.search(before) or _DURATION_AFTER.match(after):
        return True
    return number.endswith("00") and after[:1] == "前" and after[1:2] != "后"  # 5000年前


def _read_year(number: str, era: str, duration: bool) -> str:
    if duration:
        return read_number(number)  # a count of years, said like any count: 经过200年 → 两百年
    if era in ("公元前", "前") or len(number) != 4:
        return read_number(number, liang=_YEAR_LIANG)
    return read_digits(number)


def _year(m: re.Match) -> str:
    era, number = m.group(1) or "", m.group(2)
    if not era and number == "2":
        return "两年"  # a bare 2年 is a duration
    return era + _read_year(number, era, _is_duration(m, number)) + "年"


def _year_range(m: re.Match) -> str | None:
    era1, a, era2, b = (g or "" for g in m.group("e1", "a", "e2", "b"))
    duration = _is_duration(m, b)
    if not (era1 or era2) and max(len(a), len(b)) < 3:
        return f"{read_number(a)}至{read_number(b)}年"  # 3—5年: a span of years
    # 公元前475—221年: the second year shares the first one's era unless it has its own.
    return f"{era1}{_read_year(a, era1, duration)}年至{era2}{_read_year(b, era2 or era1, duration)}年"


def _bracketed_years(m: re.Match) -> str | None:
    """唐（618—907）, 齐白石（1864—1957）: a dynasty's or a life's span, said with 年."""
    era1, a, era2, b = (g or "" for g in m.group("e1", "a", "e2", "b"))
    if not (era1 or era2) and int(a) >= int(b):
        return None
    return _year_range(m)


def _date(m: re.Match) -> str | None:
    year, month, day = m.group("y"), m.group("mo"), m.group("d")
    if not 1 <= int(month) <= 12 or (day and not 1 <= int(day) <= 31):
        return None
    if m.group("sep") == "." and not day:
        return None  # 1191.5厘米 is a length, not May 1191
    return f"{read_digits(year)}年{read_ordinal(month)}月" + (f"{read_ordinal(day)}日" if day else "")


def _clock(hour: str, minute: str, second: str | None) -> str | None:
    h, mi, s = int(hour), int(minute), int(second or 0)
    if h > 24 or mi > 59 or s > 59:
        return None
    spoken = ("两" if h == 2 else read_ordinal(hour)) + "点"
    if mi or s:
        spoken += ("零" if 0 < mi < 10 else "") + read_ordinal(minute) + "分"
    if s:
        spoken += ("零" if s < 10 else "") + read_ordinal(second) + "秒"
    return spoken


# A colon between two numbers is a score, not a clock time, next to these words.
_SCORE_BEFORE = re.compile(r"(比分|战成|打成|战平|比赛|决赛|半场|全场|局)[^\d，。；]{0,3}$")
_SCORE_AFTER = re.compile(r"\s*(获胜|取胜|胜出|战胜|击败|打败|横扫|赢|输|告负|落败|负于|胜|负|平|的比分)")


def _score_or_time(m: re.Match) -> tuple[str, str] | None:
    a, b, c = m.group("h"), m.group("m"), m.group("s")
    text = m.string
    if c is None and (_SCORE_BEFORE.search(text[max(0, m.start() - 6):m.start()])
                      or _SCORE_AFTER.match(text, m.end())):
        return f"{read_number(a, liang='')}比{read_number(b, liang='')}", "score"
    clock = _clock(a, b, c) if len(b) == 2 and (c is None or len(c) == 2) else None
    return (clock, "clock time") if clock else None


def _decades(m: re.Match) -> str:
    """80年代 → 八十年代, 1980—1990年代 → 一九八零至一九九零年代."""
    def read(n: str) -> str:
        return read_digits(n) if len(n) == 4 else read_number(n)
    a, b = m.group("a"), m.group("b")
    return read(a) + (f"至{read(b)}" if b else "") + "年代"


def _span_reader(suffix: str):
    def read(m: re.Match) -> str:
        a, b = m.group("a"), m.group("b")
        return read_ordinal(a) + (f"至{read_ordinal(b)}" if b else "") + suffix
    return read


_YEAR_RANGE = rf"(?P<e1>公元前|公元|前)?(?P<a>\d{{1,4}}){SEP}(?P<e2>公元前|公元|前)?(?P<b>\d{{1,4}})"

RULES: list[Rule] = [
    Rule("date", re.compile(r"(?<![\d.])(?P<y>\d{4})(?P<sep>[-/.])(?P<mo>\d{1,2})(?:(?P=sep)(?P<d>\d{1,2}))?"
                            r"(?![\d.]|-\d|/\d)"), _date),
    Rule("clock time or score", re.compile(r"(?<![\d.:])(?P<h>\d{1,3})[:：](?P<m>\d{1,3})(?:[:：](?P<s>\d{2}))?"
                                           r"(?![\d:])"), _score_or_time),
    Rule("year range", re.compile(_YEAR_RANGE + r"\s*年(?!代)"), _year_range),
    Rule("dynasty or life span", re.compile(rf"(?<=[（(])\s*(?:约\s*)?(?P<claim>{_YEAR_RANGE})\s*(?=[)）])"),
         _bracketed_years),
    Rule("century", re.compile(rf"(?P<a>\d{{1,2}})(?:{SEP}(?P<b>\d{{1,2}}))?\s*世纪"), _span_reader("世纪")),
    Rule("decade", re.compile(rf"(?P<a>\d{{4}}|\d{{2}})(?:{SEP}(?P<b>\d{{4}}|\d{{2}}))?\s*年代"), _decades),
    Rule("year", re.compile(r"(公元前|公元|前)?(\d{1,5})\s*年(?!代)"), _year),
    Rule("month", re.compile(r"(?<![\d.])(?P<a>\d{1,2})(?:\s*[-—–―~～]\s*(?P<b>\d{1,2}))?\s*月"), _span_reader("月")),
    Rule("day", re.compile(r"(?<![\d.])(?P<a>\d{1,2})(?:\s*[-—–―~～]\s*(?P<b>\d{1,2}))?\s*(?P<unit>[日号])(?!码)"),
         lambda m: _span_reader(m.group("unit"))(m)),
]
