"""jieba's word list as a sorted array on disk: its prefix dictionary's answers without building it.

jieba segments with ``FREQ``, a dict holding every word of its list with its count and every
prefix of a word with 0 (~500,000 entries). Building it takes ~0.6 s of CPU, unmarshalling
jieba's own cache of it ~0.2 s: most of a one-off render. Segmentation only ever asks about
substrings of the text (``frag in FREQ``, ``FREQ[frag]``, ``FREQ.get(frag)``), so ``WordIndex``
answers those from the words sorted by their UTF-8 bytes (the same order as the strings' code
points): a binary search finds the first word not below ``frag``; ``frag`` is in the list if
that word equals it, a prefix if that word starts with it. The answers are exactly the dict's
(duplicate lines: the last count wins, every count adds to the total, as in jieba).

The index is built once from the list and cached in ``model_cache`` under the list's sha256,
then memory-mapped (~20 MB, shared by every process on the machine; a lookup reads a few pages).

Imports: numpy, ``model_cache``.
"""
from __future__ import annotations

import functools
import hashlib
import mmap
import struct
from contextlib import suppress
from pathlib import Path

import numpy as np

from synthesis.model_cache import model_cache_dir, write_atomically

FORMAT = b"jiebaWI1"  # bump when the layout changes: it is part of the file's name and header
_HEADER = struct.Struct("<8sqqq")  # format, words, bytes per word, total count


class WordIndex:
    """A read-only stand-in for jieba's ``FREQ``: ``in``, ``[]`` and ``get`` on strings."""

    def __init__(self, buffer):
        fmt, count, width, self.total = _HEADER.unpack_from(buffer)
        words_at = _HEADER.size
        counts_at = words_at + _padded(count * width)
        if fmt != FORMAT or len(buffer) != counts_at + 8 * count:
            raise ValueError("not a word index of this format, or truncated")
        self._buffer = buffer  # keeps the mapping open as long as the arrays use it
        self._words = np.frombuffer(buffer, dtype=f"S{width}", count=count, offset=words_at)
        self._counts = np.frombuffer(buffer, dtype="<i8", count=count, offset=counts_at)
        self._width = width
        # get_DAG asks ``in`` and then ``[]`` for each fragment; a worker meets the same words again
        self._find = functools.lru_cache(maxsize=1 << 16)(self._search)

    def _search(self, frag: str) -> int | None:
        """The word's count, 0 for a prefix of a word that is not a word itself, None otherwise."""
        key = frag.encode("utf-8", "surrogatepass")
        if not key or len(key) > self._width:
            return None
        i = int(np.searchsorted(self._words, key))
        if i == len(self._words):
            return None
        word = self._words[i]  # numpy drops the padding; no word contains NUL
        if word == key:
            return int(self._counts[i])
        return 0 if word.startswith(key) else None

    def __contains__(self, frag: object) -> bool:
        return isinstance(frag, str) and self._find(frag) is not None

    def __getitem__(self, frag: str) -> int:
        found = self._find(frag)
        if found is None:
            raise KeyError(frag)
        return found

    def get(self, frag: str, default=None):
        found = self._find(frag)
        return default if found is None else found

    def __len__(self) -> int:
        return len(self._words)


def _padded(n: int) -> int:
    return n + (-n % 8)  # the counts start 8-byte aligned


def build(source: bytes) -> bytes:
    """The index file for a jieba word list (lines ``word count [tag]``), as jieba reads it."""
    counts: dict[str, int] = {}
    total = 0
    lines = source.split(b"\n")
    if lines[-1] == b"":
        lines.pop()  # after the final newline: no line (jieba iterates the file's lines)
    for number, line in enumerate(lines, 1):
        try:
            word, count = line.strip().decode("utf-8").split(" ")[:2]
            counts[word] = int(count)
        except ValueError:
            raise ValueError(f"invalid dictionary entry at line {number}: {line!r}") from None
        total += counts[word]
    words = np.array([w.encode("utf-8") for w in counts])
    order = np.argsort(words, kind="stable")
    words = words[order]
    ordered_counts = np.fromiter(counts.values(), dtype="<i8", count=len(counts))[order]
    width = words.dtype.itemsize
    body = words.tobytes()
    return b"".join([_HEADER.pack(FORMAT, len(words), width, total), body, bytes(_padded(len(body)) - len(body)),
                     ordered_counts.tobytes()])


def cache_path(source: bytes, folder: Path | None = None) -> Path:
    digest = hashlib.sha256(source).hexdigest()[:16]
    return (folder or model_cache_dir()) / f"jieba-words-{digest}-{FORMAT.decode()}.index"


def load(source: bytes, folder: Path | None = None) -> WordIndex:
    """The index of ``source``: memory-mapped from the cache, else built (and cached if possible)."""
    path = cache_path(source, folder)
    with suppress(OSError, ValueError):  # missing, unreadable, or not a whole index: build it
        with path.open("rb") as handle:
            return WordIndex(mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ))
    index = build(source)
    with suppress(OSError):  # read-only or full: this process keeps it in memory
        write_atomically(path, index)
    return WordIndex(index)
