"""Load a heavy resource once per process, on first use, from whichever thread asks first.

The model, the word list and the grammars (``polyphone``, ``wordseg``, ``normalize.general``)
cost tenths of a second to load: a process that only builds forms never pays for them, and
concurrent first calls wait for one load instead of each doing it.
"""
from __future__ import annotations

import functools
import threading
from typing import Callable, TypeVar

T = TypeVar("T")


def once(loader: Callable[[], T]) -> Callable[[], T]:
    """``loader()`` on the first call, its result ever after; ``.loaded()`` says whether it ran."""
    lock = threading.Lock()
    box: list = []

    @functools.wraps(loader)
    def get() -> T:
        if not box:
            with lock:
                if not box:
                    box.append(loader())
        return box[0]

    get.loaded = lambda: bool(box)  # type: ignore[attr-defined]
    return get
