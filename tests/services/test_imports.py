"""The import pipeline and the registration importer, on sheets written by openpyxl as
enterprises send them; the reader is calamine."""
from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import openpyxl
import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import (
    AuditLog,
    Contestant,
    Enterprise,
    Entry,
    EntrySource,
    EntryStatus,
    EntryStatusChange,
    ImportBatch,
    ImportKind,
    ImportStatus,
)
from app.services import imports
from app.services.registration_import import RegistrationImporter, track_by_codes
from tests.import_sheets import HEADER, Sheet, id_number, person

pytestmark = pytest.mark.usefixtures("app_ctx")


def chem():
    return track_by_codes("chem")


def run(sheet: Sheet | bytes, *, dry_run: bool = False, name: str = "报名表.xlsx", **kwargs):
    content = sheet.xlsx() if isinstance(sheet, Sheet) else sheet
    return imports.run(RegistrationImporter(chem()), imports.Upload(name, content),
                       dry_run=dry_run, **kwargs)


def errors(outcome) -> list[tuple[int, str, str]]:
    return [(e.row, e.column, e.reason) for e in outcome.report.errors]


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def id_ending_in_x(born: date) -> str:
    for seq in range(1, 1000):
        number = id_number(born, seq)
        if number.endswith("X"):
            return number
    raise AssertionError("no ID number with check digit X")


# ---------------------------------------------------------------------------------------------
# A real sheet, as it comes


def quirky_sheet() -> Sheet:
    """Every quirk of DOMAIN.md "Registration and eligibility" in one workbook."""
    header = ["序号", "姓 名", "性别", "公民身份号码", "联系电话", "所在单位", "单位类别", "所在市",
              "岗位", "班组", "班组长年限", "技能等级", "荣誉"]
    rows = [
        person(1, 姓名=" 王　建国 "),  # stray and full-width spaces
        person(2, 身份证号码=id_ending_in_x(date(1980, 5, 6)).lower(),  # lowercase x
               工作单位="江苏索普(集团) 有限公司"),  # half-width brackets, a space: the demo's
        person(3, 工作单位="南京蓝星化工（新材料）有限公司"),  # a new enterprise, full-width
        person(4, 工作单位="南京蓝星化工(新材料)有限公司 "),  # the same one, half-width
        person(5, 手机号码=13912345678.0, 担任班组长年限=5.0),  # numbers stored as numbers
        person(6, male=False, 性别="女", 担任班组长年限="3.5"),
    ]
    return Sheet(rows=rows, header=header, blank_after=(2,))


def test_a_sheet_with_every_quirk_imports_every_good_row(db_session):
    sheet = quirky_sheet()
    before = count(Enterprise)
    outcome = run(sheet)
    assert errors(outcome) == []
    assert (outcome.report.rows, outcome.report.valid, outcome.report.imported) == (6, 6, 6)
    batch = outcome.batch
    entries = db.session.scalars(sa.select(Entry).where(Entry.import_batch_id == batch.id)
                                 .order_by(Entry.id)).all()
    assert [e.contestant.name for e in entries] == ["王 建国", "张002", "张003", "张004",
                                                    "张005", "张006"]
    assert entries[1].contestant.id_number.endswith("X")
    assert entries[4].contestant.phone == "13912345678"
    assert [str(e.years_as_leader) for e in entries] == ["5.0", "5.0", "5.0", "5.0", "5.0", "3.5"]
    assert all(e.status == EntryStatus.ENDORSED and e.source == EntrySource.IMPORT
               for e in entries)
    assert entries[0].city == "南京市" and entries[0].post == "操作工"
    assert entries[0].team_name == "第1班组" and entries[0].skill_level == "高级工"
    # 江苏索普(集团) 有限公司 is the demo's 江苏索普（集团）有限公司; the two 蓝星 spellings are one.
    assert entries[1].enterprise.name == "江苏索普（集团）有限公司"
    assert entries[2].enterprise_id == entries[3].enterprise_id
    assert count(Enterprise) == before + 2  # 蓝星 and the sheet's 金陵石化公司
    history = db.session.scalars(sa.select(EntryStatusChange).where(
        EntryStatusChange.entry_id.in_([e.id for e in entries]))).all()
    assert len(history) == 6 and {h.to_status for h in history} == {EntryStatus.ENDORSED}
    assert batch.status == ImportStatus.IMPORTED and batch.kind == ImportKind.REGISTRATIONS
    assert (batch.rows, batch.valid_rows, batch.imported_rows) == (6, 6, 6)
    assert batch.sha256 == imports.Upload("x", sheet.xlsx()).sha256 or len(batch.sha256) == 64
    assert batch.report["header_row"] == 3 and batch.report["sheet"] == "报名表"
    audit = db.session.scalars(sa.select(AuditLog).where(
        AuditLog.action == "import.registrations", AuditLog.object_id == batch.id)).all()
    assert len(audit) == 1 and audit[0].after["imported"] == 6


