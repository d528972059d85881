"""The beacon endpoint in front of Django: ``POST /listen`` without the middleware stack.

A beacon needs none of what Django's request cycle does for a page (sessions, auth, CSRF,
messages, URL resolving, template responses): with them a beacon cost about as much CPU as a
served exhibit page, so beacons competed with pages for the workers. Here the same checks
(``endpoint.judge``) run straight on the WSGI environ, framed by Django's request signals so the
database connection is looked after as in a normal request. Everything else, and the Django
view at the same URL (the development server, the test live server), is unchanged.
"""
from __future__ import annotations

import logging
import time
from http import HTTPStatus

from django.core import signals

from exhibits.analytics import endpoint

log = logging.getLogger(__name__)
PATH = "/listen"


class BeaconFastPath:
    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO") != PATH or environ.get("REQUEST_METHOD") != "POST":
            return self.app(environ, start_response)
        signals.request_started.send(sender=self.__class__, environ=environ)
        try:
            status, reason = endpoint.judge(environ, lambda: _read(environ), time.time())
        except Exception:  # Redis or the database down: the page never waits on us anyway
            log.exception("listening beacon failed")
            status, reason = 503, "try later"
        finally:
            signals.request_finished.send(sender=self.__class__)
        body = reason.encode()
        start_response(f"{status} {HTTPStatus(status).phrase}", [
            ("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body))),
            ("Cache-Control", "no-store"), ("X-Content-Type-Options", "nosniff"),
        ])
        return [body]


def _read(environ) -> bytes:
    return environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
