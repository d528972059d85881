"""Read and write catalogue spreadsheets (CSV or XLSX, by file extension) and run an import.

``run_import`` is all-or-nothing unless ``skip_invalid``: a dry run (or a real run that found a
bad row) rolls everything back, so fixing the file and running again is always safe.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import tablib
from import_export.results import RowResult

from exhibits.transfer.resources import ExhibitResource, GalleryResource

FORMATS = {".csv": "csv", ".xlsx": "xlsx"}
RESOURCES = {"exhibits": ExhibitResource, "galleries": GalleryResource}


class TransferError(ValueError):
    """The file cannot be read at all (wrong extension, not a spreadsheet, no header row)."""


def file_format(path: Path) -> str:
    try:
        return FORMATS[path.suffix.lower()]
    except KeyError:
        raise TransferError(f"{path.name}: use a .csv or .xlsx file") from None


def read(path: Path) -> tablib.Dataset:
    fmt = file_format(path)
    raw = path.read_bytes()
    try:
        if fmt == "csv":
            return tablib.Dataset().load(raw.decode("utf-8-sig"), format="csv")  # Excel writes a BOM
        return tablib.Dataset().load(raw, format="xlsx")
    except Exception as exc:  # tablib/openpyxl raise many kinds for a damaged file
        raise TransferError(f"{path.name} is not a readable {fmt.upper()} file: {exc}") from None


def write(dataset: tablib.Dataset, path: Path) -> None:
    fmt = file_format(path)
    data = dataset.export(fmt)
    path.write_bytes(("\ufeff" + data).encode("utf-8") if fmt == "csv" else data)  # BOM: Excel reads UTF-8


def export(what: str, path: Path, queryset=None) -> int:
    dataset = RESOURCES[what]().export(queryset)
    write(dataset, path)
    return len(dataset)


@dataclass
class ImportReport:
    total: int
    counts: dict[str, int]  # new, update, skip
    errors: list[tuple[int, str]] = field(default_factory=list)  # (sheet row, message); header = row 1
    written: bool = False

    def lines(self) -> list[str]:
        out = [f"第{row}行 row {row}: {message}" for row, message in self.errors]
        verb = "written" if self.written else "nothing written"
        out.append(f"{self.total} rows: {self.counts.get('new', 0)} new, {self.counts.get('update', 0)} changed, "
                   f"{self.counts.get('skip', 0)} unchanged, {len(self.errors)} with errors ({verb})")
        return out


def run_import(what: str, dataset: tablib.Dataset, dry_run: bool, skip_invalid: bool = False, user=None) -> ImportReport:
    result = RESOURCES[what]().import_data(
        dataset, dry_run=dry_run, use_transactions=True, rollback_on_validation_errors=not skip_invalid, user=user,
    )
    errors = [(0, str(error.error)) for error in result.base_errors]
    for error_row in result.error_rows:  # unexpected failures (the whole import is rolled back)
        errors.extend((error_row.number + 1, f"{type(e.error).__name__}: {e.error}") for e in error_row.errors)
    for invalid in result.invalid_rows:
        messages = "; ".join(f"{column}: {' '.join(texts)}" for column, texts in invalid.error_dict.items())
        errors.append((invalid.number + 1, messages))
    errors.sort()
    counts = {kind: result.totals.get(kind, 0) for kind in (RowResult.IMPORT_TYPE_NEW, RowResult.IMPORT_TYPE_UPDATE, RowResult.IMPORT_TYPE_SKIP)}
    written = not dry_run and not result.has_errors() and (skip_invalid or not result.has_validation_errors())
    return ImportReport(len(dataset), counts, errors, written)
