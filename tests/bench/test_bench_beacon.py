"""Listening beacons under load (issue #18): ``POST /listen`` next to the visitor pages, on the
gunicorn setup of test_bench_site (same server fixture, same keep-alive load generator).

As deployed, beacons go to the beacon pool: a second gunicorn from deploy/gunicorn_beacons.conf.py
on its own port, which lowers its CPU priority at start (scheduling policy SCHED_IDLE, niceness
10), beside the page server. nginx routes ``location = /listen`` there and everything else to the
pages' pool; here the load generator does the routing, sending the beacons straight to the pool's
port. The same run also sends them to the page server, as a deployment without the beacon pool
would (its WSGI fast path serves them there), and to a second pool with BEACON_SCHED=normal
(niceness alone), so the three setups are compared on the same machine load.

Phases (each PHASE_S seconds, latency measured from when a request was due, as there; the
clock starts once each of the phase's connections is open and answered once, see Window):
- pages alone: exhibit pages paced at PAGE_RATE req/s: the page p99 to compare against;
- pages + beacons: the same pages and, on their own connections, beacons paced at BEACON_RATE,
  once to each setup;
- beacons saturated: closed loop, the most each setup stores.
The first two repeat ROUNDS times, the order of the setups reversed each round so a drift of
the machine's load favours none; the figures compared are the medians over the rounds.
A Celery worker runs beside gunicorn, as deployed: it moves the queued beacons into PostgreSQL
(exhibits.analytics.buffer) on the same cores while the phases run, so its cost is measured too.
Each beacon is a phone's batch of 1-3 events, from one of many client addresses (X-Forwarded-For
behind one proxy, as with nginx), so the per-address rate limit does not trip. Asserts only that
every answer was right (204) and that every event was stored once; prints the figures against
the goal: >= 500 beacons/s and page p99 no more than 20 % slower with beacons than without.
"""
from __future__ import annotations

import asyncio
import itertools
import json
import os
import re
import statistics
import time

import pytest

from tests.test_beacon_pool import thread_priorities
from tests.test_listening import fresh_counters  # noqa: F401  (autouse: an empty beacon queue)
from tests.bench.test_bench_site import PHASE_S, Conn, free_port, gunicorn, percentile, server, server_env, warm_up  # noqa: F401  (server: fixture)
from tests.visitor_fixtures import *  # noqa: F401,F403

PAGE_RATE = float(os.environ.get("BENCH_PAGE_RATE", "250"))
BEACON_RATE = float(os.environ.get("BENCH_BEACON_RATE", "500"))
PAGE_CONNECTIONS, BEACON_CONNECTIONS = 50, 100
ROUNDS = int(os.environ.get("BENCH_BEACON_ROUNDS", "2"))
FLUSHED = re.compile(r"flush_listening_buffer\[\S+\] succeeded in ([0-9.]+)s: (\d+)")  # the worker's log
PHONE_UA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"


@pytest.fixture
def beacon_server(request, monkeypatch, tmp_path):
    """The page server of test_bench_site, the beacon pools beside it, and a Celery worker (it
    stores the queued beacons): yields (page port, {setup: port}, beacon pool pid, museum, worker)."""
    from exhibits.analytics.buffer import FLUSH_TASK
    from guide_site.celery import app
    from tests.worker import Worker, purge_queue, wait_for

    monkeypatch.setenv("NUM_PROXIES", "1")  # read by the gunicorn processes started below
    purge_queue()
    worker = Worker(tmp_path, concurrency=1).start()
    try:
        # "ready" comes before the pool process has loaded the voice (seconds of CPU): a first
        # task answered means that is over and will not land in a measured phase.
        app.send_task(FLUSH_TASK)
        wait_for(lambda: FLUSHED.search(worker.log()), 120, "the worker's first task")
        port, museum = request.getfixturevalue("server")
        pool_port, niced_port = free_port(), free_port()
        with beacon_pool(pool_port, tmp_path) as pool, beacon_pool(niced_port, tmp_path, BEACON_SCHED="normal"):
            yield port, {"pool": pool_port, "niced": niced_port, "single": port}, pool.pid, museum, worker
    finally:
        worker.kill()


