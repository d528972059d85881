import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "guide_site.settings")

app = Celery("guide_site")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Task modules are listed in settings.CELERY_IMPORTS (they live in sub-packages of exhibits/,
# which autodiscovery, looking for <app>.tasks, would not find).
