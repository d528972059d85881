import re

from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path

from exhibits.health import healthz
from exhibits.media_views import serve_media

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("exhibits.api.urls")),  # speech API (issue #6)
    path("healthz", healthz, name="healthz"),
    path("", include("exhibits.urls")),
]

if settings.MEDIA_URL.startswith("/"):
    # Served by Django with byte ranges (exhibits/media_views.py); nginx may take it over in front.
    urlpatterns.append(re_path(rf"^{re.escape(settings.MEDIA_URL.lstrip('/'))}(?P<path>.*)\Z", serve_media, name="media"))

# Visitors who mistype a URL get the keypad, not a bare error page.
handler404 = "exhibits.views.page_not_found"
