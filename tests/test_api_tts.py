"""POST /api/tts and /api/tts_async, GET /api/tasks/<id>: the happy paths and their edges."""
from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from exhibits.models import ApiKey, SpeechTask
from tests.api_support import NothingWritten, api, api_key, assert_error, media  # noqa: F401

SENTENCE = "欢迎来到青铜器展厅。"
pytestmark = pytest.mark.slow  # the real bundled voice


def test_tts_returns_mp3_bytes_by_default(api, media):
    response = api.post("/api/tts", {"text": SENTENCE}, accept="*/*")
    assert response.status_code == 200
    assert response["Content-Type"] == "audio/mpeg"
    body = b"".join(response.streaming_content)
    assert body[:3] == b"ID3" or body[0] == 0xFF  # an MP3 frame or tag
    assert float(response["X-Audio-Duration"]) > 0.5
    assert response["X-Cache-Hit"] == "0"
    assert list((media / "api").rglob("*.mp3")), "output lives under MEDIA_ROOT/api/"


def test_tts_wav_and_json_with_cache_hit(api, media):
    first = api.post("/api/tts", {"text": SENTENCE, "format": "wav", "sample_rate": 16000})
    assert first.status_code == 200, first.content
    result = first.json()
    assert result["cache_hit"] is False and result["format"] == "wav" and result["sample_rate"] == 16000
    assert result["audio_url"].startswith("http://testserver/media/api/") and result["audio_url"].endswith(".wav")
    assert result["duration"] > 0.5 and result["transcript"] == SENTENCE and result["timings"]
    again = api.post("/api/tts", {"text": SENTENCE, "format": "wav", "sample_rate": 16000})
    assert again.json()["cache_hit"] is True
    assert again.json()["audio_url"] == result["audio_url"]
    audio = api.post("/api/tts", {"text": SENTENCE, "format": "wav", "sample_rate": 16000}, accept="audio/wav")
    assert audio["Content-Type"] == "audio/wav"
    assert b"".join(audio.streaming_content)[:4] == b"RIFF"


def test_markup_error_names_line_and_column(api, media):
    with NothingWritten(media):
        response = api.post("/api/tts", {"text": "第一行。\n[happy]没有结束"})
        body = assert_error(response, 400, "invalid_markup")
    assert body["detail"]["line"] == 2 and body["detail"]["column"] >= 1
    assert "line 2" in body["detail"]["text"]


def test_async_task_lifecycle(api, media, django_capture_on_commit_callbacks, monkeypatch):
    from exhibits.api import tasks as api_tasks

    # The worker's code, run in-process: the message carries only the id.
    sent = []
    monkeypatch.setattr(api_tasks, "enqueue_speech_task", lambda task_id: sent.append(str(task_id)))
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/api/tts_async", {"text": SENTENCE, "emotion": "happy"})
    assert response.status_code == 202, response.content
    task_id = response.json()["task_id"]
    assert sent == [task_id]
    assert response.json()["status_url"] == f"http://testserver/api/tasks/{task_id}"
    status = api.get(f"/api/tasks/{task_id}").json()
    assert status["state"] == "queued" and status["result"] is None and status["progress"] == 0
    api_tasks.synthesize_speech(task_id)
    status = api.get(f"/api/tasks/{task_id}").json()
    assert status["state"] == "ready" and status["progress"] == 1.0
    assert status["result"]["audio_url"].endswith(".mp3") and status["result"]["cache_hit"] is False
    row = SpeechTask.objects.get(pk=task_id)
    assert (media / row.audio_path).is_file()
    api_tasks.synthesize_speech(task_id)  # a redelivered message is a no-op
    assert SpeechTask.objects.get(pk=task_id).finished_at == row.finished_at


def test_task_ids_are_private_and_expire(api, client, settings):
    task = SpeechTask.objects.create(api_key=api_key_of(api), params={"text": "x", "format": "mp3"},
                                     state="ready", audio_path="api/ab/x.mp3", duration=1.0, cache_hit=True)
    assert api.get(f"/api/tasks/{task.pk}").json()["state"] == "ready"
    assert_error(api.get(f"/api/tasks/{uuid.uuid4()}"), 404, "not_found")
    assert_error(api.get("/api/tasks/not-a-uuid"), 404, "not_found")
    other = ApiKey.issue("someone else")[1]
    assert_error(client.get(f"/api/tasks/{task.pk}", headers={"Authorization": f"Bearer {other}"}), 404)
    SpeechTask.objects.filter(pk=task.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    expired = api.get(f"/api/tasks/{task.pk}").json()
    assert expired["state"] == "expired" and expired["result"] is None


def test_failed_task_reports_error(api, monkeypatch):
    from exhibits.api import tasks as api_tasks
    from exhibits.render import lock as render_lock

    task = SpeechTask.objects.create(api_key=api_key_of(api), params={"text": SENTENCE, "format": "mp3"})
    monkeypatch.setattr(render_lock, "render_and_mark_used", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("boom")))
    api_tasks.synthesize_speech(str(task.pk))
    status = api.get(f"/api/tasks/{task.pk}").json()
    assert status["state"] == "failed" and "internal error" in status["error"] and "boom" not in status["error"]


def api_key_of(api) -> ApiKey:
    return ApiKey.objects.get(prefix=api.token.split("_")[1])


def test_result_ttl_is_configurable(api, settings, django_capture_on_commit_callbacks, monkeypatch):
    from exhibits.api import tasks as api_tasks

    settings.API_RESULT_TTL_SECONDS = 120
    monkeypatch.setattr(api_tasks, "enqueue_speech_task", lambda task_id: None)
    response = api.post("/api/tts_async", {"text": SENTENCE})
    task = SpeechTask.objects.get(pk=response.json()["task_id"])
    assert timedelta(seconds=100) < task.expires_at - timezone.now() <= timedelta(seconds=120)
    assert json.loads(json.dumps(task.params)) == task.params  # the row holds plain JSON
