"""Visitor site. ``/e/<code>/`` is printed on labels as a QR code: it must never change."""
from django.urls import path

from exhibits.visitor import labels, views

urlpatterns = [
    path("", views.home, name="home"),
    path("go/", views.go, name="go"),
    path("e/<int:code>/", views.exhibit, name="exhibit"),
    path("e/<int:code>/qr.svg", views.qr_svg, name="exhibit-qr-svg"),
    path("e/<int:code>/qr.png", views.qr_png, name="exhibit-qr-png"),
    path("g/<int:pk>/", views.gallery, name="gallery"),
    path("g/<int:pk>/offline.json", views.gallery_offline, name="gallery-offline"),
    path("sw.js", views.service_worker, name="service-worker"),
    path("labels/", labels.label_sheet, name="labels"),
]
