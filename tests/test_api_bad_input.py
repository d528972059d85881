"""Bad input: every case answers a clear JSON error and writes nothing (no file, no task row)."""
from __future__ import annotations

import pytest

from tests.api_support import NothingWritten, api, api_key, assert_error, media  # noqa: F401

OK = {"text": "你好。"}
ENDPOINTS = ["/api/tts", "/api/tts_async"]


@pytest.fixture
def guard(media, db):
    with NothingWritten(media) as guard:
        yield guard


@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize(
    "body, field",
    [
        ({}, "text"),
        ({"text": ""}, "text"),
        ({"text": "   \n "}, "text"),
        ({"text": None}, "text"),
        ({"text": ["你好"]}, "text"),
        ({"text": "你好\u0000"}, "text"),  # PostgreSQL cannot store NUL in JSON
        ({**OK, "voice": "nobody"}, "voice"),
        ({**OK, "voice": "../../etc/passwd"}, "voice"),
        ({**OK, "emotion": "bored"}, "emotion"),
        ({**OK, "speed": 0.1}, "speed"),
        ({**OK, "speed": 9}, "speed"),
        ({**OK, "speed": "fast"}, "speed"),
        ({**OK, "intensity": 5}, "intensity"),
        ({**OK, "intensity": -1}, "intensity"),
        ({**OK, "sample_rate": 8000}, "sample_rate"),
        ({**OK, "sample_rate": 96000}, "sample_rate"),
        ({**OK, "sample_rate": 23999}, "sample_rate"),
        ({**OK, "format": "ogg"}, "format"),
        ({**OK, "format": "../../../etc/passwd"}, "format"),
        ({**OK, "format": "mp3/../../x"}, "format"),
    ],
)
def test_invalid_fields(api, guard, path, body, field):
    error = assert_error(api.post(path, body), 400, "invalid_request")
    assert field in error["detail"], error


@pytest.mark.parametrize("path", ENDPOINTS)
def test_text_over_the_limit_is_413(api, guard, settings, path):
    settings.API_MAX_TEXT_CHARS = 50
    error = assert_error(api.post(path, {"text": "字" * 51}), 413, "text_too_long")
    assert "50" in error["detail"]
    at_limit = "[pause abc]" + "字" * 39  # 50 characters: passes the length check, fails the markup
    assert_error(api.post(path, {"text": at_limit}), 400, "invalid_markup")


@pytest.mark.parametrize("path", ENDPOINTS)
def test_huge_body_is_refused_before_parsing(api, guard, path):
    raw = b'{"text": "' + b"a" * (5 * 1024 * 1024) + b'"}'
    assert_error(api.post(path, raw=raw), 413, "payload_too_large")


@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize(
    "raw, status, code",
    [
        (b"", 400, "invalid_request"),  # no body: "text is required"
        (b"{", 400, "parse_error"),
        (b'{"text": NaN}', 400, "parse_error"),
        (b"\xff\xfe\x00\x01binary\x00garbage", 400, "parse_error"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", 400, "parse_error"),
        (b"[1, 2, 3]", 400, "invalid_request"),
        (b'"just a string"', 400, "invalid_request"),
        (b'{"text": "\\ud800"}', 400, "invalid_request"),  # a lone surrogate cannot be stored or hashed
    ],
)
def test_unparseable_bodies(api, guard, path, raw, status, code):
    assert_error(api.post(path, raw=raw), status, code)


@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize("opening, closing", [(b"[", b"]"), (b'{"a":', b"}")])
def test_deeply_nested_json_is_a_400_not_a_recursion_error(api, guard, path, opening, closing):
    raw = b'{"text": ' + opening * 2000 + b"1" + closing * 2000 + b"}"  # 4-12 KB, 2,001 levels
    body = assert_error(api.post(path, raw=raw), 400, "parse_error")
    assert "nested" in str(body["detail"])


def test_brackets_inside_strings_are_not_nesting():
    from exhibits.api.parsers import MAX_JSON_DEPTH, json_depth

    assert json_depth(b'{"text": "' + b"[" * 500 + b'"}') == 1
    assert json_depth(rb'{"text": "\"' + b"[" * 500) == 1  # an escaped quote does not end the string
    assert json_depth(rb'{"text": "\\"' + b"[" * 500 + b"]" * 500 + b"}") > MAX_JSON_DEPTH  # an escaped backslash does
    assert json_depth(b'{"a": [[1], {"b": "]]]]]]]]]]]]]]]]]]]]]]]]]]"}]}' + b"[" * 30) > MAX_JSON_DEPTH


@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/xml"])
def test_wrong_content_types(api, guard, path, content_type):
    assert_error(api.post(path, raw=b"text=hello", content_type=content_type), 415, "unsupported_media_type")


def test_unacceptable_accept_header(api, guard):
    assert_error(api.post("/api/tts", OK, accept="text/html"), 406, "not_acceptable")


@pytest.mark.parametrize(
    "path",
    [
        "/api/tasks/../../etc/passwd",
        "/api/tasks/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "/api/tasks/00000000-0000-0000-0000-000000000000/../../x",
        "/api/exhibits/..%2F..%2Fsettings.py/",
        "/api/exhibits/-1/",
        "/api/exhibits/99999999999999999999/",
        "/api/exhibits/101%00/",
        "/api/../media/../../etc/passwd",
    ],
)
def test_path_tricks_are_plain_404s(api, guard, path):
    response = api.get(path)
    assert response.status_code == 404
    if response.request["PATH_INFO"].startswith("/api/"):
        assert_error(response, 404)


def test_markup_error_writes_nothing_async(api, guard):
    assert_error(api.post("/api/tts_async", {"text": "[pause abc]你好"}), 400, "invalid_markup")
