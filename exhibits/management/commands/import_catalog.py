"""``manage.py import_catalog FILE``: bring galleries or exhibits with their narrations in from a
CSV or XLSX file (the format ``export_catalog`` writes; see exhibits/transfer/resources.py).

    manage.py import_catalog catalogue.xlsx --dry-run       # per-row errors, nothing written
    manage.py import_catalog catalogue.xlsx                 # all rows, or nothing if any is bad
    manage.py import_catalog catalogue.xlsx --skip-invalid  # the good rows; the bad ones listed
    manage.py import_catalog galleries.csv --galleries

Every row goes through the same services as the admin: changed scripts become new versions and
are queued for rendering; a narration edited since the export is reported as a conflict.
Exit status 1 when any row has an error.
"""
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from exhibits.transfer.files import TransferError, read, run_import


class Command(BaseCommand):
    help = "Import exhibits and narrations (or --galleries) from a CSV or XLSX file; --dry-run checks only."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--galleries", action="store_true", help="the file lists galleries (slug, name, order)")
        parser.add_argument("--dry-run", action="store_true", help="check every row and report; write nothing")
        parser.add_argument("--skip-invalid", action="store_true", help="import the good rows even if some are bad")

    def handle(self, *args, file: Path, galleries: bool, dry_run: bool, skip_invalid: bool, **options):
        try:
            dataset = read(file)
        except (OSError, TransferError) as exc:
            raise CommandError(str(exc)) from None
        report = run_import("galleries" if galleries else "exhibits", dataset, dry_run=dry_run, skip_invalid=skip_invalid)
        *errors, summary = report.lines()
        for line in errors:
            self.stderr.write(line)
        self.stdout.write(("dry run: " if dry_run else "") + summary)
        if report.errors:
            hint = "" if dry_run or skip_invalid else "; fix them, or --skip-invalid to import the other rows"
            raise CommandError(f"{len(report.errors)} row(s) with errors{hint}", returncode=1)
