"""Judging rules: the draw, conflict of interest, blind sheets checked by scoring/, optimistic
locking, the chief judge's corrections, sign-off freezing, decryption."""
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import (
    AggregationMethod,
    AuditLog,
    Component,
    ComponentScore,
    Entry,
    JudgementOrder,
    ScoreSheet,
    SheetStatus,
    Stage,
    StageEntry,
    Track,
    User,
)
from app.services import FieldErrors, ServiceError, accounts, judging, score_sheets

pytestmark = pytest.mark.usefixtures("app_ctx")

FULL_MARKS = {"A1": "10", "A2": "15", "A3": "3", "B1": "3", "B2": "3", "B3": "10", "C1": "0",
              "C2": "0"}


def user(name: str) -> User:
    return accounts.get_by_username(name)


@pytest.fixture
def practical() -> Component:
    """The chemical advanced stage's practical, with 8 contestants drawn; the first of them
    from judge1's own enterprise."""
    from tests.judging_setup import prepare_practical

    return db.session.get(Component, prepare_practical(n=8))


def stations(component: Component, judge: str = "judge3") -> list[str]:
    return [p.workstation_number for p in judging.judge_places(
        judging.assignment_for(component, user(judge)))]


def fill(component, judge, station, marks=None, overrun=0, submit=True):
    sheet = score_sheets.sheet_for(component, user(judge), station, create=True)
    if sheet.status == SheetStatus.SUBMITTED:
        return sheet
    score_sheets.save(sheet, marks or FULL_MARKS, {}, overrun, version=sheet.version,
                      actor=user(judge))
    if submit:
        score_sheets.submit(sheet, version=sheet.version, actor=user(judge))
    return sheet


def test_draw_gives_every_contestant_a_checkin_and_workstation_number(practical):
    places = db.session.scalars(sa.select(StageEntry).where(
        StageEntry.stage_id == practical.stage_id)).all()
    assert sorted(p.workstation_number for p in places) == [f"0{n:02d}" for n in range(1, 9)]
    assert all(p.checkin_number.startswith("J0") for p in places)
    assert len({p.checkin_number for p in places}) == 8


def _mapping(stage):
    return {p.entry_id: (p.checkin_number, p.workstation_number) for p in db.session.scalars(
        sa.select(StageEntry).where(StageEntry.stage_id == stage.id))}


def _redraw(stage, seed):
    """Undo the sealed draw inside a savepoint, draw again, and give back the numbers."""
    from app.models import Draw

    nested = db.session.begin_nested()
    for place in db.session.scalars(sa.select(StageEntry).where(StageEntry.stage_id == stage.id)):
        place.draw_id = place.checkin_number = place.workstation_number = None
    db.session.flush()
    db.session.execute(sa.delete(Draw).where(Draw.stage_id == stage.id))
    judging.draw(stage, seed=seed)
    mapping = _mapping(stage)
    nested.rollback()
    return mapping


def test_draw_is_sealed_and_reproducible_from_its_recorded_seed(practical):
    stage = practical.stage
    first = _mapping(stage)
    with pytest.raises(ServiceError, match="已封存"):
        judging.draw(stage, seed="fixed-seed")
    assert _redraw(stage, "fixed-seed") == first
    assert _redraw(stage, "another-seed") != first
    assert _mapping(stage) == first


def test_judge_never_gets_a_contestant_from_their_own_enterprise(practical):
    judge1 = user("judge1")
    own = db.session.scalar(sa.select(StageEntry).join(Entry).where(
        StageEntry.stage_id == practical.stage_id, Entry.enterprise_id == judge1.enterprise_id))
    assert own.workstation_number not in stations(practical, "judge1")
    assert len(stations(practical, "judge1")) == 7 and len(stations(practical, "judge3")) == 8
    assert judging.conflict_exclusions(judging.assignment_for(practical, judge1)) == [
        own.workstation_number]
    with pytest.raises(ServiceError, match="不在您的评分列表中"):
        score_sheets.sheet_for(practical, judge1, own.workstation_number, create=True)


