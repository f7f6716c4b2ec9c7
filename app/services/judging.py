"""Judging: panels, the draw, the chief judge's review, sign-off and decryption (the judges'
score sheets themselves: app/services/score_sheets.py). Every computation of points goes
through scoring/.

Blindness: judges know contestants only by workstation number (赛位号). Nothing here returns a
name next to a workstation's scores until the component has been signed off and decrypted (解密).
Conflict of interest: a judge never marks a contestant from the judge's own enterprise.
"""
from __future__ import annotations

import random
import secrets
from dataclasses import dataclass, field

import pandas as pd
import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload

import scoring as sc
from app.extensions import db
from app.inputs import clean_text
from app.models import (
    Component,
    ComponentScore,
    Decryption,
    Draw,
    Entry,
    ItemKind,
    JudgeAssignment,
    JudgementOrder,
    Mark,
    MarkingItem,
    MarkingNode,
    PanelRole,
    Role,
    ScoreSheet,
    ScoreSource,
    SheetStatus,
    Sitting,
    Stage,
    StageEntry,
    StageEntryStatus,
    User,
    utcnow,
)
from app.services import FieldErrors, ServiceError, audit

# --- panels ------------------------------------------------------------------------------------

def panel(component: Component) -> list[JudgeAssignment]:
    return list(db.session.scalars(
        sa.select(JudgeAssignment).where(JudgeAssignment.component_id == component.id)
        .options(joinedload(JudgeAssignment.user)).order_by(JudgeAssignment.panel_role.desc(),
                                                            JudgeAssignment.id)))


def _stage_places(stage: Stage, sitting_id: int | None = None) -> sa.Select:
    query = (sa.select(StageEntry).where(StageEntry.stage_id == stage.id,
                                         StageEntry.status == StageEntryStatus.ACTIVE))
    if sitting_id is not None:
        query = query.where(StageEntry.sitting_id == sitting_id)
    return query


def assign_judge(component: Component, judge: User, *, panel_role: PanelRole = PanelRole.JUDGE,
                 sitting: Sitting | None = None, workstations: list[str] | None = None,
                 actor: User | None = None) -> JudgeAssignment:
    """Put a judge on a component's panel, optionally for a sitting or some workstations.

    Refused when the judge's own enterprise has a contestant among explicitly named
    workstations; with no workstations named, the judge's own enterprise's contestants are
    left out of the judge's list (conflict of interest), which the panel page shows organisers.
    """
    if judge.role not in (Role.JUDGE, Role.CHIEF_JUDGE):
        raise ServiceError(_("Only judge and chief judge accounts can sit on a panel."),
                           field="user")
    if component.source != ScoreSource.JUDGES:
        raise ServiceError(_("%(name)s is scored by import, not by judges.", name=component.name),
                           field="component")
    check_not_signed_off(component)
    if db.session.scalar(sa.select(JudgeAssignment.id).where(
            JudgeAssignment.component_id == component.id, JudgeAssignment.user_id == judge.id)):
        raise ServiceError(_("%(name)s is already on this panel.", name=judge.display_name),
                           field="user")
    if panel_role == PanelRole.CHIEF_JUDGE and any(
            a.panel_role == PanelRole.CHIEF_JUDGE for a in panel(component)):
        raise ServiceError(_("This panel already has a chief judge."), field="panel_role")
    wanted = sorted({w.strip() for w in workstations or [] if w.strip()}) or None
    if wanted:
        places = db.session.scalars(_stage_places(component.stage, sitting.id if sitting else None)
                                    .where(StageEntry.workstation_number.in_(wanted))).all()
        unknown = set(wanted) - {p.workstation_number for p in places}
        if unknown:
            raise ServiceError(_("No such workstation: %(numbers)s.",
                                 numbers="、".join(sorted(unknown))), field="workstations")
        conflicts = sorted(p.workstation_number for p in places
                           if judge.enterprise_id and p.entry.enterprise_id == judge.enterprise_id)
        if conflicts:
            raise ServiceError(_(
                "%(judge)s works for %(enterprise)s, whose contestant is at workstation "
                "%(numbers)s: a judge never marks a contestant from the judge's own enterprise.",
                judge=judge.display_name, enterprise=judge.enterprise.name,
                numbers="、".join(conflicts)), field="workstations")
    assignment = JudgeAssignment(component=component, user=judge, panel_role=panel_role,
                                 sitting_id=sitting.id if sitting else None, workstations=wanted,
                                 assigned_by_id=actor.id if actor else None)
    db.session.add(assignment)
    db.session.flush()
    audit.record("panel.assign", assignment,
                 f"{component.stage.track.name}·{component.name}：{judge.display_name}"
                 f"（{panel_role.value}）", after={"user": judge.username,
                                                   "panel_role": panel_role.value,
                                                   "workstations": wanted},
                 actor=actor, stage_id=component.stage_id)
    return assignment


