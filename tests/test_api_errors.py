"""JSON errors everywhere under /api/ (404, 405, 500 …), CORS off by default, moderation."""
from __future__ import annotations

import pytest

from tests.api_support import NothingWritten, api, api_key, assert_error, media  # noqa: F401


@pytest.mark.parametrize("path", ["/api/", "/api/nope", "/api/tts/extra", "/api/exhibits/abc/", "/api/tasks/"])
def test_unknown_api_paths_are_json_404(client, db, path):
    assert_error(client.get(path), 404, "not_found")


def test_pages_outside_the_api_keep_their_own_404(client, db):
    client.raise_request_exception = False  # whatever the visitor pages answer, it is not ours
    response = client.get("/surely-not-a-page-xyz/")
    assert response.status_code == 404
    assert not response["Content-Type"].startswith("application/json")


@pytest.mark.parametrize("method, path", [("get", "/api/tts"), ("put", "/api/tts"), ("delete", "/api/tts_async"),
                                          ("post", "/api/exhibits/"), ("patch", "/api/exhibits/101/")])
def test_wrong_method_is_json_405(api, method, path):
    response = getattr(api.client, method)(path, headers=api.headers("application/json", {}))
    body = assert_error(response, 405, "method_not_allowed")
    assert "Allow" in response and method.upper() in str(body["detail"])


def test_crash_is_json_500_without_traceback(api, media, monkeypatch):
    from exhibits.render import lock as render_lock

    def explode(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(render_lock, "render_and_mark_used", explode)
    api.client.raise_request_exception = False
    body = assert_error(api.post("/api/tts", {"text": "你好。"}), 500, "server_error")
    assert "secret" not in str(body) and "Traceback" not in str(body)


def test_engine_unavailable_is_503(api, media, monkeypatch):
    from exhibits.api import speech
    from synthesis.engines import EngineUnavailable

    def unavailable(name):
        raise EngineUnavailable("voice files missing; run make install")

    monkeypatch.setattr("synthesis.engines.get_engine", unavailable)
    with NothingWritten(media):
        body = assert_error(api.post("/api/tts", {"text": "你好。"}), 503, "engine_unavailable")
    assert "make install" in body["detail"]
    assert speech  # imported for the patch target's module to be loaded


def test_cors_is_off_by_default(client, db):
    preflight = client.options("/api/tts", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
    assert "Access-Control-Allow-Origin" not in preflight
    assert "Access-Control-Allow-Origin" not in client.get("/api/exhibits/", headers={"Origin": "https://evil.example"})


def test_cors_for_listed_origins(client, db, settings):
    settings.CORS_ALLOWED_ORIGINS = ["https://partner.example"]
    response = client.options("/api/tts", headers={"Origin": "https://partner.example", "Access-Control-Request-Method": "POST",
                                                    "Access-Control-Request-Headers": "authorization,content-type"})
    assert response["Access-Control-Allow-Origin"] == "https://partner.example"
    assert "authorization" in response["Access-Control-Allow-Headers"]
    other = client.get("/api/exhibits/", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other


@pytest.mark.parametrize("text", ["这里有违禁词。", "违[pause 200ms]禁词", "违 禁 词", "[happy]违禁[/happy]词"])
def test_moderation_rejects_and_names_the_term(api, media, settings, text):
    settings.MODERATION_TERMS = ["违禁词"]
    with NothingWritten(media):
        for path in ("/api/tts", "/api/tts_async"):
            body = assert_error(api.post(path, {"text": text}), 422, "moderation_rejected")
            assert body["detail"]["term"] == "违禁词" and "违禁词" in body["detail"]["message"]
