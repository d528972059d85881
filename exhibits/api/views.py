"""Thin views: validate with a serializer, do the work in ``speech``, answer."""
from __future__ import annotations

from django.db import transaction
from django.db.models import Prefetch
from django.http import FileResponse, Http404
from django.views.decorators.csrf import csrf_exempt
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import renderers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from exhibits.api import relay, speech
from exhibits.api.auth import ApiKeyAuthentication, HasApiKey
from exhibits.api.errors import ApiError, error_response, exception_handler
from exhibits.api.parsers import LimitedJSONParser
from exhibits.api.serializers import (
    ErrorSerializer,
    ExhibitSerializer,
    TaskCreatedSerializer,
    TaskSerializer,
    TtsRequestSerializer,
    TtsResultSerializer,
)
from exhibits.api.throttling import ApiRateThrottle
from exhibits.models import Exhibit, Narration, SpeechTask
from exhibits.render import lock as render_lock
from exhibits.ops import moderation

MAX_CODE = 2**31 - 1  # PositiveIntegerField
KEYED_ERRORS = {code: ErrorSerializer for code in (401, 403, 429)}
POST_ERRORS = {**KEYED_ERRORS, **{code: ErrorSerializer for code in (400, 406, 413, 415, 422, 503)}}


class AudioRenderer(renderers.BaseRenderer):
    """Lets content negotiation pick audio; the view answers with the file itself."""

    media_type = "audio/*"
    format = "audio"

    def render(self, data, accepted_media_type=None, renderer_context=None):  # pragma: no cover
        raise NotImplementedError("audio responses are files, never rendered data")


class ApiView(APIView):
    """Keyed, rate-limited, JSON in and out, one error shape."""

    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [HasApiKey]
    throttle_classes = [ApiRateThrottle]
    parser_classes = [LimitedJSONParser]
    renderer_classes = [renderers.JSONRenderer]
    metadata_class = None  # no OPTIONS self-description (the schema is at /api/schema/): 405

    def get_exception_handler(self):
        return exception_handler


def validated_request(request) -> dict:
    """Serializer checks, then moderation (the markup is ``speech.check_script``'s job); nothing written."""
    serializer = TtsRequestSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    params = dict(serializer.validated_data)
    try:
        moderation.check(params["text"])
    except moderation.ModerationError as exc:
        raise ApiError("moderation_rejected", {"term": exc.term, "message": str(exc)}, 422) from exc
    return params


class TtsView(ApiView):
    # Audio first: a plain `Accept: */*` client gets the bytes; JSON only when asked for.
    renderer_classes = [AudioRenderer, renderers.JSONRenderer]

    @extend_schema(
        request=TtsRequestSerializer,
        responses={
            (200, "audio/mpeg"): OpenApiResponse(OpenApiTypes.BINARY, description="MP3 (format=mp3)"),
            (200, "audio/wav"): OpenApiResponse(OpenApiTypes.BINARY, description="WAV (format=wav)"),
            (200, "application/json"): TtsResultSerializer,
            **POST_ERRORS,
        },
        summary="Text to speech, synchronously",
        description="Audio bytes by default (Content-Type audio/mpeg or audio/wav per `format`); with "
        "`Accept: application/json` the audio URL, duration, cache flag, transcript and timings instead. "
        "Markup errors answer 400 `invalid_markup` with the line and column.",
    )
    def post(self, request):
        params = validated_request(request)
        config = speech.render_config(params)
        if relay.enabled():  # the voice lives in the render worker, never in a web process
            rendering = self.cached_here(params, config) or relay.render_in_worker(params, request.auth.prefix)
        else:
            rendering = render_lock.render_and_mark_used(params["text"], config, speech.check_script(params["text"], config))
        fmt = params["format"]
        if request.accepted_renderer.format == "json":
            return Response(speech.result_body(request, rendering, fmt))
        response = FileResponse(open(rendering.paths[fmt], "rb"), content_type=speech.CONTENT_TYPES[fmt])
        response["Content-Disposition"] = f'inline; filename="{rendering.cache_key}.{fmt}"'
        response["X-Audio-Duration"] = f"{rendering.duration:.3f}"
        response["X-Cache-Hit"] = "1" if rendering.cached else "0"
        return response


    @staticmethod
    def cached_here(params: dict, config):
        """A cache hit answered by this process (the worker published its model version); on a
        miss, or before any worker said its version, the markup is checked and None returned."""
        version = relay.known_model_version()
        if version is None:
            speech.check_markup(params["text"], config)
            return None
        return speech.cached(config, speech.check_script(params["text"], config, model_version=version))


