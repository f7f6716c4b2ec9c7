"""Registration sheets and marking schemes through the console, the API and the CLI: one
pipeline behind all three."""
from __future__ import annotations

import io
import json
import re

import jsonschema
import openpyxl
import pytest
import sqlalchemy as sa

from app.models import (
    AuditLog,
    Contestant,
    Enterprise,
    Entry,
    EntryStatus,
    ImportBatch,
    ImportStatus,
    MarkingItem,
    Track,
)
from app.services import imports
from tests.conftest import flask_cli, fresh_database_url
from tests.import_sheets import Sheet, person

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def bearer(secret: str) -> dict:
    return {"Authorization": f"Bearer {secret}"}


MIXED = Sheet(rows=[person(1), person(2, 身份证号码=3.20102e17), person(3),
                   person(4, 手机号码="1381234"), person(5, 工作单位="控制台测试化工有限公司")])


def mixed_sheet() -> Sheet:
    """Five people, two of them bad: row 5 (ID made a number), row 7 (short phone); always the
    same file, byte for byte."""
    return MIXED


def chem(db_session) -> Track:
    return db_session.scalar(sa.select(Track).where(Track.code == "chem"))


def imported_entries(db_session, batch_id: int) -> list[Entry]:
    return db_session.scalars(sa.select(Entry).where(Entry.import_batch_id == batch_id)).all()


def batch_id_from(response) -> int:
    assert response.status_code == 302, response.get_data(as_text=True)[:400]
    return int(re.search(r"/admin/imports/(\d+)$", response.location).group(1))


def upload(visitor, sheet: Sheet | bytes, track_id: int, name: str = "报名表.xlsx"):
    content = sheet.xlsx() if isinstance(sheet, Sheet) else sheet
    return visitor.post("/admin/imports", {"track": str(track_id),
                                           "file": (io.BytesIO(content), name)},
                        content_type="multipart/form-data")


def assert_no_inline_code(html: str) -> None:
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "inline script"
    assert " style=" not in html and "<style" not in html, "inline style"


# ---------------------------------------------------------------------------------------------
# The organiser console


def test_organiser_checks_a_sheet_sees_each_bad_row_then_imports_the_good_ones(signed_in,
                                                                               db_session):
    organiser = signed_in("organiser")
    page = organiser.get("/admin/imports").get_data(as_text=True)
    assert "导入报名表" in page and 'enctype="multipart/form-data"' in page
    track = chem(db_session)
    batch_id = batch_id_from(upload(organiser, mixed_sheet(), track.id))
    assert imported_entries(db_session, batch_id) == []  # a dry run first

    page = organiser.get(f"/admin/imports/{batch_id}").get_data(as_text=True)
    assert_no_inline_code(page)
    assert "导入 3 条合格数据" in page and "放弃：不导入任何数据" in page
    table = page.split('id="import-errors"')[1].split("</table>")[0]
    rows = re.findall(r"<tr><td[^>]*>(\d+)</td><td>([^<]+)</td><td>([^<]+)</td></tr>", table)
    assert [(r, c) for r, c, _reason in rows] == [("5", "身份证号码"), ("7", "手机号码")]
    assert "Excel存成了数字" in rows[0][2] and "11位" in rows[1][2]
    assert "1 家单位尚未登记" in page or "2 家单位尚未登记" in page

    response = organiser.post(f"/admin/imports/{batch_id}/import")
    assert response.status_code == 302
    entries = imported_entries(db_session, batch_id)
    assert len(entries) == 3 and {e.status for e in entries} == {EntryStatus.ENDORSED}
    page = organiser.get(f"/admin/imports/{batch_id}").get_data(as_text=True)
    assert "已导入 3 行。" in page and 'data-count="imported">3<' in page
    assert db_session.get(ImportBatch, batch_id).content is None

    again = upload(organiser, mixed_sheet(), track.id)
    assert batch_id_from(again) == batch_id  # the same file: that import, nothing added
    assert "本次未添加任何数据" in organiser.get(again.location).get_data(as_text=True)


def test_cancel_imports_nothing_and_forgets_the_file(signed_in, db_session):
    organiser = signed_in("organiser")
    batch_id = batch_id_from(upload(organiser, mixed_sheet(), chem(db_session).id))
    response = organiser.post(f"/admin/imports/{batch_id}/cancel")
    assert response.status_code == 302 and response.location.endswith("/admin/imports")
    batch = db_session.get(ImportBatch, batch_id)
    assert batch.status == ImportStatus.REJECTED and batch.content is None
    assert imported_entries(db_session, batch_id) == []
    assert organiser.post(f"/admin/imports/{batch_id}/import").status_code == 302
    assert imported_entries(db_session, batch_id) == []  # a cancelled upload stays cancelled


