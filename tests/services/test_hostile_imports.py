"""Hostile cells in every column of every importer: a row error naming the Excel row, the
column and the reason in Chinese, the rest of the sheet still checked, nothing hostile stored,
never a traceback (issue 11, part 2). The sheets are written by xlsxwriter (the importer reads
with calamine), which stores a NUL as Excel does, as ``_x0000_``."""
from __future__ import annotations

import io
import re

import pytest
import sqlalchemy as sa
import xlsxwriter

from app.extensions import db
from app.models import Component, ComponentScore, Contestant, Entry
from app.services import accounts, imports
from app.services.marking_scheme_io import COLUMNS as SCHEME_COLUMNS
from app.services.marking_scheme_io import MarkingSchemeImporter
from app.services.registration_import import RegistrationImporter, track_by_codes
from app.services.result_import import import_results, result_importer
from tests.import_sheets import HEADER, person
from tests.result_sheets import component, prepare_advanced

pytestmark = pytest.mark.usefixtures("app_ctx")

MARKER = "囧"
HOSTILE = {"NUL": f"{MARKER}\x00{MARKER}", "RLO": f"{MARKER}\u202e{MARKER}",
           "ESC": f"{MARKER}\x1b{MARKER}", "1e300": "1e300", "1E+30": "1E+30", "NaN": "NaN",
           "Infinity": "Infinity", "number 1e300": 1e300}
HOSTILE_TEXT = {"NUL", "RLO", "ESC"}
CJK = re.compile(r"[\u4e00-\u9fff]")


def workbook(header: list, rows: list[list], title: str | None = None) -> bytes:
    """An .xlsx written by xlsxwriter: an optional title row, the header, the rows."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_numbers": False})
    sheet = book.add_worksheet()
    r = 0
    if title:
        sheet.write_string(r, 0, title)
        r += 1
    for c, name in enumerate(header):
        sheet.write_string(r, c, name)
    for values in rows:
        r += 1
        for c, value in enumerate(values):
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                sheet.write_number(r, c, value)
            elif value not in (None, ""):
                sheet.write_string(r, c, str(value))
    book.close()
    return buffer.getvalue()


def _stored(model_columns) -> list:
    found = []
    for column in model_columns:
        found += db.session.scalars(sa.select(column).where(
            sa.cast(column, sa.Text).contains(MARKER))).all()
    return found


def _errors(outcome) -> list[tuple[int, str, str]]:
    return [(e.row, e.column, e.reason) for e in outcome.report.errors]


# ---------------------------------------------------------------------------------------------
# Registration sheets: partial (the good rows are imported)

REGISTRATION_NUMBERS = {"手机号码", "担任班组长年限", "身份证号码"}


@pytest.mark.parametrize("label", list(HOSTILE))
@pytest.mark.parametrize("column", HEADER[1:])
def test_a_hostile_registration_cell_is_a_row_error_and_the_other_rows_are_imported(
        db_session, column, label):
    value = HOSTILE[label]
    rows = [person(1), person(2, **{column: value}), person(3)]
    content = workbook(HEADER[1:], rows, title="报名汇总表")
    entries_before = db.session.scalar(sa.select(sa.func.count()).select_from(Entry))
    outcome = imports.run(RegistrationImporter(track_by_codes("chem")),
                          imports.Upload("报名表.xlsx", content), dry_run=False,
                          actor=accounts.get_by_username("organiser"))
    errors = _errors(outcome)
    assert all(row == 4 for row, _c, _r in errors), errors  # rows 3 and 5 are good
    must_refuse = label in HOSTILE_TEXT or column in REGISTRATION_NUMBERS
    if must_refuse:
        assert [c for _r, c, _x in errors] == [column], errors
        assert CJK.search(errors[0][2]) and "\x00" not in errors[0][2]
    imported = 2 if errors else 3
    assert outcome.report.imported == imported
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Entry)) == \
        entries_before + imported
    assert not _stored([Contestant.name, Contestant.phone, Entry.post, Entry.team_name,
                        Entry.honours, Entry.city, Entry.skill_level,
                        Entry.enterprise_category])


def test_years_as_leader_1e300_in_an_upload_is_a_row_error_not_a_traceback(db_session):
    """The issue's case: one 1e300 (a number cell) and one '1E+30' (text) among good rows."""
    rows = [person(1), person(2, 担任班组长年限=1e300), person(3, 担任班组长年限="1E+30"),
            person(4)]
    outcome = imports.run(RegistrationImporter(track_by_codes("chem")),
                          imports.Upload("报名表.xlsx", workbook(HEADER[1:], rows)),
                          dry_run=True)
    assert _errors(outcome) == [
        (3, "担任班组长年限", "数值过大。"),
        (4, "担任班组长年限", "请直接写出数字，不要使用科学计数法（如 1e5）。")]
    assert (outcome.report.rows, outcome.report.valid) == (4, 2)


