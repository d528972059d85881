"""The pronunciation report: sources, normaliser rules, uncertain readings, and pinning one."""
from __future__ import annotations

import re

import pytest

from exhibits.models import LexiconEntry, RenderJob

SCRIPT = "馆藏号0123的青铜鼎重约50kg，始建于1974年。"


def report(client, exhibit) -> str:
    return client.get(f"/admin/exhibits/exhibit/{exhibit.pk}/pronunciation/").content.decode()


def pin_form(page: str, char: str) -> dict:
    """The hidden fields of the pin form for ``char`` as the page renders them."""
    for form in re.findall(r'<form method="post" action="[^"]*/pin/".*?</form>', page, re.S):
        if f"「<span lang=\"zh\">{char}</span>」" in form:
            fields = dict(re.findall(r'name="(clause|clause_text|index)" value="([^"]*)"', form))
            return fields
    raise AssertionError(f"no pin form for {char}")


def test_report_shows_rules_sources_and_uncertain_readings(curator, make_exhibit):
    page = report(curator, make_exhibit(script=SCRIPT))
    assert "50kg → 五十公斤" in page and "normaliser rule: unit" in page
    assert "1974年 → 一九七四年" in page and "normaliser rule: year" in page
    assert "source: model" in page  # 藏/重 decided by the polyphone model
    assert "不确定 uncertain" in page  # 藏 cang2/zang4: model and dictionary disagree
    assert "固定读音 Pin" in page


def test_pin_as_override_saves_a_new_version_with_the_override(curator, make_exhibit):
    exhibit = make_exhibit(script="这件文物收藏于故宫。")
    narration = exhibit.narrations.get()
    version = narration.version
    fields = pin_form(report(curator, exhibit), "藏")
    response = curator.post(f"/admin/exhibits/exhibit/{exhibit.pk}/pronunciation/pin/",
                            {**fields, "reading": "zang4", "scope": "override"})
    assert response.status_code == 302
    narration.refresh_from_db()
    assert "{收藏|shou1 zang4}" in narration.script  # the whole word, this occurrence only
    assert narration.version == version + 1
    assert RenderJob.objects.filter(narration=narration, version=narration.version).exists()
    assert not LexiconEntry.objects.exists()


def test_pin_as_lexicon_entry_rerenders_and_keeps_the_script(curator, make_exhibit):
    exhibit = make_exhibit(script="这件文物收藏于故宫。")
    narration = exhibit.narrations.get()
    fields = pin_form(report(curator, exhibit), "藏")
    curator.post(f"/admin/exhibits/exhibit/{exhibit.pk}/pronunciation/pin/",
                 {**fields, "reading": "cang2", "scope": "lexicon"})
    entry = LexiconEntry.objects.get()
    assert (entry.term, entry.pinyin) == ("收藏", "shou1 cang2")
    narration.refresh_from_db()
    assert narration.script == "这件文物收藏于故宫。"
    page = report(curator, exhibit)  # pinned now: the report names the term, offers no second pin
    assert "收藏" in page and "「<span lang=\"zh\">藏</span>」" not in page


@pytest.mark.parametrize("change, message", [
    ({"reading": "zang"}, "cannot pin"),  # no tone: the syllable check names it
    ({"reading": "zang4 cang2"}, "one syllable"),
    ({"clause_text": "别的文字。"}, "the script changed"),
    ({"index": "99"}, "the script changed"),
])
def test_bad_pins_are_refused_with_a_message_and_change_nothing(curator, make_exhibit, change, message):
    exhibit = make_exhibit(script="这件文物收藏于故宫。")
    narration = exhibit.narrations.get()
    fields = {**pin_form(report(curator, exhibit), "藏"), "reading": "zang4", "scope": "override", **change}
    response = curator.post(f"/admin/exhibits/exhibit/{exhibit.pk}/pronunciation/pin/", fields, follow=True)
    assert message in response.content.decode()
    narration.refresh_from_db()
    assert narration.script == "这件文物收藏于故宫。" and not LexiconEntry.objects.exists()


def test_pinning_needs_change_permission(visitor, operator_user, make_exhibit, django_user_model):
    from django.test import Client

    exhibit = make_exhibit(script="这件文物收藏于故宫。")
    viewer = django_user_model.objects.create_user("viewer", "v@museum.test", "pw", is_staff=True)
    from django.contrib.auth.models import Permission

    viewer.user_permissions.add(Permission.objects.get(codename="view_exhibit"))
    client = Client()
    client.force_login(viewer)
    assert "固定读音 Pin" not in report(client, exhibit)
    response = client.post(f"/admin/exhibits/exhibit/{exhibit.pk}/pronunciation/pin/",
                           {"clause": 0, "clause_text": "这件文物收藏于故宫。", "index": 5, "reading": "zang4",
                            "scope": "override"})
    assert response.status_code == 403
