"""Offline galleries (issue #18), server side: the gallery page, its download list, the service
worker's URL and the web app manifest. The browser side is in test_browser_listening.py."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from django.conf import settings

from exhibits.visitor.offline import size_label
from tests.visitor_fixtures import *  # noqa: F401,F403

pytestmark = pytest.mark.django_db


def test_the_bundle_lists_the_gallerys_pages_audio_and_images_with_sizes(visitor, museum):
    bundle = visitor.get(f"/g/{museum.bronze.pk}/offline.json").json()
    files = {f["url"]: f["bytes"] for f in bundle["files"]}
    mp3 = f"/media/{museum.rendition.mp3}"
    pages = {f"/e/{e.code}/" for e in (museum.ready, museum.pending, museum.outdated)}
    assert pages | {mp3, f"/media/{museum.ready.image}", f"/g/{museum.bronze.pk}/"} <= set(files)
    assert f"/e/{museum.draft.code}/" not in files and f"/e/{museum.vase.code}/" not in files
    assert files[mp3] == (Path(settings.MEDIA_ROOT) / museum.rendition.mp3).stat().st_size  # listed once, shared
    for page in pages:
        assert files[page] == len(visitor.get(page).content)
    assert bundle["bytes"] == sum(size or 0 for size in files.values()) and bundle["cache"] == f"gallery-{museum.bronze.pk}"


def test_the_gallery_page_shows_the_download_size_first(visitor, museum):
    size = visitor.get(f"/g/{museum.bronze.pk}/offline.json").json()["bytes"]
    html = visitor.get(f"/g/{museum.bronze.pk}/").content.decode()
    assert f"下载本展厅，离线收听（{size_label(size)}）" in html
    assert re.search(r'<button type="button" class="btn" id="offline-save" hidden>', html)  # shown by offline.js
    assert 'lang="zh-Hans"' in html and museum.outdated.title in html and museum.draft.title not in html
    assert "<script>" not in html.split("</main>")[1] and "onclick" not in html  # no inline script added
    home = visitor.get("/").content.decode()
    assert f'href="/g/{museum.bronze.pk}/"' in home


def test_a_gallery_without_published_exhibits_does_not_exist(visitor, museum):
    from exhibits.models import Gallery

    empty = Gallery.objects.create(name="空展厅", slug="empty")
    assert visitor.get(f"/g/{empty.pk}/").status_code == 404
    assert visitor.get(f"/g/{empty.pk}/offline.json").status_code == 404


def test_service_worker_is_served_at_the_root_and_revalidated(visitor):
    response = visitor.get("/sw.js")
    assert response["Content-Type"].startswith("text/javascript") and response["Cache-Control"] == "no-cache"
    assert b'addEventListener("fetch"' in response.content


def test_every_visitor_page_links_the_manifest(visitor, museum):
    html = visitor.get(f"/e/{museum.ready.code}/").content.decode()
    href = re.search(r'<link rel="manifest" href="([^"]+)">', html)[1]
    assert href.startswith(settings.STATIC_URL)
    from django.contrib.staticfiles import finders

    manifest = json.loads(Path(finders.find(href.removeprefix(settings.STATIC_URL))).read_text(encoding="utf-8"))
    assert manifest["lang"] == "zh-Hans" and manifest["start_url"] == "/" and {i["sizes"] for i in manifest["icons"]} == {"192x192", "512x512"}


@pytest.mark.parametrize(("size", "label"), [(999, "约 1 KB"), (126_400, "约 126 KB"), (1_250_000, "约 1.2 MB"), (20, "约 1 KB")])
def test_size_labels(size, label):
    assert size_label(size) == label
