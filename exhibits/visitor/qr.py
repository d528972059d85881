"""QR codes that open an exhibit page: SVG (labels, downloads) and PNG.

The ``qrcode`` package does the encoding; the SVG is serialised here because its own SVG
writers emit one path command per module (~8 KB a code), too heavy for a sheet of 50 labels
inlined in one page. Merging each row's dark runs keeps it around 2 KB.
"""
from __future__ import annotations

import io
import ipaddress
from functools import lru_cache
from html import escape
from urllib.parse import urlsplit

import qrcode
from django.conf import settings
from django.urls import reverse
from qrcode.constants import ERROR_CORRECT_Q

# Q (25 % of the code may be lost) rather than the minimum M: labels get scuffed, reflect
# spotlights and are scanned at an angle. A ~40 character URL still fits version 4 (33 modules).
ERROR_CORRECTION = ERROR_CORRECT_Q
BORDER = 4  # the quiet zone the standard requires; scanners miss codes that touch other ink
PNG_BOX_PX = 10  # pixels per module
DOWNLOAD_PX = 330


def exhibit_url(code: int) -> str:
    """Exactly what the code encodes: the stable public URL of the exhibit page."""
    return settings.SITE_BASE_URL + reverse("exhibit", args=[code])


def is_loopback(url: str) -> bool:
    """True when ``url`` names this machine only (127.x, ::1, localhost): no visitor's phone can open it."""
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback or ipaddress.ip_address(host).is_unspecified
    except ValueError:
        return False  # a host name: reachable or not, that is the museum's DNS


def loopback_warning() -> str:
    """What staff are told above label printing and QR downloads while SITE_BASE_URL is loopback."""
    if not is_loopback(settings.SITE_BASE_URL):
        return ""
    return (f"二维码指向 {settings.SITE_BASE_URL}，这是本机地址，访客的手机打不开。打印标签前请把 SITE_BASE_URL 设为"
            f"访客能访问的地址（如 https://museum.example）。 / QR codes encode {settings.SITE_BASE_URL}, a loopback "
            "address no visitor's phone can open: set SITE_BASE_URL to the public address before printing labels.")


@lru_cache(maxsize=1024)
def matrix(data: str) -> tuple[tuple[bool, ...], ...]:
    """Modules, quiet zone included (True = dark)."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECTION, border=BORDER)
    code.add_data(data)
    code.make(fit=True)
    return tuple(tuple(row) for row in code.get_matrix())


def _path(modules: tuple[tuple[bool, ...], ...]) -> str:
    parts = []
    for y, row in enumerate(modules):
        x = 0
        while x < len(row):
            if not row[x]:
                x += 1
                continue
            run = x
            while run < len(row) and row[run]:
                run += 1
            parts.append(f"M{x} {y}h{run - x}v1h-{run - x}z")
            x = run
    return "".join(parts)


@lru_cache(maxsize=1024)
def svg(data: str, title: str = "", size_px: int | None = None) -> str:
    """Standalone or inline SVG. Without ``size_px`` it fills its box (labels size it in mm)."""
    modules = matrix(data)
    n = len(modules)
    size = f' width="{size_px}" height="{size_px}"' if size_px else ""
    label = f'<title>{escape(title)}</title>' if title else ""
    # A white background keeps the quiet zone light on any label colour; crispEdges stops
    # anti-aliasing seams between adjacent runs.
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {n} {n}"{size} role="img" shape-rendering="crispEdges">'
        f'{label}<rect width="{n}" height="{n}" fill="#fff"/><path fill="#000" d="{_path(modules)}"/></svg>'
    )


@lru_cache(maxsize=256)
def png(data: str) -> bytes:
    code = qrcode.QRCode(error_correction=ERROR_CORRECTION, border=BORDER, box_size=PNG_BOX_PX)
    code.add_data(data)
    code.make(fit=True)
    out = io.BytesIO()
    code.make_image(fill_color="black", back_color="white").save(out, format="PNG")
    return out.getvalue()
