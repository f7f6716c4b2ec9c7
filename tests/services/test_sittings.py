"""Sittings: their rules, balanced assignment that keeps enterprises apart, manual moves."""
from datetime import datetime

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import AuditLog, Draw, Entry, Stage, StageEntry, Track
from app.services import FieldErrors, ServiceError
from app.services import sittings as service

pytestmark = pytest.mark.usefixtures("app_ctx")


def prelim() -> Stage:
    return db.session.scalar(sa.select(Stage).join(Track).where(Track.code == "chem",
                                                                Stage.seq == 1))


def advanced() -> Stage:
    return db.session.scalar(sa.select(Stage).join(Track).where(Track.code == "chem",
                                                                Stage.seq == 2))


def sitting(stage: Stage, name: str, capacity: int | None, hour: int = 1, **values):
    return service.create_sitting(stage, {
        "name": name, "venue": "南京化工园区实训基地", "room": f"{name}室", "capacity": capacity,
        "starts_at": datetime(2025, 7, 2, hour), "ends_at": datetime(2025, 7, 2, hour + 2),
        **values})


def people_in(stage: Stage, n: int, enterprises: list[int]) -> None:
    """Put ``n`` approved entries of the demo into ``stage``, from the given enterprise sizes."""
    taken = 0
    for size in enterprises:
        by_enterprise = db.session.scalars(sa.select(Entry).where(
            Entry.enterprise_id == _enterprise_with(size, stage), Entry.exam_number.is_not(None)
        ).limit(size)).all()
        for entry in by_enterprise:
            db.session.add(StageEntry(stage=stage, entry=entry))
            taken += 1
    db.session.flush()
    assert taken == n


def _enterprise_with(size: int, stage: Stage) -> int:
    rows = db.session.execute(
        sa.select(Entry.enterprise_id, sa.func.count()).where(Entry.exam_number.is_not(None))
        .group_by(Entry.enterprise_id).having(sa.func.count() >= size)
        .order_by(Entry.enterprise_id)).all()
    used = set(db.session.scalars(sa.select(Entry.enterprise_id).join(StageEntry).where(
        StageEntry.stage_id == stage.id)))
    return next(e for e, _n in rows if e not in used)


def errors_of(call) -> dict[str, str]:
    with pytest.raises(FieldErrors) as caught:
        call()
    return caught.value.errors


def test_sitting_times_and_capacity_are_checked():
    errors = errors_of(lambda: service.create_sitting(prelim(), {
        "name": "", "capacity": 0, "starts_at": datetime(2025, 7, 2, 3),
        "ends_at": datetime(2025, 7, 2, 1)}))
    assert errors == {"name": "该字段是必填字段。", "capacity": "容量不能小于1。",
                      "ends_at": "场次结束时间必须晚于开始时间。"}


def test_a_sitting_falls_within_its_stage():
    errors = errors_of(lambda: sitting(prelim(), "第一场", 30, starts_at=datetime(2025, 8, 1, 1),
                                       ends_at=datetime(2025, 8, 1, 2)))
    assert set(errors) == {"starts_at", "ends_at"}


def test_one_room_cannot_hold_two_sittings_at_once():
    sitting(prelim(), "第一场", 30)
    errors = errors_of(lambda: sitting(prelim(), "第二场", 30, hour=2, room="第一场室"))
    assert "第一场" in errors["room"]


def test_seat_targets_are_equal_shares_within_capacity():
    assert service.seat_targets([None, None, None], [0, 0, 0], 10) == [4, 3, 3]
    assert service.seat_targets([2, None, None], [0, 0, 0], 10) == [2, 4, 4]
    assert service.seat_targets([3, 10], [0, 0], 4) == [2, 2]
    assert service.seat_targets([5, 5], [5, 0], 7) == [5, 2]


