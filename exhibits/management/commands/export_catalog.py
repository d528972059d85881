"""``manage.py export_catalog FILE``: every exhibit with its narration (or ``--galleries``) to a
CSV or XLSX file, e.g. for a translator; ``import_catalog`` reads it back, and importing it
unchanged changes nothing."""
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from exhibits.transfer.files import TransferError, export


class Command(BaseCommand):
    help = "Export exhibits and narrations (or --galleries) to a .csv or .xlsx file."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--galleries", action="store_true", help="export the galleries instead")

    def handle(self, *args, file: Path, galleries: bool, **options):
        try:
            count = export("galleries" if galleries else "exhibits", file)
        except (OSError, TransferError) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"{count} {'galleries' if galleries else 'exhibits'} written to {file}")
