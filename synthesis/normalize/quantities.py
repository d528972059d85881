"""Museum rules for codes and quantities: catalogue and phone numbers, ordinals, money,
temperatures, units, percentages, fractions, ranges and the math signs wetext misreads.
"""
from __future__ import annotations

import re
import unicodedata

from synthesis.normalize.numbers import (
    MEASURES, NUM, SEP, read_code, read_count, read_digits, read_number, read_ordinal,
)
from synthesis.normalize.rules import Rule

_SIGNED = r"[-−]?" + NUM
_AMOUNT = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|" + NUM  # 12,000 or 1200.5


def _amount(text: str) -> str:
    return text.replace(",", "").replace("−", "-")


_CODE_WORDS = "编号|馆藏号|藏品号|总登记号|登记号|文物号|档案号|索书号|序列号|型号|批号"
_DIGIT_WORDS = "尾号|邮编|邮政编码|验证码|密码|代码|工号|学号|卡号|账号|号码|后四位|房间号"
_PHONE_WORDS = "电话|热线|手机|传真|拨打|致电|呼叫"


def _phone(m: re.Match) -> str:
    return read_digits(m.group("claim"), yao=True)


def _vulgar_fraction(m: re.Match) -> str | None:
    """½ ⅓ ¾…: NFKC spells them 1⁄2, 1⁄3, 3⁄4."""
    top, _, bottom = unicodedata.normalize("NFKC", m.group(0)).partition("⁄")
    if not (top.isdigit() and bottom.isdigit()):
        return None
    return f"{read_number(bottom, liang='')}分之{read_number(top, liang='')}"


_UNITS = {
    "km²": "平方公里", "cm²": "平方厘米", "m²": "平方米", "㎡": "平方米", "m³": "立方米", "cm³": "立方厘米",
    "km/h": "公里", "m/s": "米",
    "km": "公里", "㎞": "公里", "cm": "厘米", "㎝": "厘米", "mm": "毫米", "㎜": "毫米", "μm": "微米",
    "µm": "微米", "nm": "纳米", "m": "米",
    "kg": "公斤", "㎏": "公斤", "mg": "毫克", "g": "克", "t": "吨", "ha": "公顷",
    "ml": "毫升", "mL": "毫升", "L": "升",
    "ms": "毫秒", "s": "秒", "min": "分钟", "h": "小时",
    "GHz": "吉赫兹", "MHz": "兆赫兹", "kHz": "千赫兹", "Hz": "赫兹",
    "kW": "千瓦", "W": "瓦", "kV": "千伏", "V": "伏", "mA": "毫安",
    "dB": "分贝", "kPa": "千帕", "Pa": "帕", "kcal": "千卡", "lx": "勒克斯",
    "°F": "华氏度", "°": "度",
}
_PER = {"km/h": "每小时", "m/s": "每秒"}  # 50km/h → 每小时五十公里, the way it is said

_CURRENCY = {
    "HK$": "港元", "A$": "澳元", "US$": "美元", "NT$": "新台币", "C$": "加元", "S$": "新加坡元",
    "$": "美元", "¥": "元", "￥": "元", "€": "欧元", "£": "英镑", "₩": "韩元",
}


def _alternation(names) -> str:
    return "|".join(map(re.escape, sorted(names, key=len, reverse=True)))


def _spoken_range(m: re.Match, read) -> str:
    b = m.group("b")
    return read(m.group("a")) + (f"至{read(b)}" if b else "")


def _unit(m: re.Match) -> str:
    unit = m.group("unit")
    name = _UNITS[unit]
    spoken = _spoken_range(m, lambda n: read_count(_amount(n), name))
    return _PER.get(unit, "") + spoken + name


def _temperature(m: re.Match) -> str:
    def read(n: str) -> str:
        n = _amount(n)
        return "零下" + read_number(n[1:]) if n.startswith("-") else read_number(n)
    return _spoken_range(m, read) + "摄氏度"


def _percent(m: re.Match) -> str:
    word = "百分之" if m.group("sign") == "%" else "千分之"

    def read(n: str) -> str:
        n = _amount(n)
        sign, n = ("负", n[1:]) if n.startswith("-") else ("", n)
        return sign + word + ("百" if word == "百分之" and n == "100" else read_number(n, liang=""))
    return _spoken_range(m, read)


