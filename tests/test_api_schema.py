"""The OpenAPI schema at /api/schema/, and schemathesis checking the API against it.

Bounded: a few dozen generated requests per operation. Generated TTS texts are mostly not
Mandarin, so synthesis stays short; the async endpoint only queues (the broker call is stubbed).
"""
from __future__ import annotations

import pytest
import schemathesis
import yaml
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from exhibits.models import ApiKey, Exhibit, Gallery


def test_schema_is_served_publicly(client, db):
    response = client.get("/api/schema/")
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    assert schema["openapi"].startswith("3.")
    assert {"/api/tts", "/api/tts_async", "/api/tasks/{task_id}", "/api/exhibits/", "/api/exhibits/{code}/"} <= set(schema["paths"])
    tts = schema["paths"]["/api/tts"]["post"]
    assert {"audio/mpeg", "audio/wav", "application/json"} <= set(tts["responses"]["200"]["content"])
    assert schema["components"]["securitySchemes"]["ApiKey"]["scheme"] == "bearer"
    assert schema["paths"]["/api/exhibits/"]["get"].get("security") in (None, [], [{}])


@pytest.fixture
def api_schema(db, settings, tmp_path, monkeypatch):
    from exhibits.api import tasks as api_tasks

    settings.MEDIA_ROOT = tmp_path
    settings.API_MAX_TEXT_CHARS = 200  # keeps generated texts, and so synthesis, short
    monkeypatch.setattr(api_tasks, "enqueue_speech_task", lambda task_id: None)
    gallery = Gallery.objects.create(name="g", slug="g")
    Exhibit.objects.create(title="t", gallery=gallery, status=Exhibit.Status.PUBLISHED)
    # As Django's test client does: a request must not close the test's transaction connection.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.mark.slow
@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_schema(case):
    token = _token()
    response = case.call(headers={"Authorization": f"Bearer {token}"})
    # Every other check runs (server errors, status codes, content types, response bodies, negative
    # data rejected). Not "schema-valid request accepted": whether a string is a valid script
    # (markup grammar, known voice, moderation) is beyond JSON Schema, so those answer 400/422.
    case.validate_response(response, headers={"Authorization": f"Bearer {token}"}, excluded_checks=[positive_data_acceptance])


def _token() -> str:
    """One generous key per test (rate limits are tested elsewhere)."""
    key = ApiKey.objects.filter(name="schemathesis").first()
    if key is None or not hasattr(_token, "value") or not key.matches(_token.value):
        _key, _token.value = ApiKey.issue("schemathesis", rate_limit_per_minute=100_000)
    return _token.value
