"""``manage.py render_audio``: (re-)render narration audio in bulk, resumably.

    render_audio                      narrations without current audio (= --stale); versions that
                                      failed for good (bad script) are skipped unless --retry-failed
    render_audio --all [--force]      every narration (--force: even those already ready)
    render_audio --exhibit 101 102    these exhibit codes
    --sync [--workers N]              render here, no broker (N processes, each loads the voice once)
    --dry-run                         list what would be rendered
    --timeout S                       without --sync: stop waiting for the workers after S seconds

A second run skips what is ready for the current version, so an interrupted run just continues.
Exit status: 0 all done, 1 something failed, 2 timed out waiting for the workers.
"""
from __future__ import annotations

import os
import sys
from collections import Counter

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from exhibits.models import Exhibit, Narration, RenderJob, RenderState
from exhibits.render import bulk, job as render_job, pool


class Command(BaseCommand):
    help = "Render narration audio in bulk (resumable); prints a summary, exit 1 if anything failed."

    def add_arguments(self, parser):
        which = parser.add_mutually_exclusive_group()
        which.add_argument("--all", action="store_true", help="every narration")
        which.add_argument("--stale", action="store_true", help="narrations without current audio (default)")
        which.add_argument("--exhibit", nargs="+", type=int, metavar="CODE", help="these exhibit codes")
        parser.add_argument("--force", action="store_true", help="also re-render narrations whose audio is current")
        parser.add_argument("--retry-failed", action="store_true",
                            help="with --stale: also narrations whose render failed for good (bad script, time limit)")
        parser.add_argument("--dry-run", action="store_true", help="show what would be rendered, change nothing")
        parser.add_argument("--sync", action="store_true", help="render in this process instead of the workers")
        parser.add_argument("--workers", type=int, default=1, help="processes for --sync (default 1)")
        parser.add_argument("--timeout", type=float, default=3600, help="seconds to wait for the workers")

    def handle(self, *args, **options):
        if options["workers"] < 1:
            raise CommandError("--workers must be at least 1")
        narrations = self.select(options)
        plan = bulk.plan(narrations, options["force"], send=not options["sync"], dry_run=options["dry_run"])
        ready = len(plan.already_ready)
        if not (options["all"] or options["exhibit"]):  # --stale never selected the ready ones: count them
            ready = Narration.objects.count() - len(plan.jobs)
        outcomes = Counter({render_job.SKIPPED: ready})
        if options["dry_run"]:
            for job in plan.jobs:
                n = job.narration
                self.stdout.write(f"would render {n.exhibit.code} {n.exhibit.title} v{n.version} ({len(n.script)} 字)")
            self.stdout.write(f"{len(plan.jobs)} to render, {ready} already ready")
            return
        failures, timed_out = self.run(plan, options, outcomes)
        self.stdout.write(bulk.summarize(outcomes))
        for line in failures:
            self.stdout.write(line)
        if timed_out:
            raise CommandError(f"timed out after {options['timeout']:.0f} s; {len(timed_out)} job(s) still live "
                               "(are the workers running?); run again to keep waiting", returncode=2)
        if outcomes[render_job.FAILED]:
            raise CommandError(f"{outcomes[render_job.FAILED]} narration(s) failed", returncode=1)

    def select(self, options):
        narrations = Narration.objects.select_related("exhibit").order_by("exhibit__code", "language")
        if options["exhibit"]:
            codes = set(options["exhibit"])
            unknown = codes - set(Exhibit.objects.filter(code__in=codes).values_list("code", flat=True))
            if unknown:
                raise CommandError(f"unknown exhibit code(s): {', '.join(map(str, sorted(unknown)))}")
            without = codes - set(narrations.filter(exhibit__code__in=codes).values_list("exhibit__code", flat=True))
            if without:
                self.stderr.write(f"no narration yet for exhibit(s): {', '.join(map(str, sorted(without)))}")
            return narrations.filter(exhibit__code__in=codes)
        if options["all"]:
            return narrations
        stale = narrations.needing_audio().with_render_state()
        if options["retry_failed"]:
            return stale
        # Same rule as the sweeper: a script that failed for good would fail again (and hold a
        # worker up to its time limit); healable failures are retried.
        hopeless = stale.filter(render_state=RenderState.FAILED, latest_job_healable=False)
        for narration in hopeless:
            self.stderr.write(f"skipped exhibit {narration.exhibit.code} v{narration.version}: failed "
                              f"({narration.latest_job_error}); fix the script or use --retry-failed")
        return stale.exclude(pk__in=hopeless.values("pk"))

    def run(self, plan, options, outcomes: Counter) -> tuple[list[str], list[int]]:
        jobs = {job.pk: job for job in plan.jobs}
        failures: list[str] = []
        bar = tqdm(total=len(jobs), file=sys.stderr, unit="narration", dynamic_ncols=True, desc="render")

        def done(job_id: int, outcome: str) -> None:
            outcomes[outcome] += 1
            bar.update(1)
            bar.set_postfix({k: v for k, v in outcomes.items() if v}, refresh=False)
            if outcome == render_job.FAILED:
                job = RenderJob.objects.select_related("narration__exhibit").get(pk=job_id)
                failures.append(f"failed: exhibit {job.narration.exhibit.code} v{job.version}: {job.error}")

        try:
            if options["sync"]:
                if options["workers"] > 1:
                    env = pool.engine_threads(options["workers"])
                    self.stdout.write(f"{options['workers']} processes on {os.cpu_count()} cores, "
                                      f"{env['ZHTTS_THREADS']} engine thread(s) and {env['ZHTTS_VOCODERS']} vocoder each "
                                      "(ZHTTS_THREADS / ZHTTS_VOCODERS override)")
                bulk.run_sync(bulk.longest_first(plan.jobs), options["workers"], done)
                return failures, []
            return failures, bulk.wait(list(jobs), options["timeout"], done)
        finally:
            bar.close()