def test_the_error_report_downloads_as_xlsx_and_the_download_is_recorded(signed_in,
                                                                         db_session):
    organiser = signed_in("organiser")
    batch_id = batch_id_from(upload(organiser, mixed_sheet(), chem(db_session).id))
    response = organiser.get(f"/admin/imports/{batch_id}/errors.xlsx")
    assert response.status_code == 200 and response.mimetype == XLSX
    assert "attachment" in response.headers["Content-Disposition"]
    ws = openpyxl.load_workbook(io.BytesIO(response.data)).active
    rows = [[c.value for c in row] for row in ws.iter_rows()]
    assert rows[0][-1] == "错误原因" and [r[1] for r in rows[1:]] == ["张002", "张004"]
    assert rows[1][-1].startswith("身份证号码：") and rows[2][-1].startswith("手机号码：")
    assert db_session.scalar(sa.select(AuditLog).where(
        AuditLog.action == "import.error_report", AuditLog.object_id == batch_id)) is not None


# The form's own check refuses a .pdf, the import service the others: both answer 422, as every
# refused form does.
@pytest.mark.parametrize(("name", "content", "message", "status"), [
    ("报名表.xlsx", b"this is not a workbook", "无法作为 Excel 工作簿读取", 422),
    ("报名表.pdf", b"%PDF-1.4", "请上传 Excel 工作簿", 422),
    ("空.xlsx", Sheet(rows=[], header=["甲", "乙"]).xlsx(), "未找到表头行", 422),
])
def test_a_file_that_cannot_be_read_is_refused_next_to_the_field(signed_in, db_session, name,
                                                                 content, message, status):
    organiser = signed_in("organiser")
    response = upload(organiser, content, chem(db_session).id, name=name)
    assert response.status_code == status
    page = response.get_data(as_text=True)
    assert message in page and 'id="file-error"' in page
    assert db_session.scalar(sa.select(sa.func.count()).select_from(ImportBatch).where(
        ImportBatch.file_name == name)) == 0


def test_a_large_file_is_checked_in_the_background_with_its_progress_polled(
        app, signed_in, db_session, monkeypatch):
    started = []
    monkeypatch.setitem(app.config, "IMPORT_BACKGROUND_BYTES", 1)
    monkeypatch.setattr(imports, "start_background_check",
                        lambda app_, batch_id: started.append(batch_id))
    organiser = signed_in("organiser")
    response = upload(organiser, mixed_sheet(), chem(db_session).id)
    batch_id = batch_id_from(response)
    response.close()  # the server closes the response after sending it: the check starts
    assert started == [batch_id]
    page = organiser.get(f"/admin/imports/{batch_id}").get_data(as_text=True)
    assert_no_inline_code(page)
    assert "<progress" in page and "js/import-progress.js" in page
    state = organiser.get(f"/admin/imports/{batch_id}/progress").get_json()
    assert state["status"] == "checking" and state["percent"] == 0

    imports._background_check(app, batch_id)  # what the worker's thread runs

    state = organiser.get(f"/admin/imports/{batch_id}/progress").get_json()
    assert state == {"status": "dry_run", "phase": None, "done": 0, "total": 0, "percent": 100}
    page = organiser.get(f"/admin/imports/{batch_id}").get_data(as_text=True)
    assert "导入 3 条合格数据" in page and "<progress" not in page


def test_the_batch_page_of_an_unknown_import_is_404(signed_in):
    organiser = signed_in("organiser")
    assert organiser.get("/admin/imports/999999").status_code == 404
    assert organiser.get("/admin/imports/999999/progress").status_code == 404


# ---------------------------------------------------------------------------------------------
# Marking schemes from the scheme page


