"""``manage.py setup_roles``: create or reset the ``curator`` group's permissions (idempotent)."""
from django.core.management.base import BaseCommand

from exhibits.ops.roles import CURATOR_GROUP, ensure_curator_group


class Command(BaseCommand):
    help = "Create the curator group with exactly the permissions curators need."

    def handle(self, *args, **options):
        group = ensure_curator_group()
        self.stdout.write(f"group {CURATOR_GROUP!r}: {group.permissions.count()} permissions")
