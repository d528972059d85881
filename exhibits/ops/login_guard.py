"""The client address django-axes counts failed admin logins against.

Behind NUM_PROXIES trusted proxies (nginx: 1) the address is the one the nearest proxy saw,
i.e. that many entries from the right of X-Forwarded-For; with none, REMOTE_ADDR. A client can
put anything at the left of X-Forwarded-For, so the left end is never trusted.
"""
from __future__ import annotations

from django.conf import settings


def client_ip(request) -> str:
    proxies = int(settings.REST_FRAMEWORK.get("NUM_PROXIES") or 0)
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if proxies and forwarded:
        return forwarded[-min(proxies, len(forwarded))]
    return request.META.get("REMOTE_ADDR", "")
