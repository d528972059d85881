"""Word segmentation for the front end: jieba 0.42's (MIT) accurate mode, HMM off, on its
shipped dictionary.

Words decide which phrase-dictionary readings apply (递交/了/结案, not 了结), keep the third
tone sandhi inside words, and tell prosody where words end. ``cut`` is what
``jieba.Tokenizer().cut(text, HMM=False)`` does (a test compares them): split the text into
runs jieba segments and the rest, build each run's graph of dictionary words, take the path of
highest summed log frequency, and glue single ASCII letters and digits back together. It is
done here rather than by jieba because jieba, to do it, imports pkg_resources (~0.1 s),
logs "Building prefix dict…" to stderr, builds a ~500,000-entry prefix dictionary (~0.6 s) and
writes a cache of it to the temp directory. Here the dictionary is a ``word_index.WordIndex``
over jieba's shipped word list, which gives the same answers, is cached in the model cache
under the list's sha256 (never a stale or foreign file) and loads in milliseconds, once per
process on first use.
"""
from __future__ import annotations

import importlib.util
import math
import re
from collections.abc import Iterator
from pathlib import Path

from synthesis import lazy, word_index

# jieba's own patterns (re_han_default, re_skip_default, re_eng)
_RUN = re.compile("([\u4E00-\u9FD5a-zA-Z0-9+#&\\._%\\-]+)")
_SPACE = re.compile("(\r\n|\\s)")
_ASCII_ALNUM = re.compile("[a-zA-Z0-9]")


def word_list() -> bytes:
    """jieba's shipped dictionary (found without importing jieba)."""
    spec = importlib.util.find_spec("jieba")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("jieba is not installed")
    return (Path(next(iter(spec.submodule_search_locations))) / "dict.txt").read_bytes()


@lazy.once
def _load() -> word_index.WordIndex:
    return word_index.load(word_list())


def _cut_run(run: str, freq: word_index.WordIndex) -> Iterator[str]:
    """One run of word characters (jieba's __cut_DAG_NO_HMM)."""
    n = len(run)
    ends = []  # ends[k]: the last index of each dictionary word starting at k
    for k in range(n):
        here, i, frag = [], k, run[k]
        while i < n and frag in freq:
            if freq[frag]:
                here.append(i)
            i += 1
            frag = run[k:i + 1]
        ends.append(here or [k])
    log_total = math.log(freq.total)
    best = [(0.0, 0)] * (n + 1)  # best[k]: (log probability of the best path from k, end of its first word)
    for k in range(n - 1, -1, -1):
        best[k] = max((math.log(freq.get(run[k:x + 1]) or 1) - log_total + best[x + 1][0], x) for x in ends[k])
    k, letters = 0, ""
    while k < n:
        word = run[k:best[k][1] + 1]
        k += len(word)
        if len(word) == 1 and _ASCII_ALNUM.match(word):
            letters += word  # single letters and digits the dictionary splits are one token again
            continue
        if letters:
            yield letters
            letters = ""
        yield word
    if letters:
        yield letters


def cut(text: str) -> Iterator[str]:
    """The words of ``text`` in order, as jieba cuts it with HMM off; they join up to ``text``."""
    freq = _load()
    for block in _RUN.split(text):
        if not block:
            continue
        if _RUN.match(block):
            yield from _cut_run(block, freq)
            continue
        for piece in _SPACE.split(block):
            if _SPACE.match(piece):
                yield piece
            else:
                yield from piece  # anything else: one character at a time


def words(text: str) -> list[tuple[int, int]]:
    """[start, end) spans of the words of ``text``, covering it without gaps."""
    spans, pos = [], 0
    # HMM off: its guesses at unknown words glue names to their neighbours, and readings
    # come from the phrase dictionary and the model anyway.
    for word in cut(text):
        spans.append((pos, pos + len(word)))
        pos += len(word)
    return spans
