"""The spoken side: narration scripts, their rendered audio and the jobs that render it.

State changes go through ``exhibits.services``; these classes only describe rows and the
read-side questions about them (e.g. "what state is this narration's audio in?").
"""
from __future__ import annotations

import os
import socket
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Case, F, OuterRef, Q, Subquery, Value, When

from exhibits.models.catalog import Exhibit


class Rendition(models.Model):
    """Audio files for one cache key; identical requests share one row and one set of files."""

    cache_key = models.CharField("缓存键 cache key", max_length=64, unique=True)
    mp3 = models.CharField("MP3 文件 mp3 file", max_length=255, blank=True)  # path relative to MEDIA_ROOT
    wav = models.CharField("WAV 文件 wav file", max_length=255, blank=True)
    duration = models.FloatField("时长（秒） duration (s)")
    sample_rate = models.PositiveIntegerField("采样率 sample rate")
    transcript = models.TextField("文本 transcript", blank=True)
    timings = models.JSONField("时间轴 timings", default=list)  # per clause: transcript span, t0/t1, char times
    warnings = models.JSONField("警告 warnings", default=list)
    engine = models.CharField("引擎 engine", max_length=40)
    model_version = models.CharField("模型版本 model version", max_length=80)
    created_at = models.DateTimeField("创建于 created", auto_now_add=True)

    class Meta:
        verbose_name = "音频 rendition"

    def __str__(self) -> str:
        return f"{self.cache_key[:10]} ({self.duration:.1f} s)"

    @property
    def files(self) -> list[str]:
        return [p for p in (self.mp3, self.wav) if p]


class RenderState(models.TextChoices):
    """What a curator sees for a narration's audio (derived, never stored)."""

    MISSING = "missing", "未合成 not rendered"
    QUEUED = "queued", "排队 queued"
    RENDERING = "rendering", "合成中 rendering"
    READY = "ready", "完成 ready"
    FAILED = "failed", "失败 failed"
    STALE = "stale", "已过时 out of date"


class NarrationQuerySet(models.QuerySet):
    def with_render_state(self) -> "NarrationQuerySet":
        """Annotate ``render_state`` (a RenderState value), ``latest_job_error`` and
        ``latest_job_healable`` (a failure the sweeper retries by itself).

        Only jobs for the *current* version count: a failure of an older text is history.
        A live job wins over existing audio so a forced re-render shows as in progress.
        """
        latest = RenderJob.objects.filter(narration=OuterRef("pk"), version=OuterRef("version")).order_by("-id")
        has_current_audio = Q(rendition__isnull=False, rendition_version=F("version"))
        return self.annotate(
            latest_job_state=Subquery(latest.values("state")[:1]),
            latest_job_error=Subquery(latest.values("error")[:1]),
            latest_job_healable=Subquery(latest.values("healable")[:1]),
        ).annotate(
            render_state=Case(
                When(latest_job_state=RenderJob.State.QUEUED, then=Value(RenderState.QUEUED)),
                When(latest_job_state=RenderJob.State.RENDERING, then=Value(RenderState.RENDERING)),
                When(has_current_audio, then=Value(RenderState.READY)),
                When(latest_job_state=RenderJob.State.FAILED, then=Value(RenderState.FAILED)),
                When(rendition__isnull=False, then=Value(RenderState.STALE)),
                default=Value(RenderState.MISSING),
                output_field=models.CharField(),
            )
        )

    def needing_audio(self) -> "NarrationQuerySet":
        """Narrations whose current version has no published audio."""
        return self.exclude(rendition__isnull=False, rendition_version=F("version"))


class Narration(models.Model):
    exhibit = models.ForeignKey(Exhibit, on_delete=models.CASCADE, related_name="narrations")
    language = models.CharField("语言 language", max_length=10, default="zh", choices=[("zh", "中文 Mandarin")])
    voice = models.CharField("声音 voice", max_length=40, blank=True, help_text="留空 = 引擎默认声音 / empty = the engine's default voice")
    emotion = models.CharField("默认情绪 default emotion", max_length=20, default="neutral")
    script = models.TextField("讲解词 script")
    # Bumped on every change to script or settings; a render is only published for the current one.
    version = models.PositiveIntegerField("版本 version", default=1)
    edited_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  verbose_name="编辑者 edited by")
    edited_at = models.DateTimeField("编辑于 edited at", null=True, blank=True)
    # The audio visitors hear, and the version it was rendered from (older = "out of date").
    rendition = models.ForeignKey(Rendition, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    rendition_version = models.PositiveIntegerField(null=True, blank=True)

    objects = NarrationQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["exhibit", "language"], name="one_narration_per_language")]
        verbose_name = "讲解 narration"

    def __str__(self) -> str:
        return f"{self.exhibit} [{self.language} v{self.version}]"

    @property
    def audio_is_current(self) -> bool:
        return self.rendition_id is not None and self.rendition_version == self.version


