"""gunicorn settings: ``gunicorn -c deploy/gunicorn.conf.py guide_site.wsgi``. Every value has an
environment override, so Docker, ``make prod-local`` and a bare VM share this one file."""
import multiprocessing
import os


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# Threads serve the many cheap requests (pages, cache hits, status polls) while a synchronous
# /api/tts render holds one thread; each process loads the voice once, on its first render.
worker_class = "gthread"
workers = _int("WEB_CONCURRENCY", min(2 * multiprocessing.cpu_count(), 8))
threads = _int("GUNICORN_THREADS", 4)
# A synchronous render of API_MAX_TEXT_CHARS characters takes about a minute on one core.
timeout = _int("GUNICORN_TIMEOUT", 120)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
keepalive = _int("GUNICORN_KEEPALIVE", 5)  # nginx keeps upstream connections open
# Recycle workers now and then: bounds slow leaks in native libraries (LiteRT, ffmpeg pipes).
max_requests = _int("GUNICORN_MAX_REQUESTS", 5000)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 500)
# Trust X-Forwarded-* only from the proxy in front (nginx on the same host or network).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# Heartbeat files on tmpfs: a slow disk must not make the arbiter think workers hang.
worker_tmp_dir = os.environ.get("GUNICORN_TMP_DIR", "/dev/shm" if os.path.isdir("/dev/shm") else None)
accesslog = os.environ.get("GUNICORN_ACCESSLOG", "-") or None  # empty: no access log (benchmarks)
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "info")
proc_name = "museum-guide"
