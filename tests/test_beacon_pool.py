"""The beacon pool (deploy/gunicorn_beacons.conf.py): a second gunicorn that serves ``POST /listen``
at a lower CPU priority, and the nginx site and compose file that route beacons to it, with the
main pool as the fallback."""
from __future__ import annotations

import http.client
import http.server
import os
import re
import shutil
import ssl
import subprocess
import threading
from contextlib import contextmanager
from pathlib import Path
from runpy import run_path

import pytest
import yaml

from tests.api_support import PYTHON, ROOT, child_env, free_port, start, stop, wait_for

CONFIG = ROOT / "deploy/gunicorn_beacons.conf.py"
PHONE_UA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 Safari/604.1"


def post_beacon(port: int, body: bytes, host: str = "127.0.0.1") -> int:
    conn = http.client.HTTPConnection(host, port, timeout=5)
    try:
        conn.request("POST", "/listen", body, {"User-Agent": PHONE_UA, "Content-Type": "text/plain;charset=UTF-8"})
        return conn.getresponse().status
    finally:
        conn.close()


def thread_priorities(pid: int) -> dict[int, tuple[int, int]]:
    """Every thread of ``pid`` and of its child processes -> (niceness, scheduling policy)."""
    pids = [pid, *map(int, Path(f"/proc/{pid}/task/{pid}/children").read_text().split())]
    found = {}
    for p in pids:
        for task in Path(f"/proc/{p}/task").iterdir():
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()  # fields 3...: 19 niceness, 41 policy
            found[int(task.name)] = (int(fields[16]), int(fields[38]))
    return found


def test_the_pool_runs_at_idle_priority_in_every_thread_and_still_rejects_bad_beacons(tmp_path):
    port = free_port()
    env = child_env(BEACON_BIND=f"127.0.0.1:{port}", GUNICORN_ACCESSLOG="", VAR_DIR=tmp_path,
                    BEACON_CONTROL_SOCKET=tmp_path / "beacons.ctl")
    proc = start([str(Path(PYTHON).parent / "gunicorn"), "-c", str(CONFIG), "guide_site.wsgi"], env, tmp_path / "pool.log")
    try:
        def answered():
            assert proc.poll() is None, (tmp_path / "pool.log").read_text()[-3000:]
            try:
                return post_beacon(port, b"not json")
            except OSError:
                return None

        assert wait_for(answered, 60, what="the beacon pool") == 400  # the fast path judged it: no Redis, no database
        assert post_beacon(port, b"x" * 5000) == 400  # oversized
        threads = thread_priorities(proc.pid)
        assert len(threads) >= 1 + 4, threads  # the arbiter and the worker's gthread pool at least
        assert set(threads.values()) == {(10, os.SCHED_IDLE)}, threads
        assert "beacon pool: niceness 10, scheduling policy idle" in (tmp_path / "pool.log").read_text()
    finally:
        stop(proc)


def _priority_after(code: str, nice_prefix: int = 0, **env) -> subprocess.CompletedProcess:
    """``code`` in a fresh interpreter that has loaded the beacon config as ``cfg``: a niceness is
    for the rest of a process's life, so never in the test process itself."""
    script = f"import os, runpy; cfg = runpy.run_path({str(CONFIG)!r}); {code}"
    return subprocess.run(["nice", "-n", str(nice_prefix), PYTHON, "-c", script], capture_output=True, text=True,
                          timeout=60, env={**os.environ, **env}, cwd=ROOT)


def test_lower_priority_is_absolute_and_never_raises_the_priority():
    report = "print(*cfg['lower_priority'](cfg['beacon_nice'], cfg['beacon_idle']), os.getpriority(os.PRIO_PROCESS, 0))"
    twice = _priority_after(f"cfg['lower_priority'](10, True); {report}")
    assert twice.stdout.split() == ["10", "idle", "10"], twice.stderr  # a second start (USR2 re-exec) does not nice further
    lower_already = _priority_after(report, nice_prefix=15)
    assert lower_already.stdout.split() == ["15", "idle", "15"], lower_already.stderr
    chosen = _priority_after(report, BEACON_NICE="19", BEACON_SCHED="normal")
    assert chosen.stdout.split() == ["19", "normal", "19"], chosen.stderr


@pytest.mark.parametrize("name, value", [("BEACON_NICE", "20"), ("BEACON_NICE", "-5"), ("BEACON_NICE", "ten"),
                                         ("BEACON_NICE", "1.5"), ("BEACON_SCHED", "batch"), ("BEACON_SCHED", "IDLE")])
def test_a_bad_priority_setting_is_refused_by_name(name, value, monkeypatch):
    monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit, match=rf"{name} must be .* got '{re.escape(value)}'"):
        run_path(str(CONFIG))