def test_assigning_a_judge_to_own_enterprise_workstations_is_refused_with_the_reason(practical):
    judge = accounts.create_user("judge6", "王裁判", __import__("app.models").models.Role.JUDGE,
                                 "Judge6pass", enterprise=user("judge1").enterprise)
    own = db.session.scalar(sa.select(StageEntry).join(Entry).where(
        StageEntry.stage_id == practical.stage_id, Entry.enterprise_id == judge.enterprise_id))
    with pytest.raises(ServiceError) as caught:
        judging.assign_judge(practical, judge, workstations=[own.workstation_number, "002"])
    assert caught.value.field == "workstations"
    assert "扬子" in caught.value.message and own.workstation_number in caught.value.message


def test_draft_shows_the_running_total_as_scoring_computes_it(practical):
    station = stations(practical)[0]
    sheet = score_sheets.sheet_for(practical, user("judge3"), station, create=True)
    result = score_sheets.save(sheet, {"A1": "10", "A3": "2", "C1": "2"}, {}, None,
                               version=sheet.version, actor=user("judge3"))
    # A1 10 + A3 2/3 × 15 = 10 + C1 10 − 2 × 2 = 6  → 26
    assert result.item_points["A3"] == Decimal("10.00")
    assert result.points == Decimal("26.00") and not result.complete
    # an empty time-overrun field is no overrun, never something still to fill
    assert set(result.problems) == {"A2", "B1", "B2", "B3"}


def test_every_change_to_a_scheme_gives_its_component_a_new_stamp(practical):
    """Component.scheme_stamp, which the kept rules are keyed on, changes with an item added,
    changed, moved or deleted and with a renamed ability an item names; other components'
    stamps and unrelated changes leave it alone."""
    from app.models import Ability, MarkingItem
    from app.services import contests, marking_schemes

    organiser = user("organiser")
    theory = db.session.scalar(sa.select(Component).where(
        Component.stage_id == practical.stage_id, Component.id != practical.id))
    stamps = []

    def stamp_changed() -> bool:
        db.session.flush()
        db.session.refresh(practical)
        stamps.append(practical.scheme_stamp)
        return len(stamps) < 2 or stamps[-1] != stamps[-2]

    stamp_changed()
    theory_stamp = theory.scheme_stamp
    added = marking_schemes.add_node(practical, {
        "code": "D1", "title": "新增测量项", "node": "item", "kind": "measurement",
        "maximum": "5"}, actor=organiser)
    assert stamp_changed()
    marking_schemes.update_node(added, {"title": "改名的测量项"}, actor=organiser)
    assert stamp_changed()
    marking_schemes.move_node(added, -1, actor=organiser)
    assert stamp_changed()
    marking_schemes.delete_node(added, actor=organiser)
    assert stamp_changed()
    item = db.session.scalar(sa.select(MarkingItem).where(
        MarkingItem.component_id == practical.id, MarkingItem.ability_id.is_not(None)))
    ability = db.session.get(Ability, item.ability_id)
    contests.update_ability(ability, {"name": ability.name + "（新）"}, actor=organiser)
    assert stamp_changed()
    practical.name = practical.name + "（改）"  # not part of the scheme
    assert not stamp_changed()
    assert stamps[-1] and len(set(stamps)) == 6
    db.session.refresh(theory)
    assert theory.scheme_stamp == theory_stamp


