"""Contests, tracks and abilities: their rules, their audit, and copying a contest."""
from datetime import date, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import (
    AuditLog,
    Contest,
    Entry,
    JudgeAssignment,
    MarkingItem,
    Sitting,
    Stage,
    StageEntry,
    StageStatus,
    Track,
)
from app.services import FieldErrors, ServiceError
from app.services import contests as service
from app.services.accounts import get_by_username

pytestmark = pytest.mark.usefixtures("app_ctx")


def organiser():
    return get_by_username("organiser")


def demo() -> Contest:
    return service.get_contest("jstl-2025")


def new_contest(**values) -> Contest:
    return service.create_contest({"code": "t-2026", "name": "测试赛", "year": 2026,
                                   "exam_number_pattern": "{year}{track_no:02d}{seq:04d}",
                                   **values}, actor=organiser())


def errors_of(call) -> dict[str, str]:
    with pytest.raises(FieldErrors) as caught:
        call()
    return caught.value.errors


def last_audit(action: str) -> AuditLog:
    return db.session.scalar(sa.select(AuditLog).where(AuditLog.action == action)
                             .order_by(AuditLog.id.desc()))


def test_creating_a_contest_is_audited_with_its_settings():
    contest = new_contest(organiser="江苏省总工会", contest_date=date(2026, 9, 1))
    row = last_audit("contest.create")
    assert row.object_id == contest.id and row.actor_name == "organiser"
    assert row.after["code"] == "t-2026" and row.after["contest_date"] == "2026-09-01"


def test_contest_fields_are_checked_together_with_chinese_messages():
    errors = errors_of(lambda: new_contest(code="jstl-2025", name=" ", year=1990,
                                           exam_number_pattern="{year}{seq}"))
    assert errors["code"] == "代码 jstl-2025 已被其他赛事使用。"
    assert errors["name"] == "该字段是必填字段。"
    assert errors["year"] == "年份不能小于2000。"
    assert "{seq}" in errors["exam_number_pattern"] and "赛道" in errors["exam_number_pattern"]


def test_exam_number_pattern_with_unknown_field_is_refused():
    errors = errors_of(lambda: new_contest(exam_number_pattern="{year}{district}{seq}"))
    assert "{track_no}" in errors["exam_number_pattern"]


def test_exam_number_pattern_cannot_change_once_numbers_are_issued():
    errors = errors_of(lambda: service.update_contest(
        demo(), {"exam_number_pattern": "{year}-{track_code}-{seq:05d}"}, actor=organiser()))
    assert "已发放" in errors["exam_number_pattern"]


def test_updating_a_contest_records_before_and_after():
    contest = demo()
    service.update_contest(contest, {"organiser": "江苏省总工会（主办）"}, actor=organiser())
    row = last_audit("contest.update")
    assert row.before["organiser"] == "江苏省总工会" and row.after["organiser"] == "江苏省总工会（主办）"


def test_track_codes_and_numbers_are_unique_in_a_contest():
    errors = errors_of(lambda: service.create_track(demo(), {
        "code": "chem", "name": "化工二", "number": 1}, actor=organiser()))
    assert errors["code"] == "本赛事已有代码为 chem 的赛道。"
    assert "编号" in errors["number"] and "考号" in errors["number"]


def test_track_keeps_its_co_hosts_one_per_line():
    contest = new_contest()
    track = service.create_track(contest, {
        "code": "power", "name": "电力", "number": 1, "host_union": "省能源化学地质工会",
        "co_hosts": " 国网江苏省电力有限公司 \n\n  华能南通电厂"}, actor=organiser())
    assert track.co_hosts == "国网江苏省电力有限公司\n华能南通电厂"
    assert last_audit("track.create").after["host_union"] == "省能源化学地质工会"


def test_ability_codes_and_names_are_unique_in_a_contest():
    errors = errors_of(lambda: service.create_ability(demo(), {"code": "digital",
                                                               "name": "组织管理"}))
    assert set(errors) == {"code", "name"}


def test_an_ability_used_by_marking_items_cannot_be_deleted():
    ability = next(a for a in demo().abilities if a.code == "expertise")
    with pytest.raises(ServiceError) as caught:
        service.delete_ability(ability, actor=organiser())
    assert "评分项" in caught.value.message


def test_an_unused_ability_is_deleted_and_audited():
    contest = new_contest()
    ability = service.create_ability(contest, {"code": "x", "name": "创新"}, actor=organiser())
    service.delete_ability(ability, actor=organiser())
    assert contest.abilities == []
    assert last_audit("ability.delete").before["name"] == "创新"


def test_a_contest_with_entries_cannot_be_deleted():
    with pytest.raises(ServiceError) as caught:
        service.delete_contest(demo(), actor=organiser())
    assert "报名" in caught.value.message


