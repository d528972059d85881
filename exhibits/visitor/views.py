"""Visitor site: museum home with the number keypad, exhibit and gallery pages, QR codes, the
offline bundle and service worker, friendly 404.

Pages are plain HTML that work without JavaScript; inline scripts add the
keypad, synced transcript and speed buttons (a few KB, inline: no extra request). Data loading and caching live in ``pages``.
"""
from __future__ import annotations

import unicodedata

from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.views.decorators.http import require_safe

from exhibits.models import Exhibit, Gallery
from exhibits.visitor import offline, pages, qr

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


def exhibit_html(code: int) -> str | None:
    def build(stamp) -> str | None:
        if not pages.is_published(stamp):  # drafts look exactly like unknown numbers
            return None
        context = pages.exhibit_context(code)
        return render_to_string("exhibits/exhibit.html", context) if context else None

    return pages.cached_page(f"exhibit:{code}", lambda: pages.exhibit_stamp(code), build)


@require_safe
def exhibit(request, code: int):
    html = exhibit_html(code)
    return HttpResponse(html) if html is not None else _not_found(request, code=str(code))


def _gallery(pk: int) -> Gallery:
    gallery = Gallery.objects.filter(pk=pk, exhibits__status=pages.PUBLISHED).distinct().first()
    if gallery is None:  # no published exhibit: nothing to show or download
        raise Http404
    return gallery


@require_safe
def gallery(request, pk: int):
    """A gallery's exhibits and the "download for offline listening" button with its size."""
    def build(stamp) -> str:
        room = _gallery(pk)
        exhibits = room.exhibits.filter(status=pages.PUBLISHED).order_by("order", "code").only("code", "title")
        size = offline.bundle(room, exhibit_html)["bytes"]
        return render_to_string("exhibits/gallery.html", {"gallery": room, "exhibits": exhibits,
                                                          "download_size": offline.size_label(size)})

    return HttpResponse(pages.cached_page(f"gallery:{pk}", pages.home_stamp, build))


@require_safe
def gallery_offline(request, pk: int):
    response = JsonResponse(offline.bundle(_gallery(pk), exhibit_html))
    response["Cache-Control"] = "no-cache"
    return response


@require_safe
def service_worker(request):
    """At the site root, so its scope covers every visitor page; revalidated on every visit so a
    new version takes over promptly (browsers also cap a worker's HTTP cache at 24 h)."""
    response = HttpResponse(offline.service_worker_source(), content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "no-cache"
    return response


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