def test_automatic_assignment_is_balanced_and_keeps_enterprises_apart():
    stage = advanced()
    people_in(stage, 12, [4, 4, 2, 1, 1])
    for i, name in enumerate(["上午场", "中午场", "下午场", "晚场"]):
        service.create_sitting(stage, {"name": name, "capacity": 10,
                                       "starts_at": datetime(2025, 9, 1, 1 + 3 * i),
                                       "ends_at": datetime(2025, 9, 1, 2 + 3 * i)})
    result = service.assign_automatically(stage)
    rosters, unassigned = service.rosters(stage)
    assert [r.count for r in rosters] == [3, 3, 3, 3] and unassigned.count == 0
    assert result.placed == 12 and result.together == []
    for roster in rosters:
        assert all(n == 1 for _name, n in roster.by_enterprise)  # nobody shares with a colleague
        numbers = [p.entry.exam_number for p in roster.people]
        assert numbers == sorted(numbers)
    again = service.assign_automatically(stage)
    assert again.moved == 0  # deterministic
    row = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "sitting.assign")
                            .order_by(AuditLog.id.desc()))
    assert row.after["counts"] == {"上午场": 3, "中午场": 3, "下午场": 3, "晚场": 3}


def test_capacity_can_force_two_of_one_enterprise_into_one_sitting():
    stage = advanced()
    people_in(stage, 4, [2, 2])
    service.create_sitting(stage, {"name": "大教室", "capacity": 3,
                                   "starts_at": datetime(2025, 9, 1, 1),
                                   "ends_at": datetime(2025, 9, 1, 2)})
    service.create_sitting(stage, {"name": "小教室", "capacity": 1,
                                   "starts_at": datetime(2025, 9, 1, 3),
                                   "ends_at": datetime(2025, 9, 1, 4)})
    result = service.assign_automatically(stage)
    rosters, _ = service.rosters(stage)
    assert [r.count for r in rosters] == [3, 1]
    assert len(result.together) == 1 and result.together[0][0] == "大教室"
    assert sorted(n for _name, n in rosters[0].by_enterprise) == [1, 2]


def test_too_few_seats_are_refused():
    stage = advanced()
    people_in(stage, 3, [2, 1])
    service.create_sitting(stage, {"name": "一", "capacity": 2})
    with pytest.raises(ServiceError) as caught:
        service.assign_automatically(stage)
    assert caught.value.code == "no_room" and "3" in caught.value.message


def test_only_unassigned_keeps_everyone_already_placed():
    stage = advanced()
    people_in(stage, 6, [3, 2, 1])
    first = service.create_sitting(stage, {"name": "一", "capacity": 5})
    service.create_sitting(stage, {"name": "二", "capacity": 5})
    people = service.stage_people(stage)
    for person in people[:3]:
        service.move_entry(person, first)
    service.assign_automatically(stage, only_unassigned=True)
    assert all(p.sitting_id == first.id for p in people[:3])
    rosters, unassigned = service.rosters(stage)
    assert [r.count for r in rosters] == [3, 3] and unassigned.count == 0


def test_moving_into_a_full_sitting_is_refused():
    stage = advanced()
    people_in(stage, 3, [2, 1])
    small = service.create_sitting(stage, {"name": "小", "capacity": 1})
    a, b, _c = service.stage_people(stage)
    service.move_entry(a, small)
    with pytest.raises(ServiceError) as caught:
        service.move_entry(b, small)
    assert caught.value.field == "sitting_id"
    assert caught.value.message == "场次小已满（1个座位已全部占用）。"
    service.move_entry(a, None)
    service.move_entry(b, small)
    assert b.sitting_id == small.id
    row = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "sitting.move")
                            .order_by(AuditLog.id.desc()))
    assert row.after == {"sitting_id": small.id}


def test_no_automatic_assignment_after_the_draw():
    stage = advanced()
    service.create_sitting(stage, {"name": "一", "capacity": 5})
    db.session.add(Draw(stage_id=stage.id, seed="1"))
    db.session.flush()
    with pytest.raises(ServiceError) as caught:
        service.assign_automatically(stage)
    assert caught.value.code == "drawn"


def test_deleting_a_sitting_unassigns_its_people():
    stage = advanced()
    people_in(stage, 2, [1, 1])
    one = service.create_sitting(stage, {"name": "一", "capacity": 5})
    service.assign_automatically(stage)
    assert service.delete_sitting(one) == 2
    _rosters, unassigned = service.rosters(stage)
    assert unassigned.count == 2 and stage.sittings == []


def test_capacity_cannot_drop_below_the_people_seated():
    stage = advanced()
    people_in(stage, 3, [1, 1, 1])
    one = service.create_sitting(stage, {"name": "一", "capacity": 5})
    service.assign_automatically(stage)
    errors = errors_of(lambda: service.update_sitting(one, {"capacity": 2}))
    assert "3" in errors["capacity"]

