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

Audio files are named by their content hash and never change: they are cached for a year.
In production nginx may serve MEDIA_URL itself; this view is then only the fallback.
"""
from __future__ import annotations

import mimetypes
import re
from pathlib import Path

from django.conf import settings
from django.http import FileResponse, Http404, HttpResponse, HttpResponseNotAllowed, StreamingHttpResponse
from django.utils.cache import get_conditional_response
from django.utils.http import http_date

IMMUTABLE_DIRS = ("audio/",)
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "public, max-age=3600"
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


def serve_media(request, path: str):
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    file = resolve(path)
    if file is None:
        raise Http404("no such media file")
    stat = file.stat()
    size = stat.st_size
    etag = f'"{size:x}-{stat.st_mtime_ns:x}"'
    last_modified = http_date(stat.st_mtime)
    content_type = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
    headers = {
        "ETag": etag,
        "Last-Modified": last_modified,
        "Accept-Ranges": "bytes",
        "Cache-Control": IMMUTABLE if path.startswith(IMMUTABLE_DIRS) else REVALIDATE,
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
