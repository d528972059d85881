"""Galleries and exhibits, with the narration edited inline on the exhibit page."""
from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils.html import format_html
from django.views.decorators.http import require_POST
from import_export.admin import ImportExportMixin
from import_export.formats.base_formats import CSV, XLSX

from exhibits import services
from exhibits.admin import pronunciation
from exhibits.admin import studio
from exhibits.admin.audio import audio_player
from exhibits.admin.badges import ADMIN_CSS, RenderStateFilter, badge, exhibit_render_state
from exhibits.admin.labels import LoopbackWarning, print_gallery_labels, print_labels
from exhibits.forms import NarrationForm
from exhibits.models import Exhibit, Gallery, Narration
from exhibits.ops import moderation
from exhibits.transfer.resources import ExhibitResource, GalleryResource
from exhibits.visitor import qr


@admin.register(Gallery)
class GalleryAdmin(LoopbackWarning, ImportExportMixin, admin.ModelAdmin):
    resource_classes = [GalleryResource]
    formats = [CSV, XLSX]
    list_display = ("name", "slug", "order")
    prepopulated_fields = {"slug": ("name",)}
    actions = [print_gallery_labels]


class NarrationInline(admin.StackedInline):
    model = Narration
    form = NarrationForm
    extra = 1
    max_num = 1
    can_delete = False
    fields = ("script", "emotion", "voice", "state", "preview", "version", "edited_by", "edited_at")
    readonly_fields = ("state", "preview", "version", "edited_by", "edited_at")
    verbose_name_plural = "讲解 narration"

    def get_queryset(self, request):
        return super().get_queryset(request).with_render_state().select_related("rendition", "edited_by")

    @admin.display(description="音频状态 audio state")
    def state(self, obj):
        if obj is None or obj.pk is None:
            return "—"
        error = obj.latest_job_error if obj.render_state == "failed" else ""
        return format_html("{} <div class='help'>{}</div>", badge(obj.render_state, error), error)

    @admin.display(description="试听 preview")
    def preview(self, obj):
        if obj is None or obj.pk is None:
            return "—"
        note = "" if obj.audio_is_current else f" (v{obj.rendition_version}, 当前 current v{obj.version})"
        return format_html("{}{}", audio_player(obj.rendition), note)


@admin.register(Exhibit)
class ExhibitAdmin(LoopbackWarning, ImportExportMixin, admin.ModelAdmin):
    # Import/export buttons: a dry-run preview with per-row errors, then confirm; the rows are
    # written through the services (exhibits/transfer/resources.py), like the commands do.
    resource_classes = [ExhibitResource]
    formats = [CSV, XLSX]
    # Named, so import-export's list template builds on the studio's (live status) instead of
    # replacing it with the stock change list.
    change_list_template = "admin/exhibits/exhibit/change_list.html"
    inlines = [NarrationInline]
    list_display = ("code", "title", "gallery", "status", "audio_state", "updated_at")
    list_display_links = ("code", "title")
    list_filter = ("gallery", "status", RenderStateFilter)
    list_select_related = ("gallery",)
    search_fields = ("title", "narrations__script")
    readonly_fields = ("code", "status", "audio_state", "created_at", "updated_at")
    fields = ("code", "title", "gallery", "slug", "description", "image", "order", "status", "audio_state")
    actions = ["rerender", "publish", "unpublish", print_labels]

    class Media:
        css = {"all": [ADMIN_CSS]}

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(render_state=exhibit_render_state())

    def get_search_results(self, request, queryset, search_term):
        results, duplicates = super().get_search_results(request, queryset, search_term)
        if search_term.strip().isdigit():  # the number on the label
            results |= queryset.filter(code=int(search_term))
        return results, duplicates

    @admin.display(description="音频 audio", ordering="render_state")
    def audio_state(self, obj):
        return badge(getattr(obj, "render_state", None))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # Shown above the QR download links (change_form.html).
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), "loopback_warning": qr.loopback_warning()})

    # --- saving through services ----------------------------------------------------------------
    def save_model(self, request, obj, form, change):
        services.do_save_exhibit(obj)

    def save_formset(self, request, form, formset, change):
        if formset.model is not Narration:
            return super().save_formset(request, form, formset, change)
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for inline in formset.forms:
            if not inline.has_changed() or not inline.cleaned_data.get("script"):
                continue
            data = inline.cleaned_data
            result = services.do_save_narration(
                form.instance, data["script"], data.get("voice", ""), data.get("emotion", "neutral"), request.user
            )
            if inline.instance.pk is None:
                formset.new_objects.append(result.narration)
            elif result.changed:
                formset.changed_objects.append((result.narration, inline.changed_data))
            if result.job is not None:
                messages.info(request, f"讲解已保存，音频合成已排队 / saved; audio is being rendered (v{result.narration.version}).")

    # --- actions (list) -------------------------------------------------------------------------
    @admin.action(description="重新合成音频 Re-render audio", permissions=["change"])
    def rerender(self, request, queryset):
        count = sum(1 for n in Narration.objects.filter(exhibit__in=queryset) if services.do_request_render(n, force=True))
        self.message_user(request, f"{count} 条讲解已排队重新合成 / narration(s) queued for rendering.")

    @admin.action(description="发布 Publish", permissions=["change"])
    def publish(self, request, queryset):
        published = 0
        for exhibit in queryset:
            try:
                services.do_publish_exhibit(exhibit)
                published += 1
            except moderation.ModerationError as exc:
                self.message_user(request, f"{exhibit} 未发布：讲解含有“{exc.term}” / not published: rejected term",
                                  messages.ERROR)
        self.message_user(request, f"已发布 {published} 件展品 / published.")

    @admin.action(description="取消发布 Unpublish", permissions=["change"])
    def unpublish(self, request, queryset):
        for exhibit in queryset:
            services.do_unpublish_exhibit(exhibit)
        self.message_user(request, f"已取消发布 {queryset.count()} 件展品 / unpublished.")

    # --- per-exhibit views ----------------------------------------------------------------------
    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<int:object_id>/pronunciation/", view(self.pronunciation_view), name="exhibits_exhibit_pronunciation"),
            path("<int:object_id>/pronunciation/pin/", view(require_POST(self.pin_reading_view)),
                 name="exhibits_exhibit_pin_reading"),
            path("<int:object_id>/do/<str:verb>/", view(require_POST(self.action_view)), name="exhibits_exhibit_do"),
            *studio.urls(self),  # live status, markup check, sentence preview, version history
            *super().get_urls(),
        ]

    def action_view(self, request, object_id, verb):
        """The change page's buttons: one exhibit, same code path as the list actions."""
        exhibit = get_object_or_404(self.get_queryset(request), pk=object_id)
        if verb not in ("rerender", "publish", "unpublish") or not self.has_change_permission(request, exhibit):
            raise PermissionDenied
        getattr(self, verb)(request, Exhibit.objects.filter(pk=exhibit.pk))
        return redirect(reverse("admin:exhibits_exhibit_change", args=[exhibit.pk]))

    def pronunciation_view(self, request, object_id):
        """What each clause will say, who decided each reading, and pinning one (see pronunciation)."""
        return pronunciation.pronunciation_page(self, request, pronunciation.exhibit_or_404(self, request, object_id))

    def pin_reading_view(self, request, object_id):
        return pronunciation.pin_reading(self, request, pronunciation.exhibit_or_404(self, request, object_id))
