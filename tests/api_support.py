"""Fixtures and helpers shared by the speech-API and operations tests (import what you use)."""
from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.db import connection

from exhibits.models import ApiKey, SpeechTask

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


@pytest.fixture
def media(settings, tmp_path):
    """A private, empty MEDIA_ROOT: tests can assert exactly which files appear."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ROOT.mkdir()
    return settings.MEDIA_ROOT


@pytest.fixture
def api_key(db):
    key, token = ApiKey.issue("test client", rate_limit_per_minute=1000)
    key.token = token
    return key


class Api:
    """The Django test client with the API's conventions: JSON bodies, bearer key."""

    def __init__(self, client, token: str | None):
        self.client, self.token = client, token

    def headers(self, accept: str | None, extra: dict) -> dict:
        headers = dict(extra)
        if self.token:
            headers.setdefault("Authorization", f"Bearer {self.token}")
        if accept:
            headers["Accept"] = accept
        return headers

    def post(self, path: str, body=None, accept: str | None = "application/json", raw: bytes | None = None,
             content_type: str = "application/json", **headers):
        data = raw if raw is not None else json.dumps(body if body is not None else {})
        return self.client.post(path, data=data, content_type=content_type, headers=self.headers(accept, headers))

    def get(self, path: str, accept: str | None = "application/json", **headers):
        return self.client.get(path, headers=self.headers(accept, headers))


@pytest.fixture
def api(client, api_key):
    return Api(client, api_key.token)


def assert_error(response, status: int, code: str | None = None) -> dict:
    """Every error under /api/ is JSON {"error", "detail"}."""
    assert response.status_code == status, (response.status_code, response.content[:500])
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = json.loads(response.content)
    assert set(body) == {"error", "detail"}, body
    if code:
        assert body["error"] == code, body
    return body


def files_under(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()} if root.exists() else set()


class NothingWritten:
    """Context: assert that no media file and no SpeechTask row appeared inside the block."""

    def __init__(self, media_root: Path):
        self.root = Path(media_root)

    def __enter__(self):
        self.files, self.tasks = files_under(self.root), SpeechTask.objects.count()
        return self

    def __exit__(self, *exc):
        if exc[0] is None:
            assert files_under(self.root) == self.files, "a rejected request wrote files"
            assert SpeechTask.objects.count() == self.tasks, "a rejected request created task rows"


# --- real processes (workers, gunicorn) ---------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_url(settings_dict: dict | None = None, name: str | None = None) -> str:
    """URL of the *test* database (or another on the same server), for child processes."""
    s = settings_dict or connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{name or s['NAME']}"


def child_env(**extra) -> dict:
    from django.conf import settings as live

    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE",)}
    env.update(
        DJANGO_SETTINGS_MODULE="guide_site.settings",
        DATABASE_URL=database_url(),
        CELERY_BROKER_URL=live.CELERY_BROKER_URL,
        REDIS_URL=live.REDIS_URL,
        MEDIA_ROOT=str(live.MEDIA_ROOT),
        TESTING="1",
        PYTHONUNBUFFERED="1",
    )
    env.update({k: str(v) for k, v in extra.items()})
    return env


def start(args: list[str], env: dict, log_path: Path, cwd: Path = ROOT) -> subprocess.Popen:
    """A child in its own process group (so stop() takes its children too), output to a file."""
    log = open(log_path, "wb")
    return subprocess.Popen(args, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def stop(proc: subprocess.Popen, timeout: float = 15) -> None:
    import signal

    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
        except ProcessLookupError:
            pass


def wait_for(predicate, timeout: float, interval: float = 0.2, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def answers(port: int, path: str = "/") -> bool:
    """True when a server on 127.0.0.1:port answers ``GET path`` with 200 (for wait_for)."""
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        conn.request("GET", path)
        return conn.getresponse().status == 200
    except OSError:
        return False


@contextmanager
def gunicorn_with_worker(tmp_path: Path, media_root: Path, rate_limit_per_minute: int, **env):
    """A Celery worker and gunicorn as deployed (deploy/gunicorn.conf.py) on a free port, for the
    benchmarks that call the API as clients do: yields (port, API token, gunicorn, worker).
    Sync /api/tts is rendered by the worker (web processes never load the voice)."""
    from tests.worker import Worker, purge_queue

    purge_queue()
    worker = Worker(tmp_path, concurrency=1).start()
    port = free_port()
    proc = start([str(Path(PYTHON).parent / "gunicorn"), "-c", "deploy/gunicorn.conf.py", "--bind", f"127.0.0.1:{port}",
                  "guide_site.wsgi"], child_env(MEDIA_ROOT=media_root, GUNICORN_ACCESSLOG="", GUNICORN_LOGLEVEL="warning", **env),
                 tmp_path / "gunicorn.log")
    token = ApiKey.issue("bench", rate_limit_per_minute=rate_limit_per_minute)[1]
    try:
        wait_for(lambda: answers(port, "/"), 60, what="gunicorn")  # /healthz is 503 until a worker beats
        yield port, token, proc, worker
    finally:
        stop(proc)
        worker.kill()
