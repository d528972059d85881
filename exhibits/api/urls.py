from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView

from exhibits.api import views

urlpatterns = [
    path("tts", views.TtsView.as_view(), name="api-tts"),
    path("tts_async", views.TtsAsyncView.as_view(), name="api-tts-async"),
    path("tasks/<uuid:task_id>", views.TaskView.as_view(), name="api-task"),
    path("exhibits/", views.ExhibitListView.as_view(), name="api-exhibits"),
    path("exhibits/<int:code>/", views.ExhibitDetailView.as_view(), name="api-exhibit"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # Last: any other /api/ path is a JSON 404 here, never the visitors' HTML "not found" page.
    re_path(r"^.*$", views.not_found),
]
