"""Stage settings and components with their weights (the life cycle: test_stage_flow.py)."""
from datetime import date, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import (
    AuditLog,
    ComponentScore,
    Stage,
    StageEntry,
    StageStatus,
    Track,
)
from app.services import FieldErrors, ServiceError, stage_flow
from app.services import contests as contest_service
from app.services import stages as service
from app.services.accounts import get_by_username

pytestmark = pytest.mark.usefixtures("app_ctx")


def organiser():
    return get_by_username("organiser")


def chem() -> Track:
    return db.session.scalar(sa.select(Track).join(Track.contest).where(
        Track.code == "chem", Track.contest.has(code="jstl-2025")))


def stage(seq: int) -> Stage:
    return next(s for s in chem().stages if s.seq == seq)


def errors_of(call) -> dict[str, str]:
    with pytest.raises(FieldErrors) as caught:
        call()
    return caught.value.errors


def component_rows(s: Stage, **changes) -> list[dict]:
    rows = []
    for c in s.components:
        row = {name: getattr(c, name) for name in service.COMPONENT_FIELDS}
        row["id"] = c.id
        row.update(changes.get(c.code, {}))
        rows.append(row)
    return rows


def fresh_track() -> Track:
    contest = contest_service.create_contest({
        "code": "s-2026", "name": "赛段测试", "year": 2026,
        "exam_number_pattern": "{year}{track_no:02d}{seq:04d}"})
    return contest_service.create_track(contest, {"code": "t", "name": "测试", "number": 1})


def test_quota_of_zero_is_refused_at_the_quota_field():
    errors = errors_of(lambda: service.update_stage(stage(1), {"quota": 0}))
    assert errors == {"quota": "晋级名额不能小于1。"}


def test_decimals_are_between_0_and_4():
    assert errors_of(lambda: service.update_stage(stage(1), {"decimals": 5})) == {
        "decimals": "小数位数不能大于4。"}


def test_registration_must_close_after_it_opens_and_before_the_stage_starts():
    errors = errors_of(lambda: service.update_stage(stage(1), {
        "registration_opens_at": datetime(2025, 6, 30), "registration_closes_at":
        datetime(2025, 6, 1)}))
    assert errors["registration_closes_at"] == "报名截止时间必须晚于开始时间。"
    # The stage starts on 1 July (Beijing time): 17:00 UTC on 30 June is 01:00 on 1 July there.
    errors = errors_of(lambda: service.update_stage(stage(1), {
        "registration_closes_at": datetime(2025, 6, 30, 17)}))
    assert errors["registration_closes_at"] == "报名最迟应在赛段开始时（2025-07-01）截止。"
    service.update_stage(stage(1), {"registration_closes_at": datetime(2025, 6, 30, 16)})


def test_a_stage_may_not_overlap_the_stage_before_or_after():
    errors = errors_of(lambda: service.update_stage(stage(2), {"starts_on": date(2025, 7, 8)}))
    assert "预赛" in errors["starts_on"] and "2025-07-08" in errors["starts_on"]
    service.update_stage(stage(3), {"starts_on": date(2025, 10, 1), "ends_on": date(2025, 10, 2)})
    errors = errors_of(lambda: service.update_stage(stage(2), {"ends_on": date(2025, 10, 1)}))
    assert "全省总决赛" in errors["ends_on"]


def test_a_stage_cannot_end_before_it_starts():
    errors = errors_of(lambda: service.update_stage(stage(2), {"ends_on": date(2025, 8, 31)}))
    assert errors == {"ends_on": "赛段结束日期不能早于开始日期。"}


def test_tie_breaks_name_a_component_time_or_a_known_column():
    errors = errors_of(lambda: service.update_stage(stage(2), {"tie_breaks": [
        {"key": "practical", "direction": "desc"}, {"key": "shoe_size", "direction": "asc"},
        {"key": "practical"}]}))
    assert "shoe_size" in errors["tie_breaks-1-key"] and "practical" in errors["tie_breaks-1-key"]
    assert "已在" in errors["tie_breaks-2-key"]
    service.update_stage(stage(2), {"tie_breaks": [{"key": "time"}, {"key": "twin"},
                                                   {"key": "years_as_leader"}]})
    assert stage(2).tie_breaks == [{"key": "time", "direction": "asc"},
                                   {"key": "twin", "direction": "desc"},
                                   {"key": "years_as_leader", "direction": "desc"}]


def test_several_mistakes_are_reported_together():
    errors = errors_of(lambda: service.update_stage(stage(1), {
        "quota": 0, "min_age": 60, "max_age": 18, "recheck_fraction": Decimal("1.5"),
        "awards": [{"name": "一等奖", "count": 0}]}))
    assert set(errors) == {"quota", "max_age", "recheck_fraction", "awards-0-count"}


def test_stage_changes_are_audited_with_only_what_changed():
    service.update_stage(stage(1), {"quota": 50, "notice_days": 5})
    row = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "stage.update")
                            .order_by(AuditLog.id.desc()))
    assert row.before == {"quota": 60, "notice_days": 7}
    assert row.after == {"quota": 50, "notice_days": 5}


