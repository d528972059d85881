"""JSON bodies with a byte limit and a nesting limit.

DRF reads the request stream itself, which bypasses Django's DATA_UPLOAD_MAX_MEMORY_SIZE, so
without this a client could make a web worker buffer and parse a body of any size. Nesting is
checked before parsing: 5,000 nested arrays in 10 KB would otherwise hit Python's recursion
limit (a 500); our bodies are flat objects, so a small bound costs nothing.
"""
from __future__ import annotations

import io

from django.conf import settings
from rest_framework.parsers import JSONParser

from exhibits.api.errors import ApiError


def max_body_bytes() -> int:
    # Worst case per character is a 6-byte \uXXXX escape; the rest of the body is small.
    return max(16 * 1024, int(settings.API_MAX_TEXT_CHARS) * 6 + 4096)


class LimitedJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        limit = max_body_bytes()
        request = (parser_context or {}).get("request")
        declared = request.META.get("CONTENT_LENGTH") if request is not None else None
        if declared and declared.isdigit() and int(declared) > limit:
            raise ApiError("payload_too_large", f"request body over {limit} bytes", 413)
        body = stream.read(limit + 1) if stream is not None else b""
        if len(body) > limit:
            raise ApiError("payload_too_large", f"request body over {limit} bytes", 413)
        depth = json_depth(body)
        if depth > MAX_JSON_DEPTH:
            raise ApiError("parse_error", f"JSON nested {depth} levels deep; at most {MAX_JSON_DEPTH} allowed", 400)
        return super().parse(io.BytesIO(body), media_type, parser_context)


MAX_JSON_DEPTH = 20
_OPEN, _CLOSE, _QUOTE, _ESCAPE = frozenset(b"[{"), frozenset(b"]}"), ord('"'), ord("\\")


def json_depth(body: bytes) -> int:
    """The deepest nesting of arrays/objects in ``body`` (brackets inside strings do not count).
    Stops counting past MAX_JSON_DEPTH + 1; malformed JSON is left to the parser to report."""
    if body.count(b"[") + body.count(b"{") <= MAX_JSON_DEPTH:  # every real request: no scan
        return min(1, len(body))
    depth = deepest = 0
    in_string = escaped = False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == _ESCAPE:
                escaped = True
            elif byte == _QUOTE:
                in_string = False
        elif byte == _QUOTE:
            in_string = True
        elif byte in _OPEN:
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > MAX_JSON_DEPTH:
                    return deepest
        elif byte in _CLOSE:
            depth -= 1
    return deepest