# ---------------------------------------------------------------------------------------------
# Digital-twin results: all or nothing, every bad row named

TWIN_HEADER = ["准考证号", "赛位号", "姓名", "成绩", "用时", "步骤1得分"]


@pytest.mark.parametrize("label", list(HOSTILE))
@pytest.mark.parametrize("column", TWIN_HEADER)
def test_a_hostile_result_cell_is_a_row_error_and_no_score_is_stored(db_session, column,
                                                                    label):
    people = prepare_advanced(3)
    rows = [[exam, ws, f"选手{i}", 80 + i, 600, 10] for i, (exam, ws) in enumerate(people)]
    rows[1][TWIN_HEADER.index(column)] = HOSTILE[label]
    organiser = accounts.get_by_username("organiser")
    twin = component("twin")
    outcome = import_results(result_importer(twin, organiser),
                             imports.Upload("孪生成绩.xlsx", workbook(TWIN_HEADER, rows)),
                             dry_run=False, actor=organiser)
    errors = _errors(outcome)
    # The name is not read (exam and workstation numbers identify people); a step's number
    # is kept as the simulator wrote it, so a number-looking text there is no error.
    if column != "姓名" and (column != "步骤1得分" or label in HOSTILE_TEXT):
        assert [(r, c) for r, c, _x in errors] == [(3, column)], errors
        assert CJK.search(errors[0][2]) and "\x00" not in errors[0][2]
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ComponentScore).where(
            ComponentScore.component_id == twin.id)) == 0
    assert not _stored([ComponentScore.details])


# ---------------------------------------------------------------------------------------------
# Marking schemes: replaced only when every row is right

SCHEME_HEADER = [c.label for c in SCHEME_COLUMNS]
SCHEME_NUMBERS = {"满分", "每次扣分"}


def _scheme_rows() -> list[list]:
    """A good scheme: a criterion, a judgement item (descriptors, an ability), a deduction
    item; Excel rows 2, 3 and 4."""
    row = dict.fromkeys(SCHEME_HEADER, None)
    criterion = {**row, "编码": "A", "层级": "评分模块", "名称": "安全作业"}
    judged = {**row, "编码": "A1", "上级编码": "A", "层级": "评分项", "名称": "作业票填写",
              "类型": "评价", "满分": 2, "全有或全无": "否", "能力": "职业素养",
              "评价0级": "未填写", "评价1级": "填写不全", "评价2级": "基本完整", "评价3级": "完整规范"}
    deducted = {**row, "编码": "A2", "上级编码": "A", "层级": "评分项", "名称": "违规操作",
                "类型": "扣分", "满分": 5, "每次扣分": 1}
    return [[r[h] for h in SCHEME_HEADER] for r in (criterion, judged, deducted)]


def _import_scheme(rows: list[list]):
    return imports.run(MarkingSchemeImporter(db.session.get(Component, 5)),  # the demo's twin
                       imports.Upload("评分标准.xlsx", workbook(SCHEME_HEADER, rows)),
                       dry_run=False)


def test_the_scheme_used_below_imports_cleanly(db_session):
    outcome = _import_scheme(_scheme_rows())
    assert _errors(outcome) == [] and outcome.report.imported == 3


@pytest.mark.parametrize("label", list(HOSTILE))
@pytest.mark.parametrize("column", [h for h in SCHEME_HEADER if h != "否决范围"])
def test_a_hostile_marking_scheme_cell_is_a_row_error_and_the_scheme_is_kept(db_session,
                                                                             column, label):
    from app.models import MarkingItem

    rows = _scheme_rows()
    target = 2 if column == "每次扣分" else 1  # the row where the column means something
    rows[target][SCHEME_HEADER.index(column)] = HOSTILE[label]
    outcome = _import_scheme(rows)
    errors = _errors(outcome)
    assert all(CJK.search(reason) and "\x00" not in reason for _r, _c, reason in errors)
    assert all(len(reason) < 200 for _r, _c, reason in errors)  # no 300-digit number echoed
    if label in HOSTILE_TEXT or column in SCHEME_NUMBERS:
        assert (target + 2, column) in [(r, c) for r, c, _x in errors], errors
        assert db.session.get(Component, 5).items == []
    assert not _stored([MarkingItem.code, MarkingItem.title, MarkingItem.descriptors])