def test_ids_that_excel_made_numbers_are_bad_rows_and_other_rows_still_import(db_session):
    sheet = Sheet(rows=[person(1), person(2, 身份证号码=3.20102e17), person(3)])
    outcome = run(sheet)
    assert errors(outcome) == [(sheet.excel_row(1), "身份证号码",
                                "身份证号被Excel存成了数字，末几位已丢失；请将该列设为文本格式后重新填写。")]
    assert outcome.report.imported == 2


def test_title_filler_totals_notes_and_blank_rows_are_not_data(db_session):
    sheet = Sheet(rows=[person(i) for i in range(1, 6)], blank_after=(1, 3))
    outcome = run(sheet, dry_run=True)
    assert outcome.report.rows == 5 and outcome.report.valid == 5
    assert outcome.batch.report["header_row"] == 3


def test_a_note_right_under_the_header_does_not_end_the_table(db_session):
    book = openpyxl.Workbook()
    ws = book.active
    ws.append(HEADER)
    ws.append(["注：带*号为必填项"])
    ws.append([1, *person(1)])
    ws.append([2, *person(2)])
    buffer = io.BytesIO()
    book.save(buffer)
    outcome = run(buffer.getvalue(), dry_run=True)
    assert (outcome.report.rows, outcome.report.valid) == (2, 2)


# ---------------------------------------------------------------------------------------------
# Every kind of bad row: the row number Excel shows, the column, the reason


BAD_ROWS = [
    ("id_as_number", {"身份证号码": 3.20102e17}, "身份证号码", "Excel存成了数字"),
    ("check_digit", {"身份证号码": id_number(date(1985, 3, 1), 2)[:17] + "0"}, "身份证号码",
     "校验位"),
    ("short_id", {"身份证号码": "32010219850301"}, "身份证号码", "18位"),
    ("no_such_date", {"身份证号码": "320102198502301230"}, "身份证号码", "19850230"),
    ("gender", {"性别": "女"}, "性别", "第17位"),
    ("gender_word", {"性别": "未知"}, "性别", "男"),
    ("too_young", {"身份证号码": id_number(date(2010, 1, 1), 2)}, "身份证号码", "低于"),
    ("too_old", {"身份证号码": id_number(date(1955, 1, 1), 2)}, "身份证号码", "超过"),
    ("phone_short", {"手机号码": 1381234567.0}, "手机号码", "11位"),
    ("phone_missing", {"手机号码": ""}, "手机号码", "必填"),
    ("name_missing", {"姓名": ""}, "姓名", "必填"),
    ("enterprise_missing", {"工作单位": "  "}, "工作单位", "必填"),
    ("years_below_minimum", {"担任班组长年限": 1}, "担任班组长年限", "2"),
    ("years_negative", {"担任班组长年限": -1}, "担任班组长年限", "0"),
    ("years_words", {"担任班组长年限": "五年"}, "担任班组长年限", "数字"),
    ("years_two_decimals", {"担任班组长年限": 2.25}, "担任班组长年限", "1位小数"),
    ("years_missing", {"担任班组长年限": ""}, "担任班组长年限", "必填"),
    ("post_too_long", {"岗位": "岗" * 101}, "岗位", "100"),
]


@pytest.mark.parametrize(("changes", "column", "reason"),
                         [case[1:] for case in BAD_ROWS], ids=[case[0] for case in BAD_ROWS])
def test_each_bad_row_is_named_by_excel_row_column_and_reason(db_session, changes, column,
                                                               reason):
    sheet = Sheet(rows=[person(1), person(2, **changes), person(3)], blank_after=(0,))
    outcome = run(sheet, dry_run=True)
    assert [(row, col) for row, col, _r in errors(outcome)] == [(sheet.excel_row(1), column)]
    assert reason in errors(outcome)[0][2]
    assert sheet.excel_row(1) == 6  # title, 填报单位, header, row 4, a blank row 5
    assert (outcome.report.rows, outcome.report.valid) == (3, 2)


def test_a_person_twice_in_the_file_names_the_other_row(db_session):
    sheet = Sheet(rows=[person(1), person(2), person(1, 姓名="张001")])
    outcome = run(sheet, dry_run=True)
    assert errors(outcome) == [(6, "身份证号码", "相同的身份证号已出现在第 4 行。")]


def test_a_person_already_entered_in_the_contest_is_a_bad_row(db_session):
    existing = db.session.scalars(sa.select(Entry).join(Entry.track).where(
        Entry.contest_id == chem().contest_id)).first()
    person_row = person(1, 姓名=existing.contestant.name,
                        身份证号码=existing.contestant.id_number,
                        性别="男" if int(existing.contestant.id_number[16]) % 2 else "女")
    outcome = run(Sheet(rows=[person_row]), dry_run=True)
    assert errors(outcome) == [(4, "身份证号码", f"此人已报名本届大赛（{existing.track.name}赛道），每人限报一项。")]


