"""Museum text normalisation: digits, dates, units and symbols → spoken Chinese characters.

Punctuation is kept (the clause splitter needs it); Latin letters that are not units are
left alone so the front end can warn about them.

Readings chosen (documented because curators will ask):
* 4-digit years are read digit by digit (1998年 → 一九九八年); shorter years as numbers
  (221年 → 二百二十一年), so a range 618—907年 → 六百一十八年至九百零七年 (每个年份都带“年”,
  as announcers say it). A range of small numbers is a duration: 3—5年 → 三至五年.
* BCE years are quantities in spoken Chinese: 公元前2070年 → 公元前两千零七十年.
* A 4-digit number of years is a duration, read as a number, after 距今/长达/历时… or before
  多/余/之久/来/以上, and before 前 when it is round (5000年前 → 五千年前).
* Units use the everyday spoken names: kg → 公斤, km → 公里, ㎡ → 平方米.
* 2 before a measure word or unit is 两 (2件 → 两件, 2米 → 两米); a quantity starting with
  2000/20000 is 两千/两万. Ordinals, months, days and digits keep 二.
"""
from __future__ import annotations

import re

import cn2an

_FULLWIDTH = str.maketrans(
    {chr(0xFF10 + i): str(i) for i in range(10)}
    | {chr(0xFF21 + i): chr(0x41 + i) for i in range(26)}
    | {chr(0xFF41 + i): chr(0x61 + i) for i in range(26)}
    # Not ，：；！？（）: those are the normal Chinese punctuation the splitter relies on.
    | {"％": "%", "＄": "$", "．": ".", "－": "-", "／": "/", "＋": "+"}
)
_DIGIT_NAMES = "零一二三四五六七八九"
_NUM = r"\d+(?:\.\d+)?"
_SEP = r"\s*(?:[-—–―~～]{1,2}|至|到)\s*"  # range separators, incl. the Chinese dash ——
_UNITS = {
    "km²": "平方公里", "cm²": "平方厘米", "m²": "平方米", "㎡": "平方米", "m³": "立方米",
    "km": "公里", "㎞": "公里", "cm": "厘米", "㎝": "厘米", "mm": "毫米", "㎜": "毫米", "m": "米",
    "kg": "公斤", "㎏": "公斤", "mg": "毫克", "g": "克", "t": "吨", "ha": "公顷",
    "ml": "毫升", "mL": "毫升", "L": "升", "°C": "摄氏度", "℃": "摄氏度", "°": "度",
}
_UNIT_RE = re.compile(
    r"(?<=\d)\s*(" + "|".join(map(re.escape, sorted(_UNITS, key=len, reverse=True))) + r")(?![A-Za-z])"
)
# Words after which 2 is read 两.
_MEASURES = (
    "个 件 位 名 只 座 条 张 幅 尊 枚 块 把 次 种 处 套 组 对 副 辆 艘 匹 头 份 页 卷 册 本 部 片 "
    "间 栋 天 周 小时 分钟 岁 倍 万 千 亿 米 厘米 毫米 公里 千米 公斤 千克 克 毫克 吨 亩 公顷 升 毫升 "
    "平方米 平方公里 平方厘米 立方米"
).split()
_DURATION_BEFORE = re.compile(r"(距今|长达|历时|历经|延续|持续|相隔|超过|已有|逾|经过)\s*$")
_DURATION_AFTER = re.compile(r"年\s*(多|余|之久|来|以上)")


def read_digits(digits: str) -> str:
    """'1998' → '一九九八'."""
    return "".join(_DIGIT_NAMES[int(d)] for d in digits)


def read_number(number: str, *, liang: bool = True) -> str:
    """Cardinal reading via cn2an; codes with leading zeros or over 12 digits go digit by digit."""
    whole, _, frac = number.partition(".")
    if (len(whole) > 1 and whole.startswith("0")) or len(whole) > 12:
        return read_digits(whole) + (f"点{read_digits(frac)}" if frac else "")
    text = cn2an.an2cn(number)
    if liang and not frac and text[:2] in ("二千", "二万", "二亿"):
        text = "两" + text[1:]
    return text


def _is_duration(m: re.Match, number: str) -> bool:
    before, after = m.string[max(0, m.start() - 4):m.start()], m.string[m.end() - 1:m.end() + 3]
    if _DURATION_BEFORE.search(before) or _DURATION_AFTER.match(after):
        return True
    return number.endswith("00") and after[1:2] == "前" and after[2:3] != "后"


def _read_year(number: str, prefix: str, duration: bool) -> str:
    if duration or prefix in ("公元前", "前") or len(number) != 4:
        return read_number(number)
    return read_digits(number)


