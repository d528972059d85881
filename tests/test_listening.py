"""Listening analytics (issue #18): the beacon endpoint, the roll-up and the curators' dashboard."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from exhibits.analytics import beacon as beacons
from exhibits.analytics.buffer import flush
from exhibits.analytics.rollup import roll_up
from exhibits.models import DailyListening, ListeningEvent
from tests.visitor_fixtures import *  # noqa: F401,F403

PHONE_UA = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36"
LISTEN = "0123456789abcdef01234567"


@pytest.fixture(autouse=True)
def fresh_counters(settings):
    """Each test its own rate-limit window, beacon queue and exhibit-code cache."""
    from exhibits.analytics import endpoint
    from exhibits.render.redis_conn import redis_client

    endpoint._codes.clear()
    client = redis_client()
    for key in client.scan_iter("listening:*"):
        client.delete(key)


def body(code: int, events, listen: str = LISTEN, rendition=None) -> bytes:
    return json.dumps({"l": listen, "e": code, "r": rendition, "ev": events}).encode()


def send(client, payload: bytes | str, ua: str = PHONE_UA, **extra):
    return client.post("/listen", payload, content_type="text/plain;charset=UTF-8", HTTP_USER_AGENT=ua, **extra)


def full_listen(code: int, sentences: int, listen: str = LISTEN, rendition=None, end: bool = True) -> list[bytes]:
    events = [[0, "play", 0, None, 0]] + [[1 + i, "progress", 1.5 * i, i, 1.5 * i] for i in range(sentences)]
    if end:
        events.append([sentences + 1, "end", 1.5 * sentences, None, 1.5 * sentences])
    return [body(code, events[:3], listen, rendition), body(code, events[3:], listen, rendition)]


@pytest.mark.django_db
def test_a_listen_to_the_end_is_one_play_one_completion_every_sentence(visitor, museum):
    code, n = museum.ready.code, len(museum.rendition.timings)
    for payload in full_listen(code, n, rendition=museum.rendition.pk):
        assert send(visitor, payload).status_code == 204
    result = roll_up()
    assert result["rows"] == 1
    row = DailyListening.objects.get()
    assert (row.exhibit_id, row.rendition_id, row.plays, row.completions) == (museum.ready.pk, museum.rendition.pk, 1, 1)
    assert row.reached == [1] * n
    assert row.listen_seconds == {str(int(1.5 * n)): 1}
    assert not ListeningEvent.objects.filter(rolled_up=False).exists()


@pytest.mark.django_db
def test_duplicate_beacons_seeks_and_replays_do_not_inflate_counts(visitor, museum):
    code = museum.ready.code
    payloads = full_listen(code, 3, end=False)
    for payload in payloads + payloads:  # every beacon delivered twice
        send(visitor, payload)
    # Seek back to sentence 0, hear it again, pause, play again: still one listen.
    send(visitor, body(code, [[10, "seek", 0, None, 4.5], [11, "progress", 0.1, 0, 4.6], [12, "pause", 1, None, 5.4],
                              [13, "play", 1, None, 5.4], [14, "progress", 3.1, 2, 7.5]]))
    flush()
    assert ListeningEvent.objects.count() == 4 + 5
    roll_up()
    row = DailyListening.objects.get()
    assert (row.plays, row.completions, row.reached) == (1, 0, [1, 1, 1])
    # A second visitor who stopped after the first sentence; a second run changes nothing by itself.
    send(visitor, body(code, [[0, "play", 0, None, 0], [1, "progress", 0, 0, 0.4], [2, "pause", 2, None, 2]], listen="f" * 16))
    roll_up()
    roll_up()
    row = DailyListening.objects.get()
    assert (row.plays, row.reached, row.listen_seconds) == (2, [2, 1, 1], {"7": 1, "2": 1})


@pytest.mark.django_db
@pytest.mark.parametrize("payload", [
    b"", b"not json", b"[]", b'{"l": "0123456789abcdef", "e": 101, "r": null}',
    body(101, []), body(101, [[0, "play", 0, None]]), body(101, [[0, "dance", 0, None, 0]]),
    body(101, [[0, "progress", 1, None, 1]]), body(101, [[0, "play", -1, None, 0]]), body(101, [[0, "play", 1e9, None, 0]]),
    body(101, [[0, "play", 0, None, 0]], listen="ZZZZ"), body(101, [[0, "play", 0, None, 0], [0, "pause", 1, None, 1]]),
    body(101, [[True, "play", 0, None, 0]]), b'{"l": "0123456789abcdef", "e": 101, "r": null, "ev": [[0, "play", NaN, null, 0]]}',
    body(101, [[i, "progress", i, i, i] for i in range(beacons.MAX_EVENTS + 1)]),
    body(101, [[0, "play", 0, None, 0]])[:-1] + b', "x": "' + b"a" * beacons.MAX_BODY_BYTES + b'"}',  # oversized
], ids=lambda p: p[:40].decode(errors="replace"))
def test_invalid_or_oversized_beacons_get_400_and_store_nothing(visitor, museum, payload):
    payload = payload.replace(b'"e": 101', f'"e": {museum.ready.code}'.encode())
    response = send(visitor, payload)
    assert response.status_code == 400, response.content
    flush()
    assert not ListeningEvent.objects.exists()


@pytest.mark.django_db
def test_unknown_or_draft_exhibits_and_get_requests_store_nothing(visitor, museum):
    assert send(visitor, body(museum.draft.code, [[0, "play", 0, None, 0]])).status_code == 404
    assert send(visitor, body(999999, [[0, "play", 0, None, 0]])).status_code == 404
    assert visitor.get("/listen").status_code == 405
    flush()
    assert not ListeningEvent.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("ua", ["", "Googlebot/2.1 (+http://www.google.com/bot.html)",
                                "Mozilla/5.0 (compatible; bingbot/2.0)", "curl/8.5.0", "python-requests/2.32",
                                "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/126.0 Safari/537.36"])
def test_bots_are_answered_but_not_counted(visitor, museum, ua):
    assert send(visitor, body(museum.ready.code, [[0, "play", 0, None, 0]]), ua=ua).status_code == 204
    flush()
    assert not ListeningEvent.objects.exists()


@pytest.mark.django_db
def test_rate_limit_per_client_address(visitor, museum, settings):
    settings.LISTENING_RATE_LIMIT = 3
    code = museum.ready.code
    statuses = [send(visitor, body(code, [[i, "play", 0, None, 0]]), REMOTE_ADDR="203.0.113.7").status_code for i in range(5)]
    assert statuses == [204, 204, 204, 429, 429]
    flush()
    assert ListeningEvent.objects.count() == 3
    assert send(visitor, body(code, [[9, "play", 0, None, 0]]), REMOTE_ADDR="203.0.113.8").status_code == 204  # another phone


@pytest.mark.django_db
def test_rate_limit_key_holds_no_address(museum):
    from django.test import RequestFactory

    from exhibits.analytics.endpoint import client_bucket

    request = RequestFactory().post("/listen", REMOTE_ADDR="203.0.113.7")
    today, tomorrow = client_bucket(request.META, 1_000_000.0), client_bucket(request.META, 1_000_000.0 + 86400)
    assert "203" not in today and today != tomorrow  # the salt changes every day


@pytest.mark.django_db
def test_raw_events_are_dropped_after_the_retention_period_and_totals_stay(visitor, museum, settings):
    settings.LISTENING_RAW_RETENTION_DAYS = 30
    for payload in full_listen(museum.ready.code, 2):
        send(visitor, payload)
    flush()
    old = timezone.now() - timedelta(days=31)
    ListeningEvent.objects.update(received_at=old)
    result = roll_up()
    assert result["days"] == [timezone.localtime(old).date().isoformat()] and result["dropped"] == 4  # play, 2 sentences, end
    assert not ListeningEvent.objects.exists()
    assert DailyListening.objects.get().plays == 1  # the day's totals outlive the raw events
    for payload in full_listen(museum.ready.code, 2, listen="e" * 16):
        send(visitor, payload)
    assert roll_up()["dropped"] == 0 and DailyListening.objects.count() == 2


def test_the_rollup_and_the_flush_are_on_the_beat_schedule():
    from django.conf import settings

    from guide_site.celery import app

    schedule = {e["task"]: e["schedule"] for e in settings.CELERY_BEAT_SCHEDULE.values()}
    assert schedule["exhibits.rollup_listening"] == settings.LISTENING_ROLLUP_SECONDS
    assert schedule["exhibits.flush_listening_buffer"] == settings.LISTENING_FLUSH_SECONDS
    app.loader.import_default_modules()
    assert {"exhibits.rollup_listening", "exhibits.flush_listening_buffer"} <= set(app.tasks)


def flush_messages() -> list[dict]:
    """The flush tasks waiting in the broker's default queue (no worker runs here)."""
    from exhibits.analytics import buffer
    from exhibits.render.redis_conn import redis_client
    from guide_site.celery import app

    raw = redis_client().lrange(app.conf.task_default_queue, 0, -1)
    return [m for m in map(json.loads, raw) if m["headers"]["task"] == buffer.FLUSH_TASK]


