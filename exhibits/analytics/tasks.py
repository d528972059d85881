"""Celery beat runs the listening roll-up every LISTENING_ROLLUP_SECONDS (settings)."""
from __future__ import annotations

from celery import shared_task

from exhibits.analytics.rollup import roll_up


@shared_task(name="exhibits.rollup_listening", ignore_result=True)
def rollup_listening() -> dict:
    return roll_up()
