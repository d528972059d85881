"""Text normalisation figures: accuracy per category on tests/data/normalization.tsv for cn2an
alone, wetext alone and the project's normaliser; cost per 30-character clause; grammar load time.

Run with ``.venv/bin/python -m pytest -s -q tests/bench/test_bench_normalize.py`` (prints; asserts
nothing about speed). The front end's whole budget is 20 ms per 30-character clause.
The regex normaliser before wetext (commit c9de161) scored 226/389 (58.1%) on the same set.
"""
from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import cn2an

from synthesis.frontend import analyse
from synthesis.normalize import normalize
from tests.test_normalize_eval import load_cases, same_speech

ROOT = Path(__file__).resolve().parents[2]


def _wetext():
    import wetext
    return wetext.Normalizer(lang="zh", operator="tn").normalize


def _score(read, rows) -> dict[str, list[int]]:
    per = defaultdict(lambda: [0, 0])
    for category, text, expected in rows:
        try:
            right = same_speech(read(text), expected)
        except Exception:  # noqa: BLE001 - a reader that crashes gets the case wrong
            right = False
        per[category][0] += right
        per[category][1] += 1
    return per


def test_bench_normalize_accuracy():
    rows = load_cases()
    readers = {"cn2an": lambda t: cn2an.transform(t, "an2cn"), "wetext": _wetext(), "project": normalize}
    scores = {name: _score(read, rows) for name, read in readers.items()}
    print(f"\n[normalize] accuracy on {len(rows)} museum sentences")
    print(f"{'category':<12}" + "".join(f"{name:>10}" for name in readers))
    for category in sorted(scores["project"]):
        print(f"{category:<12}" + "".join(f"{s[category][0]:>6}/{s[category][1]:<3}" for s in scores.values()))
    print(f"{'total':<12}" + "".join(
        f"{sum(r for r, _ in s.values()) / len(rows):>10.1%}" for s in scores.values()))


def _clauses(rows, width: int = 30) -> list[str]:
    """Museum sentences joined into clauses of about ``width`` characters."""
    out, current = [], ""
    for _, text, _ in rows:
        current += text
        if len(current) >= width:
            out.append(current[:width])
            current = ""
    return out


def _cost_ms(fn, items, repeat: int = 5) -> str:
    times = []
    for _ in range(repeat):
        for item in items:
            t0 = time.perf_counter()
            fn(item)
            times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return f"median {statistics.median(times):.2f} ms, p90 {times[len(times) * 9 // 10]:.2f} ms, max {times[-1]:.2f} ms"


def _fresh_process_ms(setup: str, code: str) -> float:
    timed = f"import time\n{setup}\nt = time.perf_counter()\n{code}\nprint(time.perf_counter() - t)"
    seconds = [float(subprocess.run([sys.executable, "-c", timed], capture_output=True, text=True,
                                    cwd=ROOT, check=True).stdout) for _ in range(3)]
    return statistics.median(seconds) * 1000


def test_bench_normalize_cost():
    clauses = _clauses(load_cases())
    analyse(clauses[0])  # grammars and dictionaries loaded before timing
    print(f"\n[normalize] cost per {len(clauses[0])}-character clause ({len(clauses)} clauses with numbers)")
    print(f"normalize():         {_cost_ms(normalize, clauses)}")
    print(f"wetext alone:        {_cost_ms(_wetext(), clauses)}")
    print(f"front end analyse(): {_cost_ms(analyse, clauses)} (budget 20 ms)")
    print("load in a fresh process (median of 3):")
    print(f"  import synthesis.normalize:       {_fresh_process_ms('', 'import synthesis.normalize'):.0f} ms")
    print(f"  its zh TN grammars (first use):   "
          f"{_fresh_process_ms('from synthesis.normalize import general', 'general.load()'):.0f} ms")
    print(f"  import wetext (all its grammars): {_fresh_process_ms('', 'import wetext'):.0f} ms")
