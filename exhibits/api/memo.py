"""A small thread-safe, size-bounded, optionally expiring per-process memo for the hot path.

A cached /api/tts answer must cost well under a few milliseconds of CPU; the front end
(pypinyin) and two database reads would otherwise dominate it.
"""
from __future__ import annotations

import threading
import time
from collections import OrderedDict

MISSING = object()


class Memo:
    def __init__(self, size: int = 1024):
        self.size = size
        self._data: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key, ttl: float | None = None):
        with self._lock:
            item = self._data.get(key, MISSING)
            if item is MISSING:
                return MISSING
            stored_at, value = item
            if ttl is not None and time.monotonic() - stored_at > ttl:
                del self._data[key]
                return MISSING
            self._data.move_to_end(key)
            return value

    def set(self, key, value) -> None:
        with self._lock:
            self._data[key] = (time.monotonic(), value)
            self._data.move_to_end(key)
            while len(self._data) > self.size:
                self._data.popitem(last=False)

    def get_or_compute(self, key, compute, ttl: float | None = None):
        value = self.get(key, ttl)
        if value is MISSING:
            value = compute()
            self.set(key, value)
        return value

    def forget(self, key) -> None:
        with self._lock:
            self._data.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
