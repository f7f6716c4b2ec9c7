"""The demo's chemical advanced stage judged, imported and published, with marks chosen so that
every chart number can be worked out by hand (see the expected values below)."""
from decimal import Decimal

import sqlalchemy as sa

from app.extensions import db
from app.models import (
    Ability,
    Component,
    ComponentScore,
    ExamQuestion,
    QuestionKind,
    StageEntry,
)
from app.services import accounts, judging, results, score_sheets

# Every judge gives the same marks to a work, so each work's ability shares are its sheet's.
FULL_MARKS = {"A1": "10", "A2": "15", "A3": "3", "B1": "3", "B2": "3", "B3": "10", "C1": "0",
              "C2": "0"}
# The demo contestant's work: A1 10 + C1 10−2 = 18 of 20 (职业素养); A2 12 + B1 1/3×20 = 6.67
# → 18.67 of 35 (专业技术); A3 2/3×15 = 10 of 15 (组织管理); B2 2/3×20 = 13.33 of 20 (沟通协调);
# B3 7 of 10 (数智化应用).
CONTESTANT_MARKS = {"A1": "10", "A2": "12", "A3": "2", "B1": "1", "B2": "2", "B3": "7",
                    "C1": "1", "C2": "0"}
# Theory questions: 1 and 2 持续学习 (5 points each), 3 问题解决 (10), 4 untagged (80).
QUESTIONS = [(1, "learning", "5"), (2, "learning", "5"), (3, "problem-solving", "10"),
             (4, None, "80")]
CONTESTANT_ANSWERS = {"1": "5", "2": "2.5", "3": "0", "4": "60"}
OTHERS_ANSWERS = {"1": "5", "2": "5", "3": "10", "4": "70"}

# Three contestants: the demo contestant (entry 1) and two with full marks everywhere.
# Averages are the mean of the rounded shares, rounded half-up again.
EXPECTED_MINE = {"组织管理": "66.67", "沟通协调": "66.65", "持续学习": "75.00", "问题解决": "0.00",
                 "数智化应用": "70.00", "职业素养": "90.00", "专业技术": "53.34"}
EXPECTED_AVERAGE = {"组织管理": "88.89",  # (66.67 + 100 + 100) / 3 = 88.89
                    "沟通协调": "88.88",  # (66.65 + 200) / 3 = 88.8833…
                    "持续学习": "91.67",  # (75 + 200) / 3 = 91.666…
                    "问题解决": "66.67",  # (0 + 200) / 3
                    "数智化应用": "90.00",
                    "职业素养": "96.67",  # (90 + 200) / 3 = 96.666…
                    "专业技术": "84.45"}  # (53.34 + 200) / 3 = 84.4466…


def judged_and_published(*, contestant_entry_id: int = 1, publish: bool = True) -> int:
    """Inside an app context: three contestants in the advanced stage (one of them the demo
    contestant's entry), every judge's sheet submitted, the practical signed off and decrypted,
    theory (with per-question answers) and digital twin imported, and a results version
    published. Commits; returns the stage's id."""
    from tests.judging_setup import prepare_practical

    practical = db.session.get(Component, prepare_practical(n=3, seed="charts-seed"))
    stage = practical.stage
    organiser, chief = accounts.get_by_username("organiser"), accounts.get_by_username("chief")
    assert any(p.entry_id == contestant_entry_id for p in db.session.scalars(
        sa.select(StageEntry).where(StageEntry.stage_id == stage.id)))
    for name in ("judge1", "judge2", "judge3", "judge4", "judge5"):
        judge = accounts.get_by_username(name)
        for place in judging.judge_places(judging.assignment_for(practical, judge)):
            sheet = score_sheets.sheet_for(practical, judge, place.workstation_number, create=True)
            marks = CONTESTANT_MARKS if place.entry_id == contestant_entry_id else FULL_MARKS
            score_sheets.save(sheet, marks, {}, 0, version=sheet.version, actor=judge)
            score_sheets.submit(sheet, version=sheet.version, actor=judge)
    judging.sign_off(practical, actor=chief)
    judging.decrypt(practical, witness="监督员甲", actor=organiser)
    theory = next(c for c in stage.components if c.code == "theory")
    twin = next(c for c in stage.components if c.code == "twin")
    abilities = {a.code: a for a in db.session.scalars(sa.select(Ability).where(
        Ability.contest_id == stage.track.contest_id))}
    for number, ability, points in QUESTIONS:
        db.session.add(ExamQuestion(component=theory, number=number,
                                    kind=QuestionKind.OTHER, answer_key="-",
                                    points=Decimal(points),
                                    ability=abilities[ability] if ability else None))
    for place in db.session.scalars(sa.select(StageEntry).where(StageEntry.stage_id == stage.id)):
        answers = CONTESTANT_ANSWERS if place.entry_id == contestant_entry_id else OTHERS_ANSWERS
        db.session.add(ComponentScore(
            component_id=theory.id, stage_entry_id=place.id, judges=1,
            points=sum(Decimal(v) for v in answers.values()),
            details={"question_points": answers}))
        db.session.add(ComponentScore(component_id=twin.id, stage_entry_id=place.id, judges=1,
                                      points=Decimal("80")))
    db.session.flush()
    version = results.create_version(stage, actor=organiser, reason="charts")
    if publish:
        from tests.results_setup import recheck_and_publish

        recheck_and_publish(version, organiser)
    db.session.commit()
    return stage.id
