"""Cold start figures (printed, nothing asserted about speed): ``python -m synthesis speak`` of a
60-character script in a fresh process, N times; the goal is <= 1.5 s wall on a quiet machine.

    make bench PYTEST_ARGS="-k cold_start"
    BENCH_COLD_BASELINE=<git revision> BENCH_COLD_RUNS=10 .venv/bin/python -m pytest -p no:cacheprovider -s -q tests/bench/test_bench_cold_start.py

Each run gets a new output folder (so it renders rather than finding its file) but shares the
model cache (the converted vocoder, the patched acoustic model, jieba's word index), as every run
after a machine's first does; that first run is timed once on its own. With BENCH_COLD_BASELINE
the ``synthesis`` package of that revision (``git archive``) is timed too, interleaved run by
run with this one, so that load from other processes on the machine falls on both alike. Medians:
wall and user+sys CPU of the real command, then per stage (from ``cold_start_stages.py``, a
second set of runs) its duration and when it ended, in seconds since the process started.
"""
from __future__ import annotations

import io
import json
import os
import resource
import statistics
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
DRIVER = Path(__file__).with_name("cold_start_stages.py")
RUNS = int(os.environ.get("BENCH_COLD_RUNS", "10"))
BASELINE = os.environ.get("BENCH_COLD_BASELINE", "")
# 60 characters; the numbers go through the text normaliser's grammars.
SCRIPT = "欢迎来到青铜器展厅。这件兽面纹鼎铸造于商代晚期，高82厘米，重约120公斤，是目前馆藏最大的青铜礼器之一。请您慢慢欣赏。"
STAGES = ("import engines", "import front end", "import pipeline", "word list", "polyphone model", "grammars", "engine load", "synthesis", "loudness", "encode", "exit",
          "process end")


def checkout(revision: str, into: Path) -> Path:
    """The ``synthesis`` package of ``revision`` unpacked under ``into``."""
    archive = subprocess.run(["git", "archive", revision, "synthesis"], cwd=ROOT, capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into


def timed_run(cwd: Path, args: list[str], env: dict) -> tuple[float, float, subprocess.CompletedProcess]:
    """(wall, user+sys CPU of the child, the finished process)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert proc.returncode == 0, proc.stderr
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), proc


def speak_args(out_dir: Path) -> list[str]:
    return ["speak", SCRIPT, "-o", str(out_dir / "out.wav"), "--cache-dir", str(out_dir / "audio")]


def stage_figures(stderr: str) -> dict[str, tuple[float, float]]:
    """stage -> (seconds spent, when it ended); the first occurrence of each."""
    found: dict[str, tuple[float, float]] = {}
    for name, start, end in json.loads(stderr.strip().splitlines()[-1])["stages"]:
        found.setdefault(name, (end - start, end))
    return found


def fmt(values: list[float]) -> str:
    return f"{statistics.median(values):5.2f}" if values else "    -"


def test_cold_start(tmp_path):
    variants = {"this checkout": ROOT}
    if BASELINE:
        variants[f"baseline {BASELINE}"] = checkout(BASELINE, tmp_path / "baseline")
    env = dict(os.environ, SYNTHESIS_MODEL_CACHE=str(tmp_path / "model-cache"))
    first = {}
    for label, cwd in variants.items():  # the machine's first run: fills the model cache
        first[label] = timed_run(cwd, ["-m", "synthesis", *speak_args(tmp_path / "first" / label)], env)[:2]
    walls = {label: [] for label in variants}
    cpus = {label: [] for label in variants}
    stages = {label: {name: [] for name in STAGES} for label in variants}
    ends = {label: {name: [] for name in STAGES} for label in variants}
    for n in range(RUNS):
        for label, cwd in variants.items():
            out = tmp_path / "runs" / label / str(n)
            wall, cpu, _ = timed_run(cwd, ["-m", "synthesis", *speak_args(out / "plain")], env)
            walls[label].append(wall)
            cpus[label].append(cpu)
            staged_wall, _, proc = timed_run(cwd, [str(DRIVER), *speak_args(out / "staged")], env)
            # "exit": main() returned; "process end": the parent saw the process end (interpreter teardown in between)
            for name, (spent, end) in {**stage_figures(proc.stderr), "process end": (0.0, staged_wall)}.items():
                stages[label][name].append(spent)
                ends[label][name].append(end)
    print(f"\ncold start: python -m synthesis speak, {len(SCRIPT)} characters, {RUNS} fresh processes each "
          f"(load average {os.getloadavg()[0]:.1f}); medians, seconds")
    for label in variants:
        print(f"  {label}: wall {fmt(walls[label])} (fastest {min(walls[label]):.2f}), user+sys {fmt(cpus[label])}; "
              f"the machine's first run (empty model cache): wall {first[label][0]:.2f}, user+sys {first[label][1]:.2f}")
    print(f"  {'stage':16} " + " ".join(f"{label[:24]:>26}" for label in variants))
    print(f"  {'':16} " + " ".join(f"{'spent   ended at':>26}" for _ in variants))
    for name in STAGES:
        print(f"  {name:16} " + " ".join(f"{fmt(stages[label][name]):>17} {fmt(ends[label][name]):>8}" for label in variants))