def beacon_pool(port: int, tmp_path, **env: str):
    """A beacon pool as deployed (deploy/gunicorn_beacons.conf.py) on ``port``."""
    env = server_env(BEACON_BIND=f"127.0.0.1:{port}", BEACON_CONTROL_SOCKET=str(tmp_path / f"beacons-{port}.ctl"),
                     GUNICORN_ACCESSLOG="", GUNICORN_LOGLEVEL="warning", **env)
    return gunicorn(["-c", "deploy/gunicorn_beacons.conf.py", "guide_site.wsgi:application"], port, env)


class Beacons:
    """Distinct listens, each beacon 1-3 events, from 5000 client addresses."""

    def __init__(self, code: int, rendition: int):
        self.code, self.rendition, self.counter, self.events = code, rendition, itertools.count(), 0

    def next(self) -> tuple[str, bytes]:
        n = next(self.counter)
        kinds = (["play", None], ["progress", 0], ["pause", None])[: 1 + n % 3]
        events = [[seq, kind, 1.5 * seq, sentence, 1.5 * seq] for seq, (kind, sentence) in enumerate(kinds)]
        self.events += len(events)
        body = json.dumps({"l": f"{n:024x}", "e": self.code, "r": self.rendition, "ev": events}).encode()
        headers = (f"User-Agent: {PHONE_UA}\r\nContent-Type: text/plain;charset=UTF-8\r\n"
                   f"X-Forwarded-For: 10.{n % 5000 // 250}.{n % 250}.{n % 7 + 1}\r\n")
        return headers, body


class Window:
    """The measured window of a phase: it opens once every connection of the phase is open and
    has been answered once. Behind nginx (upstream keepalive) gunicorn sees warm connections, not
    150 opened in the same instant, each holding a worker thread until its first bytes arrive:
    measured from the first request, that storm decided the phase's p99 on its own."""

    def __init__(self, connections: int):
        self.waiting, self.opened = connections, asyncio.Event()
        self.start = self.stop_at = 0.0

    async def enter(self) -> None:
        self.waiting -= 1
        if not self.waiting:
            self.start = time.monotonic() + 0.1
            self.stop_at = self.start + PHASE_S
            self.opened.set()
        await self.opened.wait()


async def load(port: int, kind: str, make, connections: int, rate: float | None, out: dict, window: Window):
    """``connections`` keep-alive connections; paced at ``rate`` in total, or closed loop (None)."""
    interval = connections / rate if rate else 0.0
    latencies, errors = out.setdefault(kind, []), out.setdefault("errors", [])

    async def request(conn: Conn, sent: float | None = None):
        method, path, headers, body, want = make()
        status, _ = await conn.get(path, headers, method, body)
        if sent is not None:
            latencies.append(time.monotonic() - sent)
        if status != want:
            errors.append((path, status))

    async def one(n: int):
        async with Conn(port) as conn:
            await request(conn)  # unmeasured: opens the connection
            await window.enter()
            due = window.start + interval * n / connections
            while True:
                if rate:
                    await asyncio.sleep(max(0.0, due - time.monotonic()))
                if time.monotonic() >= window.stop_at:
                    return
                await request(conn, due if rate else time.monotonic())
                due += interval

    await asyncio.gather(*(one(n) for n in range(connections)))


async def phase(port: int, page_jobs, beacons: Beacons | None, beacon_rate: float | None, with_pages: bool = True,
                beacon_port: int | None = None) -> dict:
    """Pages to ``port``; beacons to ``beacon_port`` (the beacon pool), or to ``port`` as well."""
    out: dict = {}
    pages = itertools.cycle(page_jobs)
    window = Window(PAGE_CONNECTIONS * with_pages + BEACON_CONNECTIONS * (beacons is not None))
    runs = []
    if with_pages:
        runs.append(load(port, "page", lambda: ("GET", next(pages), "", b"", 200), PAGE_CONNECTIONS, PAGE_RATE, out, window))
    if beacons is not None:
        runs.append(load(beacon_port or port, "beacon", lambda: ("POST", "/listen", *beacons.next(), 204),
                         BEACON_CONNECTIONS, beacon_rate, out, window))
    await asyncio.gather(*runs)
    out["elapsed"] = PHASE_S
    return out


def line(name: str, kind: str, out: dict) -> tuple[float, float]:
    values = out.get(kind, [])
    rate, p99 = len(values) / out["elapsed"], percentile(values, 99)
    print(f"[beacon] {name:34} {kind:6}: {rate:6.0f} req/s   p50 {percentile(values, 50):6.1f} ms   p99 {p99:6.1f} ms")
    return rate, p99


