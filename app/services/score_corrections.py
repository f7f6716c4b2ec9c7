"""Corrections of a judged component's score after the chief judge has signed it off (签字后更正).

The rule (DOMAIN, "Judging" and "Results"): sign-off freezes a judged component; the
arbitration group's ruling on an appeal is final and its score changes flow into a new results
version; a re-check that finds a score wrong has it corrected and a new version computed. So a
signed-off score changes only on one of those two grounds, and only by the component's chief
judge, who corrects judges' sheets before sign-off too:

* the ground is an upheld appeal on this component by this contestant that no results version
  carries yet, or a re-check item marked "corrected" for this contestant in a closed round of a
  version of this stage; without one, or for another contestant or component, it is refused;
* the marks change on the judges' sheets of that workstation through ``score_sheets.save`` (each
  change audited with the old and new value and the reason);
* the contestant's stored points are recomputed with ``judging.rescore`` — the aggregation that
  sign-off uses — and the change is audited (old and new points);
* the correction is kept with its ground (``ScoreCorrection``).

No results version is touched (versions never change): the organisers compute a new version,
naming the appeal, and it is re-checked before publication.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import gettext as _

from app.extensions import db
from app.inputs import text_or_problem
from app.models import (
    Appeal,
    Component,
    ComponentScore,
    RecheckItem,
    RecheckOutcome,
    RecheckRound,
    ResultsVersion,
    RulingStatus,
    ScoreCorrection,
    ScoreSheet,
    ScoreSource,
    SheetStatus,
    StageEntry,
    StageEntryStatus,
    User,
)
from app.services import FieldErrors, ServiceError, audit, judging, score_sheets

REASON_MAX = 2000


@dataclass(frozen=True)
class Ground:
    """What a correction after sign-off rests on: an upheld appeal or a re-check finding."""

    appeal: Appeal | None = None
    recheck_item: RecheckItem | None = None

    @property
    def key(self) -> str:
        """The ground as a form value and a query argument: ``appeal-12`` or ``recheck-34``."""
        return (f"appeal-{self.appeal.id}" if self.appeal is not None
                else f"recheck-{self.recheck_item.id}")

    @property
    def label(self) -> str:
        """As the audit log names it: 申诉#12, 复核#34."""
        return (f"申诉#{self.appeal.id}" if self.appeal is not None
                else f"复核#{self.recheck_item.id}")


def parse_ground(key: str | None) -> Ground | None:
    """The ground named by ``appeal-<id>`` or ``recheck-<id>`` (None: no such ground)."""
    kind, _sep, number = (key or "").strip().partition("-")
    if not number.isdigit():
        return None
    if kind == "appeal":
        appeal = db.session.get(Appeal, int(number))
        return Ground(appeal=appeal) if appeal is not None else None
    if kind == "recheck":
        item = db.session.get(RecheckItem, int(number))
        return Ground(recheck_item=item) if item is not None else None
    return None


def _ground_problem(component: Component, place: StageEntry, ground: Ground | None) -> str | None:
    """Why ``ground`` does not allow correcting ``place``'s score on ``component`` (None: it
    does)."""
    if ground is None:
        return _("A correction after sign-off needs its ground: an upheld appeal on this "
                 "component, or a re-check that found this contestant's score wrong.")
    if ground.appeal is not None:
        appeal = ground.appeal
        if appeal.component_id != component.id or appeal.stage_entry_id != place.id:
            return _("Appeal #%(id)d is about another contestant or component.", id=appeal.id)
        if appeal.status != RulingStatus.UPHELD:
            return _("Appeal #%(id)d has not been upheld by the arbitration group.",
                     id=appeal.id)
        if appeal.resulting_version_id is not None:
            version = db.session.get(ResultsVersion, appeal.resulting_version_id)
            return _("Appeal #%(id)d is already carried by results version %(n)d; a further "
                     "correction needs a ground of its own.", id=appeal.id, n=version.number)
        return None
    item = ground.recheck_item
    round_ = db.session.get(RecheckRound, item.round_id)
    version = db.session.get(ResultsVersion, round_.version_id)
    if item.stage_entry_id != place.id or version.stage_id != component.stage_id:
        return _("Re-check #%(id)d is about another contestant or stage.", id=item.id)
    if item.outcome != RecheckOutcome.CORRECTED:
        return _("Re-check #%(id)d did not find the score wrong.", id=item.id)
    if round_.closed_at is None:
        return _("The re-check round of re-check #%(id)d is still open; its findings are final "
                 "once it is closed.", id=item.id)
    return None


