"""``POST /listen``: the exhibit page's listening beacons.

Answers 204 when the events were accepted (queued for the database, see ``buffer``) or
deliberately dropped (a bot: it learns nothing), 400 for a malformed or oversized beacon, 404
for an exhibit that is not published, 429 over the rate limit, 503 when the queue is full (no
worker has flushed it for a long while, see ``buffer``); in every case but the first nothing is
stored. Checks that need no I/O come first: a bad beacon costs no Redis call. The
page never reads the answer (``sendBeacon``): these codes are for tests, logs and proxies.

Rate limit: LISTENING_RATE_LIMIT beacons per minute per client address, counted in Redis by the
same call that queues the beacon (the Django cache without Redis), under a key that is a keyed
hash of the address and the day: the salt changes daily and no counter holds an address.
"""
from __future__ import annotations

import hashlib
import time
from types import SimpleNamespace

from django.conf import settings
from django.db.models.signals import post_delete, post_save
from django.http import HttpResponse
from django.http.request import HttpHeaders
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from rest_framework.throttling import BaseThrottle

from exhibits.analytics import beacon as beacons
from exhibits.analytics import buffer
from exhibits.models import Exhibit

CODE_CACHE_SECONDS = 60.0
_codes: dict[int, tuple[float, int | None]] = {}  # exhibit code -> (valid until, published exhibit id or None)
_client = BaseThrottle()  # only for get_ident: REMOTE_ADDR, or X-Forwarded-For behind NUM_PROXIES proxies


def client_bucket(meta: dict, now: float) -> str:
    day = int(now // 86400)
    address = _client.get_ident(SimpleNamespace(META=meta, headers=HttpHeaders(meta)))  # reads only these
    digest = hashlib.blake2b(f"{day}:{address}".encode(), digest_size=12,
                             key=settings.SECRET_KEY.encode()[:64]).hexdigest()
    return f"listening:rl:{digest}"


def published_exhibit_id(code: int, now: float) -> int | None:
    """Cached per process: a beacon must not cost a query for the exhibit row."""
    hit_ = _codes.get(code)
    if hit_ is not None and now < hit_[0]:
        return hit_[1]
    if len(_codes) > 10_000:
        _codes.clear()
    found = Exhibit.objects.filter(code=code, status=Exhibit.Status.PUBLISHED).values_list("id", flat=True).first()
    _codes[code] = (now + CODE_CACHE_SECONDS, found)
    return found


def forget_codes(**_) -> None:
    _codes.clear()


post_save.connect(forget_codes, sender=Exhibit, dispatch_uid="listening-codes-save")
post_delete.connect(forget_codes, sender=Exhibit, dispatch_uid="listening-codes-delete")


def judge(meta: dict, read_body, now: float) -> tuple[int, str]:
    """(status, reason) for one beacon; ``meta`` is the WSGI environ, ``read_body()`` the body.
    Shared by the Django view below and the WSGI fast path (``exhibits.analytics.wsgi``)."""
    length = meta.get("CONTENT_LENGTH") or "0"
    if not length.isdigit() or int(length) > beacons.MAX_BODY_BYTES:
        return 400, "beacon too large"  # before reading the body
    if beacons.is_bot(meta.get("HTTP_USER_AGENT", "")):
        return 204, ""
    try:
        beacon = beacons.parse(read_body())
    except beacons.BadBeacon as exc:
        return 400, str(exc)
    exhibit_id = published_exhibit_id(beacon.exhibit_code, now)
    if exhibit_id is None:
        return 404, "no such exhibit"
    accepted = buffer.accept(client_bucket(meta, now), settings.LISTENING_RATE_LIMIT, beacon, exhibit_id, now)
    if accepted is buffer.Accepted.OVER_LIMIT:
        return 429, "too many beacons"
    if accepted is buffer.Accepted.QUEUE_FULL:
        return 503, "listening queue full"
    return 204, ""


@csrf_exempt  # no cookies are involved: nothing for a cross-site request to ride on
@require_POST
def listen(request):
    status, reason = judge(request.META, lambda: request.body, time.time())
    response = HttpResponse(reason, status=status, content_type="text/plain; charset=utf-8")
    response["Cache-Control"] = "no-store"
    return response