def test_a_changed_scheme_or_setting_is_never_scored_from_the_kept_rules(practical):
    """The rules are kept between requests, keyed on every input of the scheme: a new maximum,
    a new time limit or other decimals are scored at once, and unchanged inputs reuse them."""
    from app.models import MarkingItem

    scheme, rules = score_sheets.marking_rules(practical)
    assert [r.code for r in rules] == list(FULL_MARKS)
    assert score_sheets.marking_rules(practical)[0] is scheme  # same inputs: kept
    item = db.session.scalar(sa.select(MarkingItem).where(
        MarkingItem.component_id == practical.id, MarkingItem.code == "A2"))
    item.maximum = Decimal("20")
    db.session.flush()
    changed = score_sheets.marking_rules(practical)[0]
    assert changed is not scheme
    assert next(i for i in changed.items if i.code == "A2").maximum == Decimal("20")
    practical.time_limit_minutes = 90
    db.session.flush()
    assert score_sheets.marking_rules(practical)[0].time_overrun.allowed_minutes == 90
    station = stations(practical)[0]
    sheet = score_sheets.sheet_for(practical, user("judge3"), station, create=True)
    result = score_sheets.save(sheet, {"A2": "18"}, {}, None, version=sheet.version,
                               actor=user("judge3"))
    assert result.item_points["A2"] == Decimal("18.00")


@pytest.mark.parametrize(("code", "value", "words"), [
    ("A2", "16", "0至15"),
    ("A2", "-1", "0至15"),
    ("A1", "5", "10"),  # all-or-nothing: 0 or 10 only
    ("B1", "2.5", "0"),
    ("B1", "4", "0"),
    ("C1", "1.5", ""),
    ("A2", "abc", "数字"),
])
def test_marks_out_of_range_are_refused_naming_the_item(practical, code, value, words):
    station = stations(practical)[0]
    sheet = score_sheets.sheet_for(practical, user("judge3"), station, create=True)
    with pytest.raises(FieldErrors) as caught:
        score_sheets.save(sheet, {code: value}, {}, None, version=sheet.version,
                          actor=user("judge3"))
    assert code in caught.value.errors and words in caught.value.errors[code]
    assert sheet.marks == []


def test_submitting_needs_every_item_and_a_reason_for_a_disqualification(practical):
    station = stations(practical)[0]
    sheet = fill(practical, "judge3", station, {**FULL_MARKS, "C2": "1"}, submit=False)
    with pytest.raises(FieldErrors) as caught:
        score_sheets.submit(sheet, version=sheet.version, actor=user("judge3"))
    assert "C2" in caught.value.errors
    score_sheets.save(sheet, {"C2": "1"}, {"C2": "未检测可燃气体即动火"}, 0, version=sheet.version,
                      actor=user("judge3"))
    result = score_sheets.submit(sheet, version=sheet.version, actor=user("judge3"))
    assert result.points == Decimal("0.00") and sheet.disqualified


def test_submitted_sheet_is_locked_for_its_judge(practical):
    sheet = fill(practical, "judge3", stations(practical)[0])
    assert sheet.status == SheetStatus.SUBMITTED and sheet.points == Decimal("100.00")
    with pytest.raises(ServiceError, match="已提交并锁定"):
        score_sheets.save(sheet, {"A2": "14"}, {}, 0, version=sheet.version, actor=user("judge3"))


def test_a_stale_save_is_refused(practical):
    station = stations(practical)[0]
    sheet = score_sheets.sheet_for(practical, user("judge3"), station, create=True)
    opened_at = sheet.version
    score_sheets.save(sheet, {"A1": "10"}, {}, None, version=opened_at, actor=user("judge3"))
    with pytest.raises(score_sheets.Conflict):
        score_sheets.save(sheet, {"A1": "0"}, {}, None, version=opened_at, actor=user("judge3"))
    assert sheet.marks[0].value == Decimal("10")


