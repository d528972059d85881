"""Offline galleries (issue #18): what a phone must fetch to open a gallery's exhibit pages and
play their audio with no network, and how big that is, so the page can say so before it starts.

The downloading is done by ``static/exhibits/offline.js`` into the Cache Storage, and the
service worker (``static/exhibits/sw.js``, served at ``/sw.js`` so its scope is the whole site)
answers from it when the network is gone. The bundle lists every published exhibit page of the
gallery with its audio and image; the scripts and styles those pages load are found by
``offline.js`` in the pages themselves, so they follow whatever the templates include.
"""
from __future__ import annotations

import functools
from pathlib import Path

from django.core.files.storage import default_storage
from django.templatetags.static import static
from django.urls import reverse

from exhibits.models import Exhibit, Gallery, Narration
from exhibits.visitor import pages

STATIC_FILES = ("exhibits/listen.js",)  # loaded by exhibit pages; more are found in the pages


def _media(path: str) -> tuple[str, int] | None:
    try:
        return default_storage.url(path), default_storage.size(path)
    except OSError:  # a file gone from disk is left out, not a broken download
        return None


def bundle(gallery: Gallery, exhibit_html) -> dict:
    """``{"cache", "files": [{"url", "bytes"}], "bytes"}``; ``exhibit_html(code)`` is the page as served."""
    exhibits = list(Exhibit.objects.filter(gallery=gallery, status=pages.PUBLISHED).order_by("order", "code"))
    audio = dict(Narration.objects.filter(exhibit__in=exhibits, language=pages.LANGUAGE, rendition__isnull=False)
                 .values_list("exhibit_id", "rendition__mp3"))
    files: dict[str, int | None] = {}
    files[reverse("gallery", args=[gallery.pk])] = None  # the page that shows this size: small
    for exhibit in exhibits:
        html = exhibit_html(exhibit.code)
        if html is None:
            continue
        files[reverse("exhibit", args=[exhibit.code])] = len(html.encode())
        for path in (audio.get(exhibit.pk), exhibit.image.name if exhibit.image else None):
            found = _media(path) if path else None
            if found:
                files[found[0]] = found[1]
    for name in STATIC_FILES:
        files[static(name)] = None  # small; its size is known once fetched
    return {
        "cache": f"gallery-{gallery.pk}",
        "files": [{"url": url, "bytes": size} for url, size in files.items()],
        "bytes": sum(size or 0 for size in files.values()),
    }


@functools.cache
def service_worker_source() -> str:
    return (Path(__file__).resolve().parent.parent / "static" / "exhibits" / "sw.js").read_text(encoding="utf-8")


def size_label(size: int) -> str:
    """How a visitor reads a download size: 约 1.2 MB / 约 350 KB."""
    if size >= 1_000_000:
        return f"约 {size / 1_000_000:.1f} MB"
    return f"约 {max(1, round(size / 1000))} KB"
