"""Speech API: the keys clients use and the asynchronous speech tasks they start."""
from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

TOKEN_TAG = "gk"  # tokens look like gk_<prefix>_<secret>: greppable in logs and secret scanners


def default_rate_limit() -> int:
    return int(getattr(settings, "API_DEFAULT_RATE_LIMIT", 60))


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class ApiKey(models.Model):
    """Only a SHA-256 of the token is stored; the token itself is shown once, at creation."""

    name = models.CharField(max_length=100, help_text="who uses it, e.g. 'kiosk lobby' or 'partner app'")
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    secret_hash = models.CharField(max_length=64, editable=False)
    is_active = models.BooleanField("active", default=True)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    rate_limit_per_minute = models.PositiveIntegerField(default=default_rate_limit)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "API 密钥 API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @classmethod
    def issue(cls, name: str, **fields) -> tuple["ApiKey", str]:
        """Create a key; returns it with the plain token (the only time the token exists)."""
        key = cls(name=name, **fields)
        token = key.assign_new_token()
        key.save()
        return key, token

    def assign_new_token(self) -> str:
        self.prefix = secrets.token_hex(4)
        token = f"{TOKEN_TAG}_{self.prefix}_{secrets.token_urlsafe(32)}"
        self.secret_hash = hash_token(token)
        return token

    def matches(self, token: str) -> bool:
        return hmac.compare_digest(self.secret_hash, hash_token(token))

    @property
    def usable(self) -> bool:
        return self.is_active and self.revoked_at is None

    def revoke(self) -> None:
        self.is_active = False
        self.revoked_at = self.revoked_at or timezone.now()
        self.save(update_fields=["is_active", "revoked_at"])


def result_ttl() -> timedelta:
    return timedelta(seconds=int(getattr(settings, "API_RESULT_TTL_SECONDS", 86400)))


class SpeechTask(models.Model):
    class State(models.TextChoices):
        QUEUED = "queued", "排队 queued"
        RUNNING = "running", "合成中 running"
        READY = "ready", "完成 ready"
        FAILED = "failed", "失败 failed"

    # A random UUID: the id is the capability to read the result, so it must not be guessable.
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    api_key = models.ForeignKey(ApiKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="tasks")
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED, db_index=True)
    progress = models.FloatField(default=0.0)
    params = models.JSONField(default=dict)  # the validated request: text, voice, emotion, format …
    cache_key = models.CharField(max_length=64, blank=True)
    audio_path = models.CharField(max_length=255, blank=True)  # relative to MEDIA_ROOT
    duration = models.FloatField(null=True, blank=True)
    cache_hit = models.BooleanField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "语音任务 speech task"

    def __str__(self) -> str:
        return f"speech task {self.id} {self.state}"

    def save(self, *args, **kwargs):
        if self.expires_at is None:
            self.expires_at = timezone.now() + result_ttl()
        super().save(*args, **kwargs)

    @property
    def expired(self) -> bool:
        return self.expires_at <= timezone.now()
