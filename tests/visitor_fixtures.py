"""A small museum for the visitor-site tests, with real rendered narration audio.

Rows are created directly (no Celery). The audio comes from ``synthesis.pipeline`` with the bundled
voice, so the MP3 and its timings really belong together; it is rendered into MEDIA_ROOT/audio
once (later calls and runs find it in the render cache).

Import the fixtures into a test module:  ``from tests.visitor_fixtures import *  # noqa: F401,F403``
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings

from exhibits.models import Exhibit, Gallery, Narration, RenderJob, Rendition

SCRIPT = (
    "这件青铜鼎出土于1974年。鼎高一米，重八百多公斤，"
    "是迄今发现最大的商代青铜器。[pause 300ms]请注意鼎腹上的兽面纹。"
)
PENDING_SCRIPT = "[happy]这是一件新到的展品[/happy]，讲解正在录制。"
IMAGE = "images/visitor-test-ding.jpg"

__all__ = ["rendered_audio", "museum", "staff_client", "Museum", "SCRIPT"]


@pytest.fixture
def rendered_audio():
    """The Rendering for SCRIPT (real voice, real MP3 under the test MEDIA_ROOT). Function scope
    on purpose: other tests empty MEDIA_ROOT (``clean_media``); when the files are still there
    this is a render-cache hit and costs about a millisecond."""
    from synthesis.pipeline import RenderConfig, render

    return render(SCRIPT, RenderConfig(out_dir=Path(settings.MEDIA_ROOT) / settings.AUDIO_DIR))


def _image() -> str:
    from PIL import Image, ImageDraw

    path = Path(settings.MEDIA_ROOT) / IMAGE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        img = Image.new("RGB", (640, 480), "#6b4a2b")
        draw = ImageDraw.Draw(img)
        draw.ellipse((170, 120, 470, 400), fill="#8c6a3f", outline="#3a2814", width=8)
        draw.rectangle((200, 60, 440, 140), fill="#7a5a32")
        img.save(path, "JPEG", quality=80)
    return IMAGE


def rendition_for(rendering) -> Rendition:
    mp3 = Path(rendering.paths["mp3"]).relative_to(Path(settings.MEDIA_ROOT))
    rendition, _ = Rendition.objects.get_or_create(
        cache_key=rendering.cache_key,
        defaults=dict(
            mp3=mp3.as_posix(),
            duration=rendering.duration,
            sample_rate=rendering.sample_rate,
            transcript=rendering.transcript,
            timings=rendering.timings,
            engine=rendering.engine,
            model_version=rendering.model_version,
        ),
    )
    return rendition


@dataclass
class Museum:
    bronze: Gallery
    ceramics: Gallery
    ready: Exhibit  # published, current audio, image
    pending: Exhibit  # published, audio still rendering
    draft: Exhibit
    outdated: Exhibit  # published, audio from an older version of the script
    vase: Exhibit  # published, in the second gallery
    rendition: Rendition

    @property
    def published(self) -> list[Exhibit]:
        return [self.ready, self.pending, self.outdated, self.vase]


def make_museum(rendering) -> Museum:
    rendition = rendition_for(rendering)
    bronze = Gallery.objects.create(name="青铜器展厅", slug="bronze", order=1)
    ceramics = Gallery.objects.create(name="陶瓷展厅", slug="ceramics", order=2)

    def exhibit(title, gallery, order, status=Exhibit.Status.PUBLISHED, **narration):
        item = Exhibit.objects.create(title=title, gallery=gallery, order=order, status=status)
        if narration:
            Narration.objects.create(exhibit=item, **narration)
        return item

    published = dict(script=SCRIPT, rendition=rendition, rendition_version=1)
    ready = exhibit("商代青铜鼎", bronze, 1, **published)
    ready.image, ready.description = _image(), "商代晚期 · 1974年出土"
    ready.save()
    pending = exhibit("西周青铜簋", bronze, 2, script=PENDING_SCRIPT)
    draft = exhibit("未开放的青铜爵", bronze, 3, status=Exhibit.Status.DRAFT, **published)
    outdated = exhibit("战国青铜镜", bronze, 4, script=SCRIPT + "新增一句。", version=2, rendition=rendition, rendition_version=1)
    vase = exhibit("青花瓷瓶", ceramics, 1, **published)
    for waiting in (pending, outdated):  # their new audio is being rendered: a live job each
        narration = Narration.objects.get(exhibit=waiting)
        RenderJob.objects.create(narration=narration, version=narration.version)
    return Museum(bronze, ceramics, ready, pending, draft, outdated, vase, rendition)


@pytest.fixture
def museum(db, rendered_audio) -> Museum:
    return make_museum(rendered_audio)


@pytest.fixture
def staff_client(db, django_user_model):
    """A logged-in curator; a client of its own, so ``client`` stays anonymous in the same test."""
    from django.test import Client

    user = django_user_model.objects.create_user("visitor-site-curator", password="pw", is_staff=True)
    staff = Client()
    staff.force_login(user)
    return staff
