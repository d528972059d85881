"""Fixed-window rate limits: per API key (its own limit) or per client IP for keyless reads.

One Redis ``INCR`` per request, shared by every web process; the window's counter expires with
the window. Without Redis (the file-queue demo) the Django cache is used, which is per process.
"""
from __future__ import annotations

import math
import time

from django.conf import settings
from django.core.cache import cache
from rest_framework.throttling import BaseThrottle

from exhibits.models import ApiKey
from exhibits.render.redis_conn import redis_client

WINDOW_SECONDS = 60


def hit(bucket: str, now: float | None = None) -> tuple[int, float]:
    """Count one request in ``bucket``'s current window; returns (count, seconds left)."""
    now = time.time() if now is None else now
    window = int(now // WINDOW_SECONDS)
    left = (window + 1) * WINDOW_SECONDS - now
    name = f"api:rl:{bucket}:{window}"
    client = redis_client()
    if client is None:
        cache.add(name, 0, timeout=WINDOW_SECONDS + 5)
        return cache.incr(name), left
    with client.pipeline(transaction=False) as pipe:  # one round trip; atomicity not needed
        pipe.incr(name)
        pipe.expire(name, WINDOW_SECONDS + 5)
        count, _ = pipe.execute()
    return int(count), left


class ApiRateThrottle(BaseThrottle):
    """The key's ``rate_limit_per_minute``; keyless requests share API_PUBLIC_RATE_LIMIT per IP."""

    def allow_request(self, request, view) -> bool:
        key = request.auth
        if isinstance(key, ApiKey):
            # The random prefix, not the row id: ids are reused by test databases and restores.
            bucket, limit = f"key:{key.prefix}", key.rate_limit_per_minute
        else:
            bucket, limit = f"ip:{self.get_ident(request)}", settings.API_PUBLIC_RATE_LIMIT
        count, self._left = hit(bucket)
        return count <= limit

    def wait(self) -> float:
        return max(1, math.ceil(self._left))