@pytest.mark.django_db
def test_a_request_never_writes_the_batch_it_asks_a_worker_once(visitor, museum, django_assert_num_queries, settings):
    from exhibits.analytics import buffer
    from tests.worker import purge_queue

    settings.LISTENING_RATE_LIMIT = 10 * buffer.FLUSH_AT  # one test client sends two queues' worth
    purge_queue()
    code = museum.ready.code
    for i in range(buffer.FLUSH_AT - 1):
        send(visitor, body(code, [[0, "play", 0, None, 0]], listen=f"{i:016x}"))
    assert buffer.queued() == buffer.FLUSH_AT - 1 and flush_messages() == []
    with django_assert_num_queries(0):  # the one that fills the queue neither writes nor reads the database
        assert send(visitor, body(code, [[0, "play", 0, None, 0]], listen=f"{10**6:016x}")).status_code == 204
    for i in range(5):  # the queue grows past FLUSH_AT; the flush is asked for once, not per beacon
        send(visitor, body(code, [[0, "play", 0, None, 0]], listen=f"{10**7 + i:016x}"))
    assert buffer.queued() == buffer.FLUSH_AT + 5 and not ListeningEvent.objects.exists()
    assert len(flush_messages()) == 1
    purge_queue()

    # The task (run here) moves everything and clears the mark: the next full queue asks again.
    from exhibits.analytics.tasks import flush_listening_buffer

    assert flush_listening_buffer() == buffer.FLUSH_AT + 5
    assert buffer.queued() == 0 and ListeningEvent.objects.count() == buffer.FLUSH_AT + 5
    for i in range(buffer.FLUSH_AT):
        send(visitor, body(code, [[1, "pause", 1, None, 1]], listen=f"{i:016x}"))
    assert len(flush_messages()) == 1
    purge_queue()


