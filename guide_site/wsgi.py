import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "guide_site.settings")
application = get_wsgi_application()

# Listening beacons skip Django's middleware stack (exhibits/analytics/wsgi.py).
from exhibits.analytics.wsgi import BeaconFastPath  # noqa: E402  (needs the settings loaded above)

application = BeaconFastPath(application)
