"""Uploaded and rendered media (MEDIA_ROOT) over HTTP, with byte ranges for audio seeking.

Phones' audio players fetch MP3s in ranges and give up on seeking without them. Behaviour
(RFC 9110 §14):

- ``Range: bytes=a-b``, ``bytes=a-`` and ``bytes=-n`` -> 206 with ``Content-Range``; a range
  running past the end is clipped; ``bytes=-n`` larger than the file means the whole file.
- Several ranges -> 200 with the whole file (allowed by §14.2; multipart/byteranges buys a
  player nothing and many small overlapping ranges are a known amplification trick), unless
  none of them is satisfiable -> 416.
- Unsatisfiable (starts at or past the end, ``bytes=-0``, any range of an empty file) -> 416
  with ``Content-Range: bytes */<size>``.
- Malformed or another unit -> the header is ignored: 200 with the whole file.
- ``If-Range`` that does not match the current ETag / Last-Modified -> 200 with the whole file.
- Range is only defined for GET; HEAD answers with the headers of the full 200.
- ``If-None-Match`` / ``If-Modified-Since`` -> 304.
- Anything that is not a plain file inside MEDIA_ROOT (``..``, absolute, hidden, symlinks out,
  directories, NUL) -> 404. Django has already percent-decoded the path once, so ``%2e%2e``
  arrives as ``..``; a doubly encoded ``%252e`` stays literal and names no file.

Who may fetch what: narration audio (``audio/``) only when a published exhibit's narration uses
it (cached publicly for a year: files are named by content hash and never change); audio of
drafts and of unpublished versions only for logged-in staff (the admin's preview), never cached
by shared caches; ``.json`` sidecars (full transcript and timings) never. Everything else under
MEDIA_ROOT (API results, photos) is public.

In production nginx hands /media/audio/ requests to this view and serves the file itself when we
answer with ``X-Accel-Redirect`` (MEDIA_ACCEL_REDIRECT, see deploy/nginx/guide.conf).
"""
from __future__ import annotations

import mimetypes
import re
from pathlib import Path

from django.conf import settings
from django.db.models import Q
from django.http import FileResponse, Http404, HttpResponse, HttpResponseNotAllowed, StreamingHttpResponse
from django.utils.cache import get_conditional_response
from django.utils.http import http_date

from exhibits.models import Exhibit, Narration

NARRATION_AUDIO = f"{settings.AUDIO_DIR}/"
IMMUTABLE_DIRS = (NARRATION_AUDIO,)
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "public, max-age=3600"
PRIVATE = "private, no-store"
CHUNK = 64 * 1024
UNSATISFIABLE = "unsatisfiable"
_SPEC = re.compile(r"([0-9]*)-([0-9]*)")
_INLINE_TYPES = ("audio/", "video/", "image/")


def resolve(path: str) -> Path | None:
    """The file ``path`` names under MEDIA_ROOT, or None for anything else."""
    if not path or "\x00" in path or "\\" in path or path.startswith("/"):
        return None
    if any(part in ("", ".", "..") or part.startswith(".") for part in path.split("/")):
        return None  # also hides in-progress ".name.tmp" files written by the renderer
    root = Path(settings.MEDIA_ROOT).resolve()
    try:
        candidate = (root / path).resolve()
    except (OSError, RuntimeError, ValueError):
        return None
    if not candidate.is_relative_to(root) or not candidate.is_file():
        return None
    return candidate


def parse_range(header: str, size: int):
    """None (ignore: send everything), UNSATISFIABLE, or an inclusive (first, last) byte pair."""
    unit, sep, spec = header.partition("=")
    if not sep or unit.strip().lower() != "bytes":
        return None
    ranges = []
    for item in spec.split(","):
        item = item.strip()
        if not item:
            continue  # "#rule" lists may contain empty elements
        match = _SPEC.fullmatch(item)
        if not match or match[1] == match[2] == "":
            return None
        first, last = match[1], match[2]
        if first == "":  # suffix: the last n bytes
            n = int(last)
            ranges.append((max(0, size - n), size - 1) if n > 0 and size > 0 else None)
            continue
        first_n, last_n = int(first), (int(last) if last else None)
        if last_n is not None and last_n < first_n:
            return None  # invalid range-spec: the header is malformed
        ranges.append((first_n, min(size - 1, last_n if last_n is not None else size - 1)) if first_n < size else None)
    satisfiable = [r for r in ranges if r is not None]
    if not ranges:
        return None
    if not satisfiable:
        return UNSATISFIABLE
    return satisfiable[0] if len(ranges) == 1 else None


