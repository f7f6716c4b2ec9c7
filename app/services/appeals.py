"""Appeals (申诉): a contestant appeals on a component within its window; the supervision and
arbitration group (监督仲裁组) rules with a reason; an upheld appeal's correction flows into a new
results version.

The window (DOMAIN, "Results": "within a window after the component ends, default 2 hours"):
it opens when the component ends for the contestant — the component's end time
(``Component.ends_at``) when the organisers have set one, otherwise the end of the contestant's
sitting (``Sitting.ends_at``) in that stage — and closes ``Stage.appeal_window_minutes`` later
(120 by default). Both ends are inclusive. With neither time known, no appeal can be filed yet.

An upheld ruling records that a correction is required. The score is corrected through the
normal paths — the chief judge's correction before sign-off; after sign-off, the chief judge's
correction citing this appeal (``score_corrections.correct``); a re-import of an imported
component's results file — and the organisers compute a new results version naming the appeal:
``results.create_version(..., appeals=[…])`` links each appeal to that version
(``Appeal.resulting_version_id``).
"""
from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_babel import format_datetime
from flask_babel import gettext as _

from app.extensions import db
from app.inputs import clean_text, parse_id, text_or_problem
from app.models import (
    Appeal,
    Component,
    Entry,
    ResultsVersion,
    Role,
    RulingStatus,
    Stage,
    StageEntry,
    StageEntryStatus,
    User,
    utcnow,
)
from app.services import FieldErrors, ServiceError, audit

TEXT_MAX = 2000


class WindowState(enum.StrEnum):
    UNSET = "unset"  # the component's end is not known yet
    NOT_YET = "not_yet"
    OPEN = "open"
    CLOSED = "closed"


@dataclass(frozen=True)
class Window:
    opens_at: datetime | None
    closes_at: datetime | None

    def state(self, now: datetime | None = None) -> WindowState:
        now = now or utcnow()
        if self.opens_at is None:
            return WindowState.UNSET
        if now < self.opens_at:
            return WindowState.NOT_YET
        if now > self.closes_at:
            return WindowState.CLOSED
        return WindowState.OPEN


def window(place: StageEntry, component: Component) -> Window:
    """When the contestant at ``place`` may appeal on ``component`` (naive UTC, both inclusive)."""
    ends = component.ends_at
    if ends is None and place.sitting is not None:
        ends = place.sitting.ends_at
    if ends is None:
        return Window(None, None)
    return Window(ends, ends + timedelta(minutes=component.stage.appeal_window_minutes))


def _when(moment: datetime) -> str:
    return format_datetime(moment, "yyyy-MM-dd HH:mm")


def places(entry: Entry) -> list[StageEntry]:
    """The entry's places in stages (not withdrawn), earliest stage first."""
    return list(db.session.scalars(
        sa.select(StageEntry).join(Stage, Stage.id == StageEntry.stage_id)
        .where(StageEntry.entry_id == entry.id,
               StageEntry.status != StageEntryStatus.WITHDRAWN)
        .order_by(Stage.track_id, Stage.seq)))


@dataclass
class Option:
    place: StageEntry
    component: Component
    window: Window
    state: WindowState


def options(entry: Entry, now: datetime | None = None) -> list[Option]:
    """Every component the entry may appeal on, with its window and whether it is open now."""
    out = []
    for place in places(entry):
        for component in place.stage.components:
            w = window(place, component)
            out.append(Option(place, component, w, w.state(now)))
    return out


def for_entry(entry: Entry) -> list[Appeal]:
    return list(db.session.scalars(sa.select(Appeal).join(
        StageEntry, StageEntry.id == Appeal.stage_entry_id).where(
        StageEntry.entry_id == entry.id).order_by(Appeal.filed_at.desc(), Appeal.id.desc())))


