"""Real Celery workers and a private redis-server for tests, as subprocesses.

A worker uses the *test* database (pytest-django's ``test_<name>``) and the test MEDIA_ROOT,
so tests using it need ``@pytest.mark.django_db(transaction=True)`` to let it see their rows.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def wait_for(predicate, timeout: float, message: str = "condition", interval: float = 0.1):
    """Poll ``predicate`` until it returns something truthy; fail with ``message`` on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {message}")
        time.sleep(interval)


def database_url() -> str:
    """URL of the database this test runs against (the test_ database, not the configured one)."""
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Worker:
    """``celery -A guide_site worker`` in its own process group (so SIGKILL takes it all)."""

    def __init__(self, log_dir: Path, broker_url: str | None = None, concurrency: int = 1, beat: bool = False,
                 wrap: tuple[str, ...] = (), **env):
        """``wrap``: a command prefix, e.g. setpriv dropping root's right to ignore file modes."""
        self.broker_url = broker_url or settings.CELERY_BROKER_URL
        self.concurrency, self.beat, self.wrap = concurrency, beat, tuple(wrap)
        self.log_path = log_dir / f"worker-{uuid.uuid4().hex[:8]}.log"
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "guide_site.settings",
            "DATABASE_URL": database_url(),
            "CELERY_BROKER_URL": self.broker_url,
            "REDIS_URL": self.broker_url if self.broker_url.startswith("redis") else "",
            "MEDIA_ROOT": str(settings.MEDIA_ROOT),
            "TESTING": "1",
            "DB_CONN_MAX_AGE": "0",  # the test database is truncated between tests
        }
        for name, value in env.items():  # None removes a variable (e.g. DATABASE_URL: use SQLite)
            if value is None:
                self.env.pop(name, None)
            else:
                self.env[name] = str(value)
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    def start(self, timeout: float = 90) -> "Worker":
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        args = [*self.wrap, sys.executable, "-m", "celery", "-A", "guide_site", "worker", "--loglevel", "INFO",
                "--pool", "prefork", "--concurrency", str(self.concurrency), "-n", f"test-{uuid.uuid4().hex[:6]}@%h",
                "--without-gossip", "--without-mingle", "--without-heartbeat"]
        if self.beat:
            args += ["--beat", "--schedule", str(self.log_path.with_suffix(".beat"))]
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(args, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        self.starts += 1
        wait_for(lambda: self._ready_since(offset) or self._exited(), timeout, "the celery worker to be ready", 0.2)
        if self._exited():
            raise AssertionError(f"celery worker exited with {self.proc.returncode}:\n{self.log()[-3000:]}")
        return self

    def _ready_since(self, offset: int) -> bool:
        with open(self.log_path, "rb") as fh:
            fh.seek(offset)
            return b" ready." in fh.read()

    def _exited(self) -> bool:
        return self.proc is not None and self.proc.poll() is not None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def pool_pids(self) -> list[int]:
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        return [int(p) for p in children.read_text().split()] if children.exists() else []

    def kill(self) -> None:
        """SIGKILL the whole worker (main process and pool): nothing gets to clean up."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)  # warm shutdown
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.kill()


class RedisServer:
    """A throw-away redis-server on its own port, to stop and start while a test runs."""

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> "RedisServer":
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--daemonize", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_for(self._answers, 10, f"redis-server on port {self.port}")
        return self

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


def purge_queue() -> None:
    """Drop messages left by earlier tests (their job ids may be reused by this test's rows)."""
    from guide_site.celery import app

    with app.connection_for_write() as conn:
        app.amqp.queues[app.conf.task_default_queue].bind(conn.default_channel).purge()


@contextmanager
def publishing_to(url: str):
    """Make this (test) process send tasks to another broker, e.g. a private redis-server."""
    from guide_site.celery import app

    def reset():
        # Forget, don't close: kombu keeps one pool per URL in a global registry, shared with the
        # app; closing it would break every later publish to the default broker.
        app._pool = None
        app.amqp._producer_pool = None

    # Celery reads CELERY_BROKER_URL from the environment before its config (settings_test sets it).
    old_env, old_conf = os.environ.get("CELERY_BROKER_URL"), app.conf.broker_url
    os.environ["CELERY_BROKER_URL"] = app.conf.broker_url = url
    reset()
    try:
        yield
    finally:
        app.conf.broker_url = old_conf
        if old_env is None:
            os.environ.pop("CELERY_BROKER_URL", None)
        else:
            os.environ["CELERY_BROKER_URL"] = old_env
        reset()
