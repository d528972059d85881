"""A narration's saved versions: who and when, a diff between any two, and restore.

    GET  <exhibit id>/history/?a=3&b=5   list + word-level diff of versions 3 and 5
    POST <exhibit id>/history/restore/   version=3 -> services.do_restore_narration_version

Restore is an ordinary save through services (a new version); its render reuses the audio
of the earlier version by cache key when that text was rendered before. Works without JavaScript.
"""
from __future__ import annotations

import difflib

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from exhibits import services
from exhibits.models import Exhibit, NarrationVersion


def diff_pieces(old: str, new: str) -> list[tuple[str, str]]:
    """(kind, text) runs, kind in "same" / "del" / "ins", character by character (Chinese has
    no spaces to split words on, and a curator's edit is often one or two characters)."""
    pieces: list[tuple[str, str]] = []
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for op, a0, a1, b0, b1 in matcher.get_opcodes():
        if op == "equal":
            pieces.append(("same", old[a0:a1]))
            continue
        if a1 > a0:
            pieces.append(("del", old[a0:a1]))
        if b1 > b0:
            pieces.append(("ins", new[b0:b1]))
    return pieces


def _narration(model_admin, request, object_id, permission: str):
    exhibit = get_object_or_404(Exhibit, pk=object_id)
    if not getattr(model_admin, permission)(request, exhibit):
        raise PermissionDenied
    narration = exhibit.narrations.order_by("-language").first()
    if narration is None:
        raise PermissionDenied
    return exhibit, narration


def _version_number(raw, default: int) -> int:
    return int(raw) if str(raw or "").isdigit() else default


def history_view(model_admin, request, object_id):
    exhibit, narration = _narration(model_admin, request, object_id, "has_view_permission")
    versions = list(NarrationVersion.objects.filter(narration=narration).select_related("saved_by"))
    numbers = [v.version for v in versions]
    newest = numbers[0] if numbers else narration.version
    b = _version_number(request.GET.get("b"), newest)
    a = _version_number(request.GET.get("a"), next((n for n in numbers if n < b), b))
    by_number = {v.version: v for v in versions}
    pieces, settings_changed = [], []
    if a in by_number and b in by_number:
        old, new = by_number[a], by_number[b]
        pieces = diff_pieces(old.script, new.script)
        settings_changed = [(label, getattr(old, f), getattr(new, f)) for f, label in
                            (("voice", "声音 voice"), ("emotion", "默认情绪 default emotion")) if getattr(old, f) != getattr(new, f)]
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "original": exhibit,
        "title": f"版本历史 Version history · {exhibit}",
        "narration": narration,
        "versions": versions,
        "a": a,
        "b": b,
        "pieces": pieces,
        "settings_changed": settings_changed,
        "can_restore": model_admin.has_change_permission(request, exhibit),
    }
    return TemplateResponse(request, "admin/exhibits/exhibit/history_versions.html", context)


def restore_view(model_admin, request, object_id):
    exhibit, narration = _narration(model_admin, request, object_id, "has_change_permission")
    number = _version_number(request.POST.get("version"), 0)
    if not NarrationVersion.objects.filter(narration=narration, version=number).exists():
        raise PermissionDenied
    result = services.do_restore_narration_version(narration, number, request.user)
    if result.changed:
        messages.success(request, f"已恢复第 {number} 版，保存为第 {result.narration.version} 版 / "
                                  f"restored v{number} as v{result.narration.version}.")
    else:
        messages.info(request, f"第 {number} 版与当前内容相同 / v{number} is what is there already.")
    return redirect(reverse("admin:exhibits_exhibit_change", args=[exhibit.pk]))


def urls(model_admin) -> list:
    view = model_admin.admin_site.admin_view

    def bind(handler):
        return lambda request, object_id: handler(model_admin, request, object_id)

    return [
        path("<int:object_id>/versions/", view(bind(history_view)), name="exhibits_exhibit_versions"),
        path("<int:object_id>/versions/restore/", view(require_POST(bind(restore_view))), name="exhibits_exhibit_restore"),
    ]
