"""What the visitor pages show, loaded in a few queries and cached in each server process.

A cached page is served with no query at all for FRESH_SECONDS; after that one cheap query
fetches its *stamp* (everything the page depends on: exhibit row, narration version and published
audio, the gallery's newest change and size for the previous/next links) and the page is rebuilt
only if the stamp changed. A save in this process clears the cache at once (signals); a save in
another process (admin on another worker, the Celery worker publishing audio) shows within
FRESH_SECONDS. PAGE_TTL bounds what the stamp cannot see: a gallery renamed, or
``QuerySet.update()`` (which skips ``auto_now``).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from itertools import groupby

from django.core.files.storage import default_storage
from django.db import connection
from django.db.models.signals import post_delete, post_save
from django.urls import reverse

from exhibits.visitor import transcript as tx
from exhibits.models import Exhibit, Gallery, Narration, RenderJob

LANGUAGE = "zh"  # the one narration language visitors get today
PUBLISHED = Exhibit.Status.PUBLISHED
FRESH_SECONDS = 1.0
PAGE_TTL = 60.0
MAX_PAGES = 5000  # visitors can type any number: bound the cache, not the codes

_pages: dict[str, tuple[float, float, object, str | None]] = {}  # key -> fresh until, built at, stamp, html


def cached_page(key: str, stamp_of, build) -> str | None:
    """``build(stamp)``'s result (HTML, or None for "no such page"), reused as described above."""
    now = time.monotonic()
    hit = _pages.get(key)
    if hit is not None and now < hit[0]:
        return hit[3]
    stamp = stamp_of()
    if hit is not None and hit[2] == stamp and now - hit[1] < PAGE_TTL:
        built, html = hit[1], hit[3]
    else:
        built, html = now, build(stamp)
    if len(_pages) >= MAX_PAGES:
        _pages.clear()
    _pages[key] = (now + FRESH_SECONDS, built, stamp, html)
    return html


def forget_pages(**_) -> None:
    _pages.clear()


for _model in (Exhibit, Gallery, Narration):
    post_save.connect(forget_pages, sender=_model, dispatch_uid=f"visitor-pages-save-{_model.__name__}")
    post_delete.connect(forget_pages, sender=_model, dispatch_uid=f"visitor-pages-delete-{_model.__name__}")


# --- exhibit page ------------------------------------------------------------------------------

def exhibit_stamp(code: int) -> tuple | None:
    """Everything the exhibit page depends on, in one query; None when the code is unknown.

    Raw SQL because it runs on every page view: the equivalent ORM query (a join and two
    aggregates) costs several milliseconds of Python just to build and compile."""
    exhibit, narration, job = Exhibit._meta.db_table, Narration._meta.db_table, RenderJob._meta.db_table
    sql = (
        f"SELECT e.status, e.updated_at, e.gallery_id, n.version, n.rendition_id, n.rendition_version,"
        f" MAX(s.updated_at), COUNT(s.id),"
        # whether a job is rendering the current text ("being updated" is said only then)
        f" EXISTS(SELECT 1 FROM {job} j WHERE j.narration_id = n.id AND j.version = n.version"
        f" AND j.state IN ({', '.join(['%s'] * len(RenderJob.LIVE_STATES))}))"
        f" FROM {exhibit} e JOIN {exhibit} s ON s.gallery_id = e.gallery_id"
        f" LEFT JOIN {narration} n ON n.exhibit_id = e.id AND n.language = %s"
        f" WHERE e.code = %s GROUP BY e.id, n.id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*RenderJob.LIVE_STATES, LANGUAGE, code])
        return cursor.fetchone()


def is_published(stamp: tuple | None) -> bool:
    return stamp is not None and stamp[0] == PUBLISHED


@dataclass(frozen=True)
class Audio:
    # "ready" | "outdated" (older audio plays while the new one renders) | "previous" (older audio,
    # no render under way, e.g. the new text failed) | "rendering" | "none"
    state: str
    url: str = ""
    duration: float = 0.0


def _script_transcript(script: str) -> str:
    """The script as a visitor reads it. ``analyse`` only runs the text front end (no voice
    model); a script with a markup error still shows, markup and all, rather than failing."""
    from synthesis.frontend import analyse
    from synthesis.markup import ScriptError

    try:
        return analyse(script).transcript
    except ScriptError:
        return script


def _audio_and_transcript(narration: Narration | None):
    if narration is None:
        return Audio("none"), [], []
    rendition = narration.rendition
    live = RenderJob.objects.filter(narration=narration, version=narration.version, state__in=RenderJob.LIVE_STATES)
    # A missing file (media restored from an older backup, say) is treated like no audio yet.
    if rendition is None or not rendition.mp3 or not default_storage.exists(rendition.mp3):
        return Audio("rendering" if live.exists() else "none"), tx.plain(_script_transcript(narration.script)), []
    segments, sync = tx.build(rendition.transcript, rendition.timings)
    state = "ready" if narration.audio_is_current else ("outdated" if live.exists() else "previous")
    return Audio(state, default_storage.url(rendition.mp3), rendition.duration), segments, sync


def _neighbours(exhibit: Exhibit) -> tuple[dict | None, dict | None]:
    rows = list(
        Exhibit.objects.filter(gallery_id=exhibit.gallery_id, status=PUBLISHED)
        .order_by("order", "code")
        .values("code", "title")
    )
    at = next((i for i, row in enumerate(rows) if row["code"] == exhibit.code), None)
    if at is None:  # unpublished since the first query
        return None, None
    return (rows[at - 1] if at > 0 else None), (rows[at + 1] if at + 1 < len(rows) else None)


def exhibit_context(code: int) -> dict | None:
    exhibit = Exhibit.objects.select_related("gallery").filter(code=code, status=PUBLISHED).first()
    if exhibit is None:
        return None
    narration = Narration.objects.select_related("rendition").filter(exhibit=exhibit, language=LANGUAGE).first()
    audio, segments, sync = _audio_and_transcript(narration)
    previous, following = _neighbours(exhibit)
    image = exhibit.image.url if exhibit.image else ""
    return {
        "exhibit": exhibit,
        "image": image,
        "audio": audio,
        "segments": segments,
        "sync": sync,
        "previous": previous,
        "next": following,
        # For the Media Session API: lock-screen title, gallery and artwork; for listen.js: what
        # its beacons name (exhibit code, the rendition playing) and where they go.
        "media": {"title": exhibit.title, "gallery": exhibit.gallery.name, "artwork": image, "code": exhibit.code,
                  "rendition": narration.rendition_id if narration and audio.url else None, "beacon": reverse("listen")},
    }


# --- home page ---------------------------------------------------------------------------------

def home_stamp() -> tuple:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT MAX(updated_at), COUNT(*), (SELECT COUNT(*) FROM {Gallery._meta.db_table})"
            f" FROM {Exhibit._meta.db_table}"
        )
        return cursor.fetchone()


def galleries() -> list[tuple[Gallery, list[Exhibit]]]:
    """Galleries that have published exhibits, each with them in display order (one query)."""
    exhibits = (
        Exhibit.objects.filter(status=PUBLISHED)
        .select_related("gallery")
        .only("code", "title", "gallery__name", "gallery__order")
        .order_by("gallery__order", "gallery_id", "order", "code")
    )
    return [(gallery, list(items)) for gallery, items in groupby(exhibits, key=lambda e: e.gallery)]
