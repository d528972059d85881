"""The render-state badge shown per exhibit (list and form) and its list filter."""
from __future__ import annotations

from django.contrib import admin
from django.db.models import OuterRef, Subquery
from django.utils.html import format_html

from exhibits.models import Narration, RenderState

NO_NARRATION = "none"
# Colours per state live in static/exhibits/admin.css (class render-<state>): no style attributes,
# which the Content-Security-Policy would block.
ADMIN_CSS = "exhibits/admin.css"


def exhibit_render_state():
    """Subquery expression: the exhibit's (Mandarin) narration render state, NULL = no narration."""
    narration = Narration.objects.filter(exhibit=OuterRef("pk")).with_render_state().order_by("language")
    return Subquery(narration.values("render_state")[:1])


def badge(state: str | None, title: str = ""):
    if not state or state == NO_NARRATION:
        return format_html('<span class="render-badge render-none">{}</span>', "— 无讲解 no narration")
    label = RenderState(state).label
    return format_html(
        '<span class="render-badge render-{}" title="{}">{}</span>', RenderState(state).value, title, label,
    )


class RenderStateFilter(admin.SimpleListFilter):
    title = "音频状态 audio state"
    parameter_name = "audio"

    def lookups(self, request, model_admin):
        return [*RenderState.choices, (NO_NARRATION, "无讲解 no narration")]

    def queryset(self, request, queryset):
        value = self.value()
        if value == NO_NARRATION:
            return queryset.filter(render_state__isnull=True)
        if value in RenderState.values:
            return queryset.filter(render_state=value)
        return queryset
