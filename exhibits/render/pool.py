"""Entry points for ``render_audio --sync --workers N`` pool processes.

``spawn`` children import this module by name before Django is set up, so nothing here may
import models at module level.
"""
from __future__ import annotations

import os
from pathlib import Path


THREAD_VARIABLES = ("ZHTTS_THREADS", "OMP_NUM_THREADS")


def engine_threads(workers: int, cores: int | None = None) -> dict[str, str]:
    """Environment for each of ``workers`` render processes: the cores shared out, one
    intra-op thread each when there are as many processes as cores (threads that compete for a
    core only add switching), and one vocoder interpreter per process (processes overlap the
    work that a second vocoder would)."""
    cores = cores or os.cpu_count() or 1
    threads = str(max(1, cores // max(1, workers)))
    return {**{name: threads for name in THREAD_VARIABLES}, "ZHTTS_VOCODERS": "1"}


def start(db_name: str, media_root: str, env: dict[str, str] | None = None) -> None:
    """Pool process start: thread settings, Django, the parent's database and media, and the
    voice, once."""
    for name, value in (env or {}).items():
        os.environ.setdefault(name, value)  # an operator's explicit setting wins
    import django

    django.setup()
    from django.conf import settings
    from django.db import connections

    from synthesis.engines import get_engine

    settings.DATABASES["default"]["NAME"] = db_name  # e.g. pytest's test_ database
    connections["default"].settings_dict["NAME"] = db_name
    settings.MEDIA_ROOT = Path(media_root)
    get_engine(settings.SYNTHESIS_ENGINE)


def run(job_id: int) -> str:
    from exhibits.render.job import run_here  # not bulk: bulk starts this pool, so it imports us

    return run_here(job_id)