_SUPERSCRIPTS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻", "0123456789-")


def _power(m: re.Match) -> str:
    """3² → 三的平方, 10⁶ → 十的六次方, 10⁻³ → 十的负三次方."""
    base, exponent = read_number(m.group(1), liang=""), m.group(2).translate(_SUPERSCRIPTS)
    if exponent in ("2", "3"):
        return base + ("的平方" if exponent == "2" else "的立方")
    return f"{base}的{read_number(exponent, liang='')}次方"


def _money(m: re.Match) -> str:
    """¥60 → 六十元, HK$2,800万 → 两千八百万港元 (the currency goes after 万/亿)."""
    big = m.group("big") or ""
    return read_count(_amount(m.group("amount")), big or "元") + big + _CURRENCY[m.group("cur")]


def _plain_range(m: re.Match) -> str:
    a, b = _amount(m.group("a")), _amount(m.group("b"))
    return f"{read_number(a, liang='')}至{read_count(b, m.string[m.end():])}"


_MATH_SIGNS = {"+": "加", "＋": "加", "=": "等于", "×": "乘", "*": "乘", "÷": "除以"}


def _range_of(number: str) -> str:
    """``number``, or two of them with a range separator between: groups a and b.

    The separator is one hyphen at most, so -20~-15℃ keeps the second number's minus.
    """
    return rf"(?P<a>{number})(?:\s*(?:[—–―~～]{{1,2}}|-|至|到)\s*(?P<b>{number}))?"


_CATALOGUE = re.compile(rf"(?:{_CODE_WORDS})(?:\s*[:：]|是|为)?\s*(?P<claim>[A-Za-z]*-?\d[\dA-Za-z]*(?:[-./]\d+)*)")
# An area code may stand in brackets: 电话：(010)65116400.
_TELEPHONE = re.compile(rf"(?:{_PHONE_WORDS})[^\d，。；]{{0,6}}?(?P<claim>[(（]?\d[\d\-– ]*[)）]?[\d\-– ]*\d)")
# A lone 2 (not 12, 2.5, -2 or the end of a range) before a measure word or 点 (but 2点5).
_LONE_TWO = re.compile(rf"(?<![\d.\-−—–―~～=+×÷*/])2(?![\d.])(?=\s*(?:{'|'.join(MEASURES)}|点(?!\d)))")
# Not next to a math sign (3-2=1 is a subtraction) nor in a chain (2021-13-01 is a code).
_RANGE = re.compile(rf"(?<![=+×÷*/^\d.,\-—–―~～A-Za-z])(?P<a>{_AMOUNT}){SEP}(?P<b>{_AMOUNT})"
                    r"(?!\s*[=+×÷*/^]|[\d.]|[-—–―~～]\d)")

# Codes come before dates so 1986-045 after 登记号 is not read as a date; a run of more than
# 12 digits is a code wherever it stands.
CODE_RULES: list[Rule] = [
    Rule("digit string", re.compile(r"(?<!\d)\d{13,}"), lambda m: read_digits(m.group(0))),
    Rule("catalogue number", _CATALOGUE, lambda m: read_code(m.group("claim"))),
    Rule("catalogue number", re.compile(r"(?<![A-Za-z])(?:No|NO|no)\.\s*(\d+)|№\s*(\d+)"),
         lambda m: "编号" + read_digits(m.group(1) or m.group(2))),
    Rule("digit string", re.compile(rf"(?:{_DIGIT_WORDS})[^\d，。；]{{0,4}}?(?P<claim>\d+)(?!\.\d)"),
         lambda m: read_digits(m.group("claim"))),  # before telephones: 手机尾号0021 is not dialled
    Rule("telephone number", _TELEPHONE, _phone),
    Rule("telephone number", re.compile(r"(?<!\d)(?P<claim>1[3-9]\d{9})(?!\d)"), _phone),
    Rule("digit string", re.compile(r"(?<![\d.])(?P<claim>\d{3,4})(?=\s*(?:房间|号房|室|次列车|次))"),
         lambda m: read_digits(m.group("claim"))),
    Rule("digit string", re.compile(r"(?<![A-Za-z])[A-Z]{1,3}(?P<claim>\d{3,})(?![\d.])"),
         lambda m: read_digits(m.group("claim"))),  # flight and train numbers: CA1234 (but G20, M12)
    Rule("digit string", re.compile(r"(?<!\d)\d{1,2}[·・]\d{1,2}(?!\d)"),
         lambda m: read_digits(m.group(0))),  # 9·11事件, 5·12汶川地震 → 九一一, 五一二
    # COVID-19, B-52: a hyphen inside a name, not a minus sign.
    Rule("number in a name", re.compile(r"(?<=[A-Za-z])-(?P<n>\d{1,4})(?![\d.])"),
         lambda m: read_number(m.group("n"), liang="")),
]

