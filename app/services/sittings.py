"""Sittings (场次) of a stage, and who sits which: automatically or by hand."""
from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from flask_babel import format_datetime, to_user_timezone
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload

from app.extensions import db
from app.inputs import text_problem
from app.models import (
    Draw,
    Entry,
    Sitting,
    Stage,
    StageEntry,
    StageEntryStatus,
    User,
)
from app.services import ServiceError, audit
from app.services.contests import Problems, a_datetime, integer, merged, refuse_if_referenced, text

SITTING_FIELDS = ("name", "venue", "room", "starts_at", "ends_at", "capacity")


def ordered(stage: Stage) -> list[Sitting]:
    """The stage's sittings by start time (undated last), then by creation."""
    return sorted(stage.sittings, key=lambda s: (s.starts_at is None, s.starts_at or datetime.min,
                                                 s.id or 0))


def _local_day(moment: datetime):
    return to_user_timezone(moment).date()


def _when(moment: datetime | None) -> str:
    return format_datetime(moment, "yyyy-MM-dd HH:mm") if moment else ""


def assigned_count(sitting: Sitting) -> int:
    if sitting.id is None:
        return 0
    return db.session.scalar(sa.select(sa.func.count()).select_from(StageEntry).where(
        StageEntry.sitting_id == sitting.id)) or 0


def _check_sitting(stage: Stage, values: Mapping, sitting: Sitting | None) -> dict:
    problems = Problems()
    clean = {
        "name": text(values, "name", problems, required=True, max_length=100),
        "venue": text(values, "venue", problems),
        "room": text(values, "room", problems, max_length=100),
        "starts_at": a_datetime(values, "starts_at", problems),
        "ends_at": a_datetime(values, "ends_at", problems),
        "capacity": integer(values, "capacity", problems, minimum=1, maximum=100_000,
                            label=_("The capacity")),
    }
    starts, ends = clean["starts_at"], clean["ends_at"]
    if starts and ends and ends <= starts:
        problems.add("ends_at", _("A sitting must end after it starts."))
    first, last = stage.starts_on, stage.ends_on or stage.starts_on
    for name in ("starts_at", "ends_at"):
        moment = clean[name]
        if moment and first and not first <= _local_day(moment) <= last:
            problems.add(name, _("The stage runs from %(first)s to %(last)s; the sitting must "
                                 "fall within it.", first=first.isoformat(),
                                 last=last.isoformat()))
    if clean["name"] and any(s.name == clean["name"] for s in stage.sittings
                             if sitting is None or s.id != sitting.id):
        problems.add("name", _("Another sitting of this stage is called %(name)s.",
                               name=clean["name"]))
    if sitting is not None and clean["capacity"] is not None:
        seated = assigned_count(sitting)
        if clean["capacity"] < seated:
            problems.add("capacity", _("%(n)s people already sit in this sitting; move some "
                                       "first.", n=seated))
    if starts and ends and clean["venue"] and clean["room"] and "ends_at" not in problems:
        clash = db.session.scalars(
            sa.select(Sitting).where(
                Sitting.venue == clean["venue"], Sitting.room == clean["room"],
                Sitting.starts_at < ends, Sitting.ends_at > starts,
                Sitting.id != (sitting.id if sitting is not None else -1))).first()
        if clash is not None:
            problems.add("room", _(
                "%(room)s is taken then by the sitting %(name)s of %(stage)s (%(start)s to "
                "%(end)s).", room=clean["room"], name=clash.name,
                stage=f"{clash.stage.track.name}·{clash.stage.name}", start=_when(clash.starts_at),
                end=_when(clash.ends_at)))
    problems.raise_if_any()
    return clean


def create_sitting(stage: Stage, values: Mapping, *, actor: User | None = None) -> Sitting:
    clean = _check_sitting(stage, values, None)
    sitting = Sitting(stage=stage, **clean)
    db.session.add(sitting)
    db.session.flush()
    audit.record("sitting.create", sitting, f"{_stage_label(stage)} 新增场次 {sitting.name}",
                 after=audit.snapshot(sitting, SITTING_FIELDS), actor=actor)
    return sitting


def update_sitting(sitting: Sitting, values: Mapping, *, actor: User | None = None) -> Sitting:
    clean = _check_sitting(sitting.stage, merged(sitting, SITTING_FIELDS, values), sitting)
    before = audit.snapshot(sitting, SITTING_FIELDS)
    for name, value in clean.items():
        setattr(sitting, name, value)
    db.session.flush()
    after = audit.snapshot(sitting, SITTING_FIELDS)
    if before != after:
        audit.record("sitting.update", sitting,
                     f"{_stage_label(sitting.stage)} 修改场次 {sitting.name}",
                     before=before, after=after, actor=actor)
    return sitting