def test_the_pool_config_inherits_the_main_one_and_overrides_only_its_own(monkeypatch):
    monkeypatch.setenv("GUNICORN_TIMEOUT", "77")
    monkeypatch.setenv("BEACON_THREADS", "6")
    pool, main = run_path(str(CONFIG)), run_path(str(ROOT / "deploy/gunicorn.conf.py"))
    assert pool["timeout"] == main["timeout"] == 77 and pool["worker_class"] == "gthread"
    assert pool["threads"] == 6 and pool["workers"] == 1 and pool["max_requests"] == 0
    assert pool["bind"] != main["bind"] and pool["control_socket"].endswith("gunicorn-beacons.ctl")


# --- nginx: /listen to the beacon pool, the main pool as its backup ------------------------------

class Upstream:
    """A stand-in for one gunicorn pool: answers every request with its name."""

    def __init__(self, name: str):
        self.port, self.seen = free_port(), []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def answer(self):
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                outer.seen.append((self.command, self.path, self.headers.get("X-Forwarded-For")))
                self.send_response(200)
                self.send_header("Content-Length", str(len(name)))
                self.send_header("Connection", "close")  # nginx keeps no connection to a pool we stop
                self.end_headers()
                self.wfile.write(name.encode())

            do_GET = do_POST = answer

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def nginx_site(tmp_path: Path, web: Upstream, beacons: Upstream):
    """deploy/nginx/guide.conf under a private nginx on loopback: the compose host names become
    the stand-ins' ports, port 443 a free port (a throwaway certificate)."""
    certs = tmp_path / "certs"
    certs.mkdir()
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-keyout", str(certs / "privkey.pem"), "-out", str(certs / "fullchain.pem")], check=True, capture_output=True)
    https = free_port()
    site = (ROOT / "deploy/nginx/guide.conf").read_text()
    site = site.replace("server web:8000", f"server 127.0.0.1:{web.port}").replace("server beacons:8000", f"server 127.0.0.1:{beacons.port}")
    site = re.sub(r"listen \[::\]:\d+[^;]*;", "", site).replace("listen 80;", f"listen 127.0.0.1:{free_port()};")
    site = site.replace("listen 443 ssl http2;", f"listen 127.0.0.1:{https} ssl;").replace("/etc/nginx/certs", str(certs))
    (tmp_path / "site.conf").write_text(site)
    (tmp_path / "nginx.conf").write_text(
        f"daemon off; master_process off; pid {tmp_path}/nginx.pid; error_log {tmp_path}/error.log;\n"
        f"events {{}}\nhttp {{ include /etc/nginx/mime.types; access_log off; include {tmp_path}/site.conf; }}\n"
    )
    proc = subprocess.Popen(["nginx", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")], stderr=subprocess.PIPE)
    try:
        context = ssl._create_unverified_context()

        def request(method: str, path: str) -> str:
            conn = http.client.HTTPSConnection("127.0.0.1", https, timeout=5, context=context)
            try:
                conn.request(method, path, b"{}" if method == "POST" else None, {"Host": "museum.example"})
                return conn.getresponse().read().decode()
            finally:
                conn.close()

        def up():
            assert proc.poll() is None, proc.stderr.read().decode()
            try:
                return request("GET", "/")
            except OSError:
                return None

        wait_for(up, 20, interval=0.1, what="nginx")
        yield request
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.mark.skipif(not shutil.which("nginx"), reason="nginx not installed (apt-get install nginx-light)")
def test_nginx_sends_beacons_to_the_pool_and_falls_back_to_the_main_pool(tmp_path):
    web, beacons = Upstream("web"), Upstream("beacons")
    try:
        with nginx_site(tmp_path, web, beacons) as request:
            assert request("POST", "/listen") == "beacons"
            assert beacons.seen[-1][2] == "127.0.0.1"  # X-Forwarded-For: the rate limit counts per phone
            assert request("GET", "/e/1/") == "web"
            assert request("POST", "/listen/x") == "web" and request("POST", "/api/tts") == "web"  # only the exact path
            beacons.stop()  # not deployed, or restarting: the main pool's fast path serves beacons
            assert request("POST", "/listen") == "web"
    finally:
        web.stop()
    assert [seen[:2] for seen in beacons.seen] == [("POST", "/listen")]


def test_compose_runs_the_pool_where_nginx_looks_for_it():
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    pool, web = services["beacons"], services["web"]
    assert pool["command"][:3] == ["gunicorn", "-c", "deploy/gunicorn_beacons.conf.py"]
    assert pool["environment"]["BEACON_BIND"].endswith(":8000") and "server beacons:8000;" in (ROOT / "deploy/nginx/guide.conf").read_text()
    assert pool["environment"]["PRODUCTION"] == "1" and pool["volumes"] == web["volumes"]  # the same app as web
    # Each service is a cgroup of its own, where niceness has no say: the CPU weight must be lower.
    assert pool["cpu_shares"] < web.get("cpu_shares", 1024)
    assert "beacons" in services["nginx"]["depends_on"]
