"""``python -m synthesis speak …`` run in this fresh process with a timeline of its stages.

    python tests/bench/cold_start_stages.py speak TEXT -o out.wav --cache-dir DIR

Runs the package as ``python -m synthesis`` does, wrapping the functions that mark each stage
(the word list, the polyphone model, the grammars, the engine load, synthesis, loudness,
encoding) and timing the two big imports as their modules are imported, so the command keeps
its own order of work, and prints one JSON line to stderr: per stage its start and end in
seconds since the process started (from /proc, 10 ms resolution), so stages that overlap in threads show as overlapping.
Used by test_bench_cold_start.py; works against any checkout of ``synthesis`` on sys.path[0]
(the current directory), so a baseline checkout can be timed by the same driver.
"""
from __future__ import annotations

import atexit
import functools
import importlib.abc
import json
import os
import runpy
import sys
import time


def _process_age() -> float:
    """Seconds since this process started (the kernel's start time is in clock ticks since boot)."""
    with open("/proc/self/stat") as fh:
        start_ticks = int(fh.read().rsplit(")", 1)[1].split()[19])
    return time.clock_gettime(time.CLOCK_BOOTTIME) - start_ticks / os.sysconf("SC_CLK_TCK")


ZERO = time.perf_counter() - _process_age()  # perf_counter reading at process start
stages: list[tuple[str, float, float]] = []


def _timed(name: str, func):
    """Times a call; of a ``lazy.once`` loader only the call that loads."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        if getattr(func, "loaded", lambda: False)():
            return func(*args, **kwargs)
        started = time.perf_counter()
        try:
            return func(*args, **kwargs)
        finally:
            stages.append((name, started - ZERO, time.perf_counter() - ZERO))
    if hasattr(func, "loaded"):
        wrapper.loaded = func.loaded
    return wrapper


def _timed_generator(name: str, func):
    """A generator function timed from its first item asked for to its last one handed out
    (the caller may stop asking before the generator is exhausted)."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        started = last = time.perf_counter()
        try:
            for item in func(*args, **kwargs):
                last = time.perf_counter()
                yield item
        finally:
            stages.append((name, started - ZERO, last - ZERO))
    return wrapper


def _wrap(module, attr: str, name: str, generator: bool = False) -> None:
    func = getattr(module, attr, None)
    if func is not None:  # a checkout may not have it
        setattr(module, attr, (_timed_generator if generator else _timed)(name, func))


def _patch_zhtts(zhtts) -> None:
    zhtts.ZhttsEngine.load = classmethod(_timed("engine load", zhtts.ZhttsEngine.load.__func__))
    _wrap(zhtts.ZhttsEngine, "synthesize_sentences", "synthesis", generator=True)


# module -> what to wrap in it once it is imported: the command imports them in its own order
# (some in threads, some lazily), and timing must not change that order
PATCHES = {
    "synthesis.wordseg": lambda m: _wrap(m, "_load", "word list"),
    "synthesis.polyphone": lambda m: _wrap(m, "model", "polyphone model"),
    "synthesis.normalize.general": lambda m: _wrap(m, "load", "grammars"),
    "synthesis.engines.zhtts": _patch_zhtts,
    "synthesis.audio": lambda m: [_wrap(m, "normalize_loudness", "loudness"), _wrap(m, "write_wav", "encode"),
                                  _wrap(m, "write_mp3", "encode")],
}


# imports timed as stages, each with everything it imports in turn (so they nest): the engine
# registry (numpy), the front end (pypinyin, the normaliser), the pipeline (the front end unless
# already imported, the finishing steps)
TIMED_IMPORTS = {"synthesis.engines": "import engines", "synthesis.frontend": "import front end",
                 "synthesis.pipeline": "import pipeline"}


class _PatchAfterImport(importlib.abc.MetaPathFinder):
    """Finds nothing itself: wraps the loader of a module in PATCHES or TIMED_IMPORTS so the
    patch runs after the module's own code, or the import is timed."""

    def find_spec(self, name, path, target=None):
        if name not in PATCHES and name not in TIMED_IMPORTS:
            return None
        started = time.perf_counter()
        for finder in sys.meta_path:
            if finder is self:
                continue
            spec = finder.find_spec(name, path, target) if hasattr(finder, "find_spec") else None
            if spec is not None:
                execute = spec.loader.exec_module

                def exec_module(module, execute=execute):
                    execute(module)
                    if name in PATCHES:
                        PATCHES[name](module)
                    if name in TIMED_IMPORTS:
                        stages.append((TIMED_IMPORTS[name], started - ZERO, time.perf_counter() - ZERO))
                spec.loader.exec_module = exec_module
                return spec
        return None


def main(argv: list[str]) -> None:
    """Runs the package as ``python -m synthesis`` does (its ``__main__`` block included: no
    GC, no teardown), reporting when the command calls os._exit, or at normal exit."""
    sys.meta_path.insert(0, _PatchAfterImport())
    real_exit = os._exit

    def report(code: int = 0) -> None:
        stages.append(("exit", time.perf_counter() - ZERO, time.perf_counter() - ZERO))
        print(json.dumps({"stages": stages}), file=sys.stderr, flush=True)
        real_exit(code)

    os._exit = report  # a checkout whose command returns normally reports through atexit instead
    atexit.register(lambda: report(0) if not any(name == "exit" for name, *_ in stages) else None)
    sys.argv = ["synthesis", *argv]
    runpy.run_module("synthesis", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    sys.path.insert(0, os.getcwd())
    main(sys.argv[1:])