@pytest.mark.django_db
def test_an_exhibit_deleted_while_its_beacons_wait_loses_only_those(visitor, museum):
    from exhibits.models import Narration

    send(visitor, body(museum.vase.code, [[0, "play", 0, None, 0]], listen="a" * 16))
    send(visitor, body(museum.ready.code, [[0, "play", 0, None, 0]], listen="b" * 16))
    Narration.objects.filter(exhibit=museum.vase).delete()
    museum.vase.delete()
    assert flush() == 2 and list(ListeningEvent.objects.values_list("listen", flat=True)) == ["b" * 16]


@pytest.mark.django_db
def test_a_full_queue_refuses_new_beacons_and_keeps_the_queued_ones(visitor, museum, settings):
    from exhibits.analytics import buffer

    settings.LISTENING_QUEUE_MAX = 3
    code = museum.ready.code
    statuses = [send(visitor, body(code, [[i, "play", 0, None, 0]])).status_code for i in range(5)]
    assert statuses == [204, 204, 204, 503, 503] and buffer.queued() == 3
    assert flush() == 3 and list(ListeningEvent.objects.order_by("seq").values_list("seq", flat=True)) == [0, 1, 2]
    assert send(visitor, body(code, [[5, "play", 0, None, 0]])).status_code == 204  # room again once flushed


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_celery_worker_stores_the_queued_beacons(visitor, museum, worker_factory):
    from celery import current_app

    from exhibits.analytics import buffer
    from tests.worker import wait_for

    worker_factory()
    code = museum.ready.code
    for i in range(buffer.FLUSH_AT + 10):
        assert send(visitor, body(code, [[0, "play", 0, None, 0], [1, "progress", 0, 0, 0.5]], listen=f"{i:016x}")).status_code == 204
    # the flush the 100th beacon asked for may start before the last ones arrive: they wait for
    # the next request or beat's periodic flush, sent here as beat sends it
    wait_for(lambda: ListeningEvent.objects.count() >= 2 * buffer.FLUSH_AT, 60, "the worker to store the asked-for batch")
    current_app.send_task("exhibits.flush_listening_buffer")
    wait_for(lambda: ListeningEvent.objects.count() == 2 * (buffer.FLUSH_AT + 10), 60, "the worker to store the rest")
    assert buffer.queued() == 0


