"""Curator admin. Thin: every save, publish and re-render goes through ``exhibits.services``."""
from exhibits.admin import audio, catalog, lexicon  # noqa: F401  (registers the ModelAdmins)

import exhibits.api.admin  # noqa: F401,E402  (speech API keys, issue #6)
