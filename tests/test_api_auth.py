"""API keys and per-key rate limits: 401 without a usable key, 403 when revoked, 429 with Retry-After."""
from __future__ import annotations

import pytest
from django.utils import timezone

from exhibits.api import throttling
from exhibits.models import ApiKey
from exhibits.models.api import hash_token
from tests.api_support import Api, NothingWritten, assert_error, media  # noqa: F401

CHEAP = {"text": "[pause abc]"}  # passes auth and throttling, then fails fast on the markup


@pytest.fixture
def key(db):
    key, token = ApiKey.issue("kiosk", rate_limit_per_minute=1000)
    key.token = token
    return key


def test_token_is_stored_hashed(key):
    assert key.token.startswith(f"gk_{key.prefix}_") and len(key.token) > 40
    row = ApiKey.objects.get(pk=key.pk)
    assert row.secret_hash == hash_token(key.token) and key.token not in row.secret_hash


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer nonsense"},
        {"Authorization": "Bearer gk_00000000_" + "x" * 43},
        {"X-API-Key": "gk_../../etc_passwd"},
    ],
)
def test_missing_or_wrong_key_is_401(client, db, media, headers):
    with NothingWritten(media):
        response = client.post("/api/tts", data=CHEAP, content_type="application/json", headers=headers)
    assert_error(response, 401)
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_right_prefix_wrong_secret_is_401(client, key):
    forged = key.token[:-4] + "AAAA"
    assert_error(Api(client, forged).post("/api/tts", CHEAP), 401, "authentication_failed")


def test_x_api_key_header_works(client, key):
    response = client.post("/api/tts", data=CHEAP, content_type="application/json", headers={"X-API-Key": key.token})
    assert_error(response, 400, "invalid_markup")


def test_revoked_or_inactive_key_is_403(client, key, media):
    api = Api(client, key.token)
    key.revoke()
    with NothingWritten(media):
        body = assert_error(api.post("/api/tts", {"text": "你好。"}), 403, "permission_denied")
    assert "revoked" in body["detail"]
    key.revoked_at, key.is_active = None, False
    key.save()
    assert_error(api.post("/api/tts", CHEAP), 403)


def test_revocation_reaches_other_processes_within_the_cache_time(client, key, settings):
    api = Api(client, key.token)
    assert_error(api.post("/api/tts", CHEAP), 400)  # cached now
    ApiKey.objects.filter(pk=key.pk).update(is_active=False)  # as another process would: no signal here
    settings.API_KEY_CACHE_SECONDS = 0
    assert_error(api.post("/api/tts", CHEAP), 403)


def test_last_used_is_recorded(client, key):
    assert key.last_used_at is None
    Api(client, key.token).post("/api/tts", CHEAP)
    key.refresh_from_db()
    assert key.last_used_at is not None and (timezone.now() - key.last_used_at).total_seconds() < 60


def test_rate_limit_per_key_with_retry_after(client, db, media):
    limited, token = ApiKey.issue("tight", rate_limit_per_minute=3)
    other_token = ApiKey.issue("other", rate_limit_per_minute=3)[1]
    api = Api(client, token)
    for _ in range(3):
        assert_error(api.post("/api/tts", CHEAP), 400, "invalid_markup")
    with NothingWritten(media):
        response = api.post("/api/tts", {"text": "你好。"})
    body = assert_error(response, 429, "rate_limited")
    assert 1 <= int(response["Retry-After"]) <= 60, response["Retry-After"]
    assert body["detail"]  # DRF's message, in the site's language
    # Another key has its own window; status polling counts against the same key.
    assert_error(Api(client, other_token).post("/api/tts", CHEAP), 400, "invalid_markup")
    assert_error(api.get("/api/tasks/00000000-0000-0000-0000-000000000000"), 429)


def test_fixed_window_resets(db):
    bucket = f"test:{timezone.now().timestamp()}"
    start = 1_000_040.0  # 40 s left in its minute (windows start at multiples of 60 s)
    assert throttling.hit(bucket, start) == (1, 40.0)
    assert throttling.hit(bucket, start + 10)[0] == 2
    assert throttling.hit(bucket, start + 41)[0] == 1  # next window


def test_rate_limit_without_redis_uses_the_cache(client, settings, db):
    settings.REDIS_URL = ""
    token = ApiKey.issue("no redis", rate_limit_per_minute=1)[1]
    api = Api(client, token)
    assert_error(api.post("/api/tts", CHEAP), 400)
    assert_error(api.post("/api/tts", CHEAP), 429)


def test_admin_shows_token_once_and_revokes(admin_client):
    response = admin_client.post(
        "/admin/exhibits/apikey/add/", {"name": "partner", "is_active": "on", "rate_limit_per_minute": 30}, follow=True
    )
    assert response.status_code == 200
    key = ApiKey.objects.get(name="partner")
    shown = [str(m) for m in response.context["messages"] if "gk_" in str(m)]
    assert len(shown) == 1
    token = shown[0][shown[0].index("gk_"):].split()[0]
    assert key.matches(token)
    page = admin_client.get(f"/admin/exhibits/apikey/{key.pk}/change/").content.decode()
    assert token not in page and key.secret_hash not in page
    admin_client.post("/admin/exhibits/apikey/", {"action": "revoke_keys", "_selected_action": [key.pk]})
    key.refresh_from_db()
    assert not key.usable and key.revoked_at is not None
