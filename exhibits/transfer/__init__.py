"""Bulk import and export of the catalogue (galleries, exhibits and their narrations) as CSV or
XLSX spreadsheets, with django-import-export.

``resources`` maps spreadsheet rows to the catalogue: every write goes through the ``do_*``
services (so imported scripts are checked, versioned and rendered like an admin edit), each row
is checked completely before anything is written (markup errors with line and column, unknown
gallery, duplicate or unknown code, a narration changed since the export = a conflict), and an
unchanged row is skipped. ``files`` reads and writes the files and reports an import, for the
``import_catalog`` / ``export_catalog`` commands; the admin's import and export buttons use the
same resources. This room imports services, forms-free models and ops; never the admin, the
visitor site, the API or the render jobs (tests/test_architecture.py).
"""
