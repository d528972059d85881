"""Admin actions that open the printable label sheet (registered in ``catalog``):

    actions = [print_labels]            # on ExhibitAdmin
    actions = [print_gallery_labels]    # on GalleryAdmin

They redirect to the staff-only GET page ``/labels/`` so the sheet can be reloaded, bookmarked and
printed again; consecutive codes are sent as ranges to keep the URL short for big selections.
``LoopbackWarning`` puts a warning above those lists while QR codes would encode a loopback
address (SITE_BASE_URL left at its default): labels printed then are useless.
"""
from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import admin, messages
from django.shortcuts import redirect
from django.urls import reverse

from exhibits.visitor import qr


class LoopbackWarning:
    """ModelAdmin mixin: the warning on the changelist pages that print labels."""

    def changelist_view(self, request, extra_context=None):
        warning = qr.loopback_warning()
        if warning and request.method == "GET":  # a POST (action) redirects: warn once, on the page shown
            messages.warning(request, warning)
        return super().changelist_view(request, extra_context)


def compact(numbers) -> str:
    """[101, 102, 103, 107] -> "101-103,107"."""
    runs: list[list[int]] = []
    for n in sorted(set(numbers)):
        if runs and runs[-1][1] == n - 1:
            runs[-1][1] = n
        else:
            runs.append([n, n])
    return ",".join(f"{a}-{b}" if b > a else str(a) for a, b in runs)


@admin.action(description="打印所选展品的二维码标签 Print QR labels")
def print_labels(modeladmin, request, queryset):
    codes = queryset.order_by().values_list("code", flat=True)
    return redirect(f"{reverse('labels')}?{urlencode({'codes': compact(codes)}, safe=',-')}")


@admin.action(description="打印所选展厅全部展品的标签 Print labels for galleries")
def print_gallery_labels(modeladmin, request, queryset):
    ids = queryset.order_by().values_list("pk", flat=True)
    return redirect(f"{reverse('labels')}?{urlencode({'gallery': compact(ids)}, safe=',-')}")
