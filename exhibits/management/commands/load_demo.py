"""``manage.py load_demo``: the demo museum (3 galleries, 12 exhibits, a small lexicon).

Creates only what is missing and never changes a gallery, exhibit, narration or lexicon entry
that exists: ``make demo`` runs it on every start, and a curator's edits must survive a restart.
``--reset`` restores the demo texts (titles, descriptions, scripts, readings) through the
services, so a changed script becomes a new version with a new render, like any edit.
"""
from django.core.management.base import BaseCommand
from django.db import transaction

from exhibits import services
from exhibits.demo.museum import EXHIBITS, GALLERIES, LEXICON
from exhibits.models import Exhibit, Gallery, LexiconEntry, Narration


class Command(BaseCommand):
    help = "Create what is missing of the demo museum (3 galleries, 12 narrated exhibits, lexicon); --reset restores its texts."

    def add_arguments(self, parser):
        parser.add_argument("--draft", action="store_true", help="leave new exhibits unpublished")
        parser.add_argument("--reset", action="store_true",
                            help="restore the demo texts of existing demo exhibits (each changed script becomes a new version)")

    @transaction.atomic
    def handle(self, *args, **options):
        reset = options["reset"]
        galleries = {}
        for slug, name, order in GALLERIES:
            galleries[slug], _ = Gallery.objects.get_or_create(slug=slug, defaults={"name": name, "order": order})
            if reset and (galleries[slug].name, galleries[slug].order) != (name, order):
                Gallery.objects.filter(pk=galleries[slug].pk).update(name=name, order=order)
        # Lexicon first, so the first renders already use it (and nothing renders twice).
        terms = 0
        for term, pinyin, note in LEXICON:
            entry = LexiconEntry.objects.filter(term=term).first()
            if entry is None or (reset and (entry.pinyin, entry.note) != (pinyin, note)):
                services.do_save_lexicon_entry(term, pinyin, note, entry=entry)
                terms += 1
        created = scripts = 0
        for order, item in enumerate(EXHIBITS, start=1):
            fields = {"title": item["title"], "description": item["description"], "gallery": galleries[item["gallery"]], "order": order}
            exhibit = Exhibit.objects.filter(gallery__in=galleries.values(), slug=item["slug"]).first()
            is_new = exhibit is None
            if is_new:
                exhibit = services.do_save_exhibit(Exhibit(slug=item["slug"], **fields))
                created += 1
            elif reset and any(getattr(exhibit, k) != v for k, v in fields.items()):
                for name, value in fields.items():
                    setattr(exhibit, name, value)
                services.do_save_exhibit(exhibit)
            if is_new or reset or not Narration.objects.filter(exhibit=exhibit).exists():
                # user=None: the demo, not the last curator, wrote this text.
                if services.do_save_narration(exhibit, item["script"], emotion=item.get("emotion", "neutral")).changed:
                    scripts += 1
            # Publish what this run created (or reset); an exhibit a curator unpublished stays so.
            if (is_new or reset) and not options["draft"] and not exhibit.is_published:
                services.do_publish_exhibit(exhibit)
        self.stdout.write(
            f"demo museum: {len(GALLERIES)} galleries, {len(EXHIBITS)} exhibits ({created} new), "
            f"{scripts} narration(s) {'restored or ' if reset else ''}new, "
            f"{terms} lexicon entr{'y' if terms == 1 else 'ies'} {'restored or ' if reset else ''}added"
            + ("" if reset else "; existing ones left as they are (--reset restores the demo texts)")
        )
