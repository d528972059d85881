"""Front-end figures: polyphone accuracy on tests/data/polyphones.tsv, cost per clause, cold start.

Run with ``.venv/bin/python -m pytest -s -q tests/bench/test_bench_frontend.py`` (prints; asserts
nothing about speed). Accuracy is shown for pypinyin alone, g2pM alone (its own ``G2pM()``),
the front end with the model beating phrase-dictionary matches, and the front end as shipped.
Goals from issue 11: ≤ 20 ms per 30-character clause; a fresh worker's first render slowed by
no more than 1 s.
"""
from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

from pypinyin import Style, lazy_pinyin

from synthesis import pinyin
from synthesis.frontend import analyse
from synthesis.polyphone import to_project_syllable
from tests.polyphone_cases import accuracy, by_sentence, front_end_reader, load_cases, score

ROOT = Path(__file__).resolve().parents[2]


def pypinyin_reader(sentence: str) -> dict[int, str]:
    syllables = lazy_pinyin(sentence, style=Style.TONE3, neutral_tone_with_five=True,
                            errors=lambda text: ["?"] * len(text))
    return dict(enumerate(syllables))


def g2pm_reader():
    from g2pM import G2pM

    model = G2pM()
    return lambda sentence: {i: to_project_syllable(p) or p
                             for i, p in enumerate(model(sentence, char_split=True))}


def model_beats_phrase_reader(sentence: str) -> dict[int, str]:
    saved, pinyin.PHRASE_BEATS_MODEL = pinyin.PHRASE_BEATS_MODEL, False
    try:
        return front_end_reader(sentence)
    finally:
        pinyin.PHRASE_BEATS_MODEL = saved


def _table(title: str, rows: dict[str, dict[str, list]], readers: list[str]) -> None:
    print(f"\n{title:<14} {'cases':>5} " + " ".join(f"{name:>14}" for name in readers))
    for key, by_reader in rows.items():
        n = len(by_reader[readers[0]])
        print(f"{key:<14} {n:>5} " + " ".join(f"{accuracy(by_reader[r]) * 100:>13.1f}%" for r in readers))


def test_bench_polyphone_accuracy():
    cases = load_cases()
    readers = {"pypinyin": pypinyin_reader, "g2pM": g2pm_reader(),
               "model>phrase": model_beats_phrase_reader, "front end": front_end_reader}
    results = {name: score(reader, cases) for name, reader in readers.items()}
    names = list(readers)
    by_category: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    by_char: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    common = [ch for ch, _ in Counter(c.char for c in cases).most_common(16)]
    for name, said in results.items():
        for case, got in said:
            for key in ("all", case.category):
                by_category[key][name].append((case, got))
            by_char[case.char if case.char in common else "other"][name].append((case, got))
    _table("category", by_category, names)
    _table("character", by_char, names)

    # How useful are the uncertainty flags? Count flagged characters and the misses among them.
    flagged = missed = missed_flagged = 0
    for sentence, group in by_sentence(cases).items():
        script = analyse(sentence)
        for clause in script.clauses:
            flagged += len(clause.uncertain)
    said = dict(((c.sentence, c.index), got) for c, got in results["front end"])
    for sentence, group in by_sentence(cases).items():
        flags = set()
        for clause in analyse(sentence).clauses:
            positions = [k for k in range(clause.start, clause.end) if sentence[k] in clause.normalized]
            flags |= {positions[i] for i, _ in clause.uncertain if i < len(positions)}
        for case in group:
            if said[(sentence, case.index)] != case.expected:
                missed += 1
                missed_flagged += case.index in flags
    print(f"\nuncertain flags: {flagged} characters flagged in {len(by_sentence(cases))} sentences; "
          f"{missed_flagged} of the front end's {missed} misses are flagged")


def _clauses_of_30() -> list[str]:
    text = "".join(c.sentence.rstrip("。") for c in load_cases())
    text = "".join(ch for ch in text if ch not in "，。、；：《》“”！？")
    return [text[i:i + 30] for i in range(0, len(text) - 30, 30)][:200]


def test_bench_cost_per_clause():
    clauses = _clauses_of_30()
    analyse(clauses[0])  # load model and segmenter outside the timing
    times = []
    for text in clauses:
        t0 = time.perf_counter()
        script = analyse(text)
        times.append((time.perf_counter() - t0) * 1000)
        assert len(script.clauses) == 1
    print(f"\n[front end] {len(times)} clauses of 30 characters: median {statistics.median(times):.2f} ms, "
          f"p90 {statistics.quantiles(times, n=10)[-1]:.2f} ms, max {max(times):.2f} ms (goal ≤ 20 ms)")


_COLD = """
import time
clock = time.process_time  # CPU seconds: on a shared machine wall time mostly measures the others
t0 = clock()
from synthesis.frontend import analyse
t1 = clock()
analyse("这件青铜器是商代晚期的重要礼器，长约三十厘米。")
t2 = clock()
analyse("他还在整理那批竹简，藏品都已归还。")
t3 = clock()
from synthesis import polyphone, wordseg
# load both again (lazy.once keeps the loader as __wrapped__): what a fresh process pays for them
t4 = clock(); polyphone.model.__wrapped__(); t5 = clock()
wordseg._load.__wrapped__(); t6 = clock()
print(f"{t1 - t0:.3f} {t2 - t1:.3f} {t3 - t2:.3f} {t5 - t4:.3f} {t6 - t5:.3f}")
"""


def test_bench_cold_start():
    runs = []
    for _ in range(3):
        done = subprocess.run([sys.executable, "-c", _COLD], cwd=ROOT, capture_output=True, text=True, check=True)
        runs.append([float(x) for x in done.stdout.split()])
    imp, first, second, model_s, seg_s = (statistics.median(col) for col in zip(*runs))
    print(f"\n[front end cold start, CPU seconds, median of 3 fresh processes] import {imp:.2f} s; first "
          f"analyse {first:.2f} s vs warm {second * 1000:.1f} ms, so a fresh worker's first render is slowed "
          f"by {first - second:.2f} s (goal ≤ 1 s): g2pM weights {model_s:.2f} s, jieba's word index (cached) {seg_s:.3f} s")
