"""Admin for API keys (token shown once, at creation) and a read-only view of speech tasks.

Registered from ``exhibits.admin`` (``import exhibits.api.admin``) so Django's admin
autodiscovery, which only imports ``<app>.admin``, picks it up.
"""
from __future__ import annotations

from django.contrib import admin, messages
from django.utils import timezone

from exhibits.models import ApiKey, SpeechTask


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ("name", "prefix", "is_active", "revoked_at", "rate_limit_per_minute", "created_at", "last_used_at")
    list_filter = ("is_active",)
    search_fields = ("name", "prefix")
    readonly_fields = ("prefix", "revoked_at", "created_at", "last_used_at")
    fields = ("name", "is_active", "rate_limit_per_minute", "prefix", "revoked_at", "created_at", "last_used_at")
    actions = ("revoke_keys",)

    def save_model(self, request, obj, form, change):
        token = None if change else obj.assign_new_token()
        if change and not obj.is_active and obj.revoked_at is None:
            obj.revoked_at = timezone.now()
        super().save_model(request, obj, form, change)
        if token:
            # Only the hash is stored: this message is the one and only time the token exists.
            messages.warning(request, f"API key token (copy it now, it will not be shown again): {token}")

    @admin.action(description="Revoke selected keys")
    def revoke_keys(self, request, queryset):
        for key in queryset.filter(is_active=True):
            key.revoke()
        messages.success(request, "revoked")


@admin.register(SpeechTask)
class SpeechTaskAdmin(admin.ModelAdmin):
    list_display = ("id", "api_key", "state", "cache_hit", "duration", "created_at", "expires_at")
    list_filter = ("state",)
    readonly_fields = [f.name for f in SpeechTask._meta.fields]

    def has_add_permission(self, request):
        return False
