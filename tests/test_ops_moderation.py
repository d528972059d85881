"""exhibits.ops.moderation: the term list, markup that hides a term, pluggable backends."""
from __future__ import annotations

import pytest

from exhibits.ops import moderation


def test_no_terms_allows_everything(settings):
    settings.MODERATION_TERMS = []
    assert moderation.check("任何内容") is None


@pytest.mark.parametrize("text", ["含有BadWord的句子", "含有ｂａｄｗｏｒｄ", "bad[pause 1s]word", "bad\nword", "[sad]bad[/sad]word"])
def test_terms_match_through_case_width_and_markup(settings, text):
    settings.MODERATION_TERMS = ["badword", "另一个"]
    with pytest.raises(moderation.ModerationError) as caught:
        moderation.check(text)
    assert caught.value.term == "badword" and "badword" in str(caught.value)


def test_clean_text_passes(settings):
    settings.MODERATION_TERMS = ["badword"]
    assert moderation.check("a good word, a bad day") is None


def test_whitespace_is_ignored_on_purpose(settings):
    settings.MODERATION_TERMS = ["badword"]
    with pytest.raises(moderation.ModerationError):
        moderation.check("bad word")  # spoken identically, so matched


def reject_everything(text):
    raise moderation.ModerationError("*", "everything is rejected here")


class Vendor:
    def check(self, text):
        if "x" in text:
            raise moderation.ModerationError("x")


def test_custom_backends(settings):
    settings.MODERATION_BACKEND = "tests.test_ops_moderation.reject_everything"
    with pytest.raises(moderation.ModerationError, match="everything"):
        moderation.check("你好")
    settings.MODERATION_BACKEND = "tests.test_ops_moderation.Vendor"
    moderation.check("你好")
    with pytest.raises(moderation.ModerationError):
        moderation.check("x")


def test_publishing_is_refused_for_a_rejected_term(settings, db):
    from exhibits import services
    from exhibits.models import Exhibit, Gallery, Narration

    settings.MODERATION_TERMS = ["违禁词"]
    gallery = Gallery.objects.create(name="g", slug="g-mod")
    exhibit = Exhibit.objects.create(title="t", gallery=gallery)
    Narration.objects.create(exhibit=exhibit, script="这里有[pause 1s]违禁词。")
    with pytest.raises(moderation.ModerationError) as caught:
        services.do_publish_exhibit(exhibit)
    assert caught.value.term == "违禁词"
    exhibit.refresh_from_db()
    assert exhibit.status == Exhibit.Status.DRAFT
