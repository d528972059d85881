import re

from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path

from exhibits.analytics.endpoint import listen
from exhibits.ops.health import healthz
from exhibits.visitor.media import serve_media

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("exhibits.api.urls")),  # speech API (issue #6)
    path("healthz", healthz, name="healthz"),
    path("listen", listen, name="listen"),  # listening beacons from exhibit pages (issue #18)
    path("", include("exhibits.visitor.urls")),
]

if settings.MEDIA_URL.startswith("/"):
    # Served by Django with byte ranges (exhibits/visitor/media.py); nginx may take it over in front.
    urlpatterns.append(re_path(rf"^{re.escape(settings.MEDIA_URL.lstrip('/'))}(?P<path>.*)\Z", serve_media, name="media"))

# Visitors who mistype a URL get the keypad, not a bare error page.
handler404 = "exhibits.visitor.views.page_not_found"
