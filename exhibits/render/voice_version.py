"""The loaded voice's model version, told by render workers to web processes through Redis.

Web processes never load the voice (``exhibits.api.relay``), yet a cache key includes the model
version: with it they compute keys and answer cache hits themselves.
"""
from __future__ import annotations

import logging

from django.conf import settings

from exhibits.render.redis_conn import redis_client

log = logging.getLogger(__name__)


def model_version_key(engine: str) -> str:
    return f"speech:model_version:{engine}"


def publish_model_version(engine) -> None:
    """Worker side: tell web processes the loaded model's version, so they can compute cache
    keys and answer cache hits themselves without loading the voice."""
    client = redis_client()
    try:
        if client is not None:
            client.set(model_version_key(engine.name), engine.model_version)
    except Exception as exc:  # noqa: BLE001 - web processes then relay cache hits too: slower, not wrong
        log.warning("cannot publish the model version: %s", exc)


def known_model_version() -> str | None:
    value = redis_client().get(model_version_key(settings.SYNTHESIS_ENGINE))
    return value.decode() if value else None
