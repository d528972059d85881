"""The one Redis client for coordination (rate limits, render locks, health), or None.

Redis is optional: the demo runs on a file-based queue without it. Callers fall back to
single-host mechanisms (file locks, the Django cache) when ``redis_client()`` is None.
"""
from __future__ import annotations

import functools

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver


def redis_url() -> str:
    return getattr(settings, "REDIS_URL", "") or ""


@functools.lru_cache(maxsize=4)
def _client_for(url: str, timeout: float):
    import redis

    # Short timeouts: a slow Redis must turn into a clear error, never a hung web worker.
    return redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout, health_check_interval=30)


def redis_client(timeout: float = 2.0):
    url = redis_url()
    return _client_for(url, timeout) if url else None


@receiver(setting_changed)
def _forget_clients(setting, **_kwargs):
    if setting in ("REDIS_URL", "CELERY_BROKER_URL"):
        _client_for.cache_clear()