def test_a_save_racing_another_is_refused_by_the_database_and_writes_nothing(practical):
    """Two workers load the same version at the same moment: the second UPDATE finds the
    version moved on (the row's optimistic lock) and its marks are not written."""
    station = stations(practical)[0]
    sheet = score_sheets.sheet_for(practical, user("judge3"), station, create=True)
    score_sheets.save(sheet, {"A1": "10", "A2": "5"}, {}, None, version=sheet.version,
                      actor=user("judge3"))
    loaded = sheet.version
    db.session.execute(sa.update(ScoreSheet.__table__).where(ScoreSheet.__table__.c.id == sheet.id)
                       .values(version=loaded + 1))  # the other worker's save, committed first
    audits = db.session.scalar(sa.select(sa.func.count()).select_from(AuditLog))
    with pytest.raises(score_sheets.Conflict):
        score_sheets.save(sheet, {"A2": "7", "A3": "2"}, {}, None, version=loaded,
                          actor=user("judge3"))
    db.session.expire_all()
    stored = {m.item.code: m.value for m in db.session.get(ScoreSheet, sheet.id).marks}
    assert stored == {"A1": Decimal("10"), "A2": Decimal("5")}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditLog)) == audits


def test_saved_marks_and_version_are_what_the_database_holds(practical):
    """The save writes with statements of its own; the loaded sheet must agree with a fresh
    read, for changed, new and unchanged marks alike."""
    station = stations(practical)[0]
    sheet = score_sheets.sheet_for(practical, user("judge3"), station, create=True)
    first = score_sheets.save(sheet, {"A1": "10", "A2": "5"}, {}, None, version=sheet.version,
                              actor=user("judge3"))
    second = score_sheets.save(sheet, {"A1": "10", "A2": "6", "C1": "1"}, {}, "3",
                               version=sheet.version, actor=user("judge3"))
    in_memory = ({m.item_id: m.value for m in sheet.marks}, sheet.version, sheet.overrun_minutes,
                 sheet.points)
    db.session.expire_all()
    fresh = db.session.get(ScoreSheet, sheet.id)
    assert in_memory == ({m.item_id: m.value for m in fresh.marks}, fresh.version,
                         fresh.overrun_minutes, fresh.points)
    assert fresh.overrun_minutes == 3 and len(fresh.marks) == 3
    assert second.points != first.points and fresh.points is None  # not complete yet


def test_time_overrun_deducts_per_started_minute_and_disqualifies_past_the_limit(practical):
    late = fill(practical, "judge3", stations(practical)[0], overrun=3)
    assert late.points == Decimal("97.00")
    assert not late.disqualified
    too_late = fill(practical, "judge3", stations(practical)[1], overrun=11)
    assert too_late.points == Decimal("0.00") and too_late.disqualified
    assert "超时" in too_late.disqualified_reason


def test_chief_judge_corrects_a_mark_with_a_reason_and_it_is_in_the_history(practical):
    sheet = fill(practical, "judge3", stations(practical)[0])
    chief = user("chief")
    with pytest.raises(FieldErrors) as caught:
        score_sheets.save(sheet, {"A2": "12"}, {}, None, version=sheet.version, actor=chief)
    assert "reason" in caught.value.errors
    score_sheets.save(sheet, {"A2": "12"}, {}, None, version=sheet.version, actor=chief,
                      reason="复核录像：采样间隔不符合要求")
    assert sheet.points == Decimal("97.00")
    history = score_sheets.sheet_history(sheet)
    correction = history[-1]
    assert correction.action == "mark.correct" and correction.actor_name == "chief"
    assert correction.before == {"A2": "15"} and correction.after == {"A2": "12"}
    assert correction.reason == "复核录像：采样间隔不符合要求"


def test_other_judges_cannot_touch_a_sheet(practical):
    sheet = fill(practical, "judge3", stations(practical)[0], submit=False)
    with pytest.raises(ServiceError):
        score_sheets.save(sheet, {"A2": "1"}, {}, None, version=sheet.version, actor=user("judge4"),
                          reason="x")


