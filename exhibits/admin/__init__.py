"""Curator admin. Thin: every save, publish and re-render goes through ``exhibits.services``.

It sits on top of everything else: it may import services, forms, models, ``exhibits.ops`` and the
API's key admin, and nothing outside this package imports it (Django's admin autodiscovery loads
it; ``labels`` holds the actions that open the visitor site's printable label sheet).
"""
from exhibits.admin import audio, catalog, lexicon, listening, studio  # noqa: F401  (registers the ModelAdmins; studio names the site)

import exhibits.api.admin  # noqa: F401,E402  (speech API keys, issue #6)
