"""Appeals (申诉): filed by the contestant on a component of their stage within the window after
the component ends (default 2 hours); ruled on by the arbitration group with a reason; an upheld
appeal's correction is carried by the next results version, which names it."""
import random
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import (
    Appeal,
    AuditLog,
    ComponentScore,
    Entry,
    RulingStatus,
    Sitting,
    Stage,
    StageEntry,
    Track,
)
from app.services import FieldErrors, ServiceError, accounts, appeals, results

pytestmark = pytest.mark.usefixtures("app_ctx")

ENDS = datetime(2025, 7, 8, 8, 0)  # the preliminary's sitting ends at 16:00 Beijing time


def user(name):
    return accounts.get_by_username(name)


def stage(seq):
    return db.session.scalar(sa.select(Stage).join(Track).where(Track.code == "chem",
                                                                Stage.seq == seq))


@pytest.fixture
def entry() -> Entry:
    """The demo contestant's entry, seated in a preliminary sitting that ends at ENDS."""
    prelim = stage(1)
    sitting = Sitting(stage=prelim, name="线上考试", starts_at=ENDS - timedelta(hours=2),
                      ends_at=ENDS)
    db.session.add(sitting)
    db.session.flush()
    mine = db.session.get(Entry, 1)
    place = db.session.scalar(sa.select(StageEntry).where(StageEntry.entry_id == mine.id,
                                                          StageEntry.stage_id == prelim.id))
    place.sitting_id = sitting.id
    db.session.flush()
    return mine


def theory(seq=1):
    return next(c for c in stage(seq).components if c.code == "theory")


def test_the_window_runs_two_hours_from_the_end_of_the_sitting_both_ends_included(entry):
    component = theory()
    for minutes, allowed in [(-1, False), (0, True), (119, True), (120, True), (121, False)]:
        now = ENDS + timedelta(minutes=minutes)
        if allowed:
            appeal = appeals.file_appeal(entry, component, "第12题答案有误", actor=user("contestant"),
                                         now=now)
            assert appeal.status == RulingStatus.OPEN
            db.session.delete(appeal)
            db.session.flush()
        else:
            with pytest.raises(FieldErrors) as refused:
                appeals.file_appeal(entry, component, "第12题答案有误", actor=user("contestant"),
                                    now=now)
            message = refused.value.errors["component_id"]
            assert ("2025-07-08 16:00" in message) if minutes < 0 else (
                "2025-07-08 18:00" in message and "120" in message)


def test_the_component_end_time_takes_precedence_and_the_stage_sets_the_length(entry):
    component = theory()
    component.ends_at = ENDS + timedelta(days=1)
    component.stage.appeal_window_minutes = 30
    option = next(o for o in appeals.options(entry, now=ENDS + timedelta(minutes=10))
                  if o.component.id == component.id)
    assert option.window.opens_at == ENDS + timedelta(days=1)
    assert option.window.closes_at == ENDS + timedelta(days=1, minutes=30)
    assert option.state == appeals.WindowState.NOT_YET
    late = ENDS + timedelta(days=1, minutes=31)
    with pytest.raises(FieldErrors, match="30"):
        appeals.file_appeal(entry, component, "评分有误", actor=user("contestant"), now=late)


def test_without_an_end_time_no_appeal_can_be_filed():
    mine = db.session.get(Entry, 1)
    with pytest.raises(FieldErrors) as refused:
        appeals.file_appeal(mine, theory(), "评分有误", actor=user("contestant"), now=ENDS)
    assert set(refused.value.errors) == {"component_id"}


def test_only_the_contestant_appeals_on_their_own_entry_and_stage(entry):
    with pytest.raises(ServiceError) as refused:
        appeals.file_appeal(entry, theory(), "代为申诉", actor=user("contact"), now=ENDS)
    assert refused.value.code == "forbidden"
    other = db.session.scalar(sa.select(Entry).where(Entry.id != entry.id).limit(1))
    with pytest.raises(ServiceError):
        appeals.file_appeal(other, theory(), "别人的成绩", actor=user("contestant"), now=ENDS)
    with pytest.raises(FieldErrors) as wrong_stage:
        appeals.file_appeal(entry, theory(seq=2), "不在该赛段", actor=user("contestant"), now=ENDS)
    assert "component_id" in wrong_stage.value.errors
    with pytest.raises(FieldErrors) as empty:
        appeals.file_appeal(entry, theory(), "   ", actor=user("contestant"), now=ENDS)
    assert set(empty.value.errors) == {"text"}


