"""API keys: ``Authorization: Bearer gk_<prefix>_<secret>`` (or ``X-API-Key: …``).

Missing or wrong token -> 401 with WWW-Authenticate; a revoked key -> 403, so a client can tell
"fix your configuration" from "you were cut off".
"""
from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission

from exhibits.api.memo import Memo
from exhibits.models import ApiKey
from exhibits.models.api import TOKEN_TAG

# last_used_at is for humans deciding which keys to revoke; minute precision saves a write
# per request on the hot path.
LAST_USED_PRECISION = timedelta(seconds=60)


# prefix -> ApiKey row, per process, for API_KEY_CACHE_SECONDS: saves a query per request on the
# hot path. A revocation reaches other processes within that time (this one at once: post_save).
_keys = Memo(size=1024)


def key_cache_seconds() -> float:
    return float(getattr(settings, "API_KEY_CACHE_SECONDS", 5))


@receiver(post_save, sender=ApiKey)
@receiver(post_delete, sender=ApiKey)
def _forget_key(sender, instance, **kwargs):
    _keys.forget(instance.prefix)


class ApiKeyAuthentication(BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        token = self._token(request)
        if token is None:
            return None  # HasApiKey then answers 401
        parts = token.split("_", 2)
        if len(parts) != 3 or parts[0] != TOKEN_TAG or not parts[1].isalnum():
            raise exceptions.AuthenticationFailed("malformed API key")
        key = _keys.get_or_compute(parts[1], lambda: ApiKey.objects.filter(prefix=parts[1]).first(), ttl=key_cache_seconds())
        if key is None or not key.matches(token):
            raise exceptions.AuthenticationFailed("unknown API key")
        if not key.usable:
            raise exceptions.PermissionDenied("this API key has been revoked")
        self._touch(key)
        return (AnonymousUser(), key)  # a key is not a person: no Django user behind it

    def authenticate_header(self, request):
        return f'{self.keyword} realm="api"'

    @staticmethod
    def _token(request) -> str | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if header:
            scheme, _, value = header.partition(" ")
            if scheme.lower() != "bearer" or not value.strip():
                raise exceptions.AuthenticationFailed("use 'Authorization: Bearer <API key>'")
            return value.strip()
        value = request.META.get("HTTP_X_API_KEY", "").strip()
        return value or None

    @staticmethod
    def _touch(key: ApiKey) -> None:
        now = timezone.now()
        if key.last_used_at is None or now - key.last_used_at > LAST_USED_PRECISION:
            ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
            key.last_used_at = now


class HasApiKey(BasePermission):
    message = "an API key is required: send 'Authorization: Bearer <API key>'"

    def has_permission(self, request, view) -> bool:
        return isinstance(request.auth, ApiKey)


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "exhibits.api.auth.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "API key created in the admin (gk_…)"}
