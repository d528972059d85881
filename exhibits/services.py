"""Every state change of exhibits, narrations, the lexicon and render jobs (zulip-style ``do_*``).

Views, the admin, management commands and tasks call these and nothing else writes those rows.
Each action runs in ``transaction.atomic`` and locks the narration row before its jobs (always
in that order, so concurrent actions cannot deadlock). Render tasks are sent with
``transaction.on_commit`` carrying only the job id: the worker never sees uncommitted rows, and a
broker outage never fails the curator's save (the job stays "queued" and the sweeper sends it).
The worker side of a job (claim, heartbeat, publish, fail, retry) is ``exhibits.render.claims``.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from celery import current_app
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.db.models.functions import Length
from django.utils import timezone

from exhibits.models import Exhibit, LexiconEntry, Narration, NarrationVersion, RenderJob, RenderState
from exhibits.models.narration import lexicon_for_script
from exhibits.ops import moderation

log = logging.getLogger(__name__)
State = RenderJob.State
SEND_GRACE = timedelta(seconds=5)  # a job younger than this may still be in its on_commit send
# Sent by name: the task module (exhibits.render.tasks) imports this one, so importing it back
# would close a circle. The name is what queued messages and deploys depend on; never change it.
RENDER_TASK = "exhibits.render_narration"


# --- sending -------------------------------------------------------------------------------------
def render_time_limits(chars: int) -> tuple[int, int]:
    """(soft, hard) time limit in seconds for rendering a script of ``chars`` characters."""
    soft = settings.RENDER_TIME_LIMIT_BASE_SECONDS + chars * settings.RENDER_TIME_LIMIT_MS_PER_CHAR // 1000
    return soft, soft + settings.RENDER_HARD_LIMIT_MARGIN_SECONDS


def send_render(job_id: int) -> bool:
    """Hand a job to the broker now; False (logged, never raised) when the broker is down.
    The message carries time limits for the script's length (a long narration may take longer)."""
    from guide_site.celery import queue_for_engine

    chars = RenderJob.objects.filter(pk=job_id).values_list(Length("narration__script"), flat=True).first() or 0
    soft, hard = render_time_limits(chars)
    try:
        current_app.send_task(RENDER_TASK, args=(job_id,), queue=queue_for_engine(settings.SYNTHESIS_ENGINE),
                              soft_time_limit=soft, time_limit=hard)
    except Exception:  # kombu/redis/OS errors alike: the row is the source of truth, not the message
        log.warning("could not send render job %s to the broker; the sweeper will retry", job_id, exc_info=True)
        return False
    RenderJob.objects.filter(pk=job_id).update(sent_at=timezone.now())
    return True


def _send_on_commit(job: RenderJob) -> None:
    transaction.on_commit(lambda: send_render(job.pk))


# --- exhibits ------------------------------------------------------------------------------------
def do_save_exhibit(exhibit: Exhibit) -> Exhibit:
    """Create or update an exhibit; a new one gets the next free code even under concurrency."""
    if not exhibit._state.adding:
        with transaction.atomic():
            exhibit.save()
        return exhibit
    for _attempt in range(5):
        try:
            with transaction.atomic():
                exhibit.save()
            return exhibit
        except IntegrityError:
            # Two curators adding exhibits at once can pick the same next code: pick again.
            if exhibit.code is None or not Exhibit.objects.filter(code=exhibit.code).exists():
                raise
            exhibit.pk = exhibit.code = None
    raise IntegrityError("could not assign a unique exhibit code after 5 attempts")


@transaction.atomic
def do_publish_exhibit(exhibit: Exhibit) -> Exhibit:
    """Make the exhibit visible to visitors; also makes sure its audio is (being) rendered."""
    for script in Narration.objects.filter(exhibit=exhibit).values_list("script", flat=True):
        moderation.check(script)  # raises moderation.ModerationError(term) before anything changes
    Exhibit.objects.filter(pk=exhibit.pk).update(status=Exhibit.Status.PUBLISHED, updated_at=timezone.now())
    exhibit.status = Exhibit.Status.PUBLISHED
    for narration in Narration.objects.filter(exhibit=exhibit):
        do_request_render(narration)
    return exhibit


@transaction.atomic
def do_unpublish_exhibit(exhibit: Exhibit) -> Exhibit:
    Exhibit.objects.filter(pk=exhibit.pk).update(status=Exhibit.Status.DRAFT, updated_at=timezone.now())
    exhibit.status = Exhibit.Status.DRAFT
    return exhibit


