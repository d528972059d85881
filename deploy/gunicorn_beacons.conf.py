"""gunicorn settings of the beacon pool: ``gunicorn -c deploy/gunicorn_beacons.conf.py guide_site.wsgi``.

nginx routes ``POST /listen`` (the exhibit pages' listening beacons, issue #18) to this pool and
everything else to the main one (gunicorn.conf.py). It is the same application, with its WSGI
fast path for beacons, run at a lower CPU priority: a beacon costs ~1 ms of CPU (mostly system
calls), and 500/s of them at the pages' priority made the page p99 2.5-8 times what it is
alone on a quiet machine. Here the scheduler runs a page's request first whenever both want a core; beacons
wait, and nobody waits for them (``navigator.sendBeacon`` never reads the answer). The price:
while something else keeps every core busy (a bulk re-render on this host), beacons get next
to no CPU, and one that waits longer than nginx's proxy_read_timeout (60 s) is lost;
BEACON_SCHED=normal then leaves them the share of their niceness (~10 % at 10).

Everything not set here comes from gunicorn.conf.py, with its environment overrides; these are
read from BEACON_BIND, BEACON_WORKERS, BEACON_THREADS, BEACON_NICE, BEACON_SCHED and
BEACON_MAX_REQUESTS.
"""
import os
from pathlib import Path
from runpy import run_path

from gunicorn.config import ControlSocket

_main = run_path(str(Path(__file__).with_name("gunicorn.conf.py")))
globals().update({name: value for name, value in _main.items() if not name.startswith("_")})
_int = _main["_int"]

bind = os.environ.get("BEACON_BIND", "127.0.0.1:8001")
# One process, a few threads: the Redis round trip is the wait a thread covers; a second
# process would only let beacons take both cores when pages are idle, and costs its memory.
workers = _int("BEACON_WORKERS", 1)
threads = _int("BEACON_THREADS", 4)
# The main pool recycles its workers against leaks in the speech stack's native libraries,
# which this pool never runs; at 500 beacons/s the main pool's 5000 would mean a Django
# start-up (seconds of CPU, the whole URLconf) every 10 s. 0: never recycle.
max_requests = _int("BEACON_MAX_REQUESTS", 0)
proc_name = "museum-guide-beacons"
# Beside the main pool's control socket, not on it: the default path is per user, and the pool
# started second would take the socket over (gunicornc would then reach the wrong pool).
control_socket = os.environ.get("BEACON_CONTROL_SOCKET") or str(Path(ControlSocket.default).with_name("gunicorn-beacons.ctl"))


def _niceness() -> int:
    raw = os.environ.get("BEACON_NICE") or "10"
    if not raw.lstrip("-").isdigit() or not 0 <= int(raw) <= 19:
        raise SystemExit(f"BEACON_NICE must be a whole number from 0 (the pages' priority) to 19 (the lowest), got {raw!r}")
    return int(raw)


def _idle_policy() -> bool:
    raw = os.environ.get("BEACON_SCHED") or "idle"
    if raw not in ("idle", "normal"):
        raise SystemExit(f"BEACON_SCHED must be 'idle' (run only when no page wants the core) or 'normal' (niceness alone), got {raw!r}")
    return raw == "idle"


beacon_nice, beacon_idle = _niceness(), _idle_policy()


def lower_priority(niceness: int, idle: bool) -> tuple[int, str]:
    """Make this thread's niceness at least ``niceness`` and, with ``idle``, its scheduling
    policy SCHED_IDLE; returns (niceness, "idle" or "normal") as they now are.

    SCHED_IDLE is what keeps the pages' p99: the scheduler preempts an idle-policy thread the
    moment a normal one wakes up, while a niced thread runs on to the end of its slice with a
    page's request waiting behind it. Measured (tests/bench/test_bench_beacon.py, 500 beacons/s
    beside 250 pages/s, four runs on a shared machine): page p99 +190 to +420 % at niceness 10,
    -5 to +273 % idle (lower than niceness 10 in each of those four), beacons to the page server
    +1900 % and more; on a quiet machine (load 1.1, one run) +41 % at niceness 10, +56 % idle,
    +682 % to the page server: idle matters most when the cores are contended.
    The niceness stays as well: it is what counts where the policy is not available (not
    Linux, or a seccomp profile that refuses it) and what ps and top show.

    Absolute, not ``os.nice``'s increment: a re-exec of the arbiter (SIGUSR2 upgrade) inherits
    the niceness and runs this again. Never lowers a niceness the pool was started with (an
    unprivileged process could not, and whoever started it meant it)."""
    if os.getpriority(os.PRIO_PROCESS, 0) < niceness:
        os.setpriority(os.PRIO_PROCESS, 0, niceness)
    if idle and hasattr(os, "SCHED_IDLE"):
        try:
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
        except OSError:
            pass  # reported below as "normal"
    policy = "idle" if hasattr(os, "SCHED_IDLE") and os.sched_getscheduler(0) == os.SCHED_IDLE else "normal"
    return os.getpriority(os.PRIO_PROCESS, 0), policy


def on_starting(server):
    """In the arbiter, before it forks any worker. On Linux niceness and scheduling policy belong
    to a thread and pass to every process it forks and every thread they start: each worker,
    its gthread threads, and the workers started later (after a crash or a timeout) all run at
    the low priority, with no per-worker step to forget. Here rather than ``nice``/``chrt`` on
    each command line (compose, prod_local.sh, systemd units, a shell on a VM): a start that
    forgot the prefix would serve beacons at the pages' priority and nothing would show it."""
    niceness, policy = lower_priority(beacon_nice, beacon_idle)
    log = server.log.warning if beacon_idle and policy != "idle" else server.log.info
    log("beacon pool: niceness %d, scheduling policy %s%s", niceness, policy,
        " (SCHED_IDLE refused or not available: niceness only)" if beacon_idle and policy != "idle" else "")
