"""Bulk import/export of the catalogue (exhibits/transfer/, import_catalog, export_catalog)."""
from __future__ import annotations

import re
from io import StringIO
from pathlib import Path

import pytest
import tablib
from django.core.management import CommandError, call_command

from exhibits import services
from exhibits.models import Exhibit, Gallery, Narration, RenderJob
from exhibits.transfer.resources import EXHIBIT_COLUMNS

pytestmark = pytest.mark.django_db  # not transactional: queued renders stay rows, nothing is sent


def command(name: str, *args) -> tuple[int, str, str]:
    out, err = StringIO(), StringIO()
    try:
        call_command(name, *args, stdout=out, stderr=err)
        return 0, out.getvalue(), err.getvalue()
    except CommandError as exc:
        return exc.returncode, out.getvalue(), err.getvalue() + str(exc)


def snapshot() -> tuple:
    """Everything an import could change."""
    return (
        sorted(Exhibit.objects.values_list("code", "title", "gallery_id", "status", "order", "description", "updated_at")),
        sorted(Narration.objects.values_list("exhibit_id", "script", "version", "emotion", "voice")),
        RenderJob.objects.count(),
        Gallery.objects.count(),
    )


def error_rows(stderr: str) -> dict[int, str]:
    return {int(m.group(1)): m.group(2) for m in re.finditer(r"^第\d+行 row (\d+): (.*)$", stderr, re.M)}


@pytest.fixture
def catalogue(make_exhibit):
    return [make_exhibit(f"展品{i}", script=f"这是第{i}件展品的讲解。") for i in range(10)]


def test_300_rows_with_5_bad_ones(catalogue, curator_user, gallery, tmp_path):
    exported = tmp_path / "export.xlsx"
    assert command("export_catalog", str(exported))[0] == 0
    rows = tablib.Dataset().load(exported.read_bytes(), format="xlsx").dict
    assert [str(r["code"]) for r in rows] == [str(e.code) for e in catalogue] and str(rows[0]["version"]) == "1"
    for row in rows:  # a translator revised every exported script
        row["script"] = row["script"].replace("讲解", "新讲解")
    # Meanwhile a curator edits exhibit 0 in the admin: its row becomes a conflict.
    services.do_save_narration(catalogue[0], "馆员在导出后改了这段。", user=curator_user)
    rows.append({**rows[2], "title": "同一编号又出现一次"})  # duplicate code
    new = [{"code": "", "gallery": gallery.slug, "title": f"新展品{i}", "status": "published",
            "script": f"第{i}件新展品。[pause 300ms]欢迎参观。"} for i in range(289)]
    new[10]["script"] = "欢迎来到[happy青铜器展厅。"  # markup error
    new[20]["gallery"] = "no-such-gallery"
    new[30]["emotion"] = "sleepy"
    rows.extend(new)
    dataset = tablib.Dataset(headers=list(EXHIBIT_COLUMNS))
    for row in rows:
        dataset.append([row.get(column, "") for column in EXHIBIT_COLUMNS])
    assert len(dataset) == 300
    upload = tmp_path / "catalogue.xlsx"
    upload.write_bytes(dataset.export("xlsx"))
    before = snapshot()

    status, out, err = command("import_catalog", str(upload), "--dry-run")

    # Sheet rows: the header is row 1, so data row n is sheet row n + 1.
    errors = error_rows(err)
    assert sorted(errors) == [2, 12, 23, 33, 43], err
    assert "conflict" in errors[2] and "now version 2" in errors[2]
    assert "duplicate code" in errors[12] and "data row 3" in errors[12]
    assert re.search(r"script: 第1行第\d+列 line 1, column \d+: ", errors[23]), errors[23]
    assert "unknown gallery “no-such-gallery”" in errors[33]
    assert errors[43].startswith("emotion: ") and "sleepy" in errors[43]
    assert status == 1 and "dry run: 300 rows" in out and "5 with errors (nothing written)" in out
    assert snapshot() == before, "a dry run writes nothing"

    status, out, err = command("import_catalog", str(upload))  # all or nothing by default
    assert status == 1 and "--skip-invalid" in err and snapshot() == before

    jobs = RenderJob.objects.count()
    status, out, err = command("import_catalog", str(upload), "--skip-invalid")
    assert sorted(error_rows(err)) == [2, 12, 23, 33, 43]
    assert "300 rows: 286 new, 9 changed, 0 unchanged, 5 with errors (written)" in out
    assert Exhibit.objects.count() == 10 + 286
    new_jobs = RenderJob.objects.filter(pk__gt=0).order_by("-pk")[: RenderJob.objects.count() - jobs]
    assert RenderJob.objects.count() - jobs == 295, "one render queued per imported row"
    assert {job.state for job in new_jobs} == {RenderJob.State.QUEUED}
    assert all(job.version == job.narration.version for job in new_jobs)
    assert Narration.objects.get(exhibit=catalogue[0]).script == "馆员在导出后改了这段。", "the conflict was not written"
    assert Narration.objects.get(exhibit=catalogue[1]).version == 2
    assert Exhibit.objects.filter(title__startswith="新展品", status=Exhibit.Status.PUBLISHED).count() == 286


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_export_then_import_unchanged_changes_nothing(catalogue, tmp_path, suffix):
    services.do_publish_exhibit(catalogue[3])
    services.do_save_narration(catalogue[4], "[sad 0.6]第二版。[/sad]\n第二段。", emotion="happy")
    path = tmp_path / f"catalogue{suffix}"
    assert command("export_catalog", str(path))[0] == 0
    before = snapshot()
    status, out, err = command("import_catalog", str(path))
    assert status == 0, err
    assert "10 rows: 0 new, 0 changed, 10 unchanged, 0 with errors" in out
    assert snapshot() == before


