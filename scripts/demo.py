"""``make demo``: build the demo museum and run it until Ctrl-C.

migrate → static files → curator role → admin user → demo data (only what is missing) → Celery
worker + beat + web server (subprocesses, logs in var/log/) → render everything with a progress
bar → print the URLs → wait.

Every child runs in a process group of its own (a terminal's Ctrl-C reaches only this runner,
which then stops them in order) and all of them are stopped on SIGINT, SIGTERM, SIGHUP and when
stdout is closed (``make demo | tee log`` and the ``tee`` dies): nothing keeps the port.

QR codes encode SITE_BASE_URL; unless it is set, the demo sets it to this machine's LAN address
and the actual port, so a phone on the same network can open what it scans, and prints it.

Embedded defaults: SQLite and the file-based Celery queue under var/ (no PostgreSQL or Redis
needed); set DATABASE_URL / CELERY_BROKER_URL to use real ones. Environment:
DEMO_ADMIN_USER / DEMO_ADMIN_PASSWORD (default admin / admin-demo), DEMO_PORT (8000),
DEMO_BIND (0.0.0.0: phones on the LAN can reach it; 127.0.0.1 keeps it to this machine),
DEMO_WORKERS (2, worker processes), DEMO_RENDER_TIMEOUT (seconds, 1800), DEMO_SKIP_RENDER
(1: start without waiting for the bulk render; the worker still renders in the background).
"""
from __future__ import annotations

import os
import select
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
BIND = os.environ.get("DEMO_BIND", "0.0.0.0")
WORKERS = int(os.environ.get("DEMO_WORKERS", "2"))
RENDER_TIMEOUT = os.environ.get("DEMO_RENDER_TIMEOUT", "1800")
SKIP_RENDER = os.environ.get("DEMO_SKIP_RENDER", "") not in ("", "0")
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Stop(BaseException):
    """Raised from a signal handler or a dead stdout: unwinds to the ``finally`` that stops the children."""


def say(message: str) -> None:
    """print() that turns a closed stdout (the reader of a pipe died) into Stop instead of a crash
    that would skip stopping the children."""
    try:
        print(message, flush=True)
    except (BrokenPipeError, ValueError, OSError):
        detach_stdout()
        raise Stop from None


def detach_stdout() -> None:
    devnull = open(os.devnull, "w")
    os.dup2(devnull.fileno(), sys.stdout.fileno())  # also silences the flush at interpreter exit
    sys.stdout = devnull


def stdout_closed() -> bool:
    """The reader of our stdout went away: POLLERR on a pipe whose read end is closed, POLLHUP on
    a hung-up terminal. A regular file never reports either."""
    poller = select.poll()
    poller.register(sys.stdout.fileno(), 0)  # errors and hang-ups are always reported
    return any(events & (select.POLLERR | select.POLLHUP | select.POLLNVAL) for _fd, events in poller.poll(0))


def step(message: str) -> None:
    say(f"\n==> {message}")


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((BIND, port))
            return True
        except OSError:
            return False


