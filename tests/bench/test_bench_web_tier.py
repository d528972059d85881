"""The light web tier under real gunicorn and a real Celery worker (prints; asserts no 500s).

- RSS of every gunicorn worker after 100 /api/tts calls (half cache hits, half renders by the
  worker), and the RSS of the worker's pool process that holds the voice;
- 16 concurrent long synchronous calls from one key while visitors load the home page: the
  visitor p50/p99 latency, what the speech calls got (200 / 429 / 503 by error code, with their
  latencies; never 500) and how long each of their renders took on the worker.
"""
from __future__ import annotations

import http.client
import json
import os
import random
import re
import statistics
import threading
import time
from pathlib import Path

import pytest

from tests.api_support import gunicorn_with_worker, wait_for

pytestmark = pytest.mark.slow
COMMON = "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可也你能而子说年同"
WORKERS, THREADS = 2, 4
WAIT = 25  # API_SYNC_TIMEOUT_SECONDS


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def post(port: int, token: str, text: str, timeout: float = 120) -> tuple[int, dict | None]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    conn.request("POST", "/api/tts", body=json.dumps({"text": text}).encode(),
                 headers={"Content-Type": "application/json", "Accept": "application/json", "Authorization": f"Bearer {token}"})
    response = conn.getresponse()
    body = response.read()
    conn.close()
    return response.status, (json.loads(body) if body.startswith(b"{") else None)


@pytest.fixture
def site(settings, tmp_path, transactional_db):
    settings.MEDIA_ROOT = tmp_path / "media"
    with gunicorn_with_worker(tmp_path, settings.MEDIA_ROOT, 100_000, WEB_CONCURRENCY=WORKERS, GUNICORN_THREADS=THREADS,
                              API_TTS_IN_WORKER=1, API_SYNC_TIMEOUT_SECONDS=WAIT) as running:
        yield running


def test_bench_web_tier(site):
    port, token, gunicorn, worker = site
    rng = random.Random(time.time_ns())
    texts = ["".join(rng.choice(COMMON) for _ in range(20)) + "。" for _ in range(50)]
    statuses = []
    for n in range(100):
        statuses.append(post(port, token, texts[n % 50])[0])  # each text twice: a render, then a hit
    web = {pid: rss_mb(pid) for pid in children(gunicorn.pid)}
    pool = {pid: rss_mb(pid) for pid in worker.pool_pids()}
    print(f"\n[web] {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} (other jobs share the machine)")
    print(f"[web] after 100 /api/tts calls ({statuses.count(200)} × 200): gunicorn workers RSS "
          + ", ".join(f"{mb:.0f} MB" for mb in web.values()) + " (goal < 250 MB); Celery pool process RSS "
          + ", ".join(f"{mb:.0f} MB" for mb in pool.values()))
    assert set(statuses) == {200}

    # A text of its own for every call: sharing a 1,200-character sentence, all renders but the
    # first would take it from the unit cache and measure mostly the MP3 encoder.
    long_texts = ["".join(rng.choice(COMMON) for _ in range(1199)) + "。" for _ in range(16)]
    outcomes: list[tuple[int, str, float]] = []  # status, error code, seconds
    visitor: list[float] = []
    stop_visitors = threading.Event()

    def speech_call(text: str):
        t0 = time.perf_counter()
        status, body = post(port, token, text, timeout=120)
        outcomes.append((status, (body or {}).get("error", ""), time.perf_counter() - t0))

    def visit():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while not stop_visitors.is_set():
            t0 = time.perf_counter()
            try:
                conn.request("GET", "/")
                conn.getresponse().read()
                visitor.append(time.perf_counter() - t0)
            except (OSError, http.client.HTTPException):
                visitor.append(30.0)
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            time.sleep(0.05)

    renders_before = len(task_seconds(worker))
    visitors = [threading.Thread(target=visit) for _ in range(4)]
    calls = [threading.Thread(target=speech_call, args=(text,)) for text in long_texts]
    for thread in visitors + calls:
        thread.start()
    for thread in calls:
        thread.join(180)
    stop_visitors.set()
    for thread in visitors:
        thread.join(30)
    visitor.sort()
    wait_for(lambda: not unfinished(worker), 120, what="the worker's last render")  # its time is printed too
    print(f"[web] 16 concurrent 1,200-character sync calls, one key (wait {WAIT} s), load average "
          f"{os.getloadavg()[0]:.1f}: {outcome_summary(outcomes)}")
    admitted = [o for o in outcomes if o[0] == 200 or o[1] == "worker_unavailable"]  # the others were refused at once
    print(f"[web]   admitted {len(admitted)}, answered within the wait {sum(o[0] == 200 for o in admitted)}; "
          f"worker: {seconds_summary(task_seconds(worker)[renders_before:])} per render")
    print(f"[web]   visitor home page p50 {1000 * statistics.median(visitor):.0f} ms, "
          f"p99 {1000 * visitor[int(0.99 * (len(visitor) - 1))]:.0f} ms over {len(visitor)} requests (goal p99 ≤ 1 s)")
    assert not any(status == 500 for status, _code, _seconds in outcomes)


def seconds_summary(seconds: list[float]) -> str:
    if not seconds:
        return "none"
    return f"{len(seconds)} × median {statistics.median(seconds):.1f} s, max {max(seconds):.1f} s"


def outcome_summary(outcomes: list[tuple[int, str, float]]) -> str:
    """'200: 3 × median 9.1 s, max 14.0 s; 429 too_many_waits: 11 × …' (status and error code)."""
    groups: dict[str, list[float]] = {}
    for status, code, seconds in sorted(outcomes):
        groups.setdefault(f"{status} {code}".strip(), []).append(seconds)
    return "; ".join(f"{name}: {seconds_summary(seconds)}" for name, seconds in groups.items())


def unfinished(worker) -> set[str]:
    """Synchronous requests the worker received and has not finished (or discarded as expired)."""
    log = worker.log()
    received = set(re.findall(r"tts_for_web\[([^]]+)\] received", log))
    done = set(re.findall(r"tts_for_web\[([^]]+)\] (?:succeeded|failed|raised)", log))
    expired = set(re.findall(r"revoked task: exhibits\.tts_for_web\[([^]]+)\]", log))
    return received - done - expired


def task_seconds(worker) -> list[float]:
    """How long each synchronous request took on the worker, from its log ('succeeded in 4.2s')."""
    return [float(m) for m in re.findall(r"exhibits\.tts_for_web\[[^]]+\] succeeded in ([0-9.]+)s", worker.log())]
