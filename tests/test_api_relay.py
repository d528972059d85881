"""Synchronous /api/tts rendered by the Celery worker: the web process never loads the voice.

With a real worker it answers audio as before; with none, a 503 with Retry-After after the
timeout (not a hang, not a 500); waits beyond the caps, or that the workers could not finish in
time after the renders already admitted, get 429/503 with Retry-After at once.
"""
from __future__ import annotations

import json
import time

import pytest

import synthesis.engines
import synthesis.pipeline
from exhibits.api import admission, relay
from exhibits.ops import heartbeat
from exhibits.render.redis_conn import redis_client
from tests.api_support import api, api_key, assert_error, media  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db(transaction=True)
TEXT = "这件后母戊鼎高1.33米。"


@pytest.fixture
def web_tier(settings, monkeypatch):
    """The worker path on, and any attempt of this (web) process to load a voice fails the test."""
    settings.API_TTS_IN_WORKER = True
    settings.API_SYNC_TIMEOUT_SECONDS = 60

    def no_voice_here(*_args, **_kwargs):
        raise AssertionError("the web process tried to load the voice")

    monkeypatch.setattr(synthesis.engines, "get_engine", no_voice_here)
    monkeypatch.setattr(synthesis.pipeline, "get_engine", no_voice_here)
    client = redis_client()
    client.delete(relay.WAITS_TOTAL, relay.model_version_key(settings.SYNTHESIS_ENGINE), admission.speed_key(),
                  *client.keys(f"{relay.WAITS_KEY}*"), *client.keys(f"{heartbeat.KEY_PREFIX}*"))
    admission._slots.clear()
    return settings


@pytest.mark.slow
def test_worker_renders_the_sync_request(web_tier, api, media, worker_factory):
    worker_factory()
    response = api.post("/api/tts", {"text": TEXT}, accept="*/*")
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"] == "audio/mpeg"
    body = b"".join(response.streaming_content)
    assert body[:3] == b"ID3" or body[0] == 0xFF  # an MP3 stream
    assert response["X-Cache-Hit"] == "0"

    again = api.post("/api/tts", {"text": TEXT, "format": "mp3"})
    assert again.status_code == 200
    result = json.loads(again.content)
    assert result["cache_hit"] is True and result["audio_url"].endswith(".mp3") and result["timings"]

    assert admission.seconds_per_char() != admission.DEFAULT_SECONDS_PER_CHAR  # the worker measured its render

    unknown = api.post("/api/tts", {"text": TEXT, "voice": "nobody"})
    assert "nobody" in str(assert_error(unknown, 400, "invalid_request")["detail"])  # checked by the worker


@pytest.mark.slow
def test_cache_hits_are_answered_without_the_worker(web_tier, api, media, worker_factory):
    worker = worker_factory()
    assert api.post("/api/tts", {"text": TEXT}).status_code == 200
    worker.kill()
    web_tier.API_SYNC_TIMEOUT_SECONDS = 1
    hit = api.post("/api/tts", {"text": TEXT})  # the worker published its model version: key known here
    assert hit.status_code == 200 and json.loads(hit.content)["cache_hit"] is True
    assert_error(api.post("/api/tts", {"text": TEXT + "再见。"}), 503, "worker_unavailable")


def test_no_worker_is_a_503_with_retry_after(web_tier, api, media):
    from tests.worker import purge_queue

    purge_queue()
    web_tier.API_SYNC_TIMEOUT_SECONDS = 2
    started = time.monotonic()
    response = api.post("/api/tts", {"text": TEXT})
    assert time.monotonic() - started < 10
    assert_error(response, 503, "worker_unavailable")
    assert int(response["Retry-After"]) > 0
    assert not redis_client().zcard(relay.WAITS_TOTAL)  # the slot was given back


def test_markup_errors_are_answered_by_the_web_process(web_tier, api, media):
    response = api.post("/api/tts", {"text": "[happy]没有结束"})
    assert assert_error(response, 400, "invalid_markup")["detail"]["line"] == 1


def _occupy(name: str, count: int) -> None:
    deadline = time.time() + 60
    redis_client().zadd(name, {f"other-{n}": deadline for n in range(count)})