def _count(model, *where) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def test_copying_the_demo_contest_copies_its_configuration_and_none_of_its_people():
    source = demo()
    chem = next(t for t in source.tracks if t.code == "chem")
    db.session.add(Sitting(stage=chem.stages[0], name="第一场", venue="南京", room="101",
                           starts_at=datetime(2025, 7, 2, 1), ends_at=datetime(2025, 7, 2, 3),
                           capacity=90))
    db.session.flush()
    copy = service.copy_contest(source, {"code": "jstl-2026", "name": "2026年江苏省班组长数字能力大赛",
                                         "year": 2026}, actor=organiser())

    assert (copy.year, copy.copied_from_id, copy.is_template) == (2026, source.id, False)
    assert copy.contest_date == date(2026, 9, 1)
    assert [t.code for t in copy.tracks] == [t.code for t in source.tracks]
    old_stages = [s for t in source.tracks for s in t.stages]
    new_stages = [s for t in copy.tracks for s in t.stages]
    assert len(new_stages) == len(old_stages) == 9
    assert all(s.status == StageStatus.DRAFT for s in new_stages)
    old_components = [c for s in old_stages for c in s.components]
    new_components = [c for s in new_stages for c in s.components]
    assert [(c.code, c.weight, c.maximum) for c in new_components] == [
        (c.code, c.weight, c.maximum) for c in old_components]
    old_items = [i for c in old_components for i in c.items]
    new_items = [i for c in new_components for i in c.items]
    assert len(new_items) == len(old_items) == 11
    # Ability tags point at the new contest's abilities, with the same codes.
    tagged = [i for i in new_items if i.ability is not None]
    assert tagged and all(i.ability.contest_id == copy.id for i in tagged)
    assert sorted(i.ability.code for i in tagged) == sorted(
        i.ability.code for i in old_items if i.ability is not None)
    # The tree is kept: every item's parent is a criterion of the copy.
    parents = {i.code: i.parent.code for i in new_items if i.parent is not None}
    assert parents["A1"] == "A" and parents["C2"] == "C"
    assert all(i.parent.component_id == i.component_id for i in new_items if i.parent)
    # Dates moved by a year; the tie-break chain and awards kept.
    new_chem = next(t for t in copy.tracks if t.code == "chem")
    prelim, advanced = new_chem.stages[0], new_chem.stages[1]
    assert prelim.starts_on == date(2026, 7, 1)
    assert prelim.registration_closes_at == datetime(2026, 6, 30, 16)
    assert advanced.tie_breaks == chem.stages[1].tie_breaks
    assert advanced.awards[0] == {"name": "一等奖", "share": "10"}
    assert advanced.award_rounding == chem.stages[1].award_rounding
    # Sittings without people; no entries, stage places or judges.
    assert [(s.name, s.capacity, s.starts_at) for s in prelim.sittings] == [
        ("第一场", 90, datetime(2026, 7, 2, 1))]
    assert _count(Entry, Entry.contest_id == copy.id) == 0
    assert _count(StageEntry, StageEntry.stage_id.in_([s.id for s in new_stages])) == 0
    assert _count(JudgeAssignment, JudgeAssignment.component_id.in_(
        [c.id for c in new_components])) == 0
    row = last_audit("contest.copy")
    assert row.before == {"source": "jstl-2025"}
    assert row.after["stages"] == 9 and row.after["marking_items"] == 11


def test_a_copy_needs_a_free_code():
    errors = errors_of(lambda: service.copy_contest(demo(), {
        "code": "jstl-2025", "name": "x", "year": 2026}))
    assert errors["code"] == "代码 jstl-2025 已被其他赛事使用。"


def test_a_copied_contest_without_people_can_be_deleted():
    copy = service.copy_contest(demo(), {"code": "c1", "name": "副本", "year": 2026})
    service.delete_contest(copy, actor=organiser())
    assert service.get_contest("c1") is None
    assert _count(MarkingItem) == 11  # the demo's scheme only
    assert _count(Track, Track.contest_id == copy.id) == 0
    assert _count(Stage) == 9


def test_the_suggested_copy_is_next_year():
    assert service.suggested_copy(demo()) == {
        "code": "jstl-2026", "name": "2026年江苏省班组长数字能力大赛", "year": 2026}


def test_leap_day_moves_to_the_28th():
    assert service._shift_years(date(2024, 2, 29), 1) == date(2025, 2, 28)


def test_decimal_values_take_no_binary_floats():
    problems = service.Problems()
    assert service.decimal({"w": 0.1}, "w", problems, places=2) == Decimal("0.1")
    assert service.decimal({"w": "1.234"}, "w", problems, places=2) is None
    assert problems.errors["w"] == "数值最多保留2位小数。"
