"""Settings from the environment, production guard rails and the Celery contract."""
from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys

import pytest
from django.conf import settings

from exhibits import services
from tests.worker import ROOT

PRINT = (
    "import json, django; django.setup(); from django.conf import settings as s; "
    "print(json.dumps({'db': s.DATABASES['default']['ENGINE'], 'broker': s.CELERY_BROKER_URL, "
    "'secure_cookie': getattr(s, 'SESSION_COOKIE_SECURE', False), 'tz': s.TIME_ZONE, 'use_tz': s.USE_TZ}))"
)


# What a worker does at start: import settings.CELERY_IMPORTS; then list what it could run.
REGISTERED_TASKS = (
    "import json, django; django.setup(); from guide_site.celery import app; app.loader.import_default_modules(); "
    "print(json.dumps(sorted(name for name in app.tasks if name.startswith('exhibits.'))))"
)
# Queued messages and beat entries carry these names: a deploy must never rename one.
DEPLOYED_TASK_NAMES = ["exhibits.cleanup_media", "exhibits.flush_listening_buffer", "exhibits.preview_sentence",
                       "exhibits.render_narration", "exhibits.rollup_listening", "exhibits.sweep_stale_renders", "exhibits.synthesize_speech",
                       "exhibits.tts_for_web"]


def load_settings(tmp_path, code: str = PRINT, **env) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL", "PRODUCTION",
                                                              "SECRET_KEY", "DEBUG", "REDIS_URL")}
    clean.update(DJANGO_SETTINGS_MODULE="guide_site.settings", VAR_DIR=str(tmp_path), **env)
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=60)


def test_defaults_are_the_embedded_demo_stack(tmp_path):
    done = load_settings(tmp_path)
    assert done.returncode == 0, done.stderr
    values = json.loads(done.stdout)
    assert values["db"] == "django.db.backends.sqlite3" and values["broker"] == "filesystem://"
    assert (values["tz"], values["use_tz"]) == ("Asia/Shanghai", True)  # shown to curators; stored in UTC
    assert (tmp_path / "broker" / "in").is_dir()
    assert json.loads(load_settings(tmp_path, TIME_ZONE="Europe/Berlin").stdout)["tz"] == "Europe/Berlin"


def test_production_refuses_the_default_secret(tmp_path):
    done = load_settings(tmp_path, PRODUCTION="1")
    assert done.returncode != 0 and "PRODUCTION=1 needs a real SECRET_KEY" in done.stderr
    for weak in ("x" * 50, "short-but-random-Kq3v", "django-insecure-" + "abcdefghij" * 5):
        done = load_settings(tmp_path, PRODUCTION="1", SECRET_KEY=weak)
        assert done.returncode != 0 and "PRODUCTION=1 needs a real SECRET_KEY" in done.stderr, weak
    strong = secrets.token_urlsafe(50)
    ok = load_settings(tmp_path, PRODUCTION="1", SECRET_KEY=strong)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["secure_cookie"] is True
    debug = load_settings(tmp_path, PRODUCTION="1", SECRET_KEY=strong, DEBUG="1")
    assert debug.returncode != 0 and "PRODUCTION=1 refuses DEBUG=1" in debug.stderr


def test_a_typo_in_a_boolean_fails_loudly(tmp_path):
    done = load_settings(tmp_path, DEBUG="yess")
    assert done.returncode != 0 and "DEBUG='yess' is not a boolean" in done.stderr


def test_a_fresh_worker_registers_every_task_under_its_deployed_name(tmp_path):
    # A fresh process, because this one may have imported the task modules some other way.
    done = load_settings(tmp_path, code=REGISTERED_TASKS)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == DEPLOYED_TASK_NAMES
    from exhibits import services

    assert services.RENDER_TASK == "exhibits.render_narration"  # what services sends by name


def test_tests_use_the_configured_database_and_redis():
    # Read from TEST_DATABASE_URL / TEST_REDIS_URL (Makefile defaults or a parallel run's own).
    expected_db = os.environ.get("TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test").rsplit("/", 1)[1]
    assert settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
    assert settings.DATABASES["default"]["NAME"] in (expected_db, f"test_{expected_db}")
    assert settings.CELERY_BROKER_URL == os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def test_celery_contract():
    from guide_site.celery import app

    conf = app.conf
    assert conf.task_serializer == "json" and conf.accept_content == ["json"]
    assert conf.task_acks_late and conf.task_reject_on_worker_lost and conf.worker_prefetch_multiplier == 1
    assert conf.task_soft_time_limit < conf.task_time_limit
    assert conf.timezone == "UTC" and conf.enable_utc
    visibility = conf.broker_transport_options["visibility_timeout"]
    assert visibility > conf.task_time_limit  # or a long render is delivered twice
    # Every beat entry names a registered task; the sweeper runs at the configured interval.
    app.loader.import_default_modules()
    for entry in conf.beat_schedule.values():
        assert entry["task"] in app.tasks, entry
    assert conf.beat_schedule["sweep-stale-renders"]["schedule"] == settings.SWEEP_INTERVAL_SECONDS
    # Liveness, not age: a dead worker or a lost message is noticed within a minute.
    assert settings.RENDER_HEARTBEAT_SECONDS * 2 < settings.RENDER_RUNNING_STALE_SECONDS <= 30
    assert settings.RENDER_QUEUED_STALE_SECONDS <= 60 and settings.SWEEP_INTERVAL_SECONDS <= 30
    # Redis never redelivers a healthy render: its longest time limit plus a retry countdown fit.
    longest = services.render_time_limits(settings.NARRATION_MAX_CHARS)[1]
    assert visibility > longest + settings.RENDER_RETRY_BACKOFF_MAX_SECONDS


def test_render_task_retries_only_errors_that_heal():
    from django.db import OperationalError

    from exhibits.render.tasks import render_narration
    from synthesis.engines import EngineUnavailable
    from synthesis.markup import ScriptError

    from exhibits.render.job import HEALABLE
    from exhibits.render.tasks import retry_countdown

    assert issubclass(OperationalError, HEALABLE) and issubclass(OSError, HEALABLE)
    assert not issubclass(ScriptError, HEALABLE) and not issubclass(EngineUnavailable, HEALABLE)
    assert render_narration.acks_late and render_narration.reject_on_worker_lost
    waits = [retry_countdown(n) for n in range(30)]
    assert 4 <= waits[0] <= 5 and max(waits) <= settings.RENDER_RETRY_BACKOFF_MAX_SECONDS
    assert settings.RENDER_RETRY_BACKOFF_MAX_SECONDS < settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]


@pytest.mark.parametrize("name", ["render_narration", "sweep_stale_renders"])
def test_tasks_take_ids_only(name):
    import inspect

    from exhibits.render import tasks

    params = list(inspect.signature(getattr(tasks, name).run).parameters)
    assert params in ([], ["job_id"])
