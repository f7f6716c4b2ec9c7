"""Theory exam quality on stored answer sheets: the item analysis flags a wrong key; correcting
it (or voiding the question) is previewed without writing, then applied as re-marked scores,
audit rows and a new results version carrying the reason."""
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import (
    AuditLog,
    ComponentScore,
    ResultsVersion,
)
from app.services import ServiceError, accounts, exam_quality
from tests.exam_setup import WRONG
from tests.exam_setup import stored_answer_sheets as _sheets

pytestmark = pytest.mark.usefixtures("app_ctx")



def test_the_analysis_of_stored_sheets_flags_the_question_with_the_wrong_key():
    theory, _ = _sheets()
    report = exam_quality.item_analysis(theory)
    flagged = {i.label: i.flag for i in report.analysis.items if i.flag}
    assert flagged == {"第12题": "negative"}
    assert report.analysis.test.attempts == len(_)
    chart = report.chart()
    assert [p["name"] for p in chart["series"][1]["points"]] == ["第12题"]


def _state(theory):
    return (db.session.scalar(sa.select(sa.func.count()).select_from(AuditLog)),
            db.session.scalar(sa.select(sa.func.count()).select_from(ResultsVersion)),
            sorted(db.session.execute(sa.select(ComponentScore.stage_entry_id,
                                                ComponentScore.points)
                                      .where(ComponentScore.component_id == theory.id)).all()),
            [q.answer_key for q in theory.questions])


def test_a_corrected_key_is_previewed_contestant_by_contestant_and_writes_nothing():
    theory, answers = _sheets()
    before = _state(theory)
    preview = exam_quality.preview_key_change(theory, {WRONG: "B"})
    # Worked by hand: answering B now earns question 12's 5 points, answering C loses them.
    expected = {e: (Decimal(5) if a[str(WRONG)] == "B" else Decimal(-5))
                for e, a in answers.items() if a[str(WRONG)] in ("B", "C")}
    assert {s.stage_entry_id: s.after - s.before for s in preview.scores} == expected
    assert preview.standings, "re-marking 5 points moves ranks"
    assert preview.describe() == "第12题标准答案改为B"
    db.session.expire_all()
    assert _state(theory) == before


def test_a_key_the_question_cannot_take_is_refused_next_to_its_field():
    theory, _ = _sheets()
    with pytest.raises(ServiceError) as refused:
        exam_quality.parse_changes(theory, {f"key_{WRONG}": "BD"})
    assert refused.value.field == f"key_{WRONG}"
    assert "单选题" in refused.value.message


def test_applying_the_correction_re_marks_scores_audits_and_makes_a_new_version():
    theory, answers = _sheets()
    organiser = accounts.get_by_username("organiser")
    version = exam_quality.apply_key_change(theory, {WRONG: "B"}, reason="命题组确认原答案有误",
                                            actor=organiser)
    assert version is not None and version.reason == "第12题标准答案改为B（命题组确认原答案有误）"
    stored = dict(db.session.execute(sa.select(ComponentScore.stage_entry_id,
                                               ComponentScore.points)
                                     .where(ComponentScore.component_id == theory.id)).all())
    for entry_id, given in answers.items():
        assert stored[entry_id] == 5 * sum(1 for a in given.values() if a == "B")
    assert theory.questions[WRONG - 1].answer_key == "B"
    actions = db.session.scalars(sa.select(AuditLog.action).where(
        AuditLog.stage_id == theory.stage_id)).all()
    assert actions.count("exam.key_change") == 1
    changed = sum(1 for a in answers.values() if a[str(WRONG)] in ("B", "C"))
    assert actions.count("score.remark") == changed
    assert exam_quality.item_analysis(theory).analysis.items[WRONG - 1].flag is None


def test_a_voided_question_earns_its_points_for_everyone():
    theory, answers = _sheets()
    organiser = accounts.get_by_username("organiser")
    exam_quality.apply_key_change(theory, {WRONG: exam_quality.VOID}, reason="题目有歧义",
                                  actor=organiser)
    stored = dict(db.session.execute(sa.select(ComponentScore.stage_entry_id,
                                               ComponentScore.points)
                                     .where(ComponentScore.component_id == theory.id)).all())
    for entry_id, given in answers.items():
        others = sum(1 for n, a in given.items() if n != str(WRONG) and a == "B")
        assert stored[entry_id] == 5 * (others + 1)


def test_a_change_without_a_reason_is_refused():
    theory, _ = _sheets()
    with pytest.raises(ServiceError) as refused:
        exam_quality.apply_key_change(theory, {WRONG: "B"}, reason=" ",
                                      actor=accounts.get_by_username("organiser"))
    assert refused.value.field == "reason"
