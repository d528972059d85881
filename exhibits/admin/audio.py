"""Renditions and render jobs: read-only history (rows change only through the pipeline)."""
from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.utils.html import format_html

from exhibits.models import RenderJob, Rendition


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def audio_player(rendition: Rendition | None):
    if rendition is None or not (rendition.mp3 or rendition.wav):
        return "—"
    return format_html(
        '<audio controls preload="none" src="{}{}"></audio> <span>{} s</span>',
        settings.MEDIA_URL, rendition.mp3 or rendition.wav, f"{rendition.duration:.1f}",
    )


@admin.register(Rendition)
class RenditionAdmin(ReadOnlyAdmin):
    list_display = ("cache_key", "duration", "engine", "model_version", "created_at")
    search_fields = ("cache_key", "transcript")
    readonly_fields = ("player",)
    fields = ("player", "cache_key", "mp3", "wav", "duration", "sample_rate", "transcript", "warnings",
              "engine", "model_version", "created_at")

    @admin.display(description="试听 preview")
    def player(self, obj):
        return audio_player(obj)


@admin.register(RenderJob)
class RenderJobAdmin(ReadOnlyAdmin):
    list_display = ("id", "narration", "version", "state", "attempts", "reused", "short_error", "created_at", "finished_at")
    list_filter = ("state", "reused")
    list_select_related = ("narration__exhibit",)
    search_fields = ("=narration__exhibit__code", "narration__exhibit__title")

    @admin.display(description="错误 error")
    def short_error(self, obj):
        return (obj.error[:80] + "…") if len(obj.error) > 80 else obj.error