def remove_judge(assignment: JudgeAssignment, *, actor: User | None = None) -> None:
    component = assignment.component
    check_not_signed_off(component)
    if db.session.scalar(sa.select(ScoreSheet.id).where(
            ScoreSheet.component_id == component.id, ScoreSheet.judge_id == assignment.user_id)):
        raise ServiceError(_("This judge has already marked sheets; return them instead."))
    audit.record("panel.remove", assignment, f"{component.name}：移除 {assignment.user.display_name}",
                 actor=actor, stage_id=component.stage_id)
    db.session.delete(assignment)
    db.session.flush()


def conflict_exclusions(assignment: JudgeAssignment) -> list[str]:
    """Workstations left out of a judge's list because the contestant is from the judge's
    enterprise (shown to organisers only)."""
    judge = assignment.user
    if not judge.enterprise_id:
        return []
    return sorted(p.workstation_number for p in _places_in_scope(assignment)
                  if p.entry.enterprise_id == judge.enterprise_id and p.workstation_number)


def _places_in_scope(assignment: JudgeAssignment) -> list[StageEntry]:
    query = _stage_places(assignment.component.stage, assignment.sitting_id).options(
        joinedload(StageEntry.entry))
    if assignment.workstations:
        query = query.where(StageEntry.workstation_number.in_(assignment.workstations))
    return list(db.session.scalars(query))


def judge_place_query(assignment: JudgeAssignment, workstation: str) -> sa.Select | None:
    """The query for the drawn place at ``workstation`` if it is on the judge's list (None:
    outside the assignment's workstations)."""
    if assignment.workstations and workstation not in assignment.workstations:
        return None
    query = (_stage_places(assignment.component.stage, assignment.sitting_id)
             .join(Entry, Entry.id == StageEntry.entry_id)
             .where(StageEntry.workstation_number == workstation))
    if assignment.user.enterprise_id:
        query = query.where(Entry.enterprise_id != assignment.user.enterprise_id)
    return query


def judge_places(assignment: JudgeAssignment) -> list[StageEntry]:
    """The workstations a judge marks: in the assignment's scope, drawn, and not from the
    judge's own enterprise."""
    enterprise_id = assignment.user.enterprise_id
    places = [p for p in _places_in_scope(assignment) if p.workstation_number
              and not (enterprise_id and p.entry.enterprise_id == enterprise_id)]
    return sorted(places, key=lambda p: p.workstation_number)


def assignment_for(component: Component, user: User) -> JudgeAssignment | None:
    return db.session.scalar(sa.select(JudgeAssignment).where(
        JudgeAssignment.component_id == component.id, JudgeAssignment.user_id == user.id))


def is_chief(component: Component, user: User) -> bool:
    assignment = assignment_for(component, user)
    return assignment is not None and assignment.panel_role == PanelRole.CHIEF_JUDGE


def check_not_signed_off(component: Component) -> None:
    """Refused once the chief judge has signed the component off: its scores are frozen."""
    if component.signed_off_at is not None:
        raise ServiceError(_("%(name)s has been signed off; its scores are frozen.",
                             name=component.name), code="conflict")


def check_conflict_of_interest(user: User, place: StageEntry) -> None:
    """A judge never marks or corrects a contestant from the judge's own enterprise."""
    if user.enterprise_id and place.entry.enterprise_id == user.enterprise_id:
        raise ServiceError(_("You may not mark or correct a contestant from your own "
                             "enterprise."), code="forbidden")


# --- the draw ----------------------------------------------------------------------------------

