"""Spoken forms of bare numbers: cardinals (with the 两/二 choice), digit strings, codes."""
from __future__ import annotations

_DIGIT_NAMES = "零一二三四五六七八九"
# Bounded so a run of thousands of digits costs each rule linear, not quadratic, time; longer
# runs are codes, claimed before any other rule (quantities.LONG_DIGITS).
NUM = r"\d{1,13}(?:\.\d{1,13})?"
# Range separators between two numbers, including the doubled Chinese dash ——.
SEP = r"\s*(?:[-—–―~～]{1,2}|至|到)\s*"
# Words after which a lone 2 is a count and so read 两 (2件 → 两件).
MEASURES = (
    "个 件 位 名 只 座 条 张 幅 尊 枚 块 把 次 种 处 套 组 对 副 辆 艘 匹 头 份 页 卷 册 本 部 片 "
    "间 栋 天 周 小时 分钟 岁 倍 万 千 亿 米 厘米 毫米 公里 千米 公斤 千克 克 毫克 吨 亩 公顷 升 毫升 "
    "平方米 平方公里 平方厘米 立方米 元 美元 欧元 英镑 港元 澳元 人 年"
).split()


def read_digits(digits: str, *, yao: bool = False) -> str:
    """'1998' → '一九九八'; with ``yao`` (telephone numbers) 1 is 幺, as callers say it."""
    names = _DIGIT_NAMES.replace("一", "幺") if yao else _DIGIT_NAMES
    return "".join(names[int(d)] for d in digits if d.isdigit())


def _read_group(group: str) -> str:
    """'0205' → '零二百零五': up to four digits, zeros collapsed into one 零."""
    out, zero = "", False
    for digit, place in zip(group.rjust(4, "0"), ("千", "百", "十", "")):
        if digit == "0":
            zero = zero or bool(out)
            continue
        out += ("零" if zero else "") + _DIGIT_NAMES[int(digit)] + place
        zero = False
    return out


def read_integer(whole: str) -> str:
    """'10005' → '一万零五', '110' → '一百一十', '12' → '十二': cn2an's readings (a test compares
    them) without its 0.3 s import, and 600007738 → 六亿零七千七百三十八 where cn2an drops the 零."""
    whole = whole.lstrip("0") or "0"
    if whole == "0" or len(whole) > 12:
        return read_digits(whole)
    groups = [whole[max(0, i - 4):i] for i in range(len(whole), 0, -4)][::-1]
    out, gap = "", False
    for group, big in zip(groups, ["亿", "万", ""][-len(groups):]):
        if int(group) == 0:
            gap = True
            continue
        spoken = _read_group(group)
        if out and (gap or group[0] == "0") and not spoken.startswith("零"):
            spoken = "零" + spoken
        out += spoken + big
        gap = False
    return out[1:] if out.startswith("一十") else out


def read_number(number: str, *, liang: str | bool = "百千万亿") -> str:
    """Cardinal reading: '1200' → '一千二百', '-3.5' → '负三点五'.

    A leading 2 directly before one of the place names in ``liang`` is 两 (两百, 两千, 两万),
    the way a guide counts; 1200 keeps 一千二百. Codes with leading zeros or over 12 digits
    go digit by digit. ``liang=False`` keeps 二 everywhere, ``True`` is the default set.
    """
    liang = {True: "百千万亿", False: ""}.get(liang, liang) if isinstance(liang, bool) else liang
    sign = "负" if number.startswith("-") else ""
    whole, _, frac = number.lstrip("-").partition(".")
    if (len(whole) > 1 and whole.startswith("0")) or len(whole) > 12:
        return sign + read_digits(whole) + (f"点{read_digits(frac)}" if frac else "")
    text = read_integer(whole) + (f"点{read_digits(frac)}" if frac else "")
    if text[:1] == "二" and text[1:2] and text[1] in liang:
        text = "两" + text[1:]
    return sign + text


def read_count(number: str, following: str) -> str:
    """A number that counts what follows it: a lone 2 before a measure word is 两."""
    if number == "2" and following.startswith(tuple(MEASURES)):
        return "两"
    return read_number(number)


def read_ordinal(number: str) -> str:
    """Months, days, centuries, ordinals: 03 is simply 三, and 2 stays 二 (二月, 第二百)."""
    return read_number(str(int(number)), liang="")


def read_code(code: str) -> str:
    """Inventory and catalogue numbers: digits one by one, letters kept, 1986-045 → 一九八六杠零四五."""
    out = []
    for ch in code:
        if ch.isdigit():
            out.append(_DIGIT_NAMES[int(ch)])
        elif ch in "-–—":
            out.append("杠")
        elif ch == ".":
            out.append("点")
        elif ch == "/":
            out.append("斜杠")
        elif not ch.isspace():
            out.append(ch)
    return "".join(out)