def test_new_stages_come_after_the_last_in_draft_with_the_rules_defaults():
    track = fresh_track()
    first = service.create_stage(track, {"kind": "preliminary", "name": "预赛",
                                         "starts_on": date(2026, 7, 1)})
    second = service.create_stage(track, {"kind": "final", "name": "决赛",
                                          "starts_on": date(2026, 9, 1)})
    assert (first.seq, second.seq) == (1, 2)
    assert (second.status, second.notice_days, second.decimals, second.recheck_fraction) == (
        StageStatus.DRAFT, 7, 2, Decimal("0.15"))
    with pytest.raises(ServiceError):
        service.move_stage(second, -1)  # the dates would run backwards
    service.update_stage(second, {"starts_on": None})
    service.move_stage(second, -1)
    assert [s.name for s in sorted(track.stages, key=lambda s: s.seq)] == ["决赛", "预赛"]


def test_a_draft_stage_without_people_can_be_deleted_and_the_rest_renumbered():
    track = fresh_track()
    a = service.create_stage(track, {"kind": "preliminary", "name": "一"})
    service.create_stage(track, {"kind": "advanced", "name": "二"})
    service.delete_stage(a)
    assert [(s.seq, s.name) for s in track.stages] == [(1, "二")]


def test_a_stage_with_contestants_cannot_be_deleted():
    with pytest.raises(ServiceError) as caught:
        service.delete_stage(stage(1))
    assert caught.value.field == "status"  # not in draft either


def test_weights_must_add_up_to_100():
    errors = errors_of(lambda: service.save_components(
        stage(2), component_rows(stage(2), practical={"weight": Decimal("30")})))
    assert errors == {"weight_total": "权重合计必须为100%，当前为95%（理论考试30%＋实操考试（特殊作业）30%＋数字孪生基础能力比赛35%）。"}


def test_set_weights_by_code():
    service.set_weights(stage(2), {"theory": "30", "practical": "40", "twin": "30"},
                        actor=organiser())
    assert {c.code: c.weight for c in stage(2).components} == {
        "theory": Decimal("30"), "practical": Decimal("40"), "twin": Decimal("30")}
    row = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "stage.components")
                            .order_by(AuditLog.id.desc()))
    assert row.actor_name == "organiser"
    assert [c["weight"] for c in row.before["components"]] == ["30", "35", "35"]
    assert [c["weight"] for c in row.after["components"]] == ["30", "40", "30"]
    errors = errors_of(lambda: service.set_weights(stage(2), {"nope": "10"}))
    assert "weights.nope" in errors
    errors = errors_of(lambda: service.set_weights(stage(2), {"theory": "-5"}))
    assert "weights.theory" in errors


def test_component_rows_are_checked_field_by_field():
    rows = component_rows(stage(2), practical={
        "maximum": Decimal("-1"), "trim": 1, "aggregation": "mean", "min_percent": "120",
        "overrun_disqualify_after_minutes": 5, "time_limit_minutes": None})
    errors = errors_of(lambda: service.save_components(stage(2), rows))
    assert set(errors) == {"components-1-maximum", "components-1-trim",
                           "components-1-min_percent", "components-1-disagreement_threshold",
                           "components-1-overrun_deduction_per_minute",
                           "components-1-overrun_disqualify_after_minutes"}


def test_a_new_component_and_a_deletion_are_saved_together():
    rows = component_rows(stage(2), twin={"delete": True}, practical={"weight": "50"})
    rows.append({"code": "interview", "name": "面试", "kind": "other", "weight": "20",
                 "maximum": "50", "aggregation": "median", "min_judges": 3})
    errors = errors_of(lambda: service.save_components(stage(2), rows))
    assert "并列" in errors["components-2-delete"]  # twin is in the tie-break chain
    service.update_stage(stage(2), {"tie_breaks": [{"key": "practical"}]})
    service.save_components(stage(2), rows)
    assert [(c.code, c.weight, c.sort_order) for c in stage(2).components] == [
        ("theory", Decimal("30"), 0), ("practical", Decimal("50"), 1),
        ("interview", Decimal("20"), 2)]


def test_renaming_a_component_code_renames_it_in_the_tie_break_chain():
    service.save_components(stage(2), component_rows(stage(2), twin={"code": "dt"}))
    assert {"key": "dt", "direction": "desc"} in stage(2).tie_breaks


def test_a_component_with_scores_keeps_its_weight_and_scheme():
    s = stage(1)
    theory = next(c for c in s.components if c.code == "theory")
    place = db.session.scalar(sa.select(StageEntry).where(StageEntry.stage_id == s.id))
    db.session.add(ComponentScore(component=theory, stage_entry=place, points=Decimal("80")))
    db.session.flush()
    errors = errors_of(lambda: service.set_weights(s, {"theory": "50", "learning": "50"}))
    assert "weights.theory" in errors and "已有成绩" in errors["weights.theory"]
    service.save_components(s, component_rows(s, theory={"name": "线上理论考试（闭卷）"}))


def test_a_judged_component_needs_a_complete_scheme_before_scoring():
    track = fresh_track()
    s = service.create_stage(track, {"kind": "final", "name": "决赛"})
    service.save_components(s, [{"code": "practical", "name": "实操", "kind": "practical",
                                 "weight": "100", "maximum": "100"}])
    stage_flow.change_status(s, "registration")
    with pytest.raises(ServiceError) as caught:
        stage_flow.change_status(s, "scoring")
    assert "评分项" in caught.value.message


def test_the_demo_stages_build_the_scoring_engines_rules():
    rule = service.scoring_rule(stage(2))
    assert [c.code for c in rule.components] == ["theory", "practical", "twin"]
    assert [t.key for t in rule.tie_breaks] == ["practical", "twin", "time", "theory"]
    assert rule.quota == 10
