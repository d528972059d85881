"""Entry points for ``render_audio --sync --workers N`` pool processes.

``spawn`` children import this module by name before Django is set up, so nothing here may
import models at module level.
"""
from __future__ import annotations

from pathlib import Path


def start(db_name: str, media_root: str) -> None:
    """Pool process start: Django, the parent's database and media, and the voice, once."""
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
