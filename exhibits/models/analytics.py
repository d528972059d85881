"""Listening analytics: raw listening events from visitors' phones and their daily roll-up.

Privacy first: a row holds no address, no user agent, no cookie. ``listen`` is a random id the
exhibit page makes up for one page view (never stored on the phone), so the events of one
listening session can be told apart and counted once; it links to nothing else.
Rows are written by ``exhibits.analytics`` only.
"""
from __future__ import annotations

from django.db import models

from exhibits.models.catalog import Exhibit


class ListeningKind(models.TextChoices):
    PLAY = "play", "播放 play"
    PAUSE = "pause", "暂停 pause"
    SEEK = "seek", "跳转 seek"
    PROGRESS = "progress", "到达句子 sentence reached"
    END = "end", "听完 end"


class ListeningEvent(models.Model):
    """One beacon event, kept LISTENING_RAW_RETENTION_DAYS for the roll-up, then dropped."""

    listen = models.CharField(max_length=32)  # random per page view, see module docstring
    seq = models.PositiveIntegerField()  # the page's event counter: (listen, seq) repeats only in a duplicate beacon
    exhibit = models.ForeignKey(Exhibit, on_delete=models.CASCADE, related_name="+")
    rendition_id = models.PositiveIntegerField(null=True)  # the audio the page played (not a FK: renditions get cleaned up)
    kind = models.CharField(max_length=8, choices=ListeningKind.choices)
    position = models.FloatField()  # seconds into the audio
    sentence = models.PositiveSmallIntegerField(null=True)  # index into the rendition's clause timings
    listened = models.FloatField(default=0.0)  # seconds actually played so far in this listen
    received_at = models.DateTimeField(db_index=True)
    rolled_up = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["listen", "seq"], name="listening_event_once")]
        indexes = [models.Index(fields=["rolled_up", "received_at"], name="listening_event_pending")]
        verbose_name = "收听事件 listening event"


class DailyListening(models.Model):
    """Per day, exhibit and rendition: what the dashboard draws. Kept after raw events go."""

    day = models.DateField()
    exhibit = models.ForeignKey(Exhibit, on_delete=models.CASCADE, related_name="+")
    rendition_id = models.PositiveIntegerField(null=True)
    plays = models.PositiveIntegerField(default=0)  # listens with at least one play
    completions = models.PositiveIntegerField(default=0)  # listens that reached the end
    listen_seconds = models.JSONField(default=dict)  # {"whole seconds listened": listens}, for medians
    reached = models.JSONField(default=list)  # [listens that reached sentence 0, sentence 1, ...]

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", "exhibit", "rendition_id"], name="daily_listening_once",
                                               nulls_distinct=False)]
        ordering = ["-day", "exhibit_id"]
        verbose_name = "收听统计 listening statistics"
        verbose_name_plural = "收听统计 listening statistics"