def test_marking_scheme_exports_and_imports_from_the_scheme_page(signed_in, db_session):
    organiser = signed_in("organiser")
    page = organiser.get("/admin/components/4/scheme").get_data(as_text=True)
    assert 'href="/admin/components/4/scheme.xlsx"' in page
    assert 'href="/admin/components/4/scheme/import"' in page
    exported = organiser.get("/admin/components/4/scheme.xlsx")
    assert exported.status_code == 200 and exported.mimetype == XLSX

    form = organiser.get("/admin/components/5/scheme/import").get_data(as_text=True)
    assert_no_inline_code(form)
    assert "/admin/components/5/scheme.xlsx" in form
    response = organiser.post("/admin/components/5/scheme/import",
                              {"file": (io.BytesIO(exported.data), "评分标准.xlsx")},
                              content_type="multipart/form-data")
    batch_id = batch_id_from(response)
    assert db_session.scalar(sa.select(sa.func.count()).select_from(MarkingItem).where(
        MarkingItem.component_id == 5)) == 0
    page = organiser.get(f"/admin/imports/{batch_id}").get_data(as_text=True)
    assert "所有行均合格" in page
    assert organiser.post(f"/admin/imports/{batch_id}/import").status_code == 302
    codes = lambda component_id: sorted(db_session.scalars(  # noqa: E731
        sa.select(MarkingItem.code).where(MarkingItem.component_id == component_id)))
    assert codes(5) == codes(4) and codes(5)


def test_a_bad_marking_scheme_row_blocks_the_whole_import(signed_in, db_session):
    book = openpyxl.Workbook()
    book.active.append(["编码", "上级编码", "层级", "名称", "类型", "满分"])
    book.active.append(["A", None, "评分模块", "安全"])
    book.active.append(["A1", "A", "评分项", "检查", "测量", -2])
    buffer = io.BytesIO()
    book.save(buffer)
    organiser = signed_in("organiser")
    batch_id = batch_id_from(organiser.post(
        "/admin/components/5/scheme/import", {"file": (io.BytesIO(buffer.getvalue()), "x.xlsx")},
        content_type="multipart/form-data"))
    page = organiser.get(f"/admin/imports/{batch_id}").get_data(as_text=True)
    assert "满分" in page and "导入 " not in page.split('id="import-decision"')[1][:400]


# ---------------------------------------------------------------------------------------------
# The API


def api_upload(client, secret: str, sheet: Sheet | bytes | None, *, dry_run: str | None = None,
               track: str = "chem"):
    data = {}
    if sheet is not None:
        content = sheet.xlsx() if isinstance(sheet, Sheet) else sheet
        data["file"] = (io.BytesIO(content), "报名表.xlsx")
    if dry_run is not None:
        data["dry_run"] = dry_run
    return client.post(f"/api/v1/contests/jstl-2025/tracks/{track}/registrations/import",
                       data=data, headers=bearer(secret), content_type="multipart/form-data")


def response_schema(client) -> dict:
    document = client.get("/api/v1/openapi.json").get_json()
    operation = document["paths"][
        "/contests/{code}/tracks/{track_code}/registrations/import"]["post"]
    assert "multipart/form-data" in operation["requestBody"]["content"]
    return operation["responses"]["200"]["content"]["application/json"]["schema"]


def test_api_dry_run_then_import_answer_the_documented_report(client, api_token, db_session):
    secret = api_token("organiser")
    schema = response_schema(client)
    dry = api_upload(client, secret, mixed_sheet(), dry_run="true")
    assert dry.status_code == 200
    body = dry.get_json()
    jsonschema.validate(body, schema)
    assert (body["rows"], body["valid"], body["imported"], body["dry_run"]) == (5, 3, 0, True)
    assert body["errors"] == [
        {"row": 5, "column": "身份证号码",
         "reason": "身份证号被Excel存成了数字，末几位已丢失；请将该列设为文本格式后重新填写。"},
        {"row": 7, "column": "手机号码", "reason": "手机号码应为以1开头的11位数字。"}]
    assert imported_entries(db_session, body["batch_id"]) == []

    done = api_upload(client, secret, mixed_sheet()).get_json()
    jsonschema.validate(done, schema)
    assert (done["imported"], done["dry_run"], done["already_imported"]) == (3, False, False)
    assert len(imported_entries(db_session, done["batch_id"])) == 3
    again = api_upload(client, secret, mixed_sheet()).get_json()
    assert again["already_imported"] and again["imported"] == 0
    assert again["batch_id"] == done["batch_id"]


@pytest.mark.parametrize(("sheet", "track", "status", "code"), [
    (None, "chem", 400, "no_file"),
    (b"garbage", "chem", 422, "unreadable"),
    (Sheet(rows=[person(1)]), "no-such-track", 404, "not_found"),
])
def test_api_refuses_what_it_cannot_import(client, api_token, sheet, track, status, code):
    response = api_upload(client, api_token("organiser"), sheet, track=track)
    assert response.status_code == status
    assert response.get_json()["error"]["code"] == code


