"""Loudness normalisation A/B on rendered narrations: CPU per narration and the gain chosen, of a
baseline revision's ``normalize_loudness`` and the working tree's, on the same samples.

The samples are what ``pipeline.render`` hands the normaliser: BENCH_LOUDNESS_N narrations of
the bulk benchmark (~300 characters, ~61 s), three short ones and two emotional ones (sad at
intensity 1.5, quieter and slower; angry at 2.0). Each side runs in its own process (the
baseline from ``git archive BENCH_BASELINE``, default the revision before the one-pass meter),
the two asked in turn, narration by narration, so other load on the machine falls on both alike.

    BENCH_LOUDNESS_N=10 .venv/bin/python -m pytest -p no:cacheprovider -s -q tests/bench/test_bench_loudness.py

Prints a table (CPU ms median of BENCH_LOUDNESS_ROUNDS, gain in dB, pyloudnorm LUFS and 4x true
peak of the output); asserts only correctness: target within 0.1 LU, true peak <= -1 dBTP, the
two gains within 0.01 dB.
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pyloudnorm
import pytest

from synthesis import loudness
from tests.bench.test_bench_bulk import bulk_texts
from tests.bench.test_bench_memory import ROOT, baseline_tree

pytestmark = pytest.mark.slow
N = int(os.environ.get("BENCH_LOUDNESS_N", "10"))
ROUNDS = int(os.environ.get("BENCH_LOUDNESS_ROUNDS", "5"))
BASELINE = os.environ.get("BENCH_BASELINE", "667cfce")
RATE = 24000

# Normalises the .npy named on each stdin line, ROUNDS times (CPU time of each), and saves the
# last output beside it; one JSON line back per request.
WORKER = r"""
import json, sys, time
import numpy as np
from synthesis import audio
for line in sys.stdin:
    path, out_path, rounds = line.split()
    x = np.load(path)
    audio.normalize_loudness(x[:24000], 24000)  # caches warm
    cpu = []
    for _ in range(int(rounds)):
        started = time.process_time()
        out = audio.normalize_loudness(x, 24000)
        cpu.append(time.process_time() - started)
    np.save(out_path, out)
    print(json.dumps(cpu), flush=True)
"""


def rendered_inputs(into: Path) -> list[tuple[str, Path]]:
    """(name, .npy of the samples render() normalised) for the bench's narrations."""
    from synthesis import audio
    from synthesis.pipeline import RenderConfig, render

    jobs = [(f"bulk{i:02d}", text, {}) for i, text in enumerate(bulk_texts(N, 300))]
    jobs += [("short 5 ch", "欢迎光临。", {}), ("short 7 ch", "请勿触摸展品。", {}),
             ("short 26 ch", "这件青铜器出土于一九七六年，距今已有三千多年的历史。", {}),
             ("sad 1.5", bulk_texts(N + 1, 300)[N], {"emotion": "sad", "intensity": 1.5}),
             ("angry 2.0", "这是一件非常珍贵的文物！千万不要触碰！", {"emotion": "angry", "intensity": 2.0})]
    captured, normalize = [], audio.normalize_loudness
    audio.normalize_loudness = lambda samples, *a, **k: captured.append(np.array(samples)) or normalize(samples, *a, **k)
    try:
        for k, (name, text, options) in enumerate(jobs):
            render(text, RenderConfig(out_dir=into / "renders", **options))
            assert len(captured) == k + 1, f"{name}: not rendered afresh"
            np.save(into / f"{k + 1}.npy", captured[-1])
    finally:
        audio.normalize_loudness = normalize
    return [(name, into / f"{k + 1}.npy") for k, (name, _, _) in enumerate(jobs)]


def gain_db(before: np.ndarray, after: np.ndarray) -> float:
    """The gain applied where the limiter left the samples alone (most of them): the median ratio."""
    loud = np.abs(before) > 1e-3
    return float(20 * np.log10(np.median(after[loud] / before[loud])))


def test_bench_loudness_ab():
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        inputs = rendered_inputs(tmp)
        trees = {"before": baseline_tree(BASELINE, tmp / "baseline"), "after": ROOT}
        workers = {name: subprocess.Popen([sys.executable, "-c", WORKER], cwd=tree, text=True,
                                          env={**os.environ, "PYTHONPATH": str(tree)},
                                          stdin=subprocess.PIPE, stdout=subprocess.PIPE)
                   for name, tree in trees.items()}
        rows = []
        try:
            for name, path in inputs:
                row = {"name": name, "x": np.load(path)}
                for side, worker in workers.items():  # in turn, narration by narration
                    out_path = tmp / f"{path.stem}-{side}.npy"
                    worker.stdin.write(f"{path} {out_path} {ROUNDS}\n")
                    worker.stdin.flush()
                    row[side] = statistics.median(json.loads(worker.stdout.readline()))
                    row[f"{side} out"] = np.load(out_path)
                rows.append(row)
        finally:
            for worker in workers.values():
                worker.stdin.close()
                worker.wait()
    meter = pyloudnorm.Meter(RATE)
    print(f"\n[loudness] normalize_loudness, {BASELINE} (before) vs working tree (after); CPU ms median of "
          f"{ROUNDS}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"{'narration':<12} {'s':>5} {'CPU before':>10} {'after':>6} {'x':>5} {'gain before':>11} {'after':>7} "
          f"{'diff dB':>8} {'same bytes':>10} {'LUFS':>7} {'dBTP':>6}")
    for row in rows:
        x, out = row["x"], row["after out"]
        lufs = meter.integrated_loudness(out.astype(np.float64)) if len(out) > 0.4 * RATE else float("nan")
        peak = 20 * np.log10(float(loudness._oversampled_peaks(out).max()))  # all of it, 4x
        row["diff"] = gain_db(x, out) - gain_db(x, row["before out"])
        print(f"{row['name']:<12} {len(x) / RATE:>5.1f} {row['before'] * 1000:>10.0f} {row['after'] * 1000:>6.0f} "
              f"{row['before'] / row['after']:>5.2f} {gain_db(x, row['before out']):>11.3f} {gain_db(x, out):>7.3f} "
              f"{row['diff']:>+8.4f} {np.array_equal(out, row['before out'])!s:>10} {lufs:>7.2f} {peak:>6.2f}")
        assert np.isnan(lufs) or abs(lufs - -16.0) <= 0.1
        assert peak <= -1.0 + 1e-6
    bulk = [row for row in rows if row["name"].startswith("bulk")]
    before, after = (statistics.median(row[side] for row in bulk) for side in ("before", "after"))
    print(f"median CPU per ~61 s narration: before {before * 1000:.0f} ms, after {after * 1000:.0f} ms "
          f"({before / after:.2f}x); largest gain difference {max(abs(row['diff']) for row in rows):.4f} dB")
    assert max(abs(row["diff"]) for row in rows) <= 0.01
