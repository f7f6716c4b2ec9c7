"""A judged component's score corrected after sign-off: only by the component's chief judge, only
on a ground (an upheld appeal on that component and contestant, or a closed re-check that found
that contestant's score wrong); the marks and the stored points change, each change audited; no
results version changes, and the next version differs from the previous for that contestant
only."""
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import (
    Appeal,
    AuditLog,
    Component,
    ComponentScore,
    RecheckOutcome,
    RulingStatus,
    ScoreCorrection,
    ScoreSheet,
    StageEntry,
    User,
)
from app.services import (
    FieldErrors,
    ServiceError,
    accounts,
    appeals,
    judging,
    rechecks,
    results,
    score_corrections,
    score_sheets,
)
from app.services.score_corrections import Ground, SheetChange
from tests.corrections_setup import signed_off_stage

pytestmark = pytest.mark.usefixtures("app_ctx")


def user(name: str) -> User:
    return accounts.get_by_username(name)


@pytest.fixture
def stage_ids() -> dict:
    return signed_off_stage()


@pytest.fixture
def practical(stage_ids) -> Component:
    return db.session.get(Component, stage_ids["practical"])


def place(stage_ids, k: int) -> StageEntry:
    return db.session.get(StageEntry, stage_ids["places"][k])


def five_judged(stage_ids, practical) -> tuple[int, StageEntry]:
    """A workstation all five judges marked (not the one from judge1's enterprise)."""
    for k in range(len(stage_ids["places"])):
        p = place(stage_ids, k)
        if len(score_corrections.sheets_of(practical, p)) == 5:
            return k, p
    raise AssertionError("no workstation with five judges")


def upheld_appeal(p: StageEntry, component: Component, ruling="评分有误，A2应为11分") -> Appeal:
    appeal = Appeal(stage_entry_id=p.id, component_id=component.id, text="A2评分有误",
                    status=RulingStatus.OPEN)
    db.session.add(appeal)
    db.session.flush()
    appeals.rule_on(appeal, decision="upheld", ruling=ruling, actor=user("arbiter"))
    return appeal


def changes(practical, p, values: dict[str, str], sheets: int | None = None) -> dict:
    """The same marks changed on the first ``sheets`` of the workstation's sheets (all)."""
    chosen = score_corrections.sheets_of(practical, p)[:sheets]
    return {s.id: SheetChange(s.version, values) for s in chosen}


def stored(practical, p) -> ComponentScore:
    return db.session.scalar(sa.select(ComponentScore).where(
        ComponentScore.component_id == practical.id, ComponentScore.stage_entry_id == p.id))


def test_sign_off_and_a_rescore_give_the_same_points_from_one_aggregation(stage_ids, practical):
    for k in range(len(stage_ids["places"])):
        p = place(stage_ids, k)
        signed = stored(practical, p).points
        assert signed == Decimal(95 - k)
        _score, before, after = judging.rescore(practical, p)
        assert before == after


def test_without_a_ground_a_signed_off_score_is_refused(stage_ids, practical):
    p = place(stage_ids, 0)
    with pytest.raises(FieldErrors) as refused:
        score_corrections.correct(practical, p, None, changes(practical, p, {"A2": "11"}),
                                  "复核录像", actor=user("chief"))
    assert refused.value.errors["ground"].startswith("签字确认后的更正必须有依据")
    sheet = score_corrections.sheets_of(practical, p)[0]
    with pytest.raises(ServiceError, match="成绩已冻结"):  # the ordinary path stays frozen
        score_sheets.save(sheet, {"A2": "11"}, {}, None, version=sheet.version, actor=user("chief"),
                          reason="x")
    assert stored(practical, p).points == Decimal(95)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ScoreCorrection)) == 0