def test_galleries_round_trip_and_bad_file(gallery, tmp_path):
    path = tmp_path / "galleries.csv"
    assert command("export_catalog", str(path), "--galleries")[0] == 0
    path.write_text(path.read_text(encoding="utf-8-sig") + "silk-road,丝绸之路,2\n", encoding="utf-8")
    status, out, _ = command("import_catalog", str(path), "--galleries")
    assert status == 0 and Gallery.objects.get(slug="silk-road").name == "丝绸之路"
    assert "1 new, 0 changed, 1 unchanged" in out
    bad = tmp_path / "catalogue.txt"
    bad.write_text("x")
    assert command("import_catalog", str(bad))[0] == 1
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"not a spreadsheet")
    status, _, err = command("import_catalog", str(broken))
    assert status == 1 and "not a readable XLSX file" in err


def test_admin_import_previews_errors_then_writes_through_services(operator, gallery, make_exhibit):
    from django.core.files.uploadedfile import SimpleUploadedFile

    exhibit = make_exhibit("后母戊鼎", script="第一版。")
    assert operator.get("/admin/exhibits/exhibit/export/").status_code == 200
    header = ",".join(EXHIBIT_COLUMNS)
    bad = f"{header}\n,{gallery.slug},新展品,,,draft,,欢迎[happy参观,,,\n"
    response = operator.post("/admin/exhibits/exhibit/import/", {
        "resource": 0, "format": 0, "import_file": SimpleUploadedFile("c.csv", bad.encode(), "text/csv")})
    assert response.status_code == 200
    assert "line 1, column" in response.content.decode() and Exhibit.objects.count() == 1

    good = f"{header}\n{exhibit.code},{gallery.slug},后母戊鼎,,,draft,0,第二版。,neutral,,1\n"
    response = operator.post("/admin/exhibits/exhibit/import/", {
        "resource": 0, "format": 0, "import_file": SimpleUploadedFile("c.csv", good.encode(), "text/csv")})
    confirm = response.context["confirm_form"]
    assert confirm is not None, response.content.decode()[-2000:]
    response = operator.post("/admin/exhibits/exhibit/process_import/", {**confirm.initial, "resource": 0})
    assert response.status_code == 302
    narration = Narration.objects.get(exhibit=exhibit)
    assert (narration.script, narration.version, narration.edited_by.username) == ("第二版。", 2, "operator")
    assert RenderJob.objects.filter(narration=narration, version=2).exists()
