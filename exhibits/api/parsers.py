"""JSON bodies with a byte limit.

DRF reads the request stream itself, which bypasses Django's DATA_UPLOAD_MAX_MEMORY_SIZE, so
without this a client could make a web worker buffer and parse a body of any size.
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
        return super().parse(io.BytesIO(body), media_type, parser_context)
