"""A theory exam's answer key from Excel (written with openpyxl, read with calamine): a sheet as
people make it is read whole, a bad row names its row, column and reason and nothing is
imported, and a key is replaced only while the exam has no scores."""
import io
import re

import openpyxl
import sqlalchemy as sa

from app.models import Component, ComponentKind, ExamQuestion, Stage, Track
from app.services import imports


def _theory(db_session) -> Component:
    return db_session.scalar(sa.select(Component).join(Stage).join(Track).where(
        Track.code == "chem", Stage.seq == 2, Component.kind == ComponentKind.THEORY))


def _sheet(rows) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["2025年理论考试标准答案"])
    sheet.merge_cells("A1:F1")
    sheet.append(["题号", "题型", "标准答案", "分值", "部分得分", "能力"])
    for row in rows:
        sheet.append(row)
    sheet.append(["合计", None, None, 100])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


GOOD = [[1, "单选", "b", 40, None, "专业技术"], [2, "多选题", "A,C,D", 40, 20, None],
        [3, "判断", "√", 20, None, "职业素养"]]


def _upload(organiser, component_id, content):
    response = organiser.post(f"/admin/components/{component_id}/answer-key/import",
                              {"file": (io.BytesIO(content), "标准答案.xlsx")},
                              content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return int(re.search(r"/admin/imports/(\d+)$", response.location).group(1))


def _questions(db_session, component_id):
    return db_session.execute(sa.select(ExamQuestion.number, ExamQuestion.kind,
                                        ExamQuestion.answer_key, ExamQuestion.points,
                                        ExamQuestion.partial_credit)
                              .where(ExamQuestion.component_id == component_id)
                              .order_by(ExamQuestion.number)).all()


def test_an_answer_key_sheet_is_checked_then_imported_whole(signed_in, db_session):
    theory = _theory(db_session)
    organiser = signed_in("organiser")
    batch_id = _upload(organiser, theory.id, _sheet(GOOD))
    assert _questions(db_session, theory.id) == []  # checked, not yet imported
    assert "所有行均合格" in organiser.get(f"/admin/imports/{batch_id}").get_data(as_text=True)
    assert organiser.post(f"/admin/imports/{batch_id}/import").status_code == 302
    stored = _questions(db_session, theory.id)
    assert [(n, k.value, key, str(p), str(pc) if pc else None)
            for n, k, key, p, pc in stored] == [
        (1, "single_choice", "b", "40.000", None),
        (2, "multiple_choice", "A,C,D", "40.000", "20.000"),
        (3, "true_false", "√", "20.000", None)]


def test_a_bad_row_names_its_row_column_and_reason_and_nothing_is_imported(signed_in,
                                                                           db_session):
    theory = _theory(db_session)
    organiser = signed_in("organiser")
    rows = [*GOOD, [4, "单选", "AB", 10, None, None], [5, "问答", "A", 5, None, None]]
    batch_id = _upload(organiser, theory.id, _sheet(rows))
    report = imports.Report.from_json(db_session.get(imports.ImportBatch, batch_id).report)
    problems = {(e.row, e.column): e.reason for e in report.errors}
    # Excel rows: title 1, header 2, questions from row 3, so question 4 is row 6.
    assert "单选题" in problems[(6, "标准答案")]
    assert "问答" in problems[(7, "题型")]
    assert organiser.post(f"/admin/imports/{batch_id}/import").status_code in (302, 409)
    assert _questions(db_session, theory.id) == []


def test_an_exported_key_imports_again_unchanged(signed_in, db_session):
    theory = _theory(db_session)
    organiser = signed_in("organiser")
    organiser.post(f"/admin/imports/{_upload(organiser, theory.id, _sheet(GOOD))}/import")
    exported = organiser.get(f"/admin/components/{theory.id}/answer-key.xlsx")
    assert exported.status_code == 200
    assert "filename*=UTF-8''" in exported.headers["Content-Disposition"]
    before = _questions(db_session, theory.id)
    batch_id = _upload(organiser, theory.id, exported.data)
    assert organiser.post(f"/admin/imports/{batch_id}/import").status_code == 302
    assert _questions(db_session, theory.id) == before


def test_a_key_is_not_replaced_once_the_exam_has_scores(app, signed_in, db_session):
    from app.extensions import db
    from tests.exam_setup import stored_answer_sheets

    with app.app_context():
        theory, _ = stored_answer_sheets()  # the preliminary's theory, marked and scored
        db.session.commit()
        component_id = theory.id
    organiser = signed_in("organiser")
    before = _questions(db_session, component_id)
    response = organiser.post(f"/admin/components/{component_id}/answer-key/import",
                              {"file": (io.BytesIO(_sheet(GOOD)), "标准答案.xlsx")},
                              content_type="multipart/form-data")
    assert response.status_code == 422
    assert "已有成绩" in response.get_data(as_text=True)
    assert _questions(db_session, component_id) == before