def lan_address() -> str:
    """The address other machines on the LAN reach this one at (the interface of the default
    route; a UDP connect sends nothing), or 127.0.0.1 without a network."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect(("192.0.2.1", 9))  # TEST-NET-1: never routed anywhere, only looked up
            return sock.getsockname()[0]
        except OSError:
            return "127.0.0.1"


def configure_site_url() -> str:
    """SITE_BASE_URL (what QR codes encode) for the demo, set before Django reads settings."""
    if "SITE_BASE_URL" not in os.environ:
        host = "127.0.0.1" if BIND.startswith("127.") else lan_address()
        os.environ["SITE_BASE_URL"] = f"http://{host}:{PORT}"
        if "ALLOWED_HOSTS" not in os.environ:
            os.environ["ALLOWED_HOSTS"] = f"localhost,127.0.0.1,[::1],{host}"
    return os.environ["SITE_BASE_URL"]


class Children:
    """The long-running processes; each in its own process group so we stop it whole."""

    def __init__(self, log_dir: Path):
        self.log_dir = log_dir
        self.procs: dict[str, subprocess.Popen] = {}

    def start(self, name: str, args: list[str]) -> Path:
        log = self.log_dir / f"{name}.log"
        with open(log, "ab") as fh:
            # A session (so a process group) of its own: the terminal's Ctrl-C and hang-up reach
            # only this runner, which stops the children in order; stdin is not theirs to read.
            self.procs[name] = subprocess.Popen(args, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=fh,
                                                stderr=subprocess.STDOUT, start_new_session=True)
        return log

    def dead(self) -> list[str]:
        return [name for name, proc in self.procs.items() if proc.poll() is not None]

    def stop(self) -> None:
        """SIGTERM each main process (Celery then stops its pool itself, warm), wait, then SIGKILL
        whatever is left in each group (a pool process whose parent was killed included)."""
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        deadline = time.monotonic() + 15
        for name, proc in self.procs.items():
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                print(f"{name} did not stop in time; killing it", file=sys.stderr, flush=True)
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass  # the whole group is gone already
            proc.wait()


def wait_for_log(children: Children, name: str, log: Path, marker: bytes, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if marker in log.read_bytes():
            return
        if name in children.dead():
            raise SystemExit(f"{name} exited during start-up; see {log}")
        if stdout_closed():
            raise Stop
        time.sleep(0.3)
    raise SystemExit(f"{name} not ready after {timeout:.0f} s; see {log}")


def on_signal(signum, _frame):
    raise Stop


def main() -> int:
    for signum in STOP_SIGNALS:  # before anything starts, so no signal can skip the cleanup
        signal.signal(signum, on_signal)
    try:
        return run()
    except Stop:
        return 0
    finally:
        for signum in STOP_SIGNALS:  # the children are stopped: a second Ctrl-C may end us now
            signal.signal(signum, signal.SIG_DFL)


def run() -> int:
    site_url = configure_site_url()
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import CommandError, call_command

    from exhibits.models import Exhibit
    from exhibits.visitor.qr import is_loopback

    if not port_is_free(PORT):
        raise SystemExit(f"port {PORT} is in use; stop what runs there or set DEMO_PORT")
    db = settings.DATABASES["default"]
    say(f"database: {db['ENGINE'].rsplit('.', 1)[-1]} {db['NAME']}   queue: {settings.CELERY_BROKER_URL}")

    step("migrate")
    call_command("migrate", interactive=False, verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    call_command("setup_roles")

    step("admin user")
    user, created = get_user_model().objects.get_or_create(username=ADMIN_USER, defaults={"is_staff": True, "is_superuser": True})
    if created or "DEMO_ADMIN_PASSWORD" in os.environ:
        user.set_password(ADMIN_PASSWORD)
        user.save()
    say(f"{ADMIN_USER} ({'created' if created else 'exists'})")

    step("demo museum")
    call_command("load_demo")

    log_dir = Path(settings.VAR_DIR) / "log"
    log_dir.mkdir(parents=True, exist_ok=True)
    children = Children(log_dir)
    celery = [sys.executable, "-m", "celery", "-A", "guide_site"]
    try:
        step(f"starting worker ({WORKERS} processes), beat and web server; logs in {log_dir}")
        worker_log = children.start("worker", [*celery, "worker", "--loglevel", "INFO", "--concurrency", str(WORKERS),
                                               "-n", "demo@%h", "--without-gossip", "--without-mingle"])
        children.start("beat", [*celery, "beat", "--loglevel", "INFO", "--schedule", str(Path(settings.VAR_DIR) / "celerybeat-schedule")])
        web_log = children.start("web", [sys.executable, "manage.py", "runserver", f"{BIND}:{PORT}", "--noreload"])
        wait_for_log(children, "worker", worker_log, b" ready.", 180)
        wait_for_log(children, "web", web_log, b"Quit the server", 60)

        if SKIP_RENDER:
            step("DEMO_SKIP_RENDER: not waiting for the bulk render (the worker renders in the background)")
        else:
            step("rendering the narrations (resumable: already rendered audio is skipped)")
            try:
                call_command("render_audio", "--timeout", RENDER_TIMEOUT)
            except CommandError as exc:
                say(f"render_audio: {exc} (the admin shows each exhibit's state)")

        first = Exhibit.objects.filter(status=Exhibit.Status.PUBLISHED).order_by("code").first()
        step("the demo museum is running")
        say(f"  admin:    {site_url}/admin/   user {ADMIN_USER!r}, password {ADMIN_PASSWORD!r}")
        if first is not None:
            say(f"  exhibit:  {site_url}/e/{first.code}/   ({first.title})")
        say(f"  QR codes and labels encode SITE_BASE_URL={site_url}")
        if is_loopback(site_url):
            say("  (a loopback address: phones cannot open it; set SITE_BASE_URL or DEMO_BIND=0.0.0.0)")
        say("  Ctrl-C to stop.")
        while True:
            dead = children.dead()
            if dead:
                say(f"{', '.join(dead)} stopped unexpectedly; see {log_dir}")
                return 1
            if stdout_closed():
                detach_stdout()
                return 0
            time.sleep(0.5)
    except (Stop, KeyboardInterrupt, BrokenPipeError):
        return 0
    finally:
        # Block further stop signals while stopping: a second Ctrl-C must not abandon the children.
        signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        try:
            say("\nstopping…")
        except Stop:
            pass
        children.stop()
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)


if __name__ == "__main__":
    sys.exit(main())