def test_a_ground_for_another_contestant_or_component_is_refused(stage_ids, practical):
    first, second = place(stage_ids, 0), place(stage_ids, 1)
    theirs = upheld_appeal(second, practical)
    theory = next(c for c in practical.stage.components if c.code == "theory")
    on_theory = upheld_appeal(first, theory)
    for ground in (Ground(appeal=theirs), Ground(appeal=on_theory)):
        with pytest.raises(FieldErrors) as refused:
            score_corrections.correct(practical, first, ground,
                                      changes(practical, first, {"A2": "11"}), "更正",
                                      actor=user("chief"))
        assert "针对的是另一名选手或另一个项目" in refused.value.errors["ground"]
    dismissed = Appeal(stage_entry_id=first.id, component_id=practical.id, text="x",
                       status=RulingStatus.OPEN)
    db.session.add(dismissed)
    db.session.flush()
    appeals.rule_on(dismissed, decision="dismissed", ruling="评分无误", actor=user("arbiter"))
    with pytest.raises(FieldErrors, match=f"申诉#{dismissed.id}未经监督仲裁组裁定成立"):
        score_corrections.correct(practical, first, Ground(appeal=dismissed),
                                  changes(practical, first, {"A2": "11"}), "更正",
                                  actor=user("chief"))
    assert [g.key for g in score_corrections.grounds_for(practical, first)] == []
    assert [g.key for g in score_corrections.grounds_for(practical, second)] == [
        f"appeal-{theirs.id}"]
    assert stored(practical, first).points == Decimal(95)


def test_only_the_components_chief_judge_corrects(stage_ids, practical):
    p = place(stage_ids, 0)
    appeal = upheld_appeal(p, practical)
    for name in ("judge3", "organiser", "arbiter"):
        with pytest.raises(ServiceError) as refused:
            score_corrections.correct(practical, p, Ground(appeal=appeal),
                                      changes(practical, p, {"A2": "11"}), "更正",
                                      actor=user(name))
        assert refused.value.code == "forbidden"


def test_an_upheld_appeal_corrects_the_marks_and_the_points_with_every_change_audited(
        stage_ids, practical):
    k, p = five_judged(stage_ids, practical)
    appeal = upheld_appeal(p, practical)
    with pytest.raises(FieldErrors) as refused:
        score_corrections.correct(practical, p, Ground(appeal=appeal),
                                  changes(practical, p, {"A2": "11"}, sheets=2), " ",
                                  actor=user("chief"))
    assert "reason" in refused.value.errors
    with pytest.raises(FieldErrors) as refused:
        score_corrections.correct(practical, p, Ground(appeal=appeal),
                                  changes(practical, p, {"A2": "10"}), "无改动",
                                  actor=user("chief"))
    assert "marks" in refused.value.errors
    with pytest.raises(FieldErrors) as refused:
        score_corrections.correct(practical, p, Ground(appeal=appeal),
                                  changes(practical, p, {"A2": "16"}, sheets=1), "超出满分",
                                  actor=user("chief"))
    sheet_id = score_corrections.sheets_of(practical, p)[0].id
    assert f"{sheet_id}:A2" in refused.value.errors

    correction = score_corrections.correct(
        practical, p, Ground(appeal=appeal), changes(practical, p, {"A2": "11"}, sheets=2),
        "仲裁组调阅录像：A2 采样操作规范", actor=user("chief"))
    # Two of five sheets now 96, three 95: trimmed mean drops one 96 and one 95.
    expected = (Decimal(96 - k) + 2 * Decimal(95 - k)) / 3
    expected = expected.quantize(Decimal("0.01"))
    assert stored(practical, p).points == expected == correction.points_after
    assert correction.points_before == Decimal(95 - k) and correction.sheets == 2
    assert correction.appeal_id == appeal.id and correction.recheck_item_id is None
    marks = db.session.scalars(sa.select(AuditLog).where(
        AuditLog.action == "mark.correct_after_signoff").order_by(AuditLog.id)).all()
    assert len(marks) == 2
    for row in marks:
        assert row.before == {"A2": "10"} and row.after == {"A2": "11"}
        assert row.reason == "仲裁组调阅录像：A2 采样操作规范" and row.actor_name == "chief"
        assert f"申诉#{appeal.id}" in row.summary
    sheets = db.session.scalars(sa.select(ScoreSheet).where(
        ScoreSheet.id.in_([m.object_id for m in marks]))).all()
    assert all(s.points == Decimal(96 - k) and s.status.value == "submitted" for s in sheets)
    score_row = db.session.scalar(sa.select(AuditLog).where(
        AuditLog.action == "component_score.correct"))
    assert score_row.before["points"] == str(95 - k)
    assert Decimal(score_row.after["points"]) == expected
    assert score_row.after["ground"] == f"申诉#{appeal.id}"
    assert score_row.reason == correction.reason and score_row.object_type == "ComponentScore"


