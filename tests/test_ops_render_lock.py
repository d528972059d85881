"""One synthesis per cache key, however many threads, processes or workers ask at once."""
from __future__ import annotations

import re
import threading
import time

import pytest

from exhibits.render import lock as render_lock
from exhibits.models import SpeechTask
from tests.api_support import PYTHON, Api, child_env, start, stop, wait_for

TEXT = "青铜器是中国古代文明的重要标志，商周时期的礼器造型庄重，纹饰精美，铭文记录了当时的历史事件。"


def render_concurrently(tmp_path, threads: int = 3) -> list:
    from synthesis.pipeline import RenderConfig

    config = RenderConfig(out_dir=tmp_path / "out", formats=("mp3",))
    barrier, results = threading.Barrier(threads), []

    def one():
        barrier.wait()
        results.append(render_lock.render_once(TEXT, config))

    workers = [threading.Thread(target=one) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
    return results


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["redis", "file"])
def test_concurrent_renders_synthesise_once(settings, tmp_path, backend):
    settings.VAR_DIR = tmp_path  # file locks live here
    if backend == "file":
        settings.REDIS_URL = ""
    results = render_concurrently(tmp_path)
    assert len(results) == 3
    assert sorted(r.cached for r in results) == [False, True, True]
    assert len({r.cache_key for r in results}) == 1


@pytest.mark.parametrize("backend", ["redis", "file"])
def test_lock_excludes_and_times_out(settings, tmp_path, backend):
    settings.VAR_DIR = tmp_path
    if backend == "file":
        settings.REDIS_URL = ""
    key = f"test-{time.time_ns()}"
    order = []
    with render_lock.cache_key_lock(key):
        started = time.monotonic()
        # A second holder waits, then goes ahead (duplicated work beats a failed render).
        with render_lock.cache_key_lock(key, wait_seconds=0.3):
            order.append(time.monotonic() - started)
    assert order and order[0] >= 0.25
    with render_lock.cache_key_lock(key, wait_seconds=0.3):  # released: immediate
        pass


def test_redis_lock_has_an_expiry(settings):
    from exhibits.render.redis_conn import redis_client

    key = f"test-{time.time_ns()}"
    with render_lock.cache_key_lock(key):
        ttl_ms = redis_client().pttl(f"lock:render:{key}")
    assert 0 < ttl_ms <= render_lock.lock_ttl_seconds() * 1000
    assert redis_client().exists(f"lock:render:{key}") == 0


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_two_celery_workers_render_a_text_once(client, settings, tmp_path):
    """Two real worker processes on the same Redis, the same text submitted four times at once."""
    from exhibits.models import ApiKey
    from guide_site.celery import app

    settings.MEDIA_ROOT = tmp_path / "media"
    token = ApiKey.issue("load", rate_limit_per_minute=1000)[1]
    app.control.purge()  # stale messages of earlier runs would only slow the workers down
    env = child_env(MEDIA_ROOT=settings.MEDIA_ROOT, ZHTTS_THREADS=1)
    logs = [tmp_path / f"worker{i}.log" for i in (1, 2)]
    workers = [
        start([PYTHON, "-m", "celery", "-A", "guide_site", "worker", "-c", "1", "-n", f"lock{i}@%h", "-l", "info",
               "--without-gossip", "--without-mingle"], env, log)
        for i, log in zip((1, 2), logs)
    ]
    try:
        wait_for(lambda: all("ready." in log.read_text(errors="replace") for log in logs if log.exists()) and all(
            log.exists() for log in logs), 90, what="both workers ready")
        api = Api(client, token)
        ids = [api.post("/api/tts_async", {"text": TEXT}).json()["task_id"] for _ in range(4)]
        done = lambda: SpeechTask.objects.filter(pk__in=ids, state__in=["ready", "failed"]).count() == len(ids)  # noqa: E731
        wait_for(done, 180, interval=0.5, what="all speech tasks finished")
    finally:
        for worker in workers:
            stop(worker)
    tasks = list(SpeechTask.objects.filter(pk__in=ids))
    assert {t.state for t in tasks} == {"ready"}, [(t.state, t.error) for t in tasks]
    assert sorted(t.cache_hit for t in tasks) == [False, True, True, True]
    assert len({t.audio_path for t in tasks}) == 1
    text = [log.read_text(errors="replace") for log in logs]
    received = [len(re.findall(r"Task exhibits\.synthesize_speech\[[^\]]+\] received", t)) for t in text]
    assert all(received), f"both workers must have taken tasks: {received}"
    assert sum(t.count("synthesised ") for t in text) == 1
    assert len(list((settings.MEDIA_ROOT / "api").rglob("*.mp3"))) == 1


def test_heartbeat_keeps_a_long_render_locked_and_a_dead_holder_frees_the_key(monkeypatch):
    from exhibits.render.redis_conn import redis_client

    monkeypatch.setattr(render_lock, "LOCK_TTL_SECONDS", 1)
    monkeypatch.setattr(render_lock, "HEARTBEAT_SECONDS", 0.2)
    key = f"test-{time.time_ns()}"
    with render_lock.cache_key_lock(key):
        time.sleep(1.6)  # longer than the TTL: only the heartbeat keeps it
        assert redis_client().exists(f"lock:render:{key}")
        started = time.monotonic()
        with render_lock.cache_key_lock(key, wait_seconds=0.3):
            assert time.monotonic() - started >= 0.25  # still excluded
    # A holder SIGKILLed mid-render renews nothing: its lock is gone after the TTL.
    dead = redis_client().lock(f"lock:render:{key}", timeout=1)
    assert dead.acquire(blocking=False)
    started = time.monotonic()
    with render_lock.cache_key_lock(key, wait_seconds=5):
        waited = time.monotonic() - started
    assert 0.5 < waited < 2.0
