"""Speech API under /api/: TTS (sync and async), task status, published exhibits, schema.

Every response under /api/ that is an error is JSON ``{"error": code, "detail": ...}``
(``errors``); keys and rate limits live in ``auth`` and ``throttling``; the speech work itself
is in ``speech`` so views stay thin and the Celery tasks (``tasks``) share it. A synchronous
render goes to the worker through ``relay``, which admits the wait only if ``admission`` finds
that the workers can finish it in time.
"""
