import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "guide_site.settings")
application = get_wsgi_application()

# Listening beacons skip Django's middleware stack (exhibits/analytics/wsgi.py).
from exhibits.analytics.wsgi import BeaconFastPath  # noqa: E402  (needs the settings loaded above)

application = BeaconFastPath(application)

# Load the URLconf now, not on the first request (it imports the speech API and with it the
# speech stack), then take everything loaded so far out of the garbage collector's view. A full
# collection otherwise walks these ~300 000 long-lived objects: 0.1-0.4 s with the GIL held, in
# which every thread of the process stalls, and busy traffic (pages plus beacons) brings one
# every few tens of seconds, enough to set the page p99. After freezing, it walks only what was
# created since (~25 000 objects). Collected first, so only live objects are frozen.
from django.urls import get_resolver  # noqa: E402

get_resolver().url_patterns  # noqa: B018  (imports the URLconf)
gc.collect()
gc.freeze()