def file_appeal(entry: Entry, component: Component | None, text: str | None, *, actor: User,
         now: datetime | None = None) -> Appeal:
    """The contestant files an appeal on a component of a stage they are in, inside its window."""
    now = now or utcnow()
    if entry.contestant.user_id is None or entry.contestant.user_id != actor.id:
        raise ServiceError(_("Only the contestant may appeal on their own entry."),
                           code="forbidden")
    text, refused = text_or_problem(text, multiline=True)
    problems: dict[str, str] = {}
    if refused:
        problems["text"] = refused
    elif not text:
        problems["text"] = _("Say what the appeal is about.")
    elif len(text) > TEXT_MAX:
        problems["text"] = _("At most %(n)d characters.", n=TEXT_MAX)
    place = None
    if component is None:
        problems["component_id"] = _("Choose the component the appeal is about.")
    else:
        place = next((p for p in places(entry) if p.stage_id == component.stage_id), None)
        if place is None:
            problems["component_id"] = _("You are not a contestant of this component's stage.")
    if problems:
        raise FieldErrors(problems)
    w = window(place, component)
    state = w.state(now)
    if state == WindowState.UNSET:
        raise FieldErrors({"component_id": _(
            "The end time of %(name)s has not been set yet, so appeals on it cannot be filed; "
            "please ask the organisers.", name=component.name)})
    if state == WindowState.NOT_YET:
        raise FieldErrors({"component_id": _(
            "Appeals on %(name)s open when it ends, at %(when)s.", name=component.name,
            when=_when(w.opens_at))})
    if state == WindowState.CLOSED:
        raise FieldErrors({"component_id": _(
            "The appeal window for %(name)s closed at %(when)s (%(n)d minutes after it ended); "
            "appeals can no longer be filed.", name=component.name, when=_when(w.closes_at),
            n=component.stage.appeal_window_minutes)})
    if db.session.scalar(sa.select(Appeal.id).where(
            Appeal.stage_entry_id == place.id, Appeal.component_id == component.id,
            Appeal.status == RulingStatus.OPEN).limit(1)):
        raise FieldErrors({"component_id": _(
            "You already have an open appeal on %(name)s; the arbitration group will rule on it.",
            name=component.name)})
    appeal = Appeal(stage_entry_id=place.id, component_id=component.id, filed_by_id=actor.id,
                    filed_at=now, text=text, status=RulingStatus.OPEN)
    db.session.add(appeal)
    db.session.flush()
    stage = component.stage
    audit.record("appeal.file", appeal,
                 f"{stage.track.name}·{stage.name}·{component.name} 申诉（准考证号"
                 f"{entry.exam_number or '—'}）", after={"text": text}, actor=actor,
                 stage_id=stage.id)
    return appeal


def rule_on(appeal: Appeal, *, decision: str | None, ruling: str | None, actor: User) -> None:
    """The arbitration group's ruling, final: upheld (a correction is required) or dismissed,
    always with its reason."""
    if actor.role != Role.ARBITRATOR:
        raise ServiceError(_("Only the supervision and arbitration group rules on appeals."),
                           code="forbidden")
    if appeal.status != RulingStatus.OPEN:
        raise ServiceError(_("This appeal has already been ruled on."), code="conflict")
    ruling, refused = text_or_problem(ruling, multiline=True)
    problems = {}
    if decision not in (RulingStatus.UPHELD.value, RulingStatus.DISMISSED.value):
        problems["decision"] = _("Choose upheld or dismissed.")
    if refused:
        problems["ruling"] = refused
    elif not ruling:
        problems["ruling"] = _("A ruling needs its reason.")
    elif len(ruling) > TEXT_MAX:
        problems["ruling"] = _("At most %(n)d characters.", n=TEXT_MAX)
    if problems:
        raise FieldErrors(problems)
    before = audit.snapshot(appeal, ("status", "ruling"))
    appeal.status = RulingStatus(decision)
    appeal.ruling, appeal.ruled_by_id, appeal.ruled_at = ruling, actor.id, utcnow()
    db.session.flush()
    component = db.session.get(Component, appeal.component_id)
    upheld = appeal.status == RulingStatus.UPHELD
    audit.record("appeal.rule", appeal,
                 f"{component.stage.name}·{component.name} 申诉#{appeal.id}"
                 + ("成立，须更正成绩并生成新版本" if upheld else "不成立"),
                 before=before, after=audit.snapshot(appeal, ("status", "ruling")),
                 reason=ruling, actor=actor, stage_id=component.stage_id)


