"""At most one synthesis per cache key across every worker process and host.

Two workers given the same text at the same moment would otherwise both run the model and race
to write the same files. Usage (the render pipeline and the speech API both do this):

    with cache_key_lock(key):
        rendering = render(script, config)   # render() re-checks the cache after we waited

``render_once`` wraps that pattern: a cache hit never touches the lock at all.
With Redis (``settings.REDIS_URL``) the lock is ``SET lock:render:<key> <token> NX PX <ttl>``
(redis-py's Lock, released by a compare-and-delete script so we never drop someone else's
lock); without Redis (the file-queue demo, one host) it is an ``fcntl`` lock file.
"""
from __future__ import annotations

import fcntl
import logging
import os
import time
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings

from exhibits.render import ticker
from exhibits.render.redis_conn import redis_client

log = logging.getLogger(__name__)
POLL_SECONDS = 0.05


# The Redis lock lives LOCK_TTL_SECONDS and a heartbeat thread renews it while the render runs:
# a worker SIGKILLed mid-render (its job is redelivered) frees the key within the TTL instead of
# blocking the redelivered job until the task time limit.
LOCK_TTL_SECONDS = 30
HEARTBEAT_SECONDS = 10


def lock_ttl_seconds() -> int:
    """How long a waiter waits at most: no render outlives the hard task time limit."""
    return int(getattr(settings, "CELERY_TASK_TIME_LIMIT", 600)) + 30


@contextmanager
def _heartbeat(lock):
    def renew() -> bool:
        try:
            lock.reacquire()
            return True
        except Exception:  # lost it (Redis restarted?): the render goes on, files are atomic
            log.warning("could not renew render lock %s", lock.name)
            return False

    with ticker.every(HEARTBEAT_SECONDS, renew, "render-lock-heartbeat"):
        yield


@contextmanager
def cache_key_lock(key: str, wait_seconds: float | None = None):
    """Hold the render lock for ``key``; waits for another holder up to ``wait_seconds``.

    On timeout we go ahead without the lock: duplicated work is better than a failed render,
    and the files are written atomically so the result is correct either way.
    """
    wait = lock_ttl_seconds() if wait_seconds is None else wait_seconds
    client = redis_client()
    if client is None:
        with _file_lock(key, wait):
            yield
        return
    # thread_local=False: the heartbeat thread must see the token to renew the lock.
    lock = client.lock(
        f"lock:render:{key}", timeout=LOCK_TTL_SECONDS, sleep=POLL_SECONDS, blocking_timeout=wait, thread_local=False
    )
    acquired = lock.acquire()
    if not acquired:
        log.warning("render lock for %s not acquired after %.0f s; rendering anyway", key, wait)
    try:
        if acquired:
            with _heartbeat(lock):
                yield
        else:
            yield
    finally:
        if acquired:
            try:
                lock.release()
            except Exception:  # expired meanwhile (very slow render): nothing left to release
                log.warning("render lock for %s had expired before release", key)


@contextmanager
def _file_lock(key: str, wait: float):
    folder = Path(settings.VAR_DIR) / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / f"render-{key}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    deadline = time.monotonic() + wait
    acquired = False
    try:
        while not acquired:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                acquired = True
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    log.warning("render file lock for %s not acquired after %.0f s; rendering anyway", key, wait)
                    break
                time.sleep(POLL_SECONDS)
        yield
    finally:
        os.close(fd)  # closing releases the flock


def render_once(script: str, config, key: str | None = None, parsed=None):
    """``synthesis.pipeline`` with the cross-process lock around synthesis (not around hits).

    ``key``: the cache key if the caller already ran ``prepare`` (saves a second front-end pass
    for a cache hit); with ``parsed``, what that ``prepare`` returned, a miss is rendered from it
    instead of running the front end again (bulk renders are all misses).
    """
    from synthesis.pipeline import cached_rendering, prepare, render, render_prepared

    if key is None:
        parsed, key = prepare(script, config)
    # cached_rendering is synthesis's own "files complete?" check (metadata written last); reusing it
    # keeps the on-disk layout knowledge in one place.
    hit = cached_rendering(config, key)
    if hit is not None:
        return hit
    with cache_key_lock(key):
        rendering = render_prepared(parsed, key, config) if parsed is not None else render(script, config)
    if not rendering.cached:
        log.info("synthesised %s (%.2f s of audio) in pid %d", key, rendering.duration, os.getpid())
        same_mode_as_audio(rendering)
    return rendering


def render_and_mark_used(script: str, config, key: str | None = None, parsed=None):
    """``render_once``, with the files' modification time set to now: cleanup_media sweeps API
    results and studio previews by their last use, so a reuse restarts their time to live."""
    rendering = render_once(script, config, key, parsed)
    for path in rendering.paths.values():
        try:
            os.utime(path)
        except FileNotFoundError:  # removed by cleanup at this very moment: render again
            return render_once(script, config, key, parsed)
    return rendering


def same_mode_as_audio(rendering) -> None:
    """Give the render's other files (the ``<key>.json`` sidecar, written 0600 by the library's
    mkstemp) the audio's mode (the umask's), so every process that reuses the render can read
    them; the web server refuses to serve sidecars whatever their mode."""
    audio = [Path(p) for p in rendering.paths.values()]
    if not audio:
        return
    mode = audio[0].stat().st_mode & 0o777
    for path in audio[0].parent.glob(f"{rendering.cache_key}.*"):
        if not path.name.endswith(".tmp") and path.stat().st_mode & 0o777 != mode:
            path.chmod(mode)
