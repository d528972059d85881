"""Settings for pytest: real PostgreSQL and Redis (TEST_DATABASE_URL / TEST_REDIS_URL)."""
import os

os.environ.setdefault("TESTING", "1")
os.environ["DATABASE_URL"] = os.environ.get("TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test")
os.environ["CELERY_BROKER_URL"] = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")

from guide_site.settings import *  # noqa: E402,F403
from guide_site.settings import VAR_DIR  # noqa: E402

MEDIA_ROOT = VAR_DIR / "test-media" / os.environ.get("TEST_MEDIA_SUFFIX", "main")
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast logins in tests
# API tests render in the test process; tests of the worker path (test_api_relay) turn this on.
API_TTS_IN_WORKER = False
