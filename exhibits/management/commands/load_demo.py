"""``manage.py load_demo``: the demo museum (3 galleries, 12 exhibits, a small lexicon).

Idempotent: run it again and nothing changes (no version bump, no render) unless the demo data
changed. Everything goes through the same services as the admin, so narrations get render jobs.
"""
from django.core.management.base import BaseCommand
from django.db import transaction

from exhibits import services
from exhibits.demo.museum import EXHIBITS, GALLERIES, LEXICON
from exhibits.models import Exhibit, Gallery, LexiconEntry


class Command(BaseCommand):
    help = "Load (or update) the demo museum: 3 galleries, 12 narrated exhibits, lexicon entries."

    def add_arguments(self, parser):
        parser.add_argument("--draft", action="store_true", help="leave the exhibits unpublished")

    @transaction.atomic
    def handle(self, *args, **options):
        galleries = {}
        for slug, name, order in GALLERIES:
            galleries[slug], _ = Gallery.objects.update_or_create(slug=slug, defaults={"name": name, "order": order})
        # Lexicon first, so the first renders already use it (and nothing renders twice).
        changed_terms = 0
        for term, pinyin, note in LEXICON:
            entry = LexiconEntry.objects.filter(term=term).first()
            if entry is None or (entry.pinyin, entry.note) != (pinyin, note):
                services.do_save_lexicon_entry(term, pinyin, note, entry=entry)
                changed_terms += 1
        created = changed = 0
        for order, item in enumerate(EXHIBITS, start=1):
            gallery = galleries[item["gallery"]]
            exhibit = Exhibit.objects.filter(gallery__in=galleries.values(), slug=item["slug"]).first()
            fields = {"title": item["title"], "description": item["description"], "gallery": gallery, "order": order}
            if exhibit is None:
                exhibit = services.do_save_exhibit(Exhibit(slug=item["slug"], **fields))
                created += 1
            elif any(getattr(exhibit, k) != v for k, v in fields.items()):
                for name, value in fields.items():
                    setattr(exhibit, name, value)
                services.do_save_exhibit(exhibit)
            if services.do_save_narration(exhibit, item["script"], emotion=item.get("emotion", "neutral")).changed:
                changed += 1
            if not options["draft"] and not exhibit.is_published:
                services.do_publish_exhibit(exhibit)
        self.stdout.write(
            f"demo museum: {len(GALLERIES)} galleries, {len(EXHIBITS)} exhibits ({created} new), "
            f"{changed} narration(s) new or changed, {changed_terms} lexicon entr{'y' if changed_terms == 1 else 'ies'} updated"
        )
