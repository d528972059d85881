import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "guide_site.settings")

app = Celery("guide_site")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.autodiscover_tasks(related_name="tasks_api")  # speech API + cleanup (exhibits/tasks_api.py)
