"""gunicorn settings of the beacon pool: ``gunicorn -c deploy/gunicorn_beacons.conf.py guide_site.wsgi``.

nginx routes ``POST /listen`` (the exhibit pages' listening beacons, issue #18) to this pool and
everything else to the main one (gunicorn.conf.py). It is the same application, with its WSGI
fast path for beacons, run at a lower CPU priority: a beacon costs ~1 ms of CPU (mostly system
calls), and 500/s of them at the pages' priority made the page p99 2.5-4 times what it is
alone. Niced, the scheduler runs a page's request first whenever both want a core; beacons
wait, and nobody waits for them (``navigator.sendBeacon`` never reads the answer).

Everything not set here comes from gunicorn.conf.py, with its environment overrides; these are
read from BEACON_BIND, BEACON_WORKERS, BEACON_THREADS, BEACON_NICE and BEACON_MAX_REQUESTS.
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


beacon_nice = _niceness()


def lower_priority(niceness: int) -> int:
    """Make this process's niceness at least ``niceness``; returns the niceness it now has.

    Absolute, not ``os.nice``'s increment: a re-exec of the arbiter (SIGUSR2 upgrade) inherits
    the niceness and runs this again. Never lowers a niceness the pool was started with (an
    unprivileged process could not, and whoever started it meant it)."""
    if os.getpriority(os.PRIO_PROCESS, 0) < niceness:
        os.setpriority(os.PRIO_PROCESS, 0, niceness)
    return os.getpriority(os.PRIO_PROCESS, 0)


def on_starting(server):
    """In the arbiter, before it forks any worker. On Linux the niceness belongs to a thread and
    passes to every process it forks and every thread they start: each worker, its gthread
    threads, and the workers started later (after a crash or a timeout) all run niced, with no
    per-worker step to forget. Here rather than ``nice -n`` on each command line (compose,
    prod_local.sh, systemd units, a shell on a VM): a start that forgot the prefix would serve
    beacons at the pages' priority and nothing would show it."""
    server.log.info("beacon pool: niceness %d", lower_priority(beacon_nice))