def test_returned_sheet_can_be_changed_and_submitted_again(practical):
    sheet = fill(practical, "judge3", stations(practical)[0])
    score_sheets.return_sheet(sheet, "B2 的评价请再核对", actor=user("chief"))
    assert sheet.status == SheetStatus.RETURNED and sheet.return_comment
    score_sheets.save(sheet, {"B2": "2"}, {}, None, version=sheet.version, actor=user("judge3"))
    score_sheets.submit(sheet, version=sheet.version, actor=user("judge3"))
    assert sheet.points == Decimal("93.33")  # B2 2/3 × 20 = 13.33


def _mark_everything(practical, spread=False):
    for judge in ("judge1", "judge2", "judge3", "judge4", "judge5"):
        for n, station in enumerate(stations(practical, judge)):
            a2 = str(15 - (n % 4)) if not (spread and judge == "judge5") else "0"
            fill(practical, judge, station, {**FULL_MARKS, "A2": a2})


def test_chief_review_aggregates_by_the_components_rule_and_names_disagreeing_judges(practical):
    _mark_everything(practical, spread=True)  # judge5 is 15 points harsher on A2
    result = judging.review(practical)
    assert result.open_sheets == 0 and result.incomplete == 0
    row = result.aggregated.loc[stations(practical)[0]]
    assert row["trimmed"] == 1  # five judges: one high and one low dropped
    assert result.flagged > 0 and "judge5" in row["disagreeing_judges"]
    assert result.sensitivity is not None and result.effects is not None
    severity = result.effects.set_index("judge_id").loc["judge5", "severity"]
    assert severity < 0


def test_sign_off_needs_every_sheet_then_stores_points_once_and_freezes(practical):
    chief = user("chief")
    fill(practical, "judge3", stations(practical)[0])
    with pytest.raises(ServiceError):
        judging.sign_off(practical, actor=chief)
    _mark_everything(practical)
    with pytest.raises(ServiceError):
        judging.sign_off(practical, actor=user("judge3"))  # not the chief
    assert judging.sign_off(practical, actor=chief) == 8
    scores = db.session.scalars(sa.select(ComponentScore).where(
        ComponentScore.component_id == practical.id)).all()
    assert len(scores) == 8 and all(s.complete for s in scores)
    sheet = db.session.scalar(sa.select(ScoreSheet).where(ScoreSheet.component_id == practical.id))
    with pytest.raises(ServiceError, match="成绩已冻结"):
        score_sheets.save(sheet, {"A2": "1"}, {}, None, version=sheet.version, actor=chief,
                          reason="x")
    with pytest.raises(ServiceError):
        score_sheets.return_sheet(sheet, "again", actor=chief)


def test_names_appear_only_after_sign_off_and_decryption_with_a_witness(practical):
    organiser = user("organiser")
    with pytest.raises(ServiceError):
        judging.decrypt(practical, witness="监督员甲", actor=organiser)
    _mark_everything(practical)
    judging.sign_off(practical, actor=user("chief"))
    assert all("name" not in row for row in judging.component_scores(practical))
    with pytest.raises(FieldErrors):
        judging.decrypt(practical, witness=" ", actor=organiser)
    judging.decrypt(practical, witness="监督员甲", actor=organiser)
    rows = judging.component_scores(practical)
    assert all(row["name"] and row["exam_number"] for row in rows)
    audit = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "component.decrypt"))
    assert "监督员甲" in audit.summary and audit.actor_name == "organiser"


def test_sign_off_waits_for_every_assigned_judge_or_their_removal_from_the_panel(practical):
    for judge in ("judge3", "judge4", "judge5"):
        for station in stations(practical, judge):
            fill(practical, judge, station)
    with pytest.raises(ServiceError) as caught:
        judging.sign_off(practical, actor=user("chief"))
    assert "钱裁判" in caught.value.message and "孙裁判" in caught.value.message
    for judge in ("judge1", "judge2"):
        judging.remove_judge(judging.assignment_for(practical, user(judge)),
                             actor=user("organiser"))
    assert judging.sign_off(practical, actor=user("chief")) == 8