def for_stage(stage: Stage, status: RulingStatus | None = None) -> list[Appeal]:
    query = sa.select(Appeal).join(Component, Component.id == Appeal.component_id).where(
        Component.stage_id == stage.id)
    if status is not None:
        query = query.where(Appeal.status == status)
    return list(db.session.scalars(query.order_by(Appeal.filed_at, Appeal.id)))


def counts_by_stage() -> list[dict]:
    """Per stage with appeals: how many are open, upheld (and waiting for a version), dismissed."""
    rows = db.session.execute(
        sa.select(Component.stage_id, Appeal.status,
                  Appeal.resulting_version_id.is_(None), sa.func.count())
        .join(Component, Component.id == Appeal.component_id)
        .group_by(Component.stage_id, Appeal.status, Appeal.resulting_version_id.is_(None))).all()
    by_stage: dict[int, dict] = {}
    for stage_id, status, unlinked, n in rows:
        line = by_stage.setdefault(stage_id, {"open": 0, "upheld": 0, "awaiting": 0,
                                              "dismissed": 0})
        line[RulingStatus(status).value] += n
        if RulingStatus(status) == RulingStatus.UPHELD and unlinked:
            line["awaiting"] += n
    stages = {s.id: s for s in db.session.scalars(sa.select(Stage).where(
        Stage.id.in_(list(by_stage))))} if by_stage else {}
    return [{"stage": stages[i], **line} for i, line in
            sorted(by_stage.items(), key=lambda kv: (stages[kv[0]].track_id, stages[kv[0]].seq))]


def awaiting_version(stage: Stage) -> list[Appeal]:
    """Upheld appeals of the stage whose correction no results version carries yet."""
    return [a for a in for_stage(stage, RulingStatus.UPHELD) if a.resulting_version_id is None]


def check_for_version(stage: Stage, appeals: Sequence[Appeal]) -> None:
    """Every appeal named for a new version must be upheld, of this stage, and not yet carried."""
    waiting = {a.id for a in awaiting_version(stage)}
    if any(a.id not in waiting for a in appeals):
        raise ServiceError(_("A new version names only upheld appeals of this stage that no "
                             "version carries yet."), field="appeal_id", code="conflict")


def reason_with(appeals: Sequence[Appeal], reason: str | None) -> str | None:
    """The version's reason, naming the appeals it carries (申诉#n)."""
    reason = clean_text(reason, multiline=True, field="reason")
    if not appeals:
        return reason or None
    names = "、".join(f"申诉#{a.id}" for a in appeals)
    if not reason:
        return f"{names}成立，更正成绩"
    missing = [a for a in appeals if f"#{a.id}" not in reason]
    return f"{reason}（{names}）" if missing else reason


def link(version: ResultsVersion, appeals: Sequence[Appeal], *, actor: User) -> None:
    for appeal in appeals:
        appeal.resulting_version_id = version.id
        audit.record("appeal.version", appeal,
                     f"申诉#{appeal.id}的更正进入成绩第{version.number}版",
                     after={"resulting_version_id": version.id}, actor=actor,
                     stage_id=version.stage_id)
    db.session.flush()


def by_ids(raw_ids: Sequence[str]) -> list[Appeal]:
    """The appeals named by ids from a form (non-numbers ignored; unknown ids dropped)."""
    ids = sorted({i for i in map(parse_id, raw_ids) if i is not None})
    if not ids:
        return []
    return list(db.session.scalars(sa.select(Appeal).where(Appeal.id.in_(ids))
                                   .order_by(Appeal.id)))
