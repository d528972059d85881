"""Text side of the Sambert adapter: our normalised clause -> the pipeline's text or SSML pieces.

Kept apart from the engine (``sambert.py``) because it is pure string work that runs and is
tested everywhere, while the engine needs ModelScope. See ``sambert.py``'s docstring for why
each choice was made.
"""
from __future__ import annotations

import math
import re
from xml.sax.saxutils import escape

from synthesis.clause import EMOTIONS, Clause

MAX_CHARS = 30  # per pipeline call, counted on the text (not the SSML markup)
# our emotion -> SSML category; identity today, kept as a table so a rename is one line
EMOTION_CATEGORY = {e: e for e in EMOTIONS}
INTENSITY_RANGE = (0.01, 2.0)

MAJOR = "。！？；…"  # sentence ends: the preferred split points
MINOR = "，、："  # pauses inside a sentence
PUNCT = MAJOR + MINOR
_ASCII_PUNCT = {",": "，", "!": "！", "?": "？", ";": "；", ":": "：", ".": "。"}
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f]")


def speakable_text(clause: Clause) -> str:
    """``clause.normalized`` with the clause's punctuation put back (see module doc)."""
    text, norm = clause.text, clause.normalized
    # when the alignment fails, keep at least the clause-final punctuation (phrase-final tone)
    ending = ""
    for ch in map(lambda c: _ASCII_PUNCT.get(c, c), reversed(text)):
        if _CJK.match(ch) or ch.isalnum():
            break
        ending = ch + ending if ch in PUNCT else ending
    fallback = norm + ending if norm else ""
    out: list[str] = []
    j = 0
    run: list[str] = []  # a stretch of digits/Latin/symbols whose reading lies in norm[j:k]

    def close_run(k: int) -> None:
        # the run's reading, then only the punctuation after its last non-punctuation char:
        # "1,000" keeps no comma, "3件，" keeps the pause
        tail = []
        for ch in reversed(run):
            if ch not in PUNCT:
                break
            tail.append(ch)
        out.append(norm[j:k])
        out.extend(reversed(tail))
        run.clear()

    for ch in text:
        ch = _ASCII_PUNCT.get(ch, ch)
        if _CJK.match(ch):
            if run:
                k = norm.find(ch, j)
                if k < 0:
                    return fallback
                close_run(k)
                j = k
            if j >= len(norm) or norm[j] != ch:
                return fallback  # text and normalized disagree: trust the front end's reading
            out.append(ch)
            j += 1
        elif ch in PUNCT and not run:
            out.append(ch)
        else:
            run.append(ch)
    if run:
        close_run(len(norm))
        j = len(norm)
    result = "".join(out)
    return result if j == len(norm) else fallback


def _split_after(text: str, marks: str) -> list[str]:
    """Split keeping each run of ``marks`` attached to the text before it."""
    return [p for p in re.findall(rf"[^{marks}]*[{marks}]+|[^{marks}]+", text) if p]


def _hard_split(text: str, limit: int) -> list[str]:
    n = math.ceil(len(text) / limit)
    size = math.ceil(len(text) / n)  # balanced: 100 chars -> 4 x 25, not 30+30+30+10
    return [text[i : i + size] for i in range(0, len(text), size)]


def split_pieces(text: str, limit: int = MAX_CHARS, levels: tuple[str, ...] = (MAJOR, MINOR)) -> list[str]:
    """Pieces of at most ``limit`` characters, cut at the strongest punctuation available."""
    if len(text) <= limit:
        return [text] if text else []
    if not levels:
        return _hard_split(text, limit)
    parts = _split_after(text, levels[0])
    if len(parts) == 1:
        return split_pieces(text, limit, levels[1:])
    pieces, current = [], ""
    for part in parts:
        if len(part) > limit:
            if current:
                pieces.append(current)
                current = ""
            pieces += split_pieces(part, limit, levels[1:])
        elif len(current) + len(part) <= limit:
            current += part
        else:
            pieces.append(current)
            current = part
    if current:
        pieces.append(current)
    return pieces


def emotion_attrs(emotion: str, intensity: float) -> tuple[str, float, list[str]]:
    """(SSML category, intensity in the model's range, warnings)."""
    warnings = []
    category = EMOTION_CATEGORY.get(emotion)
    if category is None:
        warnings.append(f"情感 {emotion} 不受支持，已按中性朗读 (emotion not supported by Sambert; neutral used)")
        category = "neutral"
    lo, hi = INTENSITY_RANGE
    value = min(hi, max(lo, float(intensity)))
    if value != intensity:
        warnings.append(f"情感强度 {intensity} 超出 {lo}–{hi}，已取 {value} (intensity clamped)")
    return category, value, warnings


def build_input(piece: str, category: str = "neutral", intensity: float = 1.0) -> str:
    """Plain text when neutral at 1.0, else SSML with the text XML-escaped (quotes included)."""
    if category == "neutral" and intensity == 1.0:
        return piece
    body = escape(piece, {'"': "&quot;", "'": "&apos;"})
    level = f"{intensity:.2f}".rstrip("0").rstrip(".")
    return f'<speak><emotion category="{category}" intensity="{level}">{body}</emotion></speak>'
