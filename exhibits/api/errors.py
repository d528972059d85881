"""One error shape for the whole API: ``{"error": "<code>", "detail": <message or fields>}``.

Two layers, because not every error passes through a DRF view: the DRF exception handler covers
views (validation, auth, throttling, parse errors, 405), and the middleware rewrites whatever
else Django answers under /api/ (unknown URLs, oversized bodies, crashes) into the same shape.
"""
from __future__ import annotations

from django.core.exceptions import RequestDataTooBig
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.views import exception_handler as drf_exception_handler

API_PREFIX = "/api/"
# HTTP status -> error code for errors that carry no code of their own.
STATUS_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
    500: "server_error",
    502: "bad_gateway",
    503: "service_unavailable",
}
# DRF's default codes, renamed where the DRF name is vague for API clients.
DRF_CODES = {"invalid": "invalid_request", "throttled": "rate_limited", "error": "bad_request"}
PASSED_HEADERS = ("Allow", "Retry-After", "WWW-Authenticate", "Vary")


class ApiError(exceptions.APIException):
    """An API error with its own code and status; detail may be a message or a dict."""

    def __init__(self, code: str, detail, status_code: int = status.HTTP_400_BAD_REQUEST, headers: dict | None = None):
        self.status_code = status_code
        self.error_code = code
        super().__init__(detail)
        self.payload = detail  # keep dicts as given (APIException would stringify the leaves)
        self.headers = headers or {}  # e.g. Retry-After on a 429/503


def error_response(code: str, detail, status_code: int, headers: dict | None = None) -> JsonResponse:
    response = JsonResponse({"error": code, "detail": detail}, status=status_code, json_dumps_params={"ensure_ascii": False})
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def exception_handler(exc, context):
    """DRF hook: every exception a view raises becomes the JSON error shape (or a logged 500)."""
    if isinstance(exc, RequestDataTooBig):
        return error_response("payload_too_large", "request body too large", 413)
    if isinstance(exc, ApiError):
        return error_response(exc.error_code, exc.payload, exc.status_code, exc.headers)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # not an API exception: Django logs it and the middleware shapes the 500
    code = getattr(exc, "default_code", None) or STATUS_CODES.get(response.status_code, "error")
    detail = response.data.get("detail", response.data) if isinstance(response.data, dict) else response.data
    if isinstance(exc, exceptions.ValidationError):
        detail = response.data  # per-field messages
    headers = {name: response[name] for name in PASSED_HEADERS if response.has_header(name)}
    return error_response(DRF_CODES.get(code, code), detail, response.status_code, headers)


class ApiJsonErrorsMiddleware:
    """Under /api/, turn Django's HTML error pages (404, 400, 500 …) into the JSON error shape."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if not request.path.startswith(API_PREFIX) or response.status_code < 400:
            return response
        if response.get("Content-Type", "").startswith("application/json"):
            return response
        code = STATUS_CODES.get(response.status_code, "error")
        detail = _plain_detail(response)
        headers = {name: response[name] for name in PASSED_HEADERS if response.has_header(name)}
        return error_response(code, detail, response.status_code, headers)


def _plain_detail(response) -> str:
    """A short human message; never the HTML page (it may hold a traceback in DEBUG)."""
    reason = response.reason_phrase or "error"
    if response.status_code == 404:
        return "no such API endpoint or object"
    if response.status_code >= 500:
        return "internal error; it has been logged"
    return reason.lower()