def draw(stage: Stage, *, seed: str | None = None, actor: User | None = None) -> list[Draw]:
    """Draw check-in numbers (检录号) and workstation numbers (赛位号) at random from a recorded
    seed, sitting by sitting, and seal the mapping. The same seed gives the same numbers.

    Numbers are the sitting's position and a serial: with sittings, check-in J101, J102, … and
    workstation 101, 102, … in the first sitting, J201/201 in the second; without, J001/001.
    """
    if db.session.scalar(sa.select(Draw.id).where(Draw.stage_id == stage.id,
                                                  Draw.sealed_at.is_not(None))):
        raise ServiceError(_("The draw of this stage is sealed and cannot be repeated."))
    from app.services import stage_flow

    stage_flow.check(stage, stage_flow.Step.DRAW)
    seed = clean_text(seed, field="seed") or secrets.token_hex(8)
    places = db.session.scalars(_stage_places(stage).order_by(StageEntry.entry_id)).all()
    if not places:
        raise ServiceError(_("The stage has no contestants to draw."))
    sittings = sorted(stage.sittings, key=lambda s: (s.starts_at is None, s.starts_at, s.id))
    groups: list[tuple[Sitting | None, list[StageEntry]]]
    if sittings:
        unplaced = [p for p in places if p.sitting_id is None]
        if unplaced:
            raise ServiceError(_("%(n)d contestants have no sitting yet; assign sittings first.",
                                 n=len(unplaced)))
        groups = [(s, [p for p in places if p.sitting_id == s.id]) for s in sittings]
    else:
        groups = [(None, list(places))]
    for place in places:  # free the numbers first: they are unique per stage
        place.checkin_number = place.workstation_number = None
    db.session.flush()
    draws = []
    now = utcnow()
    for index, (sitting, group) in enumerate(groups, start=1):
        record = Draw(stage_id=stage.id, sitting_id=sitting.id if sitting else None, seed=seed,
                      drawn_by_id=actor.id if actor else None, drawn_at=now, sealed_at=now)
        db.session.add(record)
        db.session.flush()
        prefix = str(index) if sittings else "0"
        checkin_order = _shuffled(group, f"{seed}:{record.sitting_id or 0}:checkin")
        station_order = _shuffled(group, f"{seed}:{record.sitting_id or 0}:workstation")
        width = max(2, len(str(len(group))))
        for n, place in enumerate(checkin_order, start=1):
            place.checkin_number = f"J{prefix}{n:0{width}d}"
            place.draw_id = record.id
        for n, place in enumerate(station_order, start=1):
            place.workstation_number = f"{prefix}{n:0{width}d}"
        draws.append(record)
    db.session.flush()
    audit.record("stage.draw", stage, f"{stage.track.name}·{stage.name} 抽签（{len(places)}人）",
                 after={"seed": seed, "contestants": len(places)}, actor=actor, stage_id=stage.id)
    stage_flow.advance(stage, stage_flow.Step.DRAW, actor=actor)
    return draws


def _shuffled(places: list[StageEntry], seed: str) -> list[StageEntry]:
    ordered = sorted(places, key=lambda p: p.entry_id)
    random.Random(seed).shuffle(ordered)
    return ordered


# --- how far the panel has got ---------------------------------------------------------------------
# The panel page's counters, the organisers' judging overview and sign-off all read the same
# PanelProgress, so a counter can never say nothing is left while sign-off refuses.

@dataclass(frozen=True)
class Seat:
    """A workstation as the progress needs it (plain data, loaded for many components at once)."""

    id: int
    stage_id: int
    workstation: str
    sitting_id: int | None
    enterprise_id: int | None


@dataclass(frozen=True)
class Seating:
    """A judge's assignment as the progress needs it."""

    user_id: int
    judge: str
    enterprise_id: int | None
    sitting_id: int | None
    workstations: tuple[str, ...] | None


def _marks_seat(seating: Seating, seat: Seat) -> bool:
    """Whether the judge marks this workstation: in the assignment's sitting and workstations,
    and not a contestant of the judge's own enterprise (as ``judge_places`` decides)."""
    return ((seating.sitting_id is None or seat.sitting_id == seating.sitting_id)
            and (not seating.workstations or seat.workstation in seating.workstations)
            and not (seating.enterprise_id and seat.enterprise_id == seating.enterprise_id))


NOT_STARTED, IN_PROGRESS, RETURNED, SUBMITTED = "not_started", "draft", "returned", "submitted"


@dataclass
class PanelProgress:
    """Every sheet the panel owes, by state: a judge's workstation with no sheet yet is not
    started; a draft is in progress; returned sheets wait for their judge; submitted sheets
    become signed off with the component. ``waiting`` names who blocks sign-off and where:
    (judge, state, workstations), every sheet that is owed and not submitted."""

    not_started: int = 0
    in_progress: int = 0
    returned: int = 0
    submitted: int = 0
    signed_off: int = 0
    waiting: list[tuple[str, str, list[str]]] = field(default_factory=list)

    @property
    def open(self) -> int:
        """Sheets owed and not submitted: sign-off waits for each of them."""
        return self.not_started + self.in_progress + self.returned


def _progress(signed_off: bool, seatings: list[Seating], seats: list[Seat],
              sheets: dict[tuple[int, int], SheetStatus]) -> PanelProgress:
    """The progress of one component from its judges, its drawn workstations and its sheets'
    statuses by (workstation id, judge id). A sheet a judge has although the workstation is
    no longer on the judge's list still counts by its state."""
    progress = PanelProgress()
    waiting: dict[tuple[str, str], list[str]] = {}
    names = {s.user_id: s.judge for s in seatings}
    owed = {(seat.id, s.user_id): seat for s in seatings for seat in seats if _marks_seat(s, seat)}
    numbers = {seat.id: seat.workstation for seat in seats}
    for key in sorted(set(owed) | set(sheets),
                      key=lambda k: (names.get(k[1], ""), k[1], numbers.get(k[0], ""))):
        status = sheets.get(key)
        state = {None: NOT_STARTED, SheetStatus.DRAFT: IN_PROGRESS,
                 SheetStatus.RETURNED: RETURNED}.get(status, SUBMITTED)
        if state == SUBMITTED:
            if signed_off:
                progress.signed_off += 1
            else:
                progress.submitted += 1
            continue
        if state == NOT_STARTED:
            progress.not_started += 1
        elif state == IN_PROGRESS:
            progress.in_progress += 1
        else:
            progress.returned += 1
        judge = names.get(key[1]) or _("a judge no longer on the panel")
        waiting.setdefault((judge, state), []).append(numbers.get(key[0], "—"))
    progress.waiting = [(judge, state, sorted(stations))
                        for (judge, state), stations in waiting.items()]
    return progress