def test_an_id_number_known_under_another_name_is_a_bad_row_and_the_same_person_is_reused(
        db_session):
    number = id_number(date(1979, 9, 9), 7)
    db.session.add(Contestant(name="李四", gender="male", id_number=number,
                              birth_date=date(1979, 9, 9)))
    db.session.flush()
    other_name = person(1, 姓名="王五", 身份证号码=number)
    outcome = run(Sheet(rows=[other_name]), dry_run=True)
    assert errors(outcome) == [(4, "姓名", "该身份证号已登记为另一姓名（李四）。")]
    people = count(Contestant)
    outcome = run(Sheet(rows=[person(1, 姓名="李四", 身份证号码=number)]))
    assert errors(outcome) == [] and outcome.report.imported == 1
    assert count(Contestant) == people  # the known person, not a new one


def test_a_sheet_without_the_required_columns_is_refused_as_a_whole(db_session):
    sheet = Sheet(rows=[person(1)], header=["序号", "姓名", "性别", "证件", "手机号码", "工作单位",
                                            "单位类别", "设区市", "岗位", "班组", "年限", "技能等级",
                                            "荣誉"])
    with pytest.raises(imports.ImportFailed) as refused:
        run(sheet, dry_run=True)
    assert "身份证号" in refused.value.message and "担任班组长年限" in refused.value.message
    assert "第 3 行" in refused.value.message


@pytest.mark.parametrize(("name", "content"), [
    ("x.xlsx", b"not a workbook"), ("x.pdf", b"%PDF-1.4"), ("x.xlsx", b""),
    ("x.csv", "\ufffe无效".encode("utf-16")),
])
def test_files_that_are_not_sheets_are_refused_with_a_reason(db_session, name, content):
    with pytest.raises(imports.ImportFailed) as refused:
        run(content, name=name, dry_run=True)
    assert refused.value.message


@pytest.mark.parametrize(("encoding", "delimiter"), [("utf-8-sig", ","), ("gb18030", ","),
                                                     ("utf-8", "\t")])
def test_csv_in_utf8_or_gb18030_reads_like_a_workbook(db_session, encoding, delimiter):
    text = io.StringIO()
    writer = csv.writer(text, delimiter=delimiter)
    writer.writerow(["报名汇总表"])
    writer.writerow(HEADER)
    writer.writerow([1, *person(1)])
    writer.writerow([2, *person(2, 手机号码="123")])
    writer.writerow(["合计", "", "2人"])
    outcome = run(text.getvalue().encode(encoding), name="报名表.csv", dry_run=True)
    assert outcome.report.rows == 2
    assert errors(outcome) == [(4, "手机号码", "手机号码应为以1开头的11位数字。")]


# ---------------------------------------------------------------------------------------------
# Dry run, the second import, one transaction, progress


def test_the_dry_run_writes_nothing_but_its_record(db_session):
    tables = (Contestant, Entry, Enterprise, EntryStatusChange, AuditLog)
    before = {model: count(model) for model in tables}
    outcome = run(quirky_sheet(), dry_run=True)
    assert outcome.report.valid == 6 and outcome.report.imported == 0
    assert {model: count(model) for model in tables} == before
    assert outcome.batch.status == ImportStatus.DRY_RUN and outcome.batch.content is None
    assert "2 家单位尚未登记" in outcome.report.notices[0]


def test_the_same_file_a_second_time_adds_nothing_and_says_so(db_session):
    sheet = quirky_sheet()
    first = run(sheet)
    entries = count(Entry)
    batches = count(ImportBatch)
    second = run(sheet)
    assert second.already_imported and second.batch.id == first.batch.id
    assert second.report.imported == 0 and "已于" in second.report.notices[0]
    beijing = (first.batch.created_at + timedelta(hours=8)).strftime("%Y-%m-%d %H:%M")
    assert beijing in second.report.notices[0]  # the display time zone, not the stored UTC
    assert count(Entry) == entries and count(ImportBatch) == batches
    again = run(sheet, dry_run=True)
    assert again.already_imported


