"""Bulk rendering for ``render_audio``: pick narrations, run jobs in-process or wait for workers.

Kept out of the command module so the process-pool entry points are importable by name
(``spawn`` children import them) and the command stays a thin argument parser.
"""
from __future__ import annotations

import multiprocessing
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection, connections

from exhibits import services
from exhibits.models import Narration, RenderJob
from exhibits.render import job as render_job, pool

OUTCOMES = (render_job.RENDERED, render_job.REUSED, render_job.SKIPPED, render_job.FAILED)


@dataclass
class Plan:
    jobs: list[RenderJob] = field(default_factory=list)
    already_ready: list[Narration] = field(default_factory=list)


def plan(narrations: Iterable[Narration], force: bool, send: bool, dry_run: bool) -> Plan:
    """A job per narration that needs audio (or all, with ``force``); ready ones are skipped,
    which is what makes a second run after an interruption cheap."""
    result = Plan()
    for narration in narrations:
        if narration.audio_is_current and not force:
            result.already_ready.append(narration)
        elif dry_run:
            result.jobs.append(RenderJob(narration=narration, version=narration.version))
        else:
            job = services.do_request_render(narration, force=force, send=send)
            if job is None:  # became ready between the query and the lock
                result.already_ready.append(narration)
            else:
                result.jobs.append(job)
    return result


def longest_first(jobs: Iterable[RenderJob]) -> list[int]:
    """Job ids, longest script first (ties in the given order). With several processes the jobs
    started last decide how long cores idle at the end, waiting for one process to finish: let
    those be the short ones."""
    return [job.pk for job in sorted(jobs, key=lambda job: -len(job.narration.script))]


# --- in-process (--sync) -------------------------------------------------------------------------
def run_sync(job_ids: list[int], workers: int, on_done: Callable[[int, str], None]) -> None:
    if workers <= 1:
        for job_id in job_ids:
            on_done(job_id, render_job.run_here(job_id))
        return
    # spawn, not fork: a forked copy of a loaded LiteRT interpreter (and its thread pool) hangs.
    context = multiprocessing.get_context("spawn")
    init_args = (connection.settings_dict["NAME"], str(settings.MEDIA_ROOT), pool.engine_threads(workers))
    connections.close_all()
    with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=pool.start, initargs=init_args) as executor:
        futures = {executor.submit(pool.run, job_id): job_id for job_id in job_ids}
        try:
            for future in as_completed(futures):
                on_done(futures[future], future.result())
        except BaseException:
            for future in futures:
                future.cancel()
            raise


# --- via the workers -----------------------------------------------------------------------------
def outcome_of(state: str, reused: bool) -> str | None:
    if state == RenderJob.State.READY:
        return render_job.REUSED if reused else render_job.RENDERED
    if state == RenderJob.State.FAILED:
        return render_job.FAILED
    if state == RenderJob.State.SUPERSEDED:
        return render_job.SKIPPED
    return None  # still live


def wait(job_ids: list[int], timeout: float, on_done: Callable[[int, str], None], poll: float = 0.5) -> list[int]:
    """Poll the job rows until all finished; returns the ids still live at the timeout."""
    pending = set(job_ids)
    deadline = time.monotonic() + timeout
    while pending and time.monotonic() < deadline:
        for job_id, state, reused in RenderJob.objects.filter(pk__in=pending).values_list("pk", "state", "reused"):
            outcome = outcome_of(state, reused)
            if outcome is not None:
                pending.discard(job_id)
                on_done(job_id, outcome)
        if pending:
            time.sleep(poll)
    return sorted(pending)


def summarize(outcomes: Counter) -> str:
    width = max(len(name) for name in OUTCOMES)
    return "\n".join(f"{name:<{width}}  {outcomes.get(name, 0):>6}" for name in OUTCOMES)
