"""Celery tasks of listening analytics: the roll-up, which beat runs every LISTENING_ROLLUP_SECONDS,
and the flush of the beacon queue, which the endpoint asks for when the queue is long and beat
runs every LISTENING_FLUSH_SECONDS (settings; see ``buffer``)."""
from __future__ import annotations

from celery import shared_task

from exhibits.analytics import buffer
from exhibits.analytics.rollup import roll_up


@shared_task(name="exhibits.rollup_listening", ignore_result=True)
def rollup_listening() -> dict:
    return roll_up()


@shared_task(name=buffer.FLUSH_TASK, ignore_result=True)
def flush_listening_buffer() -> int:
    return buffer.flush_pending()