def _seatings(component_ids: list[int]) -> dict[int, list[Seating]]:
    rows = db.session.execute(
        sa.select(JudgeAssignment.component_id, JudgeAssignment.user_id, User.display_name,
                  User.enterprise_id, JudgeAssignment.sitting_id, JudgeAssignment.workstations)
        .join(User, User.id == JudgeAssignment.user_id)
        .where(JudgeAssignment.component_id.in_(component_ids),
               JudgeAssignment.panel_role == PanelRole.JUDGE)
        .order_by(JudgeAssignment.id)).all()
    out: dict[int, list[Seating]] = {}
    for component_id, user_id, name, enterprise_id, sitting_id, workstations in rows:
        out.setdefault(component_id, []).append(Seating(
            user_id, name, enterprise_id, sitting_id,
            tuple(workstations) if workstations else None))
    return out


def _seats(stage_ids: list[int]) -> dict[int, list[Seat]]:
    rows = db.session.execute(
        sa.select(StageEntry.id, StageEntry.stage_id, StageEntry.workstation_number,
                  StageEntry.sitting_id, Entry.enterprise_id)
        .join(Entry, Entry.id == StageEntry.entry_id)
        .where(StageEntry.stage_id.in_(stage_ids), StageEntry.status == StageEntryStatus.ACTIVE,
               StageEntry.workstation_number.is_not(None))
        .order_by(StageEntry.workstation_number)).all()
    out: dict[int, list[Seat]] = {}
    for row in rows:
        out.setdefault(row.stage_id, []).append(Seat(*row))
    return out


def _sheet_states(component_ids: list[int]) -> dict[int, dict[tuple[int, int], SheetStatus]]:
    rows = db.session.execute(
        sa.select(ScoreSheet.component_id, ScoreSheet.stage_entry_id, ScoreSheet.judge_id,
                  ScoreSheet.status).where(ScoreSheet.component_id.in_(component_ids))).all()
    out: dict[int, dict[tuple[int, int], SheetStatus]] = {}
    for component_id, place_id, judge_id, status in rows:
        out.setdefault(component_id, {})[(place_id, judge_id)] = status
    return out


def progress_of(components: list[Component]) -> dict[int, PanelProgress]:
    """The progress of each judged component, in three queries however many there are (the
    organisers' judging overview)."""
    judged = [c for c in components if c.source == ScoreSource.JUDGES]
    if not judged:
        return {}
    ids = [c.id for c in judged]
    seatings, seats = _seatings(ids), _seats(sorted({c.stage_id for c in judged}))
    sheets = _sheet_states(ids)
    return {c.id: _progress(c.signed_off_at is not None, seatings.get(c.id, []),
                            seats.get(c.stage_id, []), sheets.get(c.id, {})) for c in judged}


def progress(component: Component) -> PanelProgress:
    """The progress of one judged component (what its chief judge's panel counts)."""
    return progress_of([component]).get(component.id, PanelProgress())


def waiting_text(progress: PanelProgress, limit: int = 12) -> str:
    """Who and which workstations sign-off waits for, in words ("李裁判：赛位 201、202 尚未开始
    评分；…"), at most ``limit`` workstations named per judge and state."""
    parts = []
    for judge, state, stations in progress.waiting:
        shown = "、".join(stations[:limit])
        if len(stations) > limit:
            shown = _("%(shown)s and %(n)d more", shown=shown, n=len(stations) - limit)
        if state == NOT_STARTED:
            parts.append(_("%(judge)s has not started workstations %(stations)s",
                           judge=judge, stations=shown))
        elif state == IN_PROGRESS:
            parts.append(_("%(judge)s has not submitted workstations %(stations)s",
                           judge=judge, stations=shown))
        else:
            parts.append(_("%(judge)s has workstations %(stations)s returned to mark again",
                           judge=judge, stations=shown))
    return "；".join(parts)


