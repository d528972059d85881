"""Every saved version of a narration's text and settings, with who saved it and when.

Rows are written by ``exhibits.services`` whenever a narration gets a new version; the studio's
history page lists them, diffs two of them and restores one (as a new version, through services).
"""
from __future__ import annotations

from django.conf import settings
from django.db import models

from exhibits.models.narration import Narration


class NarrationVersion(models.Model):
    narration = models.ForeignKey(Narration, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField("版本 version")
    script = models.TextField("讲解词 script")
    voice = models.CharField("声音 voice", max_length=40, blank=True)
    emotion = models.CharField("默认情绪 default emotion", max_length=20, default="neutral")
    saved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                 verbose_name="编辑者 saved by")
    saved_at = models.DateTimeField("保存于 saved at")

    class Meta:
        ordering = ["-version"]
        constraints = [models.UniqueConstraint(fields=["narration", "version"], name="one_row_per_narration_version")]
        verbose_name = "讲解版本 narration version"
        verbose_name_plural = "讲解版本 narration versions"

    def __str__(self) -> str:
        return f"{self.narration} v{self.version}"
