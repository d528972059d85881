"""Who may fetch narration audio and sidecars (exhibits/visitor/media.py): published audio is
public, drafts' and unpublished versions' audio only for staff, .json sidecars for nobody."""
from __future__ import annotations

import stat
from pathlib import Path

import pytest
from django.conf import settings

from exhibits import services
from exhibits.models import Exhibit, Narration
from tests.visitor_fixtures import *  # noqa: F401,F403

pytestmark = pytest.mark.django_db


def url(name: str) -> str:
    return f"{settings.MEDIA_URL}{name}"


def sidecar(rendition) -> str:
    return str(Path(rendition.mp3).with_suffix(".json"))


def test_published_audio_is_public_and_cached(visitor, museum):
    response = visitor.get(url(museum.rendition.mp3))
    assert response.status_code == 200 and response["Cache-Control"] == "public, max-age=31536000, immutable"


def test_a_drafts_audio_is_for_staff_only(visitor, staff_client, museum):
    services.do_unpublish_exhibit(museum.ready)
    services.do_unpublish_exhibit(museum.vase)
    Narration.objects.filter(exhibit=museum.outdated).update(rendition=None)
    # Only the draft (and the two just unpublished) use the file now.
    assert visitor.get(url(museum.rendition.mp3)).status_code == 404
    preview = staff_client.get(url(museum.rendition.mp3))
    assert preview.status_code == 200 and preview["Cache-Control"] == "private, no-store"
    services.do_publish_exhibit(Exhibit.objects.get(pk=museum.vase.pk))
    assert visitor.get(url(museum.rendition.mp3)).status_code == 200


def test_sidecars_are_never_served(visitor, staff_client, museum):
    name = sidecar(museum.rendition)
    assert (Path(settings.MEDIA_ROOT) / name).is_file()  # it exists: the 404 is a decision
    assert visitor.get(url(name)).status_code == 404
    assert staff_client.get(url(name)).status_code == 404


def test_behind_nginx_the_decision_is_an_internal_redirect(visitor, museum, settings):
    settings.MEDIA_ACCEL_REDIRECT = "/_protected_media/"
    response = visitor.get(url(museum.rendition.mp3))
    assert response.status_code == 200 and response.content == b""
    assert response["X-Accel-Redirect"] == f"/_protected_media/{museum.rendition.mp3}"
    assert visitor.get(url(sidecar(museum.rendition))).status_code == 404


@pytest.mark.slow
def test_rendered_files_share_one_mode(clean_media):
    """The sidecar is read by every process that reuses the render (web and worker alike)."""
    from exhibits.render.job import render_config
    from exhibits.render.lock import render_once

    rendering = render_once("文件权限一致。", render_config("文件权限一致。", "", "neutral"))
    files = list(Path(rendering.paths["mp3"]).parent.glob(f"{rendering.cache_key}.*"))
    assert {p.suffix for p in files} >= {".mp3", ".json"}
    modes = {oct(stat.S_IMODE(p.stat().st_mode)) for p in files}
    assert len(modes) == 1, modes
