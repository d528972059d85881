"""Visitor site: museum home with the number keypad, exhibit pages, QR codes, friendly 404.

Pages are plain HTML that work without JavaScript; inline scripts add the
keypad, synced transcript and speed buttons (a few KB, inline: no extra request). Data loading and caching live in ``pages``.
"""
from __future__ import annotations

import unicodedata

from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.views.decorators.http import require_safe

from exhibits.visitor import pages, qr
from exhibits.models import Exhibit

MAX_CODE_DIGITS = 9


def _not_found(request, code: str = "", status: int = 404, message: str = "") -> HttpResponse:
    html = render_to_string("exhibits/not_found.html", {"code": code, "message": message}, request)
    return HttpResponse(html, status=status)


def page_not_found(request, exception=None):
    """handler404 for the whole site: the visitor's way back is the keypad."""
    return _not_found(request)


@require_safe
def home(request):
    html = pages.cached_page(
        "home", pages.home_stamp, lambda stamp: render_to_string("exhibits/home.html", {"galleries": pages.galleries()})
    )
    return HttpResponse(html)


def parse_code(raw: str) -> int | None:
    """A visitor-typed exhibit number: full-width digits (Chinese IMEs) and spaces tolerated."""
    text = unicodedata.normalize("NFKC", raw or "").strip().replace(" ", "")
    if not text.isascii() or not text.isdigit() or len(text) > MAX_CODE_DIGITS:
        return None
    return int(text)


@require_safe
def go(request):
    """The keypad form's target (GET, so it works without JavaScript)."""
    code = parse_code(request.GET.get("code", ""))
    if code is None:
        raw = request.GET.get("code", "")[:20]
        return _not_found(request, status=400, message=f"“{raw}”不是展品编号。编号是标签上的数字，例如 101。" if raw else "请输入展品编号。")
    return redirect("exhibit", code=code)


@require_safe
def exhibit(request, code: int):
    def build(stamp) -> str | None:
        if not pages.is_published(stamp):  # drafts look exactly like unknown numbers
            return None
        context = pages.exhibit_context(code)
        return render_to_string("exhibits/exhibit.html", context) if context else None

    html = pages.cached_page(f"exhibit:{code}", lambda: pages.exhibit_stamp(code), build)
    return HttpResponse(html) if html is not None else _not_found(request, code=str(code))


def _qr_target(request, code: int) -> Exhibit:
    """Anyone may fetch a published exhibit's QR code; staff also drafts', to print labels
    before an exhibit opens. For everyone else a draft does not exist."""
    exhibit = Exhibit.objects.filter(code=code).only("code", "status").first()
    if exhibit is None or not (exhibit.is_published or request.user.is_staff):
        raise Http404
    return exhibit


def _qr_response(request, exhibit: Exhibit, body: bytes | str, content_type: str, ext: str) -> HttpResponse:
    response = HttpResponse(body, content_type=content_type)
    disposition = "attachment" if request.GET.get("download") else "inline"
    response["Content-Disposition"] = f'{disposition}; filename="exhibit-{exhibit.code}-qr.{ext}"'
    # A published exhibit's code never changes meaning; a draft's QR is a staff-only view.
    response["Cache-Control"] = "public, max-age=86400" if exhibit.is_published else "private, no-cache"
    return response


@require_safe
def qr_svg(request, code: int):
    exhibit = _qr_target(request, code)
    svg = qr.svg(qr.exhibit_url(exhibit.code), title=f"展品 {exhibit.code} 二维码", size_px=qr.DOWNLOAD_PX)
    return _qr_response(request, exhibit, svg, "image/svg+xml", "svg")


@require_safe
def qr_png(request, code: int):
    exhibit = _qr_target(request, code)
    return _qr_response(request, exhibit, qr.png(qr.exhibit_url(exhibit.code)), "image/png", "png")