def test_api_import_is_for_organisers_only(client, api_token):
    response = api_upload(client, api_token("judge1"), Sheet(rows=[person(1)]))
    assert response.status_code == 403


def test_a_failing_api_import_leaves_nothing_behind(client, api_token, db_session, monkeypatch):
    from app.services import registration_import

    real_insert = registration_import.insert_rows

    def failing(table, *args, **kwargs):
        if table.name == "entries":
            raise sa.exc.OperationalError("INSERT INTO entries", {}, Exception("disk full"))
        return real_insert(table, *args, **kwargs)

    monkeypatch.setattr(registration_import, "insert_rows", failing)
    secret = api_token("organiser")
    people = db_session.scalar(sa.select(sa.func.count()).select_from(Contestant))
    response = api_upload(client, secret, Sheet(rows=[person(1, 工作单位="回滚测试化工有限公司")]))
    assert response.status_code == 422 and "未保存任何数据" in response.get_json()["error"]["message"]
    assert db_session.scalar(sa.select(sa.func.count()).select_from(Contestant)) == people
    assert db_session.scalar(sa.select(Enterprise).where(
        Enterprise.name == "回滚测试化工有限公司")) is None
    assert db_session.scalar(sa.select(ImportBatch).where(
        ImportBatch.status == ImportStatus.IMPORTED, ImportBatch.rows == 1)) is None


# ---------------------------------------------------------------------------------------------
# The command line


def test_cli_json_is_one_object_and_the_exit_code_says_whether_a_row_was_bad(runner, tmp_path,
                                                                             db_session):
    path = tmp_path / "报名表.xlsx"
    path.write_bytes(mixed_sheet().xlsx())
    result = runner.invoke(args=["registrations", "import", str(path), "--track", "chem",
                                 "--dry-run", "--json"])
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    assert set(report) == {"rows", "valid", "imported", "errors"}
    assert (report["rows"], report["valid"], report["imported"]) == (5, 3, 0)
    assert [(e["row"], e["column"]) for e in report["errors"]] == [(5, "身份证号码"),
                                                                  (7, "手机号码")]

    good = tmp_path / "good.xlsx"
    good.write_bytes(Sheet(rows=[person(11), person(12)]).xlsx())
    result = runner.invoke(args=["registrations", "import", str(good), "--track", "chem",
                                 "--contest", "jstl-2025"])
    assert result.exit_code == 0, result.output
    assert "导入 imported: 2" in result.stdout
    result = runner.invoke(args=["registrations", "import", str(good), "--track", "chem",
                                 "--json"])
    assert result.exit_code == 0 and json.loads(result.stdout)["imported"] == 0
    assert "本次未添加任何数据" in result.stderr

    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"garbage")
    result = runner.invoke(args=["registrations", "import", str(broken), "--track", "chem"])
    assert result.exit_code == 2 and "无法作为 Excel 工作簿读取" in result.stderr
    result = runner.invoke(args=["registrations", "import", str(good), "--track", "nope"])
    assert result.exit_code == 2


def test_cli_in_its_own_process_imports_and_writes_the_error_report(tmp_path):
    url = fresh_database_url("test_cli_import", tmp_path)
    flask_cli(url, "db", "upgrade")
    flask_cli(url, "demo", "load", "--configuration-only")
    path = tmp_path / "报名表.xlsx"
    path.write_bytes(mixed_sheet().xlsx())
    report_path = tmp_path / "错误行.xlsx"
    result = flask_cli(url, "registrations", "import", str(path), "--track", "chem", "--json",
                       "--error-report", str(report_path), check=False)
    assert result.returncode == 1, result.stderr
    assert json.loads(result.stdout) == {
        "rows": 5, "valid": 3, "imported": 3,
        "errors": [{"row": 5, "column": "身份证号码",
                    "reason": "身份证号被Excel存成了数字，末几位已丢失；请将该列设为文本格式后重新填写。"},
                   {"row": 7, "column": "手机号码", "reason": "手机号码应为以1开头的11位数字。"}]}
    ws = openpyxl.load_workbook(report_path).active
    assert ws.max_row == 3 and ws.cell(1, ws.max_column).value == "错误原因"
    again = flask_cli(url, "registrations", "import", str(path), "--track", "chem", "--json",
                      check=False)
    assert json.loads(again.stdout)["imported"] == 0
