"""``make test`` runs this first: are the system services and tools the test suite needs here?

Standard library only (it runs before the virtualenv exists). Says what is missing and how to
install or start it, and exits 1, instead of letting a test fail deep inside with a
connection error. ``.ci/run`` installs and starts all of them.

    PostgreSQL at TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test)
    Redis at TEST_REDIS_URL (default redis://127.0.0.1:6379/0)
    Chromium at /usr/bin/chromium and a CJK font (browser tests, label screenshots)
    nginx (only `nginx -t` on deploy/nginx/guide.conf; it is never started)
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from urllib.parse import urlsplit

CHROMIUM = "/usr/bin/chromium"
APT = "apt-get update && apt-get install -y"


def reachable(url: str, default_port: int, probe: bytes = b"", expect: bytes = b"") -> str:
    """'' when a server answers at ``url``'s host and port, else why not."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or default_port
    try:
        with socket.create_connection((host, port), timeout=2) as sock:
            if probe:
                sock.sendall(probe)
                sock.settimeout(2)
                reply = sock.recv(64)
                if expect not in reply:
                    return f"{host}:{port} answered {reply[:40]!r}, not {expect!r}"
    except OSError as exc:
        return f"nothing answers at {host}:{port} ({exc.strerror or exc})"
    return ""


def cjk_font() -> bool:
    if not shutil.which("fc-list"):
        return False
    out = subprocess.run(["fc-list", ":lang=zh"], capture_output=True, text=True).stdout
    return bool(out.strip())


def problems() -> list[str]:
    found = []
    db = os.environ.get("TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test")
    why = reachable(db, 5432)
    if why:
        found.append(f"PostgreSQL (TEST_DATABASE_URL={db}): {why}.\n"
                     f"    install: {APT} postgresql; start: pg_ctlcluster <version> main start")
    redis = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    why = reachable(redis, 6379, b"PING\r\n", b"+PONG")
    if why:
        found.append(f"Redis (TEST_REDIS_URL={redis}): {why}.\n"
                     f"    install: {APT} redis-server; start: redis-server --daemonize yes --bind 127.0.0.1")
    if not os.access(CHROMIUM, os.X_OK):
        found.append(f"Chromium: {CHROMIUM} is missing (browser tests).\n    install: {APT} chromium")
    if not cjk_font():
        found.append(f"CJK font: none found by `fc-list :lang=zh` (Chinese would render as boxes).\n"
                     f"    install: {APT} fonts-noto-cjk")
    if not (shutil.which("nginx") or os.access("/usr/sbin/nginx", os.X_OK)):
        found.append(f"nginx: not installed (the deploy config is checked with `nginx -t`).\n    install: {APT} nginx-light")
    return found


def main() -> int:
    found = problems()
    if not found:
        print("test prerequisites: PostgreSQL, Redis, Chromium, CJK fonts, nginx: all present")
        return 0
    print("make test needs these first (.ci/run installs and starts all of them):", file=sys.stderr)
    for problem in found:
        print(f"  - {problem}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