def _year(m: re.Match) -> str:
    prefix, number = m.group(1) or "", m.group(2)
    if not prefix and number == "2":
        return "两年"  # a bare 2年 is a duration
    return prefix + _read_year(number, prefix, _is_duration(m, number)) + "年"


def _year_range(m: re.Match) -> str:
    p1, a, p2, b = (g or "" for g in m.groups())
    duration = _is_duration(m, b)
    if not (p1 or p2) and max(len(a), len(b)) < 3:
        return f"{read_number(a)}至{read_number(b)}年"  # 3—5年: a span of years
    # 公元前475—221年: the second year shares the first one's era unless it has its own.
    return f"{p1}{_read_year(a, p1, duration)}年至{p2}{_read_year(b, p2 or p1, duration)}年"


def _iso_date(m: re.Match) -> str:
    year, month, day = m.groups()
    if not (1 <= int(month) <= 12 and 1 <= int(day) <= 31):
        return m.group(0)
    return f"{read_digits(year)}年{_count(month)}月{_count(day)}日"


def _count(number: str) -> str:
    """Months, days, centuries: 03 is simply 三, and 2 stays 二 (二月, 二日)."""
    return read_number(str(int(number)), liang=False)


def _time(m: re.Match) -> str:
    hour, minute = int(m.group(1)), m.group(2)
    if hour > 24 or int(minute) > 59:
        return m.group(0)
    spoken = ("两" if hour == 2 else read_number(str(hour))) + "点"
    if minute != "00":
        spoken += ("零" if minute[0] == "0" else "") + _count(minute) + "分"
    return spoken


def _plain_number(m: re.Match) -> str:
    number = m.group(0)
    if number == "2" and any(m.string.startswith(w, m.end()) for w in _MEASURES):
        return "两"
    return read_number(number)


def _range_reader(suffix: str):
    def read(m: re.Match) -> str:
        a, b = m.group(1), m.group(2)
        return _count(a) + (f"至{_count(b)}" if b else "") + suffix
    return read


# Applied in order: each rule consumes the digits it reads, so later, more general rules
# never see them (thousands separators first, bare numbers last).
_RULES: list[tuple[re.Pattern, object]] = [
    (re.compile(r"(?<![\d.])\d{1,3}(?:,\d{3})+(?![\d])"), lambda m: m.group(0).replace(",", "")),
    (re.compile(r"(?<!\d)(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?!\d)"), _iso_date),
    (_UNIT_RE, lambda m: _UNITS[m.group(1)]),
    (re.compile(rf"[¥￥]\s*({_NUM})"), lambda m: read_number(m.group(1)) + "元"),
    (re.compile(rf"\$\s*({_NUM})"), lambda m: read_number(m.group(1)) + "美元"),
    (re.compile(rf"({_NUM})\s*%"), lambda m: "百分之" + read_number(m.group(1))),
    (re.compile(rf"({_NUM})\s*‰"), lambda m: "千分之" + read_number(m.group(1))),
    (re.compile(r"(?<![\d.:])(\d{1,2})[:：](\d{2})(?![\d:])"), _time),
    (re.compile(rf"(公元前|公元|前)?(\d{{1,4}}){_SEP}(公元前|公元|前)?(\d{{1,4}})\s*年(?!代)"), _year_range),
    (re.compile(rf"(\d{{1,2}})(?:{_SEP}(\d{{1,2}}))?\s*世纪"), _range_reader("世纪")),
    (re.compile(r"(\d{4})\s*年代"), lambda m: read_digits(m.group(1)) + "年代"),
    (re.compile(r"(\d{2})\s*年代"), lambda m: read_number(m.group(1)) + "年代"),
    (re.compile(r"(公元前|公元|前)?(\d{1,5})\s*年(?!代)"), _year),
    (re.compile(r"(?<![\d.])(\d{1,2})(?:\s*[-—–―~～]\s*(\d{1,2}))?\s*月"), _range_reader("月")),
    (re.compile(r"(?<![\d.])(\d{1,2})\s*([日号])"), lambda m: _count(m.group(1)) + m.group(2)),
    (re.compile(r"第\s*(\d+)"), lambda m: "第" + read_number(m.group(1), liang=False)),
    (re.compile(rf"(?<![A-Za-z\d.])({_NUM})\s*[-—–―~～]{{1,2}}\s*({_NUM})"),
     lambda m: f"{read_number(m.group(1))}至{read_number(m.group(2))}"),
    (re.compile(_NUM), _plain_number),
]


def normalize(text: str) -> str:
    """Spoken form of ``text``: numbers, dates, units and symbols in Chinese characters."""
    text = text.translate(_FULLWIDTH)
    for pattern, replace in _RULES:
        text = pattern.sub(replace, text)
    return text