def overview() -> list[dict]:
    """The organisers' judging overview: every stage that has components, with its number of
    contestants, its draw, and each component's panel size, sheets by state (the progress the
    chief judge's panel counts), sign-off and decryption -- in a fixed number of queries
    however many stages and components there are."""
    from sqlalchemy.orm import selectinload

    from app.models import Track

    # EXISTS, not DISTINCT: PostgreSQL cannot compare a stage's JSON columns.
    stages = db.session.scalars(
        sa.select(Stage).where(Stage.components.any())
        .options(selectinload(Stage.components),
                 joinedload(Stage.track).joinedload(Track.contest))
        .order_by(Stage.track_id, Stage.seq)).all()
    if not stages:
        return []
    stage_ids = [stage.id for stage in stages]
    components = [c for stage in stages for c in stage.components]
    component_ids = [c.id for c in components]
    draws: dict[int, Draw] = {}
    for draw in db.session.scalars(sa.select(Draw).where(Draw.stage_id.in_(stage_ids))
                                   .order_by(Draw.id)):
        draws.setdefault(draw.stage_id, draw)
    people = dict(db.session.execute(
        sa.select(StageEntry.stage_id, sa.func.count()).where(StageEntry.stage_id.in_(stage_ids))
        .group_by(StageEntry.stage_id)).all())
    panels = dict(db.session.execute(
        sa.select(JudgeAssignment.component_id, sa.func.count())
        .where(JudgeAssignment.component_id.in_(component_ids))
        .group_by(JudgeAssignment.component_id)).all())
    decrypted = set(db.session.scalars(sa.select(Decryption.component_id).where(
        Decryption.component_id.in_(component_ids)).distinct()))
    progress = progress_of(components)
    return [{"stage": stage, "draw": draws.get(stage.id), "people": people.get(stage.id, 0),
             "components": [{"component": c, "panel": panels.get(c.id, 0),
                             "progress": progress.get(c.id), "decrypted": c.id in decrypted}
                            for c in stage.components]}
            for stage in stages]


# --- the chief judge's view and sign-off --------------------------------------------------------

@dataclass
class PanelReview:
    """Everything the chief judge sees before signing off, by workstation only."""

    rows: list[dict]
    judges: list[User]
    aggregated: pd.DataFrame
    flagged: int
    incomplete: int
    open_sheets: int
    sensitivity: sc.AggregationSensitivity | None
    effects: pd.DataFrame | None
    problem: str | None = None
    # Each workstation's judgement items with the judges' grades (in the order of ``judges``)
    # and, when the component combines them per item, the panel's points.
    judgement: list[dict] = field(default_factory=list)
    # The sheets owed by state, and who sign-off waits for (the panel's counters).
    progress: PanelProgress = field(default_factory=PanelProgress)
    # Workstations whose submitted sheets are not yet enough for the aggregation.
    short: list[str] = field(default_factory=list)

    def judge_name(self, username: str) -> str:
        """A judge named by the aggregation (by user name) as people read it."""
        return next((j.display_name for j in self.judges if j.username == username), username)

    def sign_off_refusal(self) -> str | None:
        """Why sign-off would be refused now (None: it can go ahead, after the chief judge has
        acknowledged any flagged disagreement). ``sign_off`` refuses with exactly this."""
        if self.problem:
            return self.problem
        if self.progress.open:
            return _("Sign-off waits for %(n)d sheets: %(who)s. A judge who cannot mark is "
                     "taken off the panel by the organisers first.", n=self.progress.open,
                     who=waiting_text(self.progress))
        if self.short:
            return _("Workstations %(stations)s do not have enough judges' sheets yet.",
                     stations="、".join(self.short))
        if not len(self.aggregated):  # signing nothing off would freeze the component for good
            return _("No workstation has been marked yet: there is nothing to sign off.")
        return None


def _judge_points(component: Component, place: StageEntry | None = None) -> pd.DataFrame:
    """Submitted sheets' points by workstation and judge (one workstation with ``place``)."""
    query = (sa.select(StageEntry.workstation_number, ScoreSheet.judge_id, ScoreSheet.points,
                       ScoreSheet.disqualified)
             .join(ScoreSheet, ScoreSheet.stage_entry_id == StageEntry.id)
             .where(ScoreSheet.component_id == component.id,
                    ScoreSheet.status == SheetStatus.SUBMITTED))
    if place is not None:
        query = query.where(StageEntry.id == place.id)
    rows = db.session.execute(query).all()
    return pd.DataFrame(rows, columns=["entry_id", "judge_id", "points", "disqualified"])


def _submitted_marks(component: Component, place: StageEntry | None = None) -> list[tuple]:
    """Submitted sheets' marks: (workstation, judge id, overrun minutes, item code, item kind,
    value, reason) per mark (one workstation with ``place``)."""
    query = (sa.select(StageEntry.workstation_number, ScoreSheet.judge_id,
                       ScoreSheet.overrun_minutes, MarkingItem.code, MarkingItem.kind, Mark.value,
                       Mark.reason)
             .join(ScoreSheet, ScoreSheet.stage_entry_id == StageEntry.id)
             .join(Mark, Mark.sheet_id == ScoreSheet.id)
             .join(MarkingItem, MarkingItem.id == Mark.item_id)
             .where(ScoreSheet.component_id == component.id,
                    ScoreSheet.status == SheetStatus.SUBMITTED, Mark.value.is_not(None)))
    if place is not None:
        query = query.where(StageEntry.id == place.id)
    return list(db.session.execute(query))