# --- narrations ----------------------------------------------------------------------------------
class ScriptTooLong(ValueError):
    def __init__(self, length: int):
        self.length, self.limit = length, settings.NARRATION_MAX_CHARS
        super().__init__(f"讲解词有 {length} 个字符，最多 {self.limit} 个 / the script has {length} characters; "
                         f"the limit is {self.limit}")


def check_script(script: str, emotion: str = "neutral"):
    """Run the text front end (no model is loaded): the parsed Script, or ScriptError with the
    line, column and fix-it message for the curator. Forms and ``do_save_narration`` share it."""
    from synthesis.frontend import analyse
    from synthesis.lexicon import Lexicon
    from synthesis.markup import ScriptError

    if len(script) > settings.NARRATION_MAX_CHARS:  # before the front end: its cost grows with length
        raise ScriptTooLong(len(script))
    parsed = analyse(script, lexicon=Lexicon(lexicon_for_script(script)), emotion=emotion)
    if not any(clause.normalized for clause in parsed.clauses):
        raise ScriptError(1, 1, "讲解词中没有可以朗读的文字 / the script has nothing to speak")
    return parsed


@dataclass
class SaveResult:
    narration: Narration
    changed: bool  # False: identical to what was stored, nothing bumped
    job: RenderJob | None  # the job that will produce audio for this version (new or live)


@transaction.atomic
def do_save_narration(exhibit: Exhibit, script: str, voice: str = "", emotion: str = "neutral", user=None,
                      language: str = "zh") -> SaveResult:
    """Store the curator's text; any change bumps the version and queues a render.

    Saving identical content changes nothing (no version bump, no render), so re-saving a form
    or re-loading the demo is free. Raises ScriptError (bad markup), ValueError (unknown
    emotion) or, for a published exhibit, moderation.ModerationError before writing anything.
    """
    script = script.replace("\r\n", "\n").strip()
    check_script(script, emotion)  # ScriptError/ValueError before anything is written
    if exhibit.is_published:  # visitors would hear it: same rule as publishing
        moderation.check(script)
    narration, created = Narration.objects.select_for_update().get_or_create(
        exhibit=exhibit, language=language,
        defaults={"script": script, "voice": voice, "emotion": emotion, "edited_by": user, "edited_at": timezone.now()},
    )
    changed = created or (narration.script, narration.voice, narration.emotion) != (script, voice, emotion)
    if not created and changed:
        narration.script, narration.voice, narration.emotion = script, voice, emotion
        narration.edited_by = user  # None: a command or an import wrote this text, not the last editor
        _bump(narration, user)
    elif created:
        _record_version(narration)
    job = do_request_render(narration) if changed or not narration.audio_is_current else None
    return SaveResult(narration, changed, job)


def _bump(narration: Narration, user=None) -> None:
    """New version (caller holds the row lock): older jobs can no longer publish, so say so."""
    narration.version += 1
    narration.edited_at = timezone.now()
    if user is not None:
        narration.edited_by = user
    narration.save()
    _record_version(narration)
    RenderJob.objects.filter(narration=narration, state__in=RenderJob.LIVE_STATES, version__lt=narration.version).update(
        state=State.SUPERSEDED, finished_at=timezone.now(), updated_at=timezone.now()
    )


def _record_version(narration: Narration) -> None:
    """The studio's history row for the narration's (new) current version."""
    NarrationVersion.objects.create(
        narration=narration, version=narration.version, script=narration.script, voice=narration.voice,
        emotion=narration.emotion, saved_by_id=narration.edited_by_id, saved_at=narration.edited_at or timezone.now(),
    )


def do_restore_narration_version(narration: Narration, version: int, user=None) -> SaveResult:
    """Save an earlier version's text and settings again: a new version like any edit, whose
    render finds the earlier audio by its cache key instead of synthesising it again."""
    old = NarrationVersion.objects.get(narration=narration, version=version)
    return do_save_narration(narration.exhibit, old.script, old.voice, old.emotion, user, language=narration.language)


