"""Printable A4 label sheets: QR code, big exhibit number and title for each exhibit.

    /labels/?gallery=3          every exhibit of gallery 3 (drafts too: labels go up before opening)
    /labels/?gallery=3,4        (ranges work too: gallery=3-5)
    /labels/?codes=101,102,110-125

Staff only. Bad input is answered with a 400 page that says what to type instead.
"""
from __future__ import annotations

from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpResponse
from django.template.loader import render_to_string
from django.views.decorators.http import require_safe

from exhibits.visitor import qr
from exhibits.models import Exhibit

PER_SHEET = 8  # 2 x 4 labels of 90 x 62 mm on A4
MAX_LABELS = 500


class LabelRequestError(ValueError):
    pass


def _numbers(raw: str, what: str, example: str) -> list[int]:
    """"101,102,110-125" -> [101, 102, 110, ..., 125]; order kept, duplicates dropped."""
    numbers: list[int] = []
    for item in filter(None, (part.strip() for part in raw.split(","))):
        first, dash, last = item.partition("-")
        if not (first.isascii() and first.isdigit()) or (dash and not (last.isascii() and last.isdigit())):
            raise LabelRequestError(f"{what}“{item[:20]}”格式不正确，应为数字，例如 {example}。")
        low, high = int(first), int(last) if dash else int(first)
        if high < low or high - low >= MAX_LABELS or len(numbers) + high - low >= MAX_LABELS:
            raise LabelRequestError(f"一次最多打印 {MAX_LABELS} 张标签，请分批打印。")
        numbers.extend(n for n in range(low, high + 1) if n not in numbers)
    if not numbers:
        raise LabelRequestError(f"请给出{what}。")
    return numbers


def select_exhibits(params) -> tuple[list[Exhibit], list[int]]:
    """The exhibits a request asks for, in label order, and any codes that do not exist."""
    if params.get("codes"):
        codes = _numbers(params["codes"], "展品编号", "101,102,110-125")
        found = {e.code: e for e in Exhibit.objects.filter(code__in=codes).select_related("gallery")}
        return [found[c] for c in codes if c in found], [c for c in codes if c not in found]
    if params.get("gallery"):
        ids = _numbers(params["gallery"], "展厅编号", "3 或 3,4")
        exhibits = list(
            Exhibit.objects.filter(gallery_id__in=ids)
            .select_related("gallery")
            .order_by("gallery__order", "gallery_id", "order", "code")[: MAX_LABELS + 1]
        )
        if len(exhibits) > MAX_LABELS:
            raise LabelRequestError(f"一次最多打印 {MAX_LABELS} 张标签，请按展厅分批打印。")
        return exhibits, []
    raise LabelRequestError("请用 ?gallery=展厅编号 或 ?codes=101,102 指定要打印的展品。")


def labels_for(exhibits: list[Exhibit]) -> list[dict]:
    return [
        {"exhibit": e, "qr": qr.svg(qr.exhibit_url(e.code), title=f"展品 {e.code} 二维码"), "url": qr.exhibit_url(e.code)}
        for e in exhibits
    ]


@staff_member_required
@require_safe
def label_sheet(request):
    try:
        exhibits, missing = select_exhibits(request.GET)
    except LabelRequestError as error:
        html = render_to_string("exhibits/labels.html", {"error": str(error)}, request)
        return HttpResponse(html, status=400)
    labels = labels_for(exhibits)
    context = {
        "sheets": [labels[i : i + PER_SHEET] for i in range(0, len(labels), PER_SHEET)],
        "count": len(labels),
        "missing": missing,
        "drafts": [e.code for e in exhibits if not e.is_published],
        "loopback_warning": qr.loopback_warning(),
    }
    return HttpResponse(render_to_string("exhibits/labels.html", context, request))
