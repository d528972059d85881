"""``manage.py cleanup_media [--dry-run]``: free disk space without ever breaking a page.

Removes, and reports the sizes of:
- API outputs (MEDIA_ROOT/<API_DIR>) unused for API_RESULT_TTL_SECONDS (a cache hit renews them),
  and SpeechTask rows past their expiry;
- audio files (MEDIA_ROOT/<AUDIO_DIR>) that no Rendition references, once older than an hour
  (younger ones may belong to a render whose Rendition row is about to be saved);
- leftover ``*.tmp`` files of interrupted atomic writes older than an hour;
- sentence audio units (MEDIA_ROOT/<UNIT_CACHE_DIR>) least recently used, beyond UNIT_CACHE_MAX_MB
  (never one a render in progress uses; see ``synthesis.unit_cache``);
- the studio's one-sentence previews (MEDIA_ROOT/preview) unused for PREVIEW_TTL_SECONDS: the
  answer files the page polls for first, then audio no remaining answer points to (a preview asked
  for again is simply rendered again, from the sentence cache).
A file a published narration uses (Narration.rendition) is never removed, whatever the rules say.
Also runs on the Celery beat schedule (``exhibits.cleanup_media``, CLEANUP_INTERVAL_SECONDS).
"""
from __future__ import annotations

import json
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import timezone

GRACE_SECONDS = 3600  # for unreferenced audio and .tmp files: nothing in flight is that old
PREVIEW_DIR = "preview"  # exhibits.admin.studio.PREVIEW_DIR; not imported: commands stay out of the admin
EXPIRED, ORPHAN, TMP, PREVIEWS = "expired API outputs", "audio no rendition uses", "stale .tmp files", "old studio previews"


@dataclass
class Tally:
    files: int = 0
    bytes: int = 0

    def add(self, size: int) -> None:
        self.files += 1
        self.bytes += size


@dataclass
class Plan:
    remove: dict[str, list[Path]] = field(default_factory=lambda: {EXPIRED: [], ORPHAN: [], TMP: [], PREVIEWS: []})
    kept: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))


def cache_key_of(path: Path) -> str:
    """Files of one render share the cache key before the first dot: <key>.mp3, <key>.json."""
    return path.name.split(".", 1)[0]


def referenced_files(media_root: Path) -> tuple[set[tuple[Path, str]], set[Path]]:
    """(folder, cache key) of every Rendition, and the exact files published narrations use."""
    from exhibits.models import Narration, Rendition

    keys = set()
    for mp3, wav in Rendition.objects.values_list("mp3", "wav"):
        for rel in (mp3, wav):
            if rel:
                path = media_root / rel
                keys.add((path.parent, cache_key_of(path)))
    published = set()
    for mp3, wav in Narration.objects.filter(rendition__isnull=False).values_list("rendition__mp3", "rendition__wav"):
        published |= {(media_root / rel).resolve() for rel in (mp3, wav) if rel}
    return keys, published


def files_under(folder: Path):
    return (p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()) if folder.is_dir() else ()


def plan_cleanup(media_root: Path, now: float) -> tuple[Plan, set[Path]]:
    keys, published = referenced_files(media_root)
    ttl = settings.API_RESULT_TTL_SECONDS
    plan = Plan()

    audio_dir = media_root / settings.AUDIO_DIR
    for path in files_under(audio_dir):
        age = now - path.stat().st_mtime
        if path.name.endswith(".tmp"):
            if age > GRACE_SECONDS:
                plan.remove[TMP].append(path)
        elif (path.parent, cache_key_of(path)) not in keys and age > GRACE_SECONDS:
            plan.remove[ORPHAN].append(path)
        else:
            plan.kept[str(settings.AUDIO_DIR)].add(path.stat().st_size)

    groups: dict[tuple[Path, str], list[Path]] = defaultdict(list)
    for path in files_under(media_root / settings.API_DIR):
        if path.name.endswith(".tmp"):
            if now - path.stat().st_mtime > GRACE_SECONDS:
                plan.remove[TMP].append(path)
        else:
            groups[(path.parent, cache_key_of(path))].append(path)
    for paths in groups.values():
        # A group expires on its most recent use; metadata first, so a concurrent request sees
        # a cache miss rather than a hit whose audio is gone.
        if now - max(p.stat().st_mtime for p in paths) > ttl:
            plan.remove[EXPIRED] += sorted(paths, key=lambda p: p.suffix != ".json")
        else:
            for path in paths:
                plan.kept[str(settings.API_DIR)].add(path.stat().st_size)
    plan_previews(plan, media_root / PREVIEW_DIR, now)
    return plan, published