def check_ground(component: Component, place: StageEntry, ground: Ground | None) -> Ground:
    problem = _ground_problem(component, place, ground)
    if problem:
        raise FieldErrors({"ground": problem})
    return ground


def grounds_for(component: Component, place: StageEntry) -> list[Ground]:
    """Every ground on which ``place``'s score on ``component`` may be corrected now."""
    appeals = db.session.scalars(sa.select(Appeal).where(
        Appeal.component_id == component.id, Appeal.stage_entry_id == place.id,
        Appeal.status == RulingStatus.UPHELD, Appeal.resulting_version_id.is_(None))
        .order_by(Appeal.id))
    items = db.session.scalars(
        sa.select(RecheckItem).join(RecheckRound, RecheckRound.id == RecheckItem.round_id)
        .join(ResultsVersion, ResultsVersion.id == RecheckRound.version_id)
        .where(RecheckItem.stage_entry_id == place.id,
               RecheckItem.outcome == RecheckOutcome.CORRECTED,
               RecheckRound.closed_at.is_not(None),
               ResultsVersion.stage_id == component.stage_id)
        .order_by(RecheckItem.id.desc()))
    return [Ground(appeal=a) for a in appeals] + [Ground(recheck_item=i) for i in items]


def place_at(component: Component, workstation: str) -> StageEntry | None:
    """The contestant at ``workstation`` in the component's stage (not withdrawn)."""
    return db.session.scalar(sa.select(StageEntry).where(
        StageEntry.stage_id == component.stage_id, StageEntry.workstation_number == workstation,
        StageEntry.status != StageEntryStatus.WITHDRAWN))


def sheets_of(component: Component, place: StageEntry) -> list[ScoreSheet]:
    """The submitted judges' sheets of one workstation, by judge."""
    return list(db.session.scalars(sa.select(ScoreSheet).where(
        ScoreSheet.component_id == component.id, ScoreSheet.stage_entry_id == place.id,
        ScoreSheet.status == SheetStatus.SUBMITTED).order_by(ScoreSheet.judge_id)))


@dataclass
class SheetChange:
    """What the correction form sends for one sheet: marks by item code, disqualification
    reasons, minutes over time, and the sheet version the page showed."""

    version: int
    values: dict[str, str]
    reasons: dict[str, str] = field(default_factory=dict)
    overrun: str | None = None


