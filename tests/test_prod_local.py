"""`make prod-local` boots for real from a clean checkout (no var/, no collected static files):
gunicorn, the beacon pool, two Celery workers and beat with PRODUCTION settings, on free ports and
its own database; the admin serves its static files, it renders speech through the API, and it shuts
down cleanly. The README's manual deployment lists the same steps in the same order."""
from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.db import connection
from psycopg import sql

from tests.api_support import PYTHON, ROOT, free_port, start, wait_for

pytestmark = pytest.mark.slow


def http(method: str, url: str, body: dict | None = None, headers: dict | None = None, timeout: float = 60):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def admin_connection():
    s = connection.settings_dict
    return psycopg.connect(host=s["HOST"] or "127.0.0.1", port=s["PORT"] or 5432, user=s["USER"],
                           password=s["PASSWORD"] or None, dbname="postgres", autocommit=True)


def drop_database(name: str) -> None:
    with admin_connection() as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def clean_checkout(dest: Path) -> Path:
    """What a fresh clone holds: tracked files and new ones git does not ignore (so no var/,
    no collected static files, no media, no virtualenv)."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, check=True).stdout.split(b"\0")
    for name in filter(None, (n.decode() for n in listed)):
        if (ROOT / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, dest / name)
    assert not (dest / "var").exists() and (dest / "scripts/prod_local.sh").exists()
    return dest


@pytest.fixture
def prod_env(tmp_path):
    s = connection.settings_dict
    name = f"{s['NAME']}_prodlocal"  # beside the test database, whatever TEST_DATABASE_URL names
    drop_database(name)
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    drop = ("DJANGO_SETTINGS_MODULE", "TESTING", "MEDIA_ROOT", "REDIS_URL", "VAR_DIR", "STATIC_ROOT")
    env = {k: v for k, v in os.environ.items() if k not in drop}  # the script's own defaults
    env.update(
        DATABASE_URL=f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{name}",
        CELERY_BROKER_URL=settings.CELERY_BROKER_URL,
        PORT=str(free_port()),
        BEACON_PORT=str(free_port()),  # not the script's PORT + 1: that one may be taken
        SECRET_KEY=secrets.token_urlsafe(50),
        WEB_CONCURRENCY="2",
        ZHTTS_THREADS="1",
        BIN=str(Path(PYTHON).parent),
        PYTHONUNBUFFERED="1",
    )
    yield env
    drop_database(name)


def test_prod_local_serves_speech_and_stops_cleanly(prod_env, tmp_path):
    base = f"http://127.0.0.1:{prod_env['PORT']}"
    log = tmp_path / "prod-local.log"
    checkout = clean_checkout(tmp_path / "checkout")
    stack = start(["bash", "scripts/prod_local.sh"], prod_env, log, cwd=checkout)
    try:
        def healthy():
            assert stack.poll() is None, f"prod-local exited early:\n{log.read_text()[-3000:]}"
            try:
                return http("GET", f"{base}/healthz", timeout=5)[0] == 200
            except OSError:
                return False

        wait_for(healthy, 180, interval=0.5, what="prod-local /healthz")
        assert (checkout / "var/prod-local/static/staticfiles.json").exists(), "collectstatic ran, into the checkout's var/"
        status, _, page = http("GET", f"{base}/admin/login/")
        assert status == 200, page[-2000:]  # a missing manifest entry is a 500 here
        css = re.search(rb'href="(/static/admin/css/[^"]+)"', page).group(1).decode()
        assert http("GET", base + css)[0] == 200
        # The beacon pool beside it (a proxy would route POST /listen there): its fast path judges.
        beacon_pool = f"http://127.0.0.1:{prod_env['BEACON_PORT']}/listen"
        assert wait_for(lambda: _answer_or_none("POST", beacon_pool, {"bad": "beacon"}), 60, what="the beacon pool") == 400
        manage = subprocess.run(
            [PYTHON, "manage.py", "create_api_key", "prod-local test"], cwd=checkout, capture_output=True, text=True, timeout=60,
            env={**prod_env, "PRODUCTION": "1", "DEBUG": "0", "DJANGO_SETTINGS_MODULE": "guide_site.settings"},
        )
        assert manage.returncode == 0, manage.stderr
        auth = {"Authorization": f"Bearer {manage.stdout.strip()}", "Accept": "application/json"}

        # As nginx would forward it: with PRODUCTION settings Django then sends HSTS.
        proxied = {**auth, "X-Forwarded-Proto": "https"}
        status, headers, body = http("POST", f"{base}/api/tts", {"text": "欢迎参观博物馆。"}, proxied)
        assert status == 200, body
        result = json.loads(body)
        assert result["cache_hit"] is False and result["duration"] > 0.5
        assert "max-age=" in headers.get("Strict-Transport-Security", ""), "PRODUCTION settings are live"
        assert result["audio_url"].startswith("https://")  # what the visitor's browser will fetch
        audio_path = urllib.parse.urlsplit(result["audio_url"]).path  # here: straight from gunicorn
        status, headers, audio = http("GET", base + audio_path, headers={"Range": "bytes=0-99"})
        assert status == 206 and len(audio) == 100

        status, _, body = http("POST", f"{base}/api/tts_async", {"text": "青铜器展厅在二楼。", "emotion": "happy"}, auth)
        assert status == 202, body
        status_url = json.loads(body)["status_url"]
        task = wait_for(lambda: (t := json.loads(http("GET", status_url, headers=auth)[2]))["state"] in ("ready", "failed") and t,
                        120, interval=0.5, what="the workers to render")
        assert task["state"] == "ready", task
        assert http("GET", task["result"]["audio_url"])[0] == 200
    finally:
        os.killpg(stack.pid, signal.SIGTERM)
        try:
            stack.wait(60)
        finally:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and _group_alive(stack.pid):
                time.sleep(0.2)
            leftover = _group_alive(stack.pid)
            if leftover:
                os.killpg(stack.pid, signal.SIGKILL)
    assert not leftover, "every process of the stack exits on SIGTERM"
    assert "prod-local: http://127.0.0.1:" in log.read_text()


def _answer_or_none(method: str, url: str, body: dict) -> int | None:
    try:
        return http(method, url, body, {"User-Agent": "Mozilla/5.0 (iPhone)"}, timeout=5)[0]
    except OSError:
        return None


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False


def test_readme_manual_deployment_runs_collectstatic_in_order():
    """The README's step list and the script the test above runs agree on the order."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Manual deployment", 1)[1].split("\n## ", 1)[0]
    script = "\n".join(line for line in (ROOT / "scripts/prod_local.sh").read_text().splitlines() if not line.startswith("#"))
    steps = ["pip install -r requirements.txt", "manage.py migrate", "manage.py collectstatic", "gunicorn"]
    for text in (section, script.replace('"$BIN/python" -m pip', "pip")):
        found = [text.find(step) for step in steps if step in text]
        assert found == sorted(found) and len(found) >= 3, (steps, found)
    assert all(step in section for step in steps)
