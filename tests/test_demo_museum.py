"""``load_demo`` on a restarted demo: curators' edits survive; ``--reset`` restores through services."""
from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from exhibits import services
from exhibits.demo.museum import EXHIBITS
from exhibits.models import Exhibit, Gallery, LexiconEntry, Narration, RenderJob

pytestmark = pytest.mark.django_db  # not transactional: nothing is sent to the broker


def load(*args) -> str:
    out = StringIO()
    call_command("load_demo", *args, stdout=out)
    return out.getvalue()


def test_restart_keeps_curator_edits(curator_user):
    load()
    first, second = (Exhibit.objects.get(slug=item["slug"]) for item in EXHIBITS[:2])
    services.do_save_narration(first, "馆员改写的讲解词。", user=curator_user)
    second.title = "馆员改的标题"
    services.do_save_exhibit(second)
    services.do_unpublish_exhibit(second)
    entry = LexiconEntry.objects.get(term="于阗")
    services.do_save_lexicon_entry("于阗", "yu2 tian2", "馆员的注释", entry=entry, user=curator_user)
    jobs = RenderJob.objects.count()

    out = load()  # what `make demo` does on every start

    narration = Narration.objects.get(exhibit=first)
    assert (narration.script, narration.version, narration.edited_by) == ("馆员改写的讲解词。", 2, curator_user)
    second.refresh_from_db()
    assert second.title == "馆员改的标题" and not second.is_published
    assert LexiconEntry.objects.get(term="于阗").note == "馆员的注释"
    assert RenderJob.objects.count() == jobs, "nothing re-rendered"
    assert "(0 new), 0 narration(s) new, 0 lexicon entries added" in out


def test_restart_creates_only_what_is_missing():
    load()
    Exhibit.objects.get(slug=EXHIBITS[-1]["slug"]).delete()
    Gallery.objects.filter(slug="silk-road").update(name="馆员改的展厅名")
    out = load()
    assert "(1 new), 1 narration(s) new" in out
    assert Exhibit.objects.count() == len(EXHIBITS)
    assert Gallery.objects.get(slug="silk-road").name == "馆员改的展厅名"


def test_reset_restores_demo_text_as_new_version(curator_user):
    load()
    exhibit = Exhibit.objects.get(slug=EXHIBITS[0]["slug"])
    services.do_save_narration(exhibit, "馆员改写的讲解词。", user=curator_user)

    out = load("--reset")

    narration = Narration.objects.get(exhibit=exhibit)
    assert narration.script == EXHIBITS[0]["script"]
    assert narration.version == 3, "restored as a new version, never rewritten in place"
    assert narration.edited_by is None, "the admin did not write the demo text"
    assert RenderJob.objects.filter(narration=narration, version=3, state=RenderJob.State.QUEUED).exists()
    assert "1 narration(s) restored or new" in out
    assert set(Narration.objects.exclude(pk=narration.pk).values_list("version", flat=True)) == {1}