class RenderJob(models.Model):
    class State(models.TextChoices):
        QUEUED = "queued", "排队 queued"
        RENDERING = "rendering", "合成中 rendering"
        READY = "ready", "完成 ready"
        FAILED = "failed", "失败 failed"
        SUPERSEDED = "superseded", "已过时 superseded"

    LIVE_STATES = (State.QUEUED, State.RENDERING)
    DONE_STATES = (State.READY, State.FAILED, State.SUPERSEDED)

    narration = models.ForeignKey(Narration, on_delete=models.CASCADE, related_name="jobs", verbose_name="讲解 narration")
    version = models.PositiveIntegerField("版本 version")
    state = models.CharField("状态 state", max_length=12, choices=State.choices, default=State.QUEUED, db_index=True)
    attempts = models.PositiveIntegerField("尝试次数 attempts", default=0)
    error = models.TextField("错误 error", blank=True)
    rendition = models.ForeignKey(Rendition, null=True, blank=True, on_delete=models.SET_NULL, related_name="jobs",
                                  verbose_name="音频 rendition")
    reused = models.BooleanField("复用缓存 reused", default=False)  # ready without synthesis: the cache key existed
    # Sentences in the text (set when claimed): the studio shows progress against it.
    units_total = models.PositiveIntegerField("句数 sentences", default=0)
    created_at = models.DateTimeField("创建于 created", auto_now_add=True)
    # When the broker last accepted a message for this job; NULL = never (broker was down).
    # The sweeper re-sends jobs never sent, or sent so long ago that the message must be lost.
    sent_at = models.DateTimeField("发送于 sent", null=True, blank=True)
    started_at = models.DateTimeField("开始于 started", null=True, blank=True)
    # Renewed every RENDER_HEARTBEAT_SECONDS by the worker rendering the job: a "rendering" job
    # whose heartbeat is older than RENDER_RUNNING_STALE_SECONDS lost its worker and is re-sent.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # Set at the first healable error (disk, permissions, database, broker): retries go on with
    # backoff until then; after it the job fails with ``healable`` and the sweeper starts anew.
    heal_until = models.DateTimeField(null=True, blank=True)
    healable = models.BooleanField(default=False)  # a failure the sweeper retries by itself
    # Claims that found the job still "rendering" with a dead heartbeat: its worker was killed.
    lost_workers = models.PositiveIntegerField(default=0)
    # "<host>:<pid>" of the process that claimed it last: on that host a redelivery can tell at
    # once that the process is gone (a pool process killed by the OOM killer, say).
    claimed_by = models.CharField(max_length=120, blank=True)
    finished_at = models.DateTimeField("完成于 finished", null=True, blank=True)
    updated_at = models.DateTimeField("更新于 updated", auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["narration", "version"])]
        constraints = [
            # Two live jobs for one text would render it twice; services reuse the live one.
            models.UniqueConstraint(
                fields=["narration", "version"],
                condition=Q(state__in=["queued", "rendering"]),
                name="one_live_job_per_version",
            )
        ]
        verbose_name = "合成任务 render job"

    def __str__(self) -> str:
        return f"job {self.pk} {self.narration_id} v{self.version} {self.state}"

    @property
    def is_live(self) -> bool:
        return self.state in self.LIVE_STATES

    def heartbeat_is_fresh(self, now) -> bool:
        """A worker is rendering this job right now (it beat within RENDER_RUNNING_STALE_SECONDS)."""
        beat = self.heartbeat_at or self.started_at
        return beat is not None and beat >= now - timedelta(seconds=settings.RENDER_RUNNING_STALE_SECONDS)

    def claimer_is_gone(self) -> bool:
        """The claiming process ran on this host and no longer exists (no need to wait for its
        heartbeat to go stale). False when unknown: another host, or no claim recorded."""
        host, _, pid = self.claimed_by.rpartition(":")
        if host != socket.gethostname() or not pid.isdigit():
            return False
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return True
        except PermissionError:  # exists, another user's
            return False
        return False

    def looks_dead(self, now, send_grace: timedelta) -> bool:
        """Live by its state but nobody is working on it: its message must be sent again.

        Queued: never accepted by the broker (it was down; younger than ``send_grace`` it may
        still be in its on_commit send), or not claimed RENDER_QUEUED_STALE_SECONDS after it was
        due (``sent_at`` is when the message was sent, or when a retry's countdown ends).
        Rendering: its worker stopped beating, or (seen from its own host) its process is gone.
        """
        if self.state == self.State.QUEUED:
            if self.sent_at is None:
                return self.created_at < now - send_grace
            return self.sent_at < now - timedelta(seconds=settings.RENDER_QUEUED_STALE_SECONDS)
        return self.state == self.State.RENDERING and (not self.heartbeat_is_fresh(now) or self.claimer_is_gone())


class LexiconEntry(models.Model):
    """A museum-specific reading; overrides the shipped lexicon, and changing it re-renders."""

    term = models.CharField("词语 term", max_length=40, unique=True)
    pinyin = models.CharField("拼音 pinyin", max_length=200, help_text="tone numbers, e.g. chan2 yu2")
    note = models.CharField("备注 note", max_length=200, blank=True)
    updated_at = models.DateTimeField("更新于 updated", auto_now=True)

    class Meta:
        ordering = ["term"]
        verbose_name = "读音词条 lexicon entry"
        verbose_name_plural = "读音词表 lexicon"

    def __str__(self) -> str:
        return f"{self.term} ({self.pinyin})"


def lexicon_for_script(script: str) -> dict[str, str]:
    """The curators' readings that can apply to this script (term occurs in it).

    Passing only these to the renderer keeps every other narration's cache key unchanged
    when the lexicon is edited, which is exactly the set ``do_save_lexicon_entry`` re-renders.
    """
    return {term: pinyin for term, pinyin in LexiconEntry.objects.values_list("term", "pinyin") if term in script}