def _read(path: Path, first: int, length: int):
    with path.open("rb") as fh:
        fh.seek(first)
        while length > 0:
            data = fh.read(min(CHUNK, length))
            if not data:
                return
            length -= len(data)
            yield data


def _if_range_allows(request, etag: str, last_modified: str) -> bool:
    condition = request.headers.get("If-Range")
    # Strong comparison: a weak ETag ("W/...") never matches, per §13.1.5.
    return condition is None or condition.strip() in (etag, last_modified)


PUBLIC, STAFF = "public", "staff"


def audience(request, path: str) -> str | None:
    """PUBLIC, STAFF (staff preview, not cached by shared caches) or None (not found)."""
    if path.endswith(".json"):
        return None  # sidecars: the transcript of drafts too, and nothing a player needs
    if not path.startswith(NARRATION_AUDIO):
        return PUBLIC
    published = Narration.objects.filter(exhibit__status=Exhibit.Status.PUBLISHED)
    if published.filter(Q(rendition__mp3=path) | Q(rendition__wav=path)).exists():
        return PUBLIC
    user = getattr(request, "user", None)
    return STAFF if user is not None and user.is_authenticated and user.is_staff else None


def serve_media(request, path: str):
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    file = resolve(path)
    who = audience(request, path) if file is not None else None
    if who is None:
        raise Http404("no such media file")
    cache_control = (IMMUTABLE if path.startswith(IMMUTABLE_DIRS) else REVALIDATE) if who == PUBLIC else PRIVATE
    if settings.MEDIA_ACCEL_REDIRECT:
        # nginx serves the bytes (ranges, sendfile) from its internal location; we only decided.
        response = HttpResponse(content_type=mimetypes.guess_type(file.name)[0] or "application/octet-stream")
        response["X-Accel-Redirect"] = settings.MEDIA_ACCEL_REDIRECT.rstrip("/") + "/" + path
        response["Cache-Control"] = cache_control
        return response
    stat = file.stat()
    size = stat.st_size
    etag = f'"{size:x}-{stat.st_mtime_ns:x}"'
    last_modified = http_date(stat.st_mtime)
    content_type = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
    headers = {
        "ETag": etag,
        "Last-Modified": last_modified,
        "Accept-Ranges": "bytes",
        "Cache-Control": cache_control,
    }
    if not content_type.startswith(_INLINE_TYPES) or content_type == "image/svg+xml":
        # Never render other media as a page on our origin (an SVG or HTML file could run script).
        headers["Content-Disposition"] = "attachment"

    response = get_conditional_response(request, etag=etag, last_modified=int(stat.st_mtime))
    if response is None:
        response = _body(request, file, size, content_type, etag, last_modified)
    for name, value in headers.items():
        response[name] = value
    return response


def _body(request, file: Path, size: int, content_type: str, etag: str, last_modified: str):
    wanted = None
    if request.method == "GET" and "Range" in request.headers and _if_range_allows(request, etag, last_modified):
        wanted = parse_range(request.headers["Range"], size)
    if wanted == UNSATISFIABLE:
        response = HttpResponse(status=416, content_type="text/plain; charset=utf-8")
        response["Content-Range"] = f"bytes */{size}"
        return response
    if wanted is not None:
        first, last = wanted
        response = StreamingHttpResponse(_read(file, first, last - first + 1), status=206, content_type=content_type)
        response["Content-Range"] = f"bytes {first}-{last}/{size}"
        response["Content-Length"] = str(last - first + 1)
        return response
    if request.method == "HEAD":
        response = HttpResponse(content_type=content_type)
        response["Content-Length"] = str(size)
        return response
    # FileResponse lets the server use sendfile (gunicorn does) for whole files.
    return FileResponse(file.open("rb"), content_type=content_type)
