"""The narration studio's live helpers on the exhibit page (issue #15), as JSON for static JS:

    POST studio/check/    script, emotion      -> {"ok", "error": {line, column, message}, "sentences", "hints"}
    POST studio/preview/  sentence, voice, emotion -> {"state": "queued"|"ready", "audio": {url, …}}
    GET  studio/status/?ids=…                  -> exhibits.admin.status

``check`` runs the same front end as saving (``services.check_script``), so the editor shows the
library's line/column message before the curator saves. ``preview`` never synthesises in the web
process: it sends ``exhibits.preview_sentence`` to the worker and the page asks again (same POST)
until the worker's answer file exists. Everything here needs the exhibit change permission, the
curator's, and changes no rows.
"""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from celery import current_app
from django.conf import settings
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import JsonResponse
from django.urls import path
from django.views.decorators.http import require_GET, require_POST

from exhibits import services
from exhibits.admin.hints import reading_hints
from exhibits.admin.status import status_view
from exhibits.forms import EMOTION_CHOICES
from exhibits.models.narration import lexicon_for_script

admin.site.site_header = "展品讲解工作室 · Narration studio"
admin.site.site_title = "展品讲解工作室 Narration studio"
admin.site.index_title = "工作台 Studio"

PREVIEW_TASK = "exhibits.preview_sentence"  # exhibits.render.tasks; sent by name like renders
PREVIEW_DIR = "preview"  # under MEDIA_ROOT
MAX_SCRIPT = 20000
MAX_SENTENCE = 400
_SENTENCE_END = re.compile(r"[。！？!?；;…]+[”’」』）)]*|\n+")
_TAG = re.compile(r"\[(/?)([A-Za-z]+)(?:\s+[^\]]*)?\]")
_NOT_EMOTIONS = {"pause"}


def split_sentences(script: str) -> list[dict]:
    """The script's sentences as stand-alone markup: an emotion span open across a sentence end
    is closed at the end and re-opened at the start of the next, so each one parses alone."""
    sentences, open_tags, start = [], [], 0
    ends = [m.end() for m in _SENTENCE_END.finditer(script)]
    if not ends or ends[-1] < len(script):
        ends.append(len(script))
    for end in ends:
        piece = script[start:end]
        prefix = "".join(tag for _name, tag in open_tags)
        for match in _TAG.finditer(piece):
            closing, name = match.group(1), match.group(2).lower()
            if name in _NOT_EMOTIONS:
                continue
            if closing and open_tags and open_tags[-1][0] == name:
                open_tags.pop()
            elif not closing:
                open_tags.append((name, match.group(0)))
        suffix = "".join(f"[/{name}]" for name, _tag in reversed(open_tags))
        if piece.strip() and _TAG.sub("", piece).strip():
            sentences.append({"start": start, "end": end, "text": piece.strip(), "markup": prefix + piece.strip() + suffix})
        start = end
    return sentences


def _emotion(request) -> str:
    emotion = request.POST.get("emotion") or "neutral"
    if emotion not in dict(EMOTION_CHOICES):
        raise PermissionDenied  # the form offers only these
    return emotion


def check_view(model_admin, request):
    from synthesis.markup import ScriptError

    script = request.POST.get("script", "").replace("\r\n", "\n")[:MAX_SCRIPT]
    emotion = _emotion(request)
    if not script.strip():
        return JsonResponse({"ok": True, "error": None, "sentences": [], "hints": []})
    try:
        services.check_script(script, emotion)
    except ScriptError as exc:
        return JsonResponse({"ok": False, "error": {"line": exc.line, "column": exc.column, "message": str(exc)},
                             "sentences": [], "hints": []})
    except ValueError as exc:
        return JsonResponse({"ok": False, "error": {"line": None, "column": None, "message": str(exc)}, "sentences": [],
                             "hints": []})
    return JsonResponse({"ok": True, "error": None, "sentences": split_sentences(script),
                         "hints": reading_hints(script, lexicon_for_script(script))})


def preview_id(sentence: str, voice: str, emotion: str) -> str:
    material = json.dumps([sentence, voice, emotion, settings.SYNTHESIS_ENGINE], ensure_ascii=False)
    return hashlib.sha256(material.encode()).hexdigest()[:32]


def answer_path(preview: str) -> Path:
    """Written by the worker when the sentence's audio is ready (see render.tasks.preview_sentence)."""
    return Path(settings.MEDIA_ROOT) / PREVIEW_DIR / f"{preview}.json"


def preview_view(model_admin, request):
    from guide_site.celery import queue_for_engine

    sentence = request.POST.get("sentence", "").strip()[:MAX_SENTENCE]
    voice, emotion = request.POST.get("voice", ""), _emotion(request)
    try:
        services.check_script(sentence, emotion)
    except ValueError as exc:  # ScriptError included: the editor shows it like a check error
        return JsonResponse({"state": "failed", "error": str(exc)})
    preview = preview_id(sentence, voice, emotion)
    answer = answer_path(preview)
    if answer.is_file():
        return JsonResponse({"state": "ready", "id": preview, **json.loads(answer.read_text(encoding="utf-8"))})
    if request.POST.get("send", "1") == "1":
        current_app.send_task(PREVIEW_TASK, args=(sentence, voice, emotion, preview),
                              queue=queue_for_engine(settings.SYNTHESIS_ENGINE))
    return JsonResponse({"state": "queued", "id": preview, "poll_ms": 300})


def urls(model_admin) -> list:
    """Added to ExhibitAdmin.get_urls (before its catch-all patterns)."""
    view = model_admin.admin_site.admin_view

    def guarded(handler, method, permission):
        def wrapped(request):
            if not getattr(model_admin, permission)(request):
                raise PermissionDenied
            return handler(model_admin, request)
        return view(method(wrapped))

    from exhibits.admin.history import urls as history_urls

    return [
        path("studio/status/", guarded(status_view, require_GET, "has_view_permission"), name="exhibits_studio_status"),
        path("studio/check/", guarded(check_view, require_POST, "has_change_permission"), name="exhibits_studio_check"),
        path("studio/preview/", guarded(preview_view, require_POST, "has_change_permission"), name="exhibits_studio_preview"),
        *history_urls(model_admin),
    ]
