"""wetext's Chinese text normaliser (WeTextProcessing's prebuilt TN grammars) on kaldifst.

The two FSTs are read from the installed wetext wheel, lazily and once per process; nothing is
downloaded. ``import wetext`` itself would load every grammar it ships (English, Japanese,
inverse normalisation: ~0.3 s), so this module runs wetext's three-step zh TN pipeline —
tag, reorder the token fields, verbalise — on just the two it needs (~0.03 s). A test checks
that the result equals ``wetext.Normalizer(lang="zh", operator="tn")``.
"""
from __future__ import annotations

import difflib
import importlib.util
import os
import re
import threading

from synthesis import lazy
from synthesis.normalize.numbers import read_digits, read_number

WETEXT = "wetext"
FALLBACK = "number reading (wetext failed)"
# Field order the verbaliser expects, as in wetext.constants.TN_ORDERS.
_TN_ORDERS = {
    "date": ["year", "month", "day"],
    "fraction": ["denominator", "numerator"],
    "measure": ["denominator", "numerator", "value"],
    "money": ["value", "currency"],
    "time": ["noon", "hour", "minute", "second"],
}
_TOKEN = re.compile(r'(\w+) \{((?: \w+: "(?:[^"\\]|\\.)*")*) \}')
_FIELD = re.compile(r'(\w+): ("(?:[^"\\]|\\.)*")')
_MAX_CHUNK = 200  # FST composition grows with the input; long stretches go in pieces
_CONTEXT = 4
_BREAKS = frozenset("，。；！？、\n;!?")
_NUMBER = re.compile(r"\d+(?:[.,:/\-~～—–]+\d+)*")

_run_lock = threading.Lock()


@lazy.once
def load():
    """(tagger, verbaliser), loaded on first use; thread-safe."""
    import kaldifst
    spec = importlib.util.find_spec("wetext")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("wetext is not installed")
    root = os.path.join(spec.submodule_search_locations[0], "fsts", "zh", "tn")
    return (kaldifst.TextNormalizer(os.path.join(root, "tagger.fst")),
            kaldifst.TextNormalizer(os.path.join(root, "verbalizer.fst")))


def _reorder(tagged: str) -> str:
    tokens = []
    for name, body in _TOKEN.findall(tagged):
        fields = dict(_FIELD.findall(body))
        order = list(fields)
        if name in _TN_ORDERS and fields.get("preserve_order") != '"true"':
            order = [k for k in _TN_ORDERS[name] if k in fields] + [k for k in order if k not in _TN_ORDERS[name]]
        tokens.append(f"{name} {{" + "".join(f" {k}: {fields[k]}" for k in order) + " }")
    return " ".join(tokens)


def run_wetext(text: str) -> str:
    """wetext's zh TN of ``text`` (stripped, as wetext does)."""
    text = text.strip()
    if not re.search(r"\d", text):
        return text
    tagger, verbaliser = load()
    with _run_lock:  # nothing says kaldifst's TextNormalizer may be called from two threads at once
        tagged = tagger(text).strip()
        if not tagged:
            raise RuntimeError("no normalisation path")
        return verbaliser(_reorder(tagged)).strip()


def _windows(text: str) -> list[tuple[int, int]]:
    """Stretches of ``text`` around its numbers, with _CONTEXT characters either side (not past
    a clause break): wetext's cost grows with its input, and a reading needs only the words
    next to the number (2件, 3平方公里, 约1.2万). Overlapping stretches merge; none is longer
    than _MAX_CHUNK, cut where two digits do not touch."""
    windows: list[list[int]] = []
    for m in _NUMBER.finditer(text):
        start, end = m.start(), m.end()
        while start > 0 and m.start() - start < _CONTEXT and text[start - 1] not in _BREAKS:
            start -= 1
        while end < len(text) and end - m.end() < _CONTEXT and text[end] not in _BREAKS:
            end += 1
        if windows and start <= windows[-1][1]:
            windows[-1][1] = max(windows[-1][1], end)
        else:
            windows.append([start, end])
    out = []
    for start, end in windows:
        while end - start > _MAX_CHUNK:
            cut = next((i for i in range(start + _MAX_CHUNK, start, -1)
                        if not (text[i - 1].isdigit() and text[i].isdigit())), start + _MAX_CHUNK)
            out.append((start, cut))
            start = cut
        out.append((start, end))
    return out


def _fallback(text: str) -> str:
    return re.sub(r"\d+(?:\.\d+)?", lambda m: read_number(m.group(0)), text)


def normalise_gap(text: str) -> list[tuple[int, int, str, str]]:
    """(start, end, spoken, rule) for each stretch of ``text`` that wetext changed."""
    if not re.search(r"\d", text):
        return []
    out = []
    for start, end in _windows(text):
        chunk = text[start:end]
        base = start + len(chunk) - len(chunk.lstrip())
        body = chunk.strip()
        try:
            spoken, rule = run_wetext(body), WETEXT
        except Exception:  # noqa: BLE001 - a grammar failure must not stop narration
            spoken, rule = _fallback(body), FALLBACK
        # Digits wetext passed through (odd contexts) would be dropped unspoken downstream.
        spoken = re.sub(r"\d+", lambda m: read_digits(m.group(0)), spoken)
        ops = difflib.SequenceMatcher(None, body, spoken, autojunk=False).get_opcodes()
        out += [(base + i1, base + i2, spoken[j1:j2], rule) for op, i1, i2, j1, j2 in ops if op != "equal"]
    return out