def delete_sitting(sitting: Sitting, *, actor: User | None = None) -> int:
    """Delete a sitting; its people become unassigned. Refused once a draw or a judge panel
    refers to it. Returns how many people were unassigned."""
    seated = list(db.session.scalars(sa.select(StageEntry).where(
        StageEntry.sitting_id == sitting.id)))
    for stage_entry in seated:
        stage_entry.sitting = None
    db.session.flush()
    refuse_if_referenced(_("The sitting %(name)s", name=sitting.name), {"sittings": [sitting.id]})
    stage = sitting.stage
    audit.record("sitting.delete", sitting, f"{_stage_label(stage)} 删除场次 {sitting.name}，"
                 f"{len(seated)} 人改为未分配",
                 before={**audit.snapshot(sitting, SITTING_FIELDS),
                         "stage_entries": [s.id for s in seated]}, actor=actor)
    stage.sittings.remove(sitting)
    db.session.flush()
    return len(seated)


def _stage_label(stage: Stage) -> str:
    return f"{stage.track.contest.code}/{stage.track.code}/{stage.seq}（{stage.name}）"


# ---------------------------------------------------------------------------------------------
# Who sits where


def stage_people(stage: Stage) -> list[StageEntry]:
    """The stage's active contestants with their entry, person and enterprise loaded."""
    return list(db.session.scalars(
        sa.select(StageEntry)
        .join(Entry, StageEntry.entry_id == Entry.id)
        .where(StageEntry.stage_id == stage.id, StageEntry.status == StageEntryStatus.ACTIVE)
        .options(joinedload(StageEntry.entry).joinedload(Entry.contestant),
                 joinedload(StageEntry.entry).joinedload(Entry.enterprise))
        .order_by(Entry.exam_number.is_(None), Entry.exam_number, StageEntry.id)).unique())


def seat_targets(capacities: list[int | None], already: list[int], total: int) -> list[int]:
    """How many people each sitting should end with: equal shares within capacity.

    Each sitting ends with ``min(capacity, max(already, L))`` for the largest level L whose sum
    does not exceed ``total``; the few left over go one each, in sitting order, to sittings at
    that level with room left. ``None`` is an unlimited capacity.
    """
    big = total + max(already, default=0) + 1
    # A sitting already holding more than its capacity keeps them (never pushed out here).
    caps = [big if c is None else max(c, a) for c, a in zip(capacities, already, strict=True)]

    def filled(level: int) -> list[int]:
        return [min(c, max(a, level)) for c, a in zip(caps, already, strict=True)]

    low, high = 0, big
    while low < high:  # the largest level whose sum stays within total
        mid = (low + high + 1) // 2
        if sum(filled(mid)) <= total:
            low = mid
        else:
            high = mid - 1
    targets = filled(low)
    left = total - sum(targets)
    for i, (cap, target) in enumerate(zip(caps, targets, strict=True)):
        if left <= 0:
            break
        if target == low and target < cap:
            targets[i] += 1
            left -= 1
    return targets


@dataclass
class Assignment:
    """What an automatic assignment did."""

    placed: int
    moved: int
    counts: dict[int, int]
    # Sittings where two or more people of one enterprise sit together: (sitting, enterprise, n)
    together: list[tuple[str, str, int]] = field(default_factory=list)


def assign_automatically(stage: Stage, *, only_unassigned: bool = False,
                         actor: User | None = None) -> Assignment:
    """Place the stage's active contestants in its sittings, balanced and spread out.

    1. Seats: each sitting gets an equal share of the people as far as its capacity allows
       (``seat_targets``): counts differ by at most one, except where a small capacity holds a
       sitting down (its people then go to the others).
    2. People: enterprises are taken largest first (ties by enterprise id), each one's people
       by exam number. A person goes to the sitting, among those below their share, with the
       fewest people of the same enterprise so far, then the most seats still to fill, then the
       earliest sitting. So an enterprise's people spread over the sittings, and two share a
       sitting only when the free seats leave no other choice.
    3. Deterministic: the same people and sittings always give the same assignment.

    ``only_unassigned`` keeps everyone already placed where they are (they count towards the
    shares and the spreading) and places only the others. Refused when the stage has no
    sittings, the seats do not suffice, or the check-in draw has already been made.
    """
    sittings = ordered(stage)
    if not sittings:
        raise ServiceError(_("Add the stage's sittings first."), field="sittings")
    if db.session.scalar(sa.select(sa.func.count()).select_from(Draw).where(
            Draw.stage_id == stage.id)):
        raise ServiceError(_("The check-in draw of this stage has been made; move people by "
                             "hand if you must."), field="sittings", code="drawn")
    people = stage_people(stage)
    index = {s.id: i for i, s in enumerate(sittings)}
    keep = [p for p in people if only_unassigned and p.sitting_id in index]
    place = [p for p in people if p not in keep]
    already = [0] * len(sittings)
    per_enterprise: list[Counter] = [Counter() for _s in sittings]
    for person in keep:
        i = index[person.sitting_id]
        already[i] += 1
        per_enterprise[i][person.entry.enterprise_id] += 1
    seats = sum(s.capacity for s in sittings) if all(s.capacity for s in sittings) else None
    if seats is not None and len(people) > seats:
        raise ServiceError(_("%(people)s people but only %(seats)s seats in the sittings; add a "
                             "sitting or raise a capacity.", people=len(people), seats=seats),
                           field="sittings", code="no_room")
    targets = seat_targets([s.capacity for s in sittings], already, len(people))
    load = list(already)
    groups: dict[int, list[StageEntry]] = {}
    for person in place:  # already in exam-number order
        groups.setdefault(person.entry.enterprise_id, []).append(person)
    before = {str(p.id): p.sitting_id for p in people}
    for enterprise_id in sorted(groups, key=lambda e: (-len(groups[e]), e)):
        for person in groups[enterprise_id]:
            choice = min(
                (i for i in range(len(sittings)) if load[i] < targets[i]),
                key=lambda i: (per_enterprise[i][enterprise_id], -(targets[i] - load[i]), i))
            load[choice] += 1
            per_enterprise[choice][enterprise_id] += 1
            person.sitting = sittings[choice]
    db.session.flush()
    after = {str(p.id): p.sitting_id for p in people}
    moved = sum(1 for key in after if after[key] != before[key])
    names = {p.entry.enterprise_id: p.entry.enterprise.name for p in people}
    together = [(sittings[i].name, names[e], n) for i in range(len(sittings))
                for e, n in sorted(per_enterprise[i].items()) if n > 1]
    result = Assignment(placed=len(place), moved=moved,
                        counts={s.id: load[i] for i, s in enumerate(sittings)}, together=together)
    audit.record("sitting.assign", stage,
                 f"{_stage_label(stage)} 自动分配场次：{len(place)} 人，改变 {moved} 人"
                 + ("（仅未分配者）" if only_unassigned else ""),
                 before={"assignments": before},
                 after={"assignments": after, "counts": {s.name: load[i]
                                                         for i, s in enumerate(sittings)}},
                 actor=actor)
    return result


