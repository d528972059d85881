"""``GET /healthz``: can this instance serve? Database, broker and a live render worker, each cheap.

200 ``{"status": "ok", "checks": {...}}`` when all pass, else 503 with the failing check's
message, so a load balancer or ``docker compose`` healthcheck can take the instance out.
"""
from __future__ import annotations

import time

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from exhibits.ops import heartbeat

TIMEOUT_SECONDS = 1.0


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


def check_worker() -> str:
    """A worker beat within the last seconds and reported usable voice files (heartbeat.py): the
    web process never imports or loads the voice, so the first call is as fast as any other."""
    workers = heartbeat.alive()
    if not workers:
        raise RuntimeError("no render worker alive (none beat in the last "
                           f"{heartbeat.FRESH_SECONDS} s): start `celery -A guide_site worker`")
    broken = [w for w in workers if not w["engine"].startswith("ok")]
    if len(broken) == len(workers):
        raise RuntimeError(f"voice unusable on every worker: {broken[0]['engine']}")
    return f"ok ({len(workers)} alive" + (f", {len(broken)} with an unusable voice)" if broken else ")")


CHECKS = {"database": check_database, "broker": check_broker, "worker": check_worker}


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
