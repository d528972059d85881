"""Listening analytics (issue #18): which sentence of a script visitors stop at.

``beacon`` checks what the exhibit page's ``listen.js`` sends (no cookies, no personal data);
``endpoint`` is the public ``POST /listen`` view: it drops bots, rate-limits per client address
and queues the beacon in Redis (``buffer``), from where a Celery worker (``tasks``) moves them
into the database in batches through ``actions``, the only code that writes raw events. ``rollup`` turns raw events into
``DailyListening`` rows and drops raw events older than the retention period (``tasks`` runs it
from Celery beat); ``report`` and ``charts`` read those rows for the admin dashboard
(``exhibits.admin.listening``) as numbers, SVG and CSV; ``demo`` makes up traffic for a demo.

May import ``exhibits.models``, ``exhibits.api.throttling`` (the fixed-window counter, used
without Redis), ``exhibits.render.redis_conn`` (the one Redis client) and Django; never the
visitor pages, services, the render tasks or the admin. The visitor site does not import this
package either (it writes rows): the page talks to it over HTTP only. tests/test_architecture.py
holds both to that.
"""