def correct(component: Component, place: StageEntry, ground: Ground | None,
            changes: dict[int, SheetChange], reason: str | None, *,
            actor: User) -> ScoreCorrection:
    """The chief judge corrects marks on the workstation's sheets after sign-off, on its
    ground; the contestant's stored points are recomputed by the sign-off aggregation.

    Errors of the form come back as FieldErrors: ``ground``, ``reason``, ``marks`` (nothing
    changed) and ``<sheet id>:<item code>`` for a mark. A sheet changed elsewhere since the
    page was loaded is refused as a conflict."""
    if component.source != ScoreSource.JUDGES:
        raise ServiceError(_("%(name)s is scored by import; correct it by importing the "
                             "corrected results file.", name=component.name), code="conflict")
    if component.signed_off_at is None:
        raise ServiceError(_("%(name)s has not been signed off; correct its sheets on the "
                             "panel.", name=component.name), code="conflict")
    if not judging.is_chief(component, actor):
        raise ServiceError(_("Only the chief judge of %(name)s corrects its scores.",
                             name=component.name), code="forbidden")
    if place.stage_id != component.stage_id:
        raise ServiceError(_("This contestant is not in the component's stage."),
                           code="conflict")
    judging.check_conflict_of_interest(actor, place)
    problems: dict[str, str] = {}
    problem = _ground_problem(component, place, ground)
    if problem:
        problems["ground"] = problem
    reason, refused = text_or_problem(reason, multiline=True)
    if refused:
        problems["reason"] = refused
    elif not reason:
        problems["reason"] = _("A correction needs a reason.")
    elif len(reason) > REASON_MAX:
        problems["reason"] = _("At most %(n)d characters.", n=REASON_MAX)
    if problems:
        raise FieldErrors(problems)
    sheets = {s.id: s for s in sheets_of(component, place)}
    unknown = set(changes) - set(sheets)
    if unknown:
        raise ServiceError(_("A sheet on the form is not a submitted sheet of workstation "
                             "%(n)s.", n=place.workstation_number), code="conflict")
    changed = 0
    for sheet_id, change in sorted(changes.items()):
        sheet = sheets[sheet_id]
        before = sheet.version
        try:
            score_sheets.save(sheet, change.values, change.reasons, change.overrun,
                              version=change.version, actor=actor, reason=reason,
                              ground=ground.label)
        except FieldErrors as error:
            problems.update({f"{sheet_id}:{code}": message
                             for code, message in error.errors.items()})
            continue
        changed += sheet.version != before
    if problems:
        raise FieldErrors(problems)
    if not changed:
        raise FieldErrors({"marks": _("No mark was changed.")})
    for sheet in sheets.values():  # a complete sheet again, as it was when submitted
        current = score_sheets.state(sheet, component)
        if not current.complete:
            raise FieldErrors({f"{sheet.id}:{code}": message
                               for code, message in current.problems.items()})
    old_points = db.session.scalar(sa.select(ComponentScore.points).where(
        ComponentScore.component_id == component.id,
        ComponentScore.stage_entry_id == place.id))
    score, before, after = judging.rescore(component, place)
    correction = ScoreCorrection(
        component_id=component.id, stage_entry_id=place.id,
        appeal_id=ground.appeal.id if ground.appeal is not None else None,
        recheck_item_id=ground.recheck_item.id if ground.recheck_item is not None else None,
        reason=reason, sheets=changed, points_before=old_points, points_after=score.points,
        corrected_by_id=actor.id)
    db.session.add(correction)
    db.session.flush()
    stage = component.stage
    audit.record("component_score.correct", score,
                 f"{stage.track.name}·{stage.name}·{component.name} 赛位"
                 f"{place.workstation_number} 签字后依据{ground.label}更正："
                 f"{_shown(old_points, stage.decimals)} → {_shown(score.points, stage.decimals)}"
                 f"（更正#{correction.id}）",
                 before={**before, "ground": None},
                 after={**after, "ground": ground.label, "correction_id": correction.id},
                 reason=reason, actor=actor, stage_id=stage.id)
    return correction


def _shown(points: Decimal | None, decimals: int) -> str:
    return "—" if points is None else str(points.quantize(Decimal(1).scaleb(-decimals)))


# --- what the pages list -------------------------------------------------------------------------

def for_place(component: Component, place: StageEntry) -> list[ScoreCorrection]:
    return list(db.session.scalars(sa.select(ScoreCorrection).where(
        ScoreCorrection.component_id == component.id,
        ScoreCorrection.stage_entry_id == place.id).order_by(ScoreCorrection.id)))


def for_component(component: Component) -> list[ScoreCorrection]:
    return list(db.session.scalars(sa.select(ScoreCorrection).where(
        ScoreCorrection.component_id == component.id).order_by(ScoreCorrection.id)))


def by_appeal(appeal_ids: list[int]) -> dict[int, list[ScoreCorrection]]:
    """Corrections made on each of these appeals."""
    out: dict[int, list[ScoreCorrection]] = {}
    if appeal_ids:
        for c in db.session.scalars(sa.select(ScoreCorrection).where(
                ScoreCorrection.appeal_id.in_(appeal_ids)).order_by(ScoreCorrection.id)):
            out.setdefault(c.appeal_id, []).append(c)
    return out