def counted_points(component: Component, points: pd.DataFrame,
                   place: StageEntry | None = None) -> pd.DataFrame:
    """The submitted sheets' points as they enter the judges' aggregation (``points`` as
    ``_judge_points`` gives them): each judge's own sheet points, or -- a component combining
    judgement items per item (WorldSkills) -- every sheet totalled with the panel's points for
    its judgement items (scoring.score_panel). Raises scoring.ScoringError when a sheet's marks
    no longer fit the scheme."""
    if component.judgement_order != JudgementOrder.PER_ITEM or points.empty:
        return points
    from app.services.marking_schemes import scoring_scheme

    sheets: dict[tuple, dict] = {}
    for number, judge_id, overrun, code, kind, value, reason in _submitted_marks(component,
                                                                                  place):
        sheet = sheets.setdefault((number, judge_id), {"overrun": overrun, "marks": {},
                                                       "reasons": {}})
        sheet["marks"][code] = bool(value) if kind == ItemKind.DISQUALIFYING else value
        if reason:
            sheet["reasons"][code] = reason
    limit = component.time_limit_minutes
    panel = sc.score_panel(scoring_scheme(component), [
        sc.PanelSheet(number, judge_id, sheet["marks"],
                      (limit + (sheet["overrun"] or 0)) * 60 if limit else None,
                      reasons=sheet["reasons"])
        for (number, judge_id), sheet in sorted(sheets.items())], sc.JudgementOrder.PER_ITEM)
    counted = panel.sheets[["entry_id", "judge_id", "points", "disqualified"]]
    # a submitted sheet with no marks at all cannot be complete; keep the stored rows' order
    keyed = counted.set_index(["entry_id", "judge_id"])
    missing = [key for key in zip(points["entry_id"], points["judge_id"], strict=True)
               if key not in keyed.index]
    if missing:
        raise sc.InvalidInput(f"赛位{missing[0][0]}的评分表没有评分")
    rows = keyed.loc[list(zip(points["entry_id"], points["judge_id"], strict=True))]
    return rows.reset_index()


def judgement_grades(component: Component, judges: list[User]) -> list[dict]:
    """Per workstation, each judgement item's grades on the submitted sheets of ``judges`` (in
    that order; None: no submitted sheet) and, when the component combines judgement items per
    item, the panel's points for it (the chief judge's panel shows both)."""
    from app.services.marking_schemes import scoring_scheme

    items = [i for i in db.session.scalars(sa.select(MarkingItem).where(
        MarkingItem.component_id == component.id, MarkingItem.node == MarkingNode.ITEM,
        MarkingItem.kind == ItemKind.JUDGEMENT).order_by(MarkingItem.sort_order, MarkingItem.id))]
    if not items:
        return []
    grades: dict[str, dict[str, dict[int, int]]] = {}
    for number, judge_id, _overrun, code, kind, value, _reason in _submitted_marks(component):
        if kind == ItemKind.JUDGEMENT:
            grades.setdefault(number, {}).setdefault(code, {})[judge_id] = int(value)
    per_item = component.judgement_order == JudgementOrder.PER_ITEM
    scheme = scoring_scheme(component) if per_item else None
    out = []
    for number in sorted(grades):
        given = grades[number]
        pooled = {}
        if per_item:
            try:
                pooled = sc.judgement_item_points(scheme, {code: list(by_judge.values())
                                                           for code, by_judge in given.items()})
            except sc.ScoringError:
                pooled = {}
        out.append({"workstation": number, "items": [
            {"code": item.code, "title": item.title,
             "grades": [given.get(item.code, {}).get(judge.id) for judge in judges],
             "points": pooled.get(item.code)} for item in items]})
    return out


def aggregation_rule(component: Component) -> sc.AggregationRule:
    return sc.AggregationRule(method=component.aggregation.value, trim=component.trim,
                              min_judges=component.min_judges,
                              disagreement_threshold=component.disagreement_threshold)


def aggregate(component: Component, points: pd.DataFrame) -> pd.DataFrame:
    """The judges' sheet points combined per workstation by the component's rule (scoring/),
    indexed by workstation, disagreeing judges named by their user names. The one aggregation
    of judged points: the panel review, sign-off and a correction after sign-off all use it.
    Raises scoring.ScoringError when the points break the rule."""
    ids = sorted({int(i) for i in points["judge_id"]})
    names = dict(db.session.execute(sa.select(User.id, User.username)
                                    .where(User.id.in_(ids))).all()) if ids else {}
    named = points.assign(judge_id=[names.get(int(i), str(i)) for i in points["judge_id"]])
    return sc.aggregate_judges(named, aggregation_rule(component),
                               decimals=component.stage.decimals,
                               maximum=component.maximum).set_index("entry_id")