def summary(name: str, alone_p99: list[float], mixed_p99: list[float], paced: list[float], saturated: float) -> None:
    """One line per setup: medians over the rounds, against the goal."""
    alone, mixed, rate = statistics.median(alone_p99), statistics.median(mixed_p99), statistics.median(paced)
    slowdown = mixed / alone - 1 if alone else float("nan")
    met = rate >= 0.97 * BEACON_RATE and saturated >= 500 and slowdown <= 0.20
    print(f"[beacon] {name}: page p99 {alone:.1f} -> {mixed:.1f} ms ({slowdown:+.0%}); beacons held {rate:.0f}/s paced,"
          f" {saturated:.0f}/s saturated; goal >= 500/s and p99 +<= 20 %: {'met' if met else 'NOT met'}")


@pytest.mark.django_db(transaction=True)
def test_bench_beacon(beacon_server):
    from exhibits.analytics.buffer import flush
    from exhibits.models import ListeningEvent
    from tests.worker import wait_for

    port, setups, pool_pid, museum, worker = beacon_server
    page_jobs = [f"/e/{e.code}/" for e in museum.published]
    asyncio.run(warm_up(port, [["page", path, "", 200, None] for path in page_jobs]))
    beacons = Beacons(museum.ready.code, museum.rendition.pk)
    for target in setups.values():  # warm the beacon path of each
        asyncio.run(phase(port, page_jobs[:1], beacons, 50.0, with_pages=False, beacon_port=target))

    print(f"\n[beacon] gunicorn as in test_bench_site; pages paced {PAGE_RATE:.0f}/s on {PAGE_CONNECTIONS} connections,"
          f" beacons on {BEACON_CONNECTIONS}; {PHASE_S:.0f} s per phase, {ROUNDS} rounds;"
          f" load average {os.getloadavg()[0]:.2f}")
    names = {"pool": "beacon pool (SCHED_IDLE + nice 10, as deployed)", "niced": "niced pool (BEACON_SCHED=normal, nice 10)",
             "single": "single pool (beacons to the page server)"}
    outs, alone_p99 = [], []
    mixed_p99, paced = {k: [] for k in setups}, {k: [] for k in setups}
    for n in range(ROUNDS):
        alone = asyncio.run(phase(port, page_jobs, None, None))
        alone_p99.append(line(f"{n + 1}: pages alone", "page", alone)[1])
        outs.append(alone)
        for setup in (list(setups)[::-1] if n % 2 else list(setups)):
            mixed = asyncio.run(phase(port, page_jobs, beacons, BEACON_RATE, beacon_port=setups[setup]))
            mixed_p99[setup].append(line(f"{n + 1}: pages + beacons {BEACON_RATE:.0f}/s -> {setup}", "page", mixed)[1])
            paced[setup].append(line(f"{n + 1}: pages + beacons {BEACON_RATE:.0f}/s -> {setup}", "beacon", mixed)[0])
            outs.append(mixed)
    saturated = {}
    for setup, target in setups.items():
        out = asyncio.run(phase(port, page_jobs, beacons, None, with_pages=False, beacon_port=target))
        saturated[setup] = line(f"beacons saturated -> {setup}", "beacon", out)[0]
        outs.append(out)
    for setup in ("single", "niced", "pool"):
        summary(names[setup], alone_p99, mixed_p99[setup], paced[setup], saturated[setup])
    print(f"[beacon] load average {os.getloadavg()[0]:.2f} (1 min) after the phases")
    for out in outs:
        assert not out["errors"], out["errors"][:5]
    assert set(thread_priorities(pool_pid).values()) == {(10, os.SCHED_IDLE)}, "the beacon pool's priority (deploy/gunicorn_beacons.conf.py)"
    flush()  # the tail below the flush threshold; a flush still running in the worker finishes by itself
    wait_for(lambda: ListeningEvent.objects.count() >= beacons.events, 60, "the queued beacons to be stored")
    assert ListeningEvent.objects.count() == beacons.events  # every accepted event stored exactly once
    flushes = FLUSHED.findall(worker.log())[1:]  # the first was the fixture's
    print(f"[beacon] the worker ran {len(flushes)} flushes, {sum(int(n) for _, n in flushes)} beacons,"
          f" {sum(float(t) for t, _ in flushes):.1f} s in all, {cpu_seconds(worker.pool_pids()):.1f} s of its CPU")


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes so far (/proc/*/stat, fields 14 and 15)."""
    total = 0
    for pid in pids:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")
