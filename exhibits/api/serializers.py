"""Request validation and response shapes (the latter mostly for the OpenAPI schema)."""
from __future__ import annotations

from django.conf import settings
from django.urls import NoReverseMatch
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from exhibits.api import relay, speech
from exhibits.api.errors import ApiError
from exhibits.models import Exhibit
from synthesis.clause import EMOTIONS

SAMPLE_RATES = (16000, 22050, 24000, 32000, 44100, 48000)  # what both WAV and MP3 can carry


# JSON types are checked strictly: DRF would otherwise take 0 for a text or "1.5" for a speed,
# and a client that sends the wrong type has a bug it should hear about.
class StrictCharField(serializers.CharField):
    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictFloatField(serializers.FloatField):
    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, (int, float)):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictIntChoiceField(serializers.ChoiceField):
    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid_choice", input=data)
        return super().to_internal_value(data)


class TtsRequestSerializer(serializers.Serializer):
    text = StrictCharField(help_text="Mandarin text; may use the script markup ([happy]…[/happy], [pause 500ms], {字|zi4})")
    voice = StrictCharField(required=False, allow_blank=True, default="", max_length=40, help_text="empty = default voice")
    emotion = serializers.ChoiceField(choices=EMOTIONS, default="neutral")
    intensity = StrictFloatField(min_value=0.1, max_value=2.0, default=1.0)
    speed = StrictFloatField(min_value=0.5, max_value=2.0, default=1.0, help_text="1.25 = a quarter faster")
    format = serializers.ChoiceField(choices=("mp3", "wav"), default="mp3")
    sample_rate = StrictIntChoiceField(choices=SAMPLE_RATES, required=False, help_text="Hz; default AUDIO_SAMPLE_RATE")

    def validate_text(self, text: str) -> str:
        limit = settings.API_MAX_TEXT_CHARS
        if len(text) > limit:
            # 413 with its own code: the client must shorten or split, not fix a field.
            raise ApiError("text_too_long", f"text has {len(text)} characters; the limit is {limit}", 413)
        return text

    def validate(self, attrs: dict) -> dict:
        if not relay.enabled():  # else the worker checks: only it has the voice loaded
            speech.check_voice(attrs.get("voice", ""), attrs["emotion"])
        attrs.setdefault("sample_rate", settings.AUDIO_SAMPLE_RATE)
        return attrs


class TimingSerializer(serializers.Serializer):
    text = serializers.CharField()
    start = serializers.IntegerField(help_text="offset of the clause in the transcript")
    end = serializers.IntegerField()
    t0 = serializers.FloatField(help_text="seconds")
    t1 = serializers.FloatField()
    chars = serializers.ListField(child=serializers.ListField(child=serializers.FloatField()))


class TtsResultSerializer(serializers.Serializer):
    audio_url = serializers.URLField()
    format = serializers.ChoiceField(choices=("mp3", "wav"))
    duration = serializers.FloatField(help_text="seconds")
    sample_rate = serializers.IntegerField()
    cache_hit = serializers.BooleanField()
    cache_key = serializers.CharField()
    transcript = serializers.CharField(allow_blank=True)
    timings = TimingSerializer(many=True)
    warnings = serializers.ListField(child=serializers.CharField())


class TaskCreatedSerializer(serializers.Serializer):
    task_id = serializers.UUIDField()
    status_url = serializers.URLField()


class TaskResultSerializer(serializers.Serializer):
    audio_url = serializers.URLField()
    format = serializers.CharField()
    duration = serializers.FloatField()
    cache_hit = serializers.BooleanField()


class TaskSerializer(serializers.Serializer):
    task_id = serializers.UUIDField()
    state = serializers.ChoiceField(choices=("queued", "running", "ready", "failed", "expired"))
    progress = serializers.FloatField(help_text="0 to 1")
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    expires_at = serializers.DateTimeField()
    result = TaskResultSerializer(allow_null=True)
    error = serializers.CharField(allow_blank=True)


class ErrorSerializer(serializers.Serializer):
    error = serializers.CharField(help_text="machine-readable code, e.g. invalid_markup, rate_limited")
    detail = serializers.JSONField(help_text="a message, or per-field messages")


class NarrationAudioSerializer(serializers.Serializer):
    language = serializers.CharField()
    audio_url = serializers.URLField(allow_null=True)
    wav_url = serializers.URLField(allow_null=True)
    duration = serializers.FloatField()
    transcript = serializers.CharField(allow_blank=True)
    timings = TimingSerializer(many=True)
    current = serializers.BooleanField(help_text="false while a newer script version is still rendering")


class ExhibitSerializer(serializers.ModelSerializer):
    gallery = serializers.CharField(source="gallery.name")
    page_url = serializers.SerializerMethodField()
    image_url = serializers.SerializerMethodField()
    narrations = serializers.SerializerMethodField()

    class Meta:
        model = Exhibit
        fields = ["code", "title", "gallery", "description", "page_url", "image_url", "narrations"]

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_page_url(self, exhibit) -> str | None:
        try:
            return self.context["request"].build_absolute_uri(exhibit.get_absolute_url())
        except NoReverseMatch:  # visitor pages not installed (API-only deployment)
            return None

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_image_url(self, exhibit) -> str | None:
        return self.context["request"].build_absolute_uri(exhibit.image.url) if exhibit.image else None

    @extend_schema_field(NarrationAudioSerializer(many=True))
    def get_narrations(self, exhibit) -> list[dict]:
        """Only what visitors hear: narrations with published audio."""
        request = self.context["request"]
        out = []
        for narration in exhibit.narrations.all():
            rendition = narration.rendition
            if rendition is None:
                continue
            out.append(
                {
                    "language": narration.language,
                    "audio_url": speech.media_url(request, rendition.mp3) if rendition.mp3 else None,
                    "wav_url": speech.media_url(request, rendition.wav) if rendition.wav else None,
                    "duration": rendition.duration,
                    "transcript": rendition.transcript,
                    "timings": rendition.timings,
                    "current": narration.audio_is_current,
                }
            )
        return out