@transaction.atomic
def do_request_render(narration: Narration, force: bool = False, send: bool = True) -> RenderJob | None:
    """A job that will give the narration's current version audio, or None if it has it.

    ``force``: queue even when audio is current (re-checks the cache key, e.g. after a model
    upgrade). A live job for the version is returned instead of a duplicate; if it looks dead
    (never sent, or its message was lost) it is sent again. ``send=False`` for in-process
    rendering (``render_audio --sync``).
    """
    return _ensure_job(narration, force, send)[0]


def _ensure_job(narration: Narration, force: bool, send: bool) -> tuple[RenderJob | None, bool]:
    """(job or None, whether a message is being sent for it)."""
    narration = Narration.objects.select_for_update().get(pk=narration.pk)
    live = RenderJob.objects.filter(narration=narration, version=narration.version, state__in=RenderJob.LIVE_STATES).first()
    if live is not None:
        resend = send and live.looks_dead(timezone.now(), SEND_GRACE)
        if resend:
            _send_on_commit(live)
        return live, resend
    if narration.audio_is_current and not force:
        return None, False
    job = RenderJob.objects.create(narration=narration, version=narration.version)
    if send:
        _send_on_commit(job)
    return job, send


# --- lexicon -------------------------------------------------------------------------------------
@transaction.atomic
def do_save_lexicon_entry(term: str, pinyin: str, note: str = "", entry: LexiconEntry | None = None,
                          user=None) -> tuple[LexiconEntry, list[Narration]]:
    """Add or change a reading; re-renders exactly the narrations that contain the old or new
    term (their audio would now sound different). Returns the entry and those narrations."""
    term, pinyin = term.strip(), " ".join(pinyin.split())
    target = LexiconEntry.objects.select_for_update().get(pk=entry.pk) if entry and entry.pk else LexiconEntry()
    before = (target.term, target.pinyin) if target.pk else None
    target.term, target.pinyin, target.note = term, pinyin, note
    target.save()
    if entry is not None:
        entry.pk, entry.term, entry.pinyin, entry.note = target.pk, term, pinyin, note
    if before == (term, pinyin):  # only the note changed: nothing sounds different
        return target, []
    return target, _rerender_containing({term, before[0]} if before else {term}, user)


@transaction.atomic
def do_delete_lexicon_entry(entry: LexiconEntry, user=None) -> list[Narration]:
    entry = LexiconEntry.objects.select_for_update().get(pk=entry.pk)
    term = entry.term
    entry.delete()
    return _rerender_containing({term}, user)


def _rerender_containing(terms: set[str], user=None) -> list[Narration]:
    query = Q()
    for term in terms:
        query |= Q(script__contains=term)
    # The lexicon is a rendering setting of these narrations: a new version each, so audio made
    # with the old reading is "out of date" until the new one is published.
    narrations = list(Narration.objects.select_for_update().filter(query).order_by("pk"))
    for narration in narrations:
        _bump(narration, user)
        do_request_render(narration)
    return narrations


# --- sweeping ------------------------------------------------------------------------------------
@dataclass
class SweepReport:
    jobs: list[int] = field(default_factory=list)  # job ids (re-)sent, or to run when send=False
    skipped_failed: int = 0  # current versions that failed for good (a curator must fix the script)


def failed_for_good(narration: Narration) -> bool:
    """Annotated by ``with_render_state``: the current version failed and will not heal by itself."""
    return narration.render_state == RenderState.FAILED and not narration.latest_job_healable


def do_sweep_stale(retry_failed: bool = False, send: bool = True) -> SweepReport:
    """Give every narration's current version a live, sent job unless it has audio.

    Run by celery beat every SWEEP_INTERVAL_SECONDS (``render_audio --stale`` applies the same
    rules). Re-sends jobs whose message was lost (never sent, or not claimed in time: Redis
    restarted empty) or whose worker stopped beating (killed), queues narrations that never got a
    job and starts again after a healable failure (the disk was full past the heal window).
    Versions that failed for good are left alone unless ``retry_failed``: a bad script would
    fail again every sweep.
    """
    report = SweepReport()
    for narration in Narration.objects.needing_audio().with_render_state().order_by("pk"):
        if failed_for_good(narration) and not retry_failed:
            report.skipped_failed += 1
            continue
        with transaction.atomic():
            job, sending = _ensure_job(narration, force=False, send=send)
        if job is not None and (sending or not send):
            report.jobs.append(job.pk)
    if report.jobs:
        log.info("sweeper %s %d render job(s): %s", "sent" if send else "found", len(report.jobs), report.jobs)
    return report