@pytest.mark.django_db
def test_without_redis_beacons_are_written_at_once(visitor, museum, settings):
    settings.REDIS_URL = ""
    settings.CELERY_BROKER_URL = "memory://"
    assert send(visitor, body(museum.ready.code, [[0, "play", 0, None, 0]])).status_code == 204
    assert ListeningEvent.objects.count() == 1


def call_wsgi(environ) -> tuple[str, bytes]:
    """Through the deployed WSGI application, keeping the test's database connection open (as
    Django's test client does: the request signals would close it)."""
    from django.core import signals
    from django.db import close_old_connections

    from guide_site.wsgi import application

    seen = {}
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        body = b"".join(application(environ, lambda status, headers: seen.update(status=status, headers=dict(headers))))
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)
    return seen["status"], body


@pytest.mark.django_db
def test_the_wsgi_fast_path_answers_beacons_like_the_view(museum):
    from django.test import RequestFactory

    from exhibits.analytics.buffer import queued

    factory = RequestFactory()

    def beacon(payload: bytes, **extra):
        return factory.post("/listen", payload, content_type="text/plain", HTTP_USER_AGENT=PHONE_UA, **extra).environ

    assert call_wsgi(beacon(body(museum.ready.code, [[0, "play", 0, None, 0]])))[0] == "204 No Content"
    assert queued() == 1
    status, reason = call_wsgi(beacon(b"x" * (beacons.MAX_BODY_BYTES + 1)))
    assert (status, reason) == ("400 Bad Request", b"beacon too large")
    assert call_wsgi(beacon(body(museum.draft.code, [[0, "play", 0, None, 0]])))[0] == "404 Not Found"
    assert queued() == 1
    assert call_wsgi(factory.get("/listen").environ)[0].startswith("405")  # not a beacon: Django answers
    assert call_wsgi(factory.get(f"/e/{museum.ready.code}/").environ)[0] == "200 OK"


@pytest.mark.django_db
def test_whole_and_fractional_seconds_in_one_batch_are_stored(visitor, museum):
    """JSON hands positions over as ints (0) or floats (0.5) within one batch, and on PostgreSQL
    the batch goes in as one array per column: every value must come back as sent."""
    code = museum.ready.code
    for i in range(3):
        send(visitor, body(code, [[0, "play", 0, None, 0], [1, "progress", 1.5, 0, 0.5], [2, "pause", 3, None, 3]],
                           listen=f"{i:016x}"))
    assert flush() == 3
    stored = sorted(ListeningEvent.objects.values_list("seq", "position", "listened"))
    assert stored == [(0, 0.0, 0.0)] * 3 + [(1, 1.5, 0.5)] * 3 + [(2, 3.0, 3.0)] * 3