def test_the_next_version_differs_from_the_previous_for_that_contestant_only(
        stage_ids, practical):
    stage = practical.stage
    organiser = user("organiser")
    first = results.create_version(stage, actor=organiser, reason="首次计算")
    before = results.version_table(first).copy()
    p = place(stage_ids, 0)  # the top: one point more keeps every rank
    appeal = upheld_appeal(p, practical)
    score_corrections.correct(practical, p, Ground(appeal=appeal),
                              changes(practical, p, {"A2": "11"}), "仲裁裁定 A2 应得11分",
                              actor=user("chief"))
    assert results.version_table(first).equals(before)  # versions never change
    second = results.create_version(stage, actor=organiser, appeals=[appeal])
    assert appeal.resulting_version_id == second.id
    diff = results.differences(second, first)
    assert {d.entry_id for d in diff} == {p.id}
    assert {d.field for d in diff} == {"practical_points", "practical_percent", "total"}
    points = next(d for d in diff if d.field == "practical_points")
    assert (points.before, points.after) == (Decimal(95), Decimal(96))
    # The appeal is carried now: it is no ground for a further correction.
    with pytest.raises(FieldErrors) as refused:
        score_corrections.correct(practical, p, Ground(appeal=appeal),
                                  changes(practical, p, {"A2": "12"}), "再次更正",
                                  actor=user("chief"))
    assert f"已进入成绩第{second.number}版" in refused.value.errors["ground"]
    assert score_corrections.carried_by(
        db.session.scalar(sa.select(ScoreCorrection))).id == second.id


def test_a_closed_recheck_that_found_the_score_wrong_is_a_ground(stage_ids, practical):
    stage = practical.stage
    organiser = user("organiser")
    version = results.create_version(stage, actor=organiser)
    round_ = rechecks.open_round(version, actor=organiser, seed=7)
    items = rechecks.items(round_)
    k, p = five_judged(stage_ids, practical)
    wrong = next(i for i in items if i.stage_entry_id == p.id)
    rechecks.record(wrong, outcome="corrected", note="实操B3合计录入错误", actor=organiser)
    ground = Ground(recheck_item=wrong)
    lower = {"B3": str(9 - k)}  # one point less on two of the five sheets
    with pytest.raises(FieldErrors, match="所在的复核尚未结束"):
        score_corrections.correct(practical, p, ground, changes(practical, p, lower, sheets=2),
                                  "复核发现B3录入错误", actor=user("chief"))
    other = next(i for i in items if i.stage_entry_id != p.id)
    rechecks.mark_correct(round_, [i.id for i in items if i.id != wrong.id], actor=organiser)
    rechecks.close(round_, actor=organiser)  # 1 of 8 wrong: a full re-check follows
    for item, target, words in (
            (other, db.session.get(StageEntry, other.stage_entry_id), "未发现分数有误"),
            (wrong, next(place(stage_ids, j) for j in range(8) if j != k), "针对的是另一名选手")):
        with pytest.raises(FieldErrors, match=words):
            score_corrections.correct(practical, target, Ground(recheck_item=item),
                                      changes(practical, target, {"B3": "5"}), "更正",
                                      actor=user("chief"))
    correction = score_corrections.correct(practical, p, ground,
                                           changes(practical, p, lower, sheets=2),
                                           "复核发现B3录入错误", actor=user("chief"))
    assert correction.recheck_item_id == wrong.id and correction.appeal_id is None
    # Sheets 94−k, 94−k, 95−k, 95−k, 95−k: the trimmed mean keeps 94−k, 95−k, 95−k.
    assert correction.points_before == Decimal(95 - k)
    assert correction.points_after == ((Decimal(94 - k) + 2 * Decimal(95 - k)) / 3).quantize(
        Decimal("0.01"))
    assert wrong.outcome == RecheckOutcome.CORRECTED
    newer = results.create_version(stage, actor=organiser, reason="复核更正")
    assert {d.entry_id for d in results.differences(newer, version)} == {p.id}
    # The chief judge's list shows the finding once, with its correction.
    work = score_corrections.worklist(practical)
    found = [w for w in work if w.ground.recheck_item is not None]
    assert len(found) == 1 and found[0].corrections == [correction]
    assert found[0].place.id == p.id and found[0].text == "实操B3合计录入错误"
