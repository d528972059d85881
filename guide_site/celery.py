import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "guide_site.settings")

app = Celery("guide_site")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Task modules are listed in settings.CELERY_IMPORTS (they live in sub-packages of exhibits/,
# which autodiscovery, looking for <app>.tasks, would not find).


def queue_for_engine(engine_name: str) -> str:
    """The queue a render with this speech engine is sent to.

    Engines listed in settings.RENDER_QUEUES need a worker of their own (Sambert: Python 3.10
    and ModelScope, see Dockerfile.sambert) that consumes only that queue; every other engine
    renders on the default queue, which the default worker consumes.
    """
    from django.conf import settings

    return settings.RENDER_QUEUES.get(engine_name, app.conf.task_default_queue)
