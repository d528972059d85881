"""Run a small call periodically from a daemon thread while a render holds the main thread."""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def every(seconds: float, tick: Callable[[], bool], name: str,
          on_exit: Callable[[], None] | None = None) -> Iterator[None]:
    """Call ``tick()`` every ``seconds`` until the body ends or ``tick`` returns False (nothing
    left to keep alive). ``on_exit`` runs in the thread as it ends (e.g. closing its own database
    connection). Synthesis keeps the calling thread busy, so renewals need a thread of their own."""
    stop = threading.Event()

    def run() -> None:
        try:
            while not stop.wait(seconds):
                if not tick():
                    return
        finally:
            if on_exit is not None:
                on_exit()

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
