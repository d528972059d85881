"""Render jobs: turning a narration's script into published audio, on a worker or in bulk.

``job`` runs one job (claim, synthesise or reuse, publish) and is shared by the Celery tasks in
``tasks`` and by ``render_audio`` through ``bulk`` (which spreads jobs over ``pool`` processes);
``lock`` makes sure one cache key is synthesised once across workers and hosts, using the Redis
client of ``redis_conn``. These modules may import ``exhibits.models``, ``exhibits.services``
(every row change goes through it), ``exhibits.ops`` and the ``synthesis`` library; they never
import the visitor site, the API views or the admin. Nothing outside this package imports
``tasks``: ``exhibits.services`` sends jobs by their Celery task name, and the worker finds the
tasks through ``CELERY_IMPORTS`` in the settings.
"""