@pytest.mark.parametrize("failure", ["sqlalchemy", "driver"])
def test_a_failing_import_leaves_the_database_as_it_was(db_session, monkeypatch, failure):
    from app.services import registration_import

    real_insert = registration_import.insert_rows
    driver = db.session.connection().dialect.loaded_dbapi

    def failing(table, *args, **kwargs):
        if table.name == "entries":  # contestants and the new enterprise are written by now
            if failure == "driver":  # COPY and executemany raise the driver's own errors
                raise driver.IntegrityError("duplicate key value")
            raise sa.exc.OperationalError("INSERT INTO entries", {}, Exception("disk full"))
        return real_insert(table, *args, **kwargs)

    monkeypatch.setattr(registration_import, "insert_rows", failing)
    sheet = Sheet(rows=[person(1, 工作单位="失败测试化工有限公司"), person(2)])
    before = {model: count(model) for model in (Contestant, Entry, Enterprise, ImportBatch)}
    with pytest.raises(imports.ImportFailed) as failed:
        run(sheet)
    assert "未保存任何数据" in failed.value.message
    db.session.rollback()  # what every caller does with an exception
    assert {model: count(model) for model in before} == before
    assert db.session.scalar(sa.select(Enterprise).where(
        Enterprise.name == "失败测试化工有限公司")) is None
    assert db.session.scalar(sa.select(Contestant).where(
        Contestant.id_number == id_number(date(1985, 3, 1), 1))) is None


def test_progress_is_reported_by_phase(db_session):
    calls = []
    run(Sheet(rows=[person(i) for i in range(1, 4)]),
        progress=lambda phase, done, total: calls.append((phase, done, total)))
    phases = [phase for phase, _d, _t in calls]
    assert phases.index("read") < phases.index("check") < phases.index("write")
    assert ("check", 3, 3) in calls and calls[-1] == ("write", 3, 3)


def test_a_background_check_reports_on_the_batch_row(app, db_session):
    sheet = Sheet(rows=[person(1), person(2, 手机号码="1")])
    batch = imports.stage_upload(ImportKind.REGISTRATIONS, chem().id,
                                 imports.Upload("大表.xlsx", sheet.xlsx()), None)
    assert imports.progress_state(batch)["status"] == "checking"
    imports._background_check(app, batch.id)
    db.session.expire_all()
    batch = db.session.get(ImportBatch, batch.id)
    assert batch.status == ImportStatus.DRY_RUN and batch.valid_rows == 1
    assert batch.content is not None  # kept for the organiser's decision
    assert imports.progress_state(batch) == {"status": "dry_run", "phase": None, "done": 0,
                                             "total": 0, "percent": 100}
    outcome = imports.import_stored(batch, None)
    assert outcome.report.imported == 1 and batch.content is None


def test_a_background_check_that_fails_says_why(app, db_session):
    batch = imports.stage_upload(ImportKind.REGISTRATIONS, chem().id,
                                 imports.Upload("坏.xlsx", b"garbage"), None)
    imports._background_check(app, batch.id)
    db.session.expire_all()
    batch = db.session.get(ImportBatch, batch.id)
    assert batch.status == ImportStatus.FAILED and "Excel" in batch.report["failure"]


# ---------------------------------------------------------------------------------------------
# The error report


def test_the_error_report_has_the_bad_rows_as_they_were_and_the_reasons(db_session):
    bad_id = person(2, 身份证号码=3.20102e17, 手机号码="12345")
    bad_years = person(3, 担任班组长年限=1)
    sheet = Sheet(rows=[person(1), bad_id, bad_years, person(4)])
    outcome = run(sheet, dry_run=True)
    book = openpyxl.load_workbook(io.BytesIO(imports.error_report(outcome.batch.report)))
    ws = book.active
    values = [[cell.value for cell in row] for row in ws.iter_rows()]
    written = [None if value == "" else value for value in bad_id]  # empty cells stay empty
    assert values[0] == HEADER + ["错误原因"]
    assert len(values) == 3
    assert values[1][:13] == [2, *written]  # 序号 as written; the ID still the number Excel made
    assert values[1][3] == 3.20102e17 and values[1][4] == "12345"
    assert values[1][13] == ("身份证号码：身份证号被Excel存成了数字，末几位已丢失；请将该列设为文本格式后重新填写。"
                             "；手机号码：手机号码应为以1开头的11位数字。")
    assert values[2][:13] == [3, *bad_years[:11], None]
    assert values[2][13] == "担任班组长年限：担任班组长年限须不少于2年。"
    assert ws.freeze_panes == "A2"


def test_an_excel_97_workbook_reads_like_an_xlsx(db_session):
    """tests/data/registrations-1997.xls was written by xlwt (a third writer): title, 填报单位,
    four people (the third with an ID Excel made a number), 合计 and a note."""
    from tests.conftest import ROOT

    content = (ROOT / "tests/data/registrations-1997.xls").read_bytes()
    outcome = run(content, name="报名表.xls")
    assert (outcome.report.rows, outcome.report.valid, outcome.report.imported) == (4, 3, 3)
    assert [(row, column) for row, column, _reason in errors(outcome)] == [(6, "身份证号码")]
    people = db.session.scalars(sa.select(Contestant.phone).join(Entry).where(
        Entry.import_batch_id == outcome.batch.id).order_by(Contestant.name)).all()
    assert people == ["13800000201", "13812345678", "13800000204"]