# After dates, so 08:00 and 2021-10-01 are not read as codes.
QUANTITY_RULES: list[Rule] = [
    Rule("digit string", re.compile(r"(?<![\d.,\-])0\d{1,12}(?![\d.])"), lambda m: read_digits(m.group(0))),
    Rule("ordinal", re.compile(rf"第\s*(?P<a>\d+)(?:{SEP}(?P<b>\d+))?"),
         lambda m: "第" + _spoken_range(m, read_ordinal)),
    Rule("fraction", re.compile(r"[½⅓⅔¼¾⅕⅖⅗⅘⅙⅚⅐⅛⅜⅝⅞⅑⅒]"), _vulgar_fraction),
    Rule("fraction", re.compile(r"(?<![\d/.])(\d{1,9})/(\d{1,9})(?![\d/])"),
         lambda m: f"{read_number(m.group(2), liang='')}分之{read_number(m.group(1), liang='')}"),
    Rule("temperature", re.compile(_range_of(_SIGNED) + r"\s*(?:°C|℃|°c)"),
         _temperature),
    Rule("unit", re.compile(_range_of(_AMOUNT) + rf"\s*(?P<unit>{_alternation(_UNITS)})(?![A-Za-z])"),
         _unit),
    Rule("money", re.compile(rf"(?<![A-Za-z])(?P<cur>{_alternation(_CURRENCY)})\s*(?P<amount>{_AMOUNT})(?:\s*(?P<big>[万亿]))?"),
         _money),
    Rule("percentage", re.compile(_range_of(_SIGNED) + r"\s*(?P<sign>[%‰])"), _percent),
    Rule("power", re.compile(rf"({NUM})([⁻]?[⁰¹²³⁴⁵⁶⁷⁸⁹]+)"), _power),
    Rule("number with thousands separators", re.compile(r"(?<![\d.,])\d{1,3}(?:,\d{3})+(?:\.\d+)?(?![\d,])"),
         lambda m: read_count(_amount(m.group(0)), m.string[m.end():])),  # wetext: 1,000 → 一,零零零
    # wetext reads ÷ as 除 (“divides”); 6÷2 is 六除以二. + = × next to a number are read here
    # too, because a rule's claim on the number beside them hides them from wetext.
    Rule("math sign", re.compile(r"(?<![\d.])±(?=\d)"), lambda m: "正负"),  # ±0.5℃ → 正负零点五摄氏度
    Rule("number with 多", re.compile(rf"(?<![\d.]){NUM}\+(?![\d+])"),
         lambda m: read_count(m.group(0)[:-1], m.string[m.end():]) + "多"),  # 100+件 → 一百多件
    Rule("math sign", re.compile(r"(?<=[\dA-Za-z²³])\s*([+＋=×÷*])\s*(?=[\dA-Za-z-])"),
         lambda m: _MATH_SIGNS[m.group(1)]),
    Rule("math sign", re.compile(r"(?<=[\d²³])\s*(-)\s*(?=\d+(?:\.\d+)?\s*=)"), lambda m: "减"),  # 10-4=6
    # 约2万件, 每天2次, 2点半: wetext says 二万, 二次, 二点.
    Rule("两 before a measure word", _LONE_TWO, lambda m: "两"),
    Rule("range", _RANGE, _plain_range),
    # wetext reads 2 meters as 两米eters, 2hour as 两小时our.
    Rule("number before a Latin word", re.compile(rf"(?<![A-Za-z\d.]){NUM}(?=\s*[A-Za-z]{{2}})"),
         lambda m: read_number(m.group(0), liang="")),
]
