"""``make demo``: build the demo museum and run it until Ctrl-C.

migrate → static files → curator role → admin user → demo data → Celery worker + beat + web
server (subprocesses, logs in var/log/) → render everything with a progress bar → print the
URLs → wait. Ctrl-C (or SIGTERM) stops the children cleanly.

Embedded defaults: SQLite and the file-based Celery queue under var/ (no PostgreSQL or Redis
needed); set DATABASE_URL / CELERY_BROKER_URL to use real ones. Environment:
DEMO_ADMIN_USER / DEMO_ADMIN_PASSWORD (default admin / admin-demo), DEMO_PORT (8000),
DEMO_WORKERS (2, worker processes), DEMO_RENDER_TIMEOUT (seconds, 1800).
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.chdir(ROOT)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "guide_site.settings")

ADMIN_USER = os.environ.get("DEMO_ADMIN_USER", "admin")
ADMIN_PASSWORD = os.environ.get("DEMO_ADMIN_PASSWORD", "admin-demo")
PORT = int(os.environ.get("DEMO_PORT", "8000"))
WORKERS = int(os.environ.get("DEMO_WORKERS", "2"))
RENDER_TIMEOUT = os.environ.get("DEMO_RENDER_TIMEOUT", "1800")


def step(message: str) -> None:
    print(f"\n==> {message}", flush=True)


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


class Children:
    """The long-running processes; each in its own process group so we stop it whole."""

    def __init__(self, log_dir: Path):
        self.log_dir = log_dir
        self.procs: dict[str, subprocess.Popen] = {}

    def start(self, name: str, args: list[str]) -> Path:
        log = self.log_dir / f"{name}.log"
        with open(log, "ab") as fh:
            self.procs[name] = subprocess.Popen(args, cwd=ROOT, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)
        return log

    def dead(self) -> list[str]:
        return [name for name, proc in self.procs.items() if proc.poll() is not None]

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()  # the main process only: Celery then stops its pool itself (warm)
        deadline = time.monotonic() + 15
        for name, proc in self.procs.items():
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                print(f"{name} did not stop in time; killing it", flush=True)
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def wait_for_log(children: Children, name: str, log: Path, marker: bytes, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if marker in log.read_bytes():
            return
        if name in children.dead():
            raise SystemExit(f"{name} exited during start-up; see {log}")
        time.sleep(0.3)
    raise SystemExit(f"{name} not ready after {timeout:.0f} s; see {log}")


def main() -> int:
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import CommandError, call_command

    from exhibits.models import Exhibit

    if not port_is_free(PORT):
        raise SystemExit(f"port {PORT} is in use; stop what runs there or set DEMO_PORT")
    db = settings.DATABASES["default"]
    print(f"database: {db['ENGINE'].rsplit('.', 1)[-1]} {db['NAME']}   queue: {settings.CELERY_BROKER_URL}")

    step("migrate")
    call_command("migrate", interactive=False, verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    call_command("setup_roles")

    step("admin user")
    user, created = get_user_model().objects.get_or_create(username=ADMIN_USER, defaults={"is_staff": True, "is_superuser": True})
    if created or "DEMO_ADMIN_PASSWORD" in os.environ:
        user.set_password(ADMIN_PASSWORD)
        user.save()
    print(f"{ADMIN_USER} ({'created' if created else 'exists'})")

    step("demo museum")
    call_command("load_demo")

    log_dir = Path(settings.VAR_DIR) / "log"
    log_dir.mkdir(parents=True, exist_ok=True)
    children = Children(log_dir)
    celery = [sys.executable, "-m", "celery", "-A", "guide_site"]
    stop = {"now": False}

    def on_signal(signum, _frame):
        stop["now"] = True
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    try:
        step(f"starting worker ({WORKERS} processes), beat and web server; logs in {log_dir}")
        worker_log = children.start("worker", [*celery, "worker", "--loglevel", "INFO", "--concurrency", str(WORKERS),
                                               "-n", "demo@%h", "--without-gossip", "--without-mingle"])
        children.start("beat", [*celery, "beat", "--loglevel", "INFO", "--schedule", str(Path(settings.VAR_DIR) / "celerybeat-schedule")])
        web_log = children.start("web", [sys.executable, "manage.py", "runserver", f"127.0.0.1:{PORT}", "--noreload"])
        wait_for_log(children, "worker", worker_log, b" ready.", 180)
        wait_for_log(children, "web", web_log, b"Quit the server", 60)

        step("rendering the narrations (resumable: already rendered audio is skipped)")
        try:
            call_command("render_audio", "--timeout", RENDER_TIMEOUT)
        except CommandError as exc:
            print(f"render_audio: {exc} (the admin shows each exhibit's state)", flush=True)

        first = Exhibit.objects.filter(status=Exhibit.Status.PUBLISHED).order_by("code").first()
        base = f"http://127.0.0.1:{PORT}"
        step("the demo museum is running")
        print(f"  admin:    {base}/admin/   user {ADMIN_USER!r}, password {ADMIN_PASSWORD!r}")
        if first is not None:
            print(f"  exhibit:  {base}/e/{first.code}/   ({first.title})")
        print("  Ctrl-C to stop.", flush=True)
        while not stop["now"]:
            dead = children.dead()
            if dead:
                print(f"{', '.join(dead)} stopped unexpectedly; see {log_dir}", flush=True)
                return 1
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        print("\nstopping…", flush=True)
        children.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
