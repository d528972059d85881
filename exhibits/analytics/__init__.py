"""Listening analytics (issue #18): which sentence of a script visitors stop at.

``beacon`` checks what the exhibit page's ``listen.js`` sends (no cookies, no personal data);
``endpoint`` is the public ``POST /listen`` view: it drops bots, rate-limits per client address
and writes the events through ``actions``, the only code here that writes raw events. ``rollup``
turns raw events into ``DailyListening`` rows and drops raw events older than the retention
period (``tasks`` runs it from Celery beat); ``report`` and ``charts`` read those rows for the
admin dashboard (``exhibits.admin.listening``) as numbers, SVG and CSV.

May import ``exhibits.models``, ``exhibits.api.throttling`` (the shared fixed-window counter)
and Django; never the visitor pages, the render jobs, services or the admin. The visitor site
does not import this package either: the page talks to it over HTTP only.
"""
