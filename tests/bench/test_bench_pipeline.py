"""Pipeline figures (printed, nothing asserted about speed): save → ready latency with a warm
worker, and a bulk render of many exhibits with two worker processes plus its unchanged re-run.

    make bench                                  # BENCH_EXHIBITS=200 exhibits × 300 characters
    BENCH_EXHIBITS=40 make bench PYTEST_ARGS="-k pipeline"
"""
from __future__ import annotations

import os
import re
import statistics
import time
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from exhibits import services
from exhibits.demo.museum import EXHIBITS
from exhibits.models import Exhibit, Gallery, Narration
from tests.worker import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
BENCH_EXHIBITS = int(os.environ.get("BENCH_EXHIBITS", "200"))
SAVES = int(os.environ.get("BENCH_SAVES", "20"))
# Plain sentences from the demo narration (markup removed), recombined into scripts of any length.
SENTENCES = [s + "。" for item in EXHIBITS for s in re.sub(r"\[[^\]]*\]|\n", "", item["script"]).split("。") if len(s) > 8]


def script_of(chars: int, seed: int) -> str:
    """A unique script (its number makes every cache key new) of about ``chars`` characters."""
    text, i = f"第{seed}号展品。", seed
    while len(text) < chars:
        text += SENTENCES[i % len(SENTENCES)]
        i += 7
    return text


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def test_save_to_ready_latency(worker_factory, clean_media):
    worker = worker_factory(concurrency=1)
    gallery = Gallery.objects.create(name="基准", slug="bench")
    exhibit = services.do_save_exhibit(Exhibit(title="latency", gallery=gallery))
    services.do_save_narration(exhibit, script_of(100, 0))  # warm-up: first render in the process
    wait_for(lambda: Narration.objects.get(exhibit=exhibit).audio_is_current, 120, "warm-up render")
    latencies, durations = [], []
    for n in range(1, SAVES + 1):
        started = time.perf_counter()
        narration = services.do_save_narration(exhibit, script_of(100, n)).narration
        wait_for(lambda: Narration.objects.filter(pk=narration.pk, rendition_version=narration.version).exists(),
                 120, f"save {n}", 0.02)
        latencies.append(time.perf_counter() - started)
        durations.append(Narration.objects.select_related("rendition").get(pk=narration.pk).rendition.duration)
    print(f"\nsave → ready, {SAVES} saves of {len(script_of(100, 1))} characters, warm worker (1 process): "
          f"p50 {percentile(latencies, .5):.2f} s, p95 {percentile(latencies, .95):.2f} s, "
          f"max {max(latencies):.2f} s; audio {statistics.mean(durations):.1f} s each")
    # What the worker itself spent per task (Celery's own log line) vs the whole round trip.
    in_task = [float(t) for t in re.findall(r"render_narration\[[^\]]+\] succeeded in ([\d.]+)s", worker.log())][-SAVES:]
    if in_task:
        print(f"  of which inside the task: p50 {percentile(in_task, .5):.2f} s; queue + database + polling: "
              f"p50 {percentile(latencies, .5) - percentile(in_task, .5):.2f} s")


def test_bulk_render_and_unchanged_rerun(worker_factory, clean_media):
    worker_factory(concurrency=2)
    gallery = Gallery.objects.create(name="基准", slug="bench")
    chars = 0
    for n in range(BENCH_EXHIBITS):
        exhibit = services.do_save_exhibit(Exhibit(title=f"bench {n}", gallery=gallery))
        # Stored through the ORM, not do_save_narration: the command, not the save, should queue them.
        script = script_of(300, 1000 + n)
        Narration.objects.create(exhibit=exhibit, script=script)
        chars += len(script)
    figures = {}
    for label, args in (("first run", ()), ("unchanged re-run", ("--all",))):
        out = StringIO()
        started = time.perf_counter()
        try:
            call_command("render_audio", *args, "--timeout", "3600", stdout=out, stderr=StringIO())
        except CommandError as exc:
            pytest.fail(f"{exc}\n{out.getvalue()}")
        figures[label] = (time.perf_counter() - started, out.getvalue())
    audio_seconds = sum(n.rendition.duration for n in Narration.objects.select_related("rendition"))
    first, rerun = figures["first run"][0], figures["unchanged re-run"][0]
    print(f"\nbulk: {BENCH_EXHIBITS} exhibits × ~{chars // BENCH_EXHIBITS} characters, Celery worker with 2 processes")
    print(f"  first run        {first:7.1f} s  ({BENCH_EXHIBITS / first * 60:.1f} exhibits/min, "
          f"{audio_seconds / 60:.1f} min of audio, pipeline RTF {first / audio_seconds:.3f} wall-clock)")
    print(f"  unchanged re-run {rerun:7.2f} s  (everything skipped)")
    print("  first run summary:\n    " + figures["first run"][1].strip().replace("\n", "\n    "))
    print("  re-run summary:\n    " + figures["unchanged re-run"][1].strip().replace("\n", "\n    "))