def plan_previews(plan: Plan, folder: Path, now: float) -> None:
    """Answers (``<preview id>.json`` at the top) expire on their age; a render's files
    (``<xx>/<key>.*``, the audio touched by the worker on every reuse) on the youngest one's age,
    unless an answer that stays points to it, so a page never gets an answer whose audio is gone."""
    ttl = settings.PREVIEW_TTL_SECONDS
    pointed_to: set[str] = set()
    audio: list[Path] = []
    for path in files_under(folder):
        age = now - path.stat().st_mtime
        if path.name.endswith(".tmp"):
            if age > GRACE_SECONDS:
                plan.remove[TMP].append(path)
        elif path.parent != folder:
            audio.append(path)
        elif age > ttl:
            plan.remove[PREVIEWS].append(path)
        else:
            pointed_to.add(answer_audio_key(path))
            plan.kept[PREVIEW_DIR].add(path.stat().st_size)
    renders: dict[str, list[Path]] = defaultdict(list)
    for path in audio:
        renders[cache_key_of(path)].append(path)
    for key, paths in renders.items():
        if now - max(p.stat().st_mtime for p in paths) > ttl and key not in pointed_to:
            plan.remove[PREVIEWS] += sorted(paths, key=lambda p: p.suffix != ".json")  # metadata first
        else:
            for path in paths:
                plan.kept[PREVIEW_DIR].add(path.stat().st_size)


def answer_audio_key(answer: Path) -> str:
    """The cache key of the audio a preview answer points to ("" if unreadable: then it points nowhere)."""
    try:
        url = json.loads(answer.read_text(encoding="utf-8"))["audio"]["url"]
    except (OSError, ValueError, KeyError, TypeError):
        return ""
    return url.rsplit("/", 1)[-1].split(".", 1)[0]


def human(size: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return ""  # pragma: no cover


class Command(BaseCommand):
    help = "Remove expired API outputs, audio no rendition uses and stale .tmp files; print a size report."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="report what would be removed, remove nothing")

    def handle(self, *args, dry_run: bool = False, **options):
        from exhibits.models import SpeechTask

        media_root = Path(settings.MEDIA_ROOT)
        plan, published = plan_cleanup(media_root, time.time())
        verb = "would remove" if dry_run else "removed"
        self.stdout.write(f"cleanup_media{' (dry run)' if dry_run else ''}: {media_root}")
        total = Tally()
        for reason, paths in plan.remove.items():
            tally = Tally()
            for path in paths:
                if path.resolve() in published:  # belt and braces: the rules above should never get here
                    self.stderr.write(f"  refusing to remove published audio {path}")
                    continue
                try:
                    size = path.stat().st_size
                    if not dry_run:
                        path.unlink()
                except FileNotFoundError:  # removed concurrently: nothing to free
                    continue
                tally.add(size)
            total.files += tally.files
            total.bytes += tally.bytes
            self.stdout.write(f"  {verb} {reason:<24} {tally.files:>6} files {human(tally.bytes):>10}")
        expired_tasks = SpeechTask.objects.filter(expires_at__lt=timezone.now())
        count = expired_tasks.count() if dry_run else expired_tasks.delete()[0]
        self.stdout.write(f"  {verb} {'expired speech task rows':<24} {count:>6} rows")
        self.stdout.write(f"  {verb} {'total':<24} {total.files:>6} files {human(total.bytes):>10}")
        for folder, tally in sorted(plan.kept.items()):
            self.stdout.write(f"  kept   {folder + '/':<24} {tally.files:>6} files {human(tally.bytes):>10}")
        self.stdout.write(f"  published audio files protected: {len(published)}")
        self._sweep_units(media_root, dry_run, verb)
        if not dry_run:
            self._remove_empty_dirs(media_root)

    def _sweep_units(self, media_root: Path, dry_run: bool, verb: str) -> None:
        from synthesis.unit_cache import UnitCache

        bound = settings.UNIT_CACHE_MAX_MB * 1024 * 1024
        report = UnitCache(media_root / settings.UNIT_CACHE_DIR).sweep(bound, dry_run=dry_run)
        self.stdout.write(f"  {verb} {'sentence units (LRU)':<24} {report.evicted:>6} files {human(report.evicted_bytes):>10}")
        self.stdout.write(f"  kept   {settings.UNIT_CACHE_DIR + '/':<24} {report.kept:>6} files {human(report.kept_bytes):>10}"
                          f" (bound {human(bound)}; {report.pinned} over it kept for renders in progress)")

    @staticmethod
    def _remove_empty_dirs(media_root: Path) -> None:
        for top in (settings.AUDIO_DIR, settings.API_DIR, PREVIEW_DIR):
            root = media_root / top
            if not root.is_dir():
                continue
            for folder in sorted((p for p in root.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
                try:
                    folder.rmdir()  # only succeeds when empty
                except OSError:
                    pass