def test_waits_beyond_the_key_cap_get_429(web_tier, api, api_key, media):
    _occupy(f"{relay.WAITS_KEY}{api_key.prefix}", web_tier.API_SYNC_MAX_WAITS_PER_KEY)
    response = api.post("/api/tts", {"text": TEXT})
    assert_error(response, 429, "too_many_waits")
    assert int(response["Retry-After"]) > 0


def test_waits_beyond_the_total_cap_get_503(web_tier, api, media):
    _occupy(relay.WAITS_TOTAL, web_tier.API_SYNC_MAX_WAITS)
    response = api.post("/api/tts", {"text": TEXT})
    assert_error(response, 503, "server_busy")
    assert int(response["Retry-After"]) > 0


def test_slots_of_a_dead_web_process_expire(web_tier, api, media):
    redis_client().zadd(relay.WAITS_TOTAL, {f"dead-{n}": time.time() - 1 for n in range(web_tier.API_SYNC_MAX_WAITS)})
    web_tier.API_SYNC_TIMEOUT_SECONDS = 1
    assert_error(api.post("/api/tts", {"text": TEXT}), 503, "worker_unavailable")  # got a slot, no worker


def _expect_render_seconds(seconds: float) -> None:
    """As if the workers had measured that TEXT takes ``seconds`` to render."""
    redis_client().delete(admission.speed_key())
    admission.record_render(seconds, len(TEXT))
    assert admission.estimate_seconds(TEXT) == pytest.approx(seconds)


def test_a_wait_the_workers_cannot_finish_in_time_is_refused_at_once(web_tier, api, media):
    """One render of 2 s already admitted, one worker slot: this one would end after 4 s, past
    the share of the 4 s wait that admission allows. Without the work estimate it would be
    admitted and time out (worker_unavailable after the wait)."""
    web_tier.API_SYNC_TIMEOUT_SECONDS = 4
    _expect_render_seconds(2.0)
    redis_client().zadd(relay.WAITS_TOTAL, {"other|2.0": time.time() + 60})
    started = time.monotonic()
    response = api.post("/api/tts", {"text": TEXT})
    assert_error(response, 503, "server_busy")
    assert time.monotonic() - started < web_tier.API_SYNC_TIMEOUT_SECONDS  # told at once, not after the wait
    assert int(response["Retry-After"]) >= 2  # when the admitted render should be done
    assert redis_client().zcard(relay.WAITS_TOTAL) == 1  # nothing taken


def test_more_worker_slots_admit_more(web_tier, api, media):
    """The same backlog spread over two pool processes (their heartbeats say so) leaves room."""
    from tests.worker import purge_queue

    purge_queue()
    web_tier.API_SYNC_TIMEOUT_SECONDS = 4
    _expect_render_seconds(1.5)
    redis_client().zadd(relay.WAITS_TOTAL, {"other|2.0": time.time() + 60})
    assert_error(api.post("/api/tts", {"text": TEXT}), 503, "server_busy")  # 2 + 1.5 s > 0.75 × 4 s
    heartbeat.beat("test@host:1", "ok", slots=2, queues=("celery",))
    admission._slots.clear()
    assert_error(api.post("/api/tts", {"text": TEXT}), 503, "worker_unavailable")  # 2/2 + 1.5 s: admitted, none answered


def test_an_idle_tier_admits_even_a_call_longer_than_the_wait(web_tier, api, media):
    """Nothing else admitted: the call gets its chance (and its render renews the speed)."""
    from tests.worker import purge_queue

    purge_queue()
    web_tier.API_SYNC_TIMEOUT_SECONDS = 1
    _expect_render_seconds(30.0)
    assert_error(api.post("/api/tts", {"text": TEXT}), 503, "worker_unavailable")  # admitted, no worker


def test_render_speed_follows_recent_renders(web_tier):
    assert admission.seconds_per_char() == admission.DEFAULT_SECONDS_PER_CHAR  # nothing measured yet
    admission.record_render(10.0, 1000)
    assert admission.seconds_per_char() == pytest.approx(0.01)
    admission.record_render(1.0, 1000)  # the older render weighs DECAY as much
    assert admission.seconds_per_char() == pytest.approx((10.0 * admission.DECAY + 1.0) / (1000 * admission.DECAY + 1000))