def find_by_exam_number(stage: Stage, exam_number: str) -> StageEntry | None:
    if text_problem(exam_number):  # no exam number has a control character (nor may a query)
        return None
    return db.session.scalar(
        sa.select(StageEntry).join(Entry, StageEntry.entry_id == Entry.id)
        .where(StageEntry.stage_id == stage.id, Entry.exam_number == exam_number.strip()))


def move_entry(stage_entry: StageEntry, sitting: Sitting | None, *,
               actor: User | None = None) -> None:
    """Put one person in ``sitting`` (None: unassigned); refused over capacity or after the
    person's check-in draw."""
    if sitting is not None and sitting.stage_id != stage_entry.stage_id:
        raise ServiceError(_("That sitting belongs to another stage."), field="sitting_id")
    if stage_entry.draw_id is not None:
        raise ServiceError(_("This contestant has been drawn a check-in number; the sitting "
                             "cannot change."), field="exam_number", code="drawn")
    if sitting is not None and sitting.id == stage_entry.sitting_id:
        return
    if sitting is not None and sitting.capacity is not None:
        seated = assigned_count(sitting)
        if seated >= sitting.capacity:
            raise ServiceError(_("The sitting %(name)s is full (%(n)s of %(n)s seats taken).",
                                 name=sitting.name, n=sitting.capacity),
                               field="sitting_id", code="full")
    before = stage_entry.sitting
    stage_entry.sitting = sitting
    db.session.flush()
    entry = stage_entry.entry
    audit.record("sitting.move", stage_entry,
                 f"{entry.exam_number or entry.id} {entry.contestant.name}："
                 f"{before.name if before else '未分配'} → {sitting.name if sitting else '未分配'}",
                 before={"sitting_id": before.id if before else None},
                 after={"sitting_id": sitting.id if sitting else None}, actor=actor)


@dataclass
class Roster:
    """One sitting's people (or the unassigned ones) as the sittings page shows them."""

    sitting: Sitting | None
    people: list[StageEntry]
    by_enterprise: list[tuple[str, int]]

    @property
    def count(self) -> int:
        return len(self.people)

    @property
    def free(self) -> int | None:
        if self.sitting is None or self.sitting.capacity is None:
            return None
        return self.sitting.capacity - len(self.people)

    @property
    def shared(self) -> int:
        """Enterprises with more than one person here."""
        return sum(1 for _name, n in self.by_enterprise if n > 1)


def rosters(stage: Stage) -> tuple[list[Roster], Roster]:
    """Each sitting's people by exam number with counts per enterprise, and the unassigned."""
    people = stage_people(stage)
    sittings = ordered(stage)
    groups: dict[int | None, list[StageEntry]] = {s.id: [] for s in sittings}
    unassigned: list[StageEntry] = []
    for person in people:
        groups.get(person.sitting_id, unassigned).append(person)

    def roster(sitting: Sitting | None, members: list[StageEntry]) -> Roster:
        counts = Counter(p.entry.enterprise.name for p in members)
        return Roster(sitting, members, sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))

    return [roster(s, groups[s.id]) for s in sittings], roster(None, unassigned)