def by_recheck_item(item_ids: list[int]) -> dict[int, list[ScoreCorrection]]:
    """Corrections made on each of these re-check findings."""
    out: dict[int, list[ScoreCorrection]] = {}
    if item_ids:
        for c in db.session.scalars(sa.select(ScoreCorrection).where(
                ScoreCorrection.recheck_item_id.in_(item_ids)).order_by(ScoreCorrection.id)):
            out.setdefault(c.recheck_item_id, []).append(c)
    return out


def carried_by(correction: ScoreCorrection) -> ResultsVersion | None:
    """The first results version of the stage computed after the correction (None: the
    organisers have still to compute one)."""
    component = db.session.get(Component, correction.component_id)
    return db.session.scalar(sa.select(ResultsVersion).where(
        ResultsVersion.stage_id == component.stage_id,
        ResultsVersion.created_at >= correction.corrected_at)
        .order_by(ResultsVersion.number).limit(1))


@dataclass
class Work:
    """A ground on the chief judge's list: where, what it says, and what was done on it."""

    ground: Ground
    place: StageEntry
    text: str  # the ruling, or the re-check's note of what was wrong
    corrections: list[ScoreCorrection]


def worklist(component: Component) -> list[Work]:
    """For the chief judge's panel after sign-off: the upheld appeals on this component that
    no version carries yet, and the stage's re-check findings (closed rounds) not yet
    superseded by a later version, each with the corrections made on it here."""
    if component.source != ScoreSource.JUDGES or component.signed_off_at is None:
        return []
    appeals = list(db.session.scalars(sa.select(Appeal).where(
        Appeal.component_id == component.id, Appeal.status == RulingStatus.UPHELD)
        .order_by(Appeal.id)))
    latest = db.session.scalar(sa.select(sa.func.max(ResultsVersion.number)).where(
        ResultsVersion.stage_id == component.stage_id))
    findings = db.session.execute(
        sa.select(RecheckItem, ResultsVersion.number)
        .join(RecheckRound, RecheckRound.id == RecheckItem.round_id)
        .join(ResultsVersion, ResultsVersion.id == RecheckRound.version_id)
        .where(ResultsVersion.stage_id == component.stage_id,
               RecheckItem.outcome == RecheckOutcome.CORRECTED,
               RecheckRound.closed_at.is_not(None))
        .order_by(RecheckItem.id)).all()
    done_appeals = by_appeal([a.id for a in appeals])
    done_items = by_recheck_item([i.id for i, _n in findings])
    place_ids = {a.stage_entry_id for a in appeals} | {i.stage_entry_id for i, _n in findings}
    places = {p.id: p for p in db.session.scalars(sa.select(StageEntry).where(
        StageEntry.id.in_(place_ids)))} if place_ids else {}
    work = []
    for appeal in appeals:
        mine = [c for c in done_appeals.get(appeal.id, []) if c.component_id == component.id]
        if appeal.resulting_version_id is None or mine:
            work.append(Work(Ground(appeal=appeal), places[appeal.stage_entry_id],
                             appeal.ruling or "", mine))
    # A full round carries the sample's findings over: one line per finding, which is the
    # item a correction cited if any, else the latest.
    lines: dict[tuple, tuple[RecheckItem, list[ScoreCorrection], bool]] = {}
    for item, number in findings:
        key = (item.stage_entry_id, item.note, item.checked_at)
        mine = [c for c in done_items.get(item.id, []) if c.component_id == component.id]
        cited, done, current = lines.get(key, (item, [], False))
        lines[key] = (item if mine or not done else cited, done + mine,
                      current or number == latest)
    for item, done, current in lines.values():
        if current or done:
            work.append(Work(Ground(recheck_item=item), places[item.stage_entry_id],
                             item.note or "", done))
    return work