def _score_fields(row: pd.Series) -> dict:
    """A ComponentScore's stored fields from one aggregated row."""
    disqualified = bool(row["disqualified"])
    return {"points": row["points"], "judges": int(row["n_judges"]),
            "complete": bool(row["complete"]), "disagreement": bool(row["disagreement"]),
            "disqualified": disqualified,
            "disqualified_reason": row["dq_reason"] if disqualified else None}


SCORE_FIELDS = ("points", "judges", "complete", "disagreement", "disqualified",
                "disqualified_reason")


def rescore(component: Component, place: StageEntry) -> tuple[ComponentScore, dict, dict]:
    """Recompute one workstation's stored points of a signed-off component from its submitted
    sheets, by the same aggregation as sign-off. Returns the score and its fields before and
    after (as the audit log keeps them)."""
    points = _judge_points(component, place)
    if points.empty:
        raise ServiceError(_("Workstation %(n)s has no submitted sheets.",
                             n=place.workstation_number), code="conflict")
    try:
        row = aggregate(component, counted_points(component, points, place)).iloc[0]
    except sc.ScoringError as error:
        raise ServiceError(str(error)) from None
    score = db.session.scalar(sa.select(ComponentScore).where(
        ComponentScore.component_id == component.id,
        ComponentScore.stage_entry_id == place.id))
    if score is None:
        score = ComponentScore(component_id=component.id, stage_entry_id=place.id)
        db.session.add(score)
        before = dict.fromkeys(SCORE_FIELDS)
    else:
        before = audit.snapshot(score, SCORE_FIELDS)
    for name, value in _score_fields(row).items():
        setattr(score, name, value)
    db.session.flush()
    return score, before, audit.snapshot(score, SCORE_FIELDS)


def review(component: Component) -> PanelReview:
    """Sheets by workstation and judge, the aggregated points by the component's rule, missing
    judges, disagreement flags naming the judges, and what another aggregation would change."""
    places = db.session.scalars(_stage_places(component.stage)
                                .where(StageEntry.workstation_number.is_not(None))
                                .options(joinedload(StageEntry.entry))
                                .order_by(StageEntry.workstation_number)).all()
    assignments = [a for a in panel(component) if a.panel_role == PanelRole.JUDGE]
    judges = [a.user for a in assignments]
    seatings = [Seating(a.user_id, a.user.display_name, a.user.enterprise_id, a.sitting_id,
                        tuple(a.workstations) if a.workstations else None) for a in assignments]
    seats = [Seat(p.id, p.stage_id, p.workstation_number, p.sitting_id, p.entry.enterprise_id)
             for p in places]
    expected = {s.user_id: {seat.workstation for seat in seats if _marks_seat(s, seat)}
                for s in seatings}
    sheets = db.session.scalars(sa.select(ScoreSheet).where(
        ScoreSheet.component_id == component.id)).all()
    by_key = {(s.stage_entry_id, s.judge_id): s for s in sheets}
    progress = _progress(component.signed_off_at is not None, seatings, seats,
                         {key: s.status for key, s in by_key.items()})
    points = _judge_points(component)
    aggregated = pd.DataFrame()
    problem = None
    if not points.empty:
        try:
            points = counted_points(component, points)
            aggregated = aggregate(component, points)
        except sc.ScoringError as error:
            problem = str(error)
        names = {u.id: u.username for u in judges}
        points["judge_id"] = [names.get(i, str(i)) for i in points["judge_id"]]
    rows = []
    for place in places:
        number = place.workstation_number
        cells = []
        for judge in judges:
            sheet = by_key.get((place.id, judge.id))
            cells.append({"judge": judge, "sheet": sheet,
                          "expected": number in expected.get(judge.id, set())})
        agg = aggregated.loc[number] if number in aggregated.index else None
        rows.append({"workstation": number, "cells": cells, "agg": agg,
                     "missing": [c["judge"].display_name for c in cells
                                 if c["expected"] and (c["sheet"] is None
                                                       or c["sheet"].status != SheetStatus.SUBMITTED)]})
    flagged = int(aggregated["disagreement"].sum()) if not aggregated.empty else 0
    short = [r["workstation"] for r in rows
             if r["agg"] is None or not bool(r["agg"]["complete"])]
    sensitivity = effects = None
    if not points.empty and problem is None:
        sensitivity, effects = _sensitivity(component, points, places)
    return PanelReview(rows, judges, aggregated, flagged, len(short), progress.open, sensitivity,
                       effects, problem, judgement_grades(component, judges), progress, short)