def _two_judges_grade(practical, grades: dict[str, str]) -> str:
    """judge2 and judge3 submit full marks at a workstation both mark, except every judgement
    item (A3 of 15, B1 and B2 of 20 points) graded as ``grades`` says."""
    station = sorted(set(stations(practical, "judge2")) & set(stations(practical, "judge3")))[0]
    for judge, grade in grades.items():
        fill(practical, judge, station, {**FULL_MARKS, "A3": grade, "B1": grade, "B2": grade})
    return station


def test_judgement_per_sheet_rounds_each_judges_grades_then_averages_the_sheet_totals(practical):
    practical.aggregation, practical.min_judges = AggregationMethod.MEAN, 2
    station = _two_judges_grade(practical, {"judge2": "0", "judge3": "1"})
    # other items 10 + 15 + 10 + 10 = 45 on both sheets; judge3: 15/3 = 5.00, 20/3 = 6.67 twice
    # -> 63.34; judge2 45.00; mean 108.34 / 2 = 54.17
    assert judging.review(practical).aggregated.loc[station, "points"] == Decimal("54.17")


def test_judgement_per_item_averages_the_judges_grades_and_rounds_once_worldskills(practical):
    practical.aggregation, practical.min_judges = AggregationMethod.MEAN, 2
    practical.judgement_order = JudgementOrder.PER_ITEM
    station = _two_judges_grade(practical, {"judge2": "0", "judge3": "1"})
    # A3: grades 0 and 1 -> 1/6 x 15 = 2.50; B1 and B2: 1/6 x 20 = 3.333 -> 3.33 each;
    # every sheet 45 + 9.16 = 54.16 (per sheet it was 54.17)
    review = judging.review(practical)
    assert review.aggregated.loc[station, "points"] == Decimal("54.16")
    shown = next(s for s in review.judgement if s["workstation"] == station)
    judges = [j.username for j in review.judges]
    b1 = next(i for i in shown["items"] if i["code"] == "B1")
    assert b1["points"] == Decimal("3.33")
    assert b1["grades"][judges.index("judge2")] == 0 and b1["grades"][judges.index("judge3")] == 1
    # sign-off stores the same number, and the stored sheets keep each judge's own points
    for judge in ("judge1", "judge4", "judge5"):  # a panel of two
        judging.remove_judge(judging.assignment_for(practical, user(judge)))
    for judge in ("judge2", "judge3"):
        for other in stations(practical, judge):
            fill(practical, judge, other)
    judging.sign_off(practical, actor=user("chief"), acknowledged_flags=True)
    place = db.session.scalar(sa.select(StageEntry).where(
        StageEntry.stage_id == practical.stage_id, StageEntry.workstation_number == station))
    stored = db.session.scalar(sa.select(ComponentScore).where(
        ComponentScore.component_id == practical.id, ComponentScore.stage_entry_id == place.id))
    assert stored.points == Decimal("54.16")
    own = db.session.scalars(sa.select(ScoreSheet.points).where(
        ScoreSheet.component_id == practical.id, ScoreSheet.stage_entry_id == place.id)).all()
    assert sorted(own) == [Decimal("45.00"), Decimal("63.34")]
    _score, before, after = judging.rescore(practical, place)  # a correction's recompute agrees
    assert before["points"] == after["points"] == "54.16"


def test_a_component_with_no_marked_workstation_cannot_be_signed_off():
    """Before any contestant is drawn the chief's panel is empty; signing it off would freeze
    the practical with no scores, for good."""
    stage = db.session.scalar(sa.select(Stage).join(Track).where(Track.code == "chem",
                                                                 Stage.seq == 2))
    component = next(c for c in stage.components if c.code == "practical")
    with pytest.raises(ServiceError, match="无可签字确认"):
        judging.sign_off(component, actor=user("chief"))
    assert component.signed_off_at is None
    assert not db.session.scalar(sa.select(sa.func.count()).select_from(ComponentScore).where(
        ComponentScore.component_id == component.id))