class TtsAsyncView(ApiView):
    @extend_schema(
        request=TtsRequestSerializer,
        responses={202: TaskCreatedSerializer, **POST_ERRORS},
        summary="Text to speech in the background",
        description="Validates like /api/tts, then queues the work; poll `status_url`. Results expire "
        "API_RESULT_TTL_SECONDS after they are ready.",
    )
    def post(self, request):
        from exhibits.api.tasks import enqueue_speech_task

        params = validated_request(request)
        if relay.enabled():
            speech.check_markup(params["text"], speech.render_config(params))
        else:
            speech.check_script(params["text"], speech.render_config(params))
        with transaction.atomic():
            task = SpeechTask.objects.create(api_key=request.auth, params=params)
            # After commit: a worker must never look for a row it cannot see yet.
            transaction.on_commit(lambda: enqueue_speech_task(task.pk))
        status_url = request.build_absolute_uri(reverse("api-task", args=[task.pk]))
        return Response({"task_id": str(task.pk), "status_url": status_url}, status=202)


def task_body(request, task: SpeechTask) -> dict:
    ready = task.state == SpeechTask.State.READY and not task.expired
    result = None
    if ready:
        result = {
            "audio_url": speech.media_url(request, task.audio_path),
            "format": task.params.get("format", "mp3"),
            "duration": task.duration,
            "cache_hit": bool(task.cache_hit),
        }
    return {
        "task_id": str(task.pk),
        "state": "expired" if task.expired and task.state == SpeechTask.State.READY else task.state,
        "progress": task.progress,
        "created_at": task.created_at,
        "finished_at": task.finished_at,
        "expires_at": task.expires_at,
        "result": result,
        "error": task.error,
    }


class TaskView(ApiView):
    @extend_schema(
        responses={200: TaskSerializer, 404: ErrorSerializer, **KEYED_ERRORS},
        summary="State of a speech task",
        description="Only the key that created a task can see it; others get 404.",
    )
    def get(self, request, task_id):
        # Another key's task is "not found": task ids are capabilities, not public records.
        task = get_object_or_404(SpeechTask, pk=task_id, api_key=request.auth)
        return Response(task_body(request, task))


def published_exhibits():
    narrations = Narration.objects.select_related("rendition").order_by("language")
    return (
        Exhibit.objects.filter(status=Exhibit.Status.PUBLISHED)
        .select_related("gallery")
        .prefetch_related(Prefetch("narrations", queryset=narrations))
    )


PUBLIC_READ = (
    "No key needed: published exhibits are public anyway (their QR codes lead to them) and kiosks "
    "should not hold secrets. Rate-limited per client IP (API_PUBLIC_RATE_LIMIT per minute)."
)


class PublicReadView(ApiView):

    authentication_classes = []
    permission_classes = [AllowAny]


class ExhibitListView(PublicReadView):
    @extend_schema(
        responses={200: ExhibitSerializer(many=True), 429: ErrorSerializer},
        summary="Published exhibits",
        description=PUBLIC_READ,
        auth=[],
    )
    def get(self, request):
        return Response(ExhibitSerializer(published_exhibits(), many=True, context={"request": request}).data)


class ExhibitDetailView(PublicReadView):
    @extend_schema(
        responses={200: ExhibitSerializer, 404: ErrorSerializer, 429: ErrorSerializer},
        summary="One published exhibit",
        description=PUBLIC_READ,
        auth=[],
    )
    def get(self, request, code: int):
        if code > MAX_CODE:  # beyond the column's range: the database would refuse the query
            raise Http404
        exhibit = get_object_or_404(published_exhibits(), code=code)
        return Response(ExhibitSerializer(exhibit, context={"request": request}).data)


@csrf_exempt  # any method may land here; CSRF would turn a POST's 404 into a confusing 403
def not_found(request, *args, **kwargs):
    return error_response("not_found", "no such API endpoint", 404)