def _sensitivity(component: Component, points: pd.DataFrame, places: list[StageEntry]):
    """Ranks and places within this component under the other aggregation (mean ↔ trimmed
    mean), with the stage's quota and per-enterprise cap; and each judge's severity."""
    stage = component.stage
    alternative = (sc.Aggregation.MEAN if component.aggregation.value != "mean"
                   else sc.Aggregation.TRIMMED_MEAN)
    rule = sc.StageRule((sc.ComponentRule(component.code, component.name, 100, component.maximum,
                                          aggregation=aggregation_rule(component)),),
                        decimals=stage.decimals, quota=stage.quota,
                        per_enterprise_cap=stage.per_enterprise_cap,
                        cutoff_tie_policy=stage.cutoff_tie_policy.value)
    judged = points.assign(component=component.code)
    # Enterprises are compared by an opaque key: the chief judge never sees them.
    entries = pd.DataFrame({"entry_id": [p.workstation_number for p in places],
                            "enterprise": [f"e{p.entry.enterprise_id}" for p in places]})
    entries = entries[entries["entry_id"].isin(set(points["entry_id"]))]
    try:
        sensitivity = sc.aggregation_sensitivity(rule, judged, entries, alternative=alternative)
        effects = sc.judge_effects(points[["entry_id", "judge_id", "points"]],
                                   decimals=stage.decimals)
    except sc.ScoringError:
        return None, None
    return sensitivity, effects


def sign_off(component: Component, *, actor: User, acknowledged_flags: bool = False) -> int:
    """The chief judge signs the component off: every sheet submitted, every workstation
    complete; the aggregated points are stored once and the component is frozen."""
    if not is_chief(component, actor):
        raise ServiceError(_("Only the chief judge signs the component off."), code="forbidden")
    check_not_signed_off(component)
    from app.services import stage_flow

    stage_flow.check(component.stage, stage_flow.Step.SIGNED_OFF)
    result = review(component)
    refusal = result.sign_off_refusal()  # what the panel page shows, word for word
    if refusal:
        raise ServiceError(refusal, code="not_ready")
    if result.flagged and not acknowledged_flags:
        raise FieldErrors({"acknowledge": _(
            "%(n)d workstations are flagged for disagreement between judges; confirm you have "
            "reviewed them.", n=result.flagged)})
    places = {p.workstation_number: p for p in db.session.scalars(
        _stage_places(component.stage).where(StageEntry.workstation_number.is_not(None)))}
    db.session.execute(sa.delete(ComponentScore).where(ComponentScore.component_id == component.id))
    for number, row in result.aggregated.iterrows():
        db.session.add(ComponentScore(component_id=component.id,
                                      stage_entry_id=places[number].id, **_score_fields(row)))
    component.signed_off_at = utcnow()
    component.signed_off_by_id = actor.id
    db.session.flush()
    audit.record("component.sign_off", component, f"{component.stage.track.name}·{component.name} "
                 f"裁判长签字确认（{len(result.aggregated)}个赛位）",
                 after={"workstations": len(result.aggregated), "flagged": result.flagged},
                 actor=actor, stage_id=component.stage_id)
    stage_flow.advance(component.stage, stage_flow.Step.SIGNED_OFF, actor=actor)
    return len(result.aggregated)


def decrypt(component: Component, *, witness: str, actor: User) -> Decryption:
    """Reveal names for a signed-off component, recording operator and witness."""
    if actor.role != Role.ORGANISER:
        raise ServiceError(_("Only organisers decrypt."), code="forbidden")
    if component.signed_off_at is None:
        raise ServiceError(_("Names are revealed only after the chief judge has signed the "
                             "component off."), code="conflict")
    witness = clean_text(witness, field="witness")
    if not witness:
        raise FieldErrors({"witness": _("Name the witness of the decryption.")})
    record = Decryption(component_id=component.id, operator_id=actor.id, witness=witness)
    db.session.add(record)
    db.session.flush()
    audit.record("component.decrypt", component, f"{component.name} 解密，见证人 {witness}",
                 actor=actor, stage_id=component.stage_id)
    return record


def is_decrypted(component: Component) -> bool:
    return db.session.scalar(sa.select(Decryption.id).where(
        Decryption.component_id == component.id).limit(1)) is not None


def component_scores(component: Component) -> list[dict]:
    """Signed-off points by workstation; exam numbers and names only once decrypted."""
    revealed = is_decrypted(component)
    rows = db.session.execute(
        sa.select(ComponentScore, StageEntry).join(StageEntry)
        .where(ComponentScore.component_id == component.id)
        .order_by(StageEntry.workstation_number)).all()
    out = []
    for score, place in rows:
        item = {"workstation": place.workstation_number, "points": score.points,
                "judges": score.judges, "disqualified": score.disqualified,
                "disagreement": score.disagreement}
        if revealed:
            entry: Entry = place.entry
            item.update(exam_number=entry.exam_number, name=entry.contestant.name,
                        enterprise=entry.enterprise.name)
        out.append(item)
    return out
