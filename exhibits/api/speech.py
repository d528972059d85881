"""The speech work behind the API, shared by the views and the Celery task.

Validation happens in full before anything is written or queued: markup errors, unknown voices
and out-of-range settings become 400s here, so a bad request leaves no file and no task row.
"""
from __future__ import annotations

import os
from pathlib import Path

from django.conf import settings

from exhibits.api.errors import ApiError
from exhibits.api.memo import Memo
from exhibits.models.narration import lexicon_for_script

CONTENT_TYPES = {"mp3": "audio/mpeg", "wav": "audio/wav"}


def engine():
    from synthesis.engines import EngineUnavailable, get_engine

    try:
        return get_engine(settings.SYNTHESIS_ENGINE)
    except EngineUnavailable as exc:
        raise ApiError("engine_unavailable", str(exc), 503) from exc


def check_voice(voice: str, emotion: str) -> None:
    """ApiError unless the engine has this voice with this emotion (loads the engine)."""
    info = voice_info(voice)
    if emotion not in info.emotions:
        raise ApiError("invalid_request", {"emotion": [f"voice {info.name} has no emotion {emotion!r}"]})


def voice_info(name: str):
    """The VoiceInfo for ``name`` ('' = the default voice); ApiError naming the choices if unknown."""
    eng = engine()
    wanted = name or settings.SYNTHESIS_VOICE or eng.default_voice  # as narrations default
    voices = eng.voices()
    for info in voices:
        if info.name == wanted:
            return info
    choices = ", ".join(v.name for v in voices)
    raise ApiError("invalid_request", {"voice": [f"unknown voice {name!r}; choose one of: {choices}"]})


def output_dir() -> Path:
    return Path(settings.MEDIA_ROOT) / settings.API_DIR


# text -> the curators' readings that apply to it. Seconds-stale at most (LEXICON_CACHE_SECONDS):
# a lexicon edit reaches API speech a moment later, and the hot path skips a table scan.
_lexicons = Memo(size=2048)
# (text, settings, lexicon) -> cache key. The key only changes with the engine's model or the
# shipped lexicon, i.e. with a new deployment (a new process), so entries never go stale.
_cache_keys = Memo(size=4096)


def lexicon_for(text: str) -> dict[str, str] | None:
    ttl = getattr(settings, "LEXICON_CACHE_SECONDS", 5)
    return _lexicons.get_or_compute(text, lambda: lexicon_for_script(text) or None, ttl=ttl)


def render_config(params: dict):
    from synthesis.pipeline import RenderConfig

    return RenderConfig(
        out_dir=output_dir(),
        engine=settings.SYNTHESIS_ENGINE,
        voice=params.get("voice") or settings.SYNTHESIS_VOICE,
        emotion=params.get("emotion", "neutral"),
        intensity=float(params.get("intensity", 1.0)),
        speed=float(params.get("speed", 1.0)),
        sample_rate=int(params.get("sample_rate", settings.AUDIO_SAMPLE_RATE)),
        formats=(params.get("format", "mp3"),),
        # The curators' readings apply to API speech too: a partner app must say 单于 like the guide.
        lexicon=lexicon_for(params["text"]),
        unit_cache_dir=Path(settings.MEDIA_ROOT) / settings.UNIT_CACHE_DIR,  # shared with narrations
    )


def check_script(text: str, config, model_version: str | None = None) -> str:
    """Run the front end only (no synthesis, no files); returns the cache key. Without
    ``model_version`` the engine is loaded to learn it."""
    from synthesis.markup import ScriptError
    from synthesis.pipeline import prepare

    memo_key = (text, config.engine, config.voice, config.emotion, config.intensity, config.speed, config.sample_rate,
                config.formats, tuple(sorted((config.lexicon or {}).items())), model_version)
    try:
        return _cache_keys.get_or_compute(memo_key, lambda: prepare(text, config, model_version)[1])
    except ScriptError as exc:
        raise ApiError("invalid_markup", script_error_detail(exc)) from exc
    except ValueError as exc:
        raise ApiError("invalid_request", str(exc)) from exc


def check_markup(text: str, config) -> None:
    """The front end only, for a web process that hands the rendering to a worker."""
    from synthesis.markup import ScriptError
    from synthesis.pipeline import check

    try:
        check(text, config)
    except ScriptError as exc:
        raise ApiError("invalid_markup", script_error_detail(exc)) from exc
    except ValueError as exc:
        raise ApiError("invalid_request", str(exc)) from exc


def script_error_detail(exc) -> dict:
    line, column = getattr(exc, "line", None), getattr(exc, "column", None)
    message = getattr(exc, "message", None) or str(exc)
    where = f"line {line}, column {column}: " if line is not None else ""
    return {"line": line, "column": column, "message": message, "text": f"{where}{message}"}


def cached(config, key: str):
    """The finished files for this key (their TTL restarted), or None."""
    from synthesis.pipeline import cached_rendering

    rendering = cached_rendering(config, key)
    try:
        for path in rendering.paths.values() if rendering else ():
            os.utime(path)
    except FileNotFoundError:  # removed by cleanup at this very moment
        return None
    return rendering


def media_path(rendering, fmt: str) -> str:
    """Path relative to MEDIA_ROOT (what task rows store and URLs are built from)."""
    return rendering.paths[fmt].relative_to(settings.MEDIA_ROOT).as_posix()  # out_dir is under it


def media_url(request, relative: str) -> str:
    return request.build_absolute_uri(f"{settings.MEDIA_URL}{relative}")


def result_body(request, rendering, fmt: str) -> dict:
    return {
        "audio_url": media_url(request, media_path(rendering, fmt)),
        "format": fmt,
        "duration": rendering.duration,
        "sample_rate": rendering.sample_rate,
        "cache_hit": rendering.cached,
        "cache_key": rendering.cache_key,
        "transcript": rendering.transcript,
        "timings": rendering.timings,
        "warnings": list(rendering.warnings),
    }