def test_one_open_appeal_per_component_and_it_is_audited(entry):
    appeal = appeals.file_appeal(entry, theory(), "第3题", actor=user("contestant"), now=ENDS)
    with pytest.raises(FieldErrors, match="理论|theory|open appeal"):
        appeals.file_appeal(entry, theory(), "再次申诉", actor=user("contestant"), now=ENDS)
    logged = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "appeal.file"))
    assert logged.object_id == appeal.id and logged.after == {"text": "第3题"}
    assert logged.actor_name == "contestant" and logged.stage_id == stage(1).id
    assert appeals.for_entry(entry) == [appeal]


def test_only_the_arbitration_group_rules_and_always_with_a_reason(entry):
    appeal = appeals.file_appeal(entry, theory(), "第3题", actor=user("contestant"), now=ENDS)
    for name in ("organiser", "chief", "judge1", "contestant"):
        with pytest.raises(ServiceError) as refused:
            appeals.rule_on(appeal, decision="upheld", ruling="理由", actor=user(name))
        assert refused.value.code == "forbidden"
    with pytest.raises(FieldErrors) as missing:
        appeals.rule_on(appeal, decision="upheld", ruling="  ", actor=user("arbiter"))
    assert set(missing.value.errors) == {"ruling"}
    with pytest.raises(FieldErrors) as undecided:
        appeals.rule_on(appeal, decision="maybe", ruling="理由", actor=user("arbiter"))
    assert set(undecided.value.errors) == {"decision"}
    appeals.rule_on(appeal, decision="dismissed", ruling="答案正确，评分无误", actor=user("arbiter"))
    assert appeal.status == RulingStatus.DISMISSED and appeal.ruled_by_id == user("arbiter").id
    with pytest.raises(ServiceError, match="已|already"):
        appeals.rule_on(appeal, decision="upheld", ruling="改判", actor=user("arbiter"))
    logged = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "appeal.rule"))
    assert logged.reason == "答案正确，评分无误" and logged.after["status"] == "dismissed"
    assert logged.before["status"] == "open"


def test_an_upheld_appeal_is_carried_by_the_next_version_that_names_it(entry):
    prelim = stage(1)
    rng = random.Random(5)
    for component in prelim.components:
        for place in db.session.scalars(sa.select(StageEntry).where(
                StageEntry.stage_id == prelim.id)):
            db.session.add(ComponentScore(component_id=component.id, stage_entry_id=place.id,
                                          points=Decimal(rng.randint(5000, 9000)) / 100))
    db.session.flush()
    first = results.create_version(prelim, actor=user("organiser"), reason="首次计算")
    upheld = appeals.file_appeal(entry, theory(), "第12题标准答案有误", actor=user("contestant"),
                                 now=ENDS)
    appeals.rule_on(upheld, decision="upheld", ruling="标准答案有误，该题应得分",
                    actor=user("arbiter"))
    assert appeals.awaiting_version(prelim) == [upheld]
    # The organisers correct the score (here: the exam system's corrected figure) ...
    place = db.session.get(StageEntry, upheld.stage_entry_id)
    score = db.session.scalar(sa.select(ComponentScore).where(
        ComponentScore.component_id == theory().id, ComponentScore.stage_entry_id == place.id))
    score.points += Decimal("2")
    db.session.flush()
    # ... and compute a new version naming the appeal.
    second = results.create_version(prelim, actor=user("organiser"), appeals=[upheld])
    assert upheld.resulting_version_id == second.id and first.id != second.id
    assert f"申诉#{upheld.id}" in second.reason
    assert appeals.awaiting_version(prelim) == []
    assert db.session.scalar(sa.select(AuditLog.object_id).where(
        AuditLog.action == "appeal.version")) == upheld.id
    # An appeal is carried once, and only an upheld one.
    with pytest.raises(ServiceError):
        results.create_version(prelim, actor=user("organiser"), appeals=[upheld])
    dismissed = appeals.file_appeal(entry, theory(), "另一题", actor=user("contestant"), now=ENDS)
    appeals.rule_on(dismissed, decision="dismissed", ruling="评分无误", actor=user("arbiter"))
    with pytest.raises(ServiceError):
        results.create_version(prelim, actor=user("organiser"), appeals=[dismissed])
    assert appeals.reason_with([upheld], "复核更正") == f"复核更正（申诉#{upheld.id}）"


def test_counts_per_stage(entry):
    appeal = appeals.file_appeal(entry, theory(), "第3题", actor=user("contestant"), now=ENDS)
    assert appeals.counts_by_stage() == [{"stage": stage(1), "open": 1, "upheld": 0,
                                          "awaiting": 0, "dismissed": 0}]
    appeals.rule_on(appeal, decision="upheld", ruling="成立", actor=user("arbiter"))
    assert appeals.counts_by_stage()[0] | {"stage": None} == {
        "stage": None, "open": 0, "upheld": 1, "awaiting": 1, "dismissed": 0}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Appeal)) == 1
