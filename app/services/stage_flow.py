"""A stage's life cycle: its status follows the work, moved by one function every step calls.

draft → registration → scoring → review (复核) → provisional results → public notice → final.
Each step of the work names itself (:class:`Step`) and calls :func:`check` before it changes
anything and :func:`advance` once it has: the stage moves forward to the status the step
brings it to (never back, but for a withdrawn list), and every move is audited with the step
that caused it. A step the stage's status does not allow is refused with the reason, before
anything is written. Organisers move a stage by hand only where no work does it: opening
registration, starting scoring, and making the results of a stage without an advancement list
final (:func:`change_status`).
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import NamedTuple

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

import scoring as sc
from app.extensions import db
from app.models import (
    AdvancementList,
    ListStatus,
    Objection,
    ResultsVersion,
    RulingStatus,
    ScoreSource,
    Stage,
    StageEntry,
    StageEntryStatus,
    StageStatus,
    User,
    VersionStatus,
)
from app.services import ServiceError, audit

ORDER = list(StageStatus)  # the enum's order is the stage's life


def _at(status: StageStatus) -> int:
    return ORDER.index(status)


class Step(enum.StrEnum):
    """Steps of the work that move a stage (or may not happen in its status)."""

    OPEN_REGISTRATION = "open_registration"  # by hand
    START_SCORING = "start_scoring"  # by hand
    RESULTS_FINAL = "results_final"  # by hand, a stage without an advancement list
    ENTRIES_ARRIVED = "entries_arrived"  # the previous stage's list was finalised
    DRAW = "draw"
    SCORES_IMPORTED = "scores_imported"
    SIGNED_OFF = "signed_off"
    VERSION_COMPUTED = "version_computed"
    RECHECK_OPENED = "recheck_opened"
    VERSION_PUBLISHED = "version_published"
    POOL_DRAWN = "pool_drawn"
    POOL_DECIDED = "pool_decided"
    LIST_GENERATED = "list_generated"
    LIST_ON_NOTICE = "list_on_notice"
    LIST_WITHDRAWN = "list_withdrawn"
    LIST_FINAL = "list_final"


class _Rule(NamedTuple):
    to: StageStatus | None  # where the step brings the stage (None: it does not move it)
    label: object  # the step in the audit log and messages


RULES: dict[Step, _Rule] = {
    Step.OPEN_REGISTRATION: _Rule(StageStatus.REGISTRATION, _l("registration opened")),
    Step.START_SCORING: _Rule(StageStatus.SCORING, _l("scoring started")),
    Step.RESULTS_FINAL: _Rule(StageStatus.FINAL, _l("results confirmed final")),
    Step.ENTRIES_ARRIVED: _Rule(StageStatus.REGISTRATION,
                                _l("advancers of the previous stage entered")),
    Step.DRAW: _Rule(StageStatus.SCORING, _l("the draw")),
    Step.SCORES_IMPORTED: _Rule(StageStatus.SCORING, _l("results imported")),
    Step.SIGNED_OFF: _Rule(StageStatus.SCORING, _l("a component signed off")),
    Step.VERSION_COMPUTED: _Rule(StageStatus.REVIEW, _l("a results version computed")),
    Step.RECHECK_OPENED: _Rule(StageStatus.REVIEW, _l("a re-check opened")),
    Step.VERSION_PUBLISHED: _Rule(StageStatus.PROVISIONAL, _l("a results version published")),
    Step.POOL_DRAWN: _Rule(None, _l("the eligibility pool drawn")),
    Step.POOL_DECIDED: _Rule(None, _l("an eligibility decision")),
    Step.LIST_GENERATED: _Rule(None, _l("an advancement list drawn up")),
    Step.LIST_ON_NOTICE: _Rule(StageStatus.NOTICE, _l("the list put on public notice")),
    Step.LIST_WITHDRAWN: _Rule(StageStatus.PROVISIONAL, _l("the list withdrawn")),
    Step.LIST_FINAL: _Rule(StageStatus.FINAL, _l("the list finalised")),
}

# By hand: the status an organiser may move a stage to from each status.
BY_HAND: dict[StageStatus, tuple[StageStatus, Step]] = {
    StageStatus.DRAFT: (StageStatus.REGISTRATION, Step.OPEN_REGISTRATION),
    StageStatus.REGISTRATION: (StageStatus.SCORING, Step.START_SCORING),
    StageStatus.PROVISIONAL: (StageStatus.FINAL, Step.RESULTS_FINAL),
}


def label(status: StageStatus) -> str:
    from app.labels import STAGE_STATUS

    return str(STAGE_STATUS.get(status, status.value))


def _stage_name(stage: Stage) -> str:
    return f"{stage.track.name}·{stage.name}"


def refusal(stage: Stage, step: Step) -> str | None:
    """Why ``step`` may not happen in the stage's status (None: it may)."""
    status = stage.status
    if step in (Step.OPEN_REGISTRATION, Step.START_SCORING, Step.RESULTS_FINAL):
        allowed_from = next(s for s, (_to, by) in BY_HAND.items() if by == step)
        if status != allowed_from:
            return _("%(stage)s is in %(now)s; %(step)s only follows %(from)s.",
                     stage=_stage_name(stage), now=label(status), step=RULES[step].label,
                     **{"from": label(allowed_from)})
        return None
    if step == Step.ENTRIES_ARRIVED:
        if _at(status) > _at(StageStatus.REGISTRATION):
            return _("%(stage)s is already in %(now)s: advancers can no longer join it.",
                     stage=_stage_name(stage), now=label(status))
        return None
    if status == StageStatus.FINAL:
        return _("%(stage)s is final: its scores, results and list no longer change "
                 "(%(step)s refused).", stage=_stage_name(stage), step=RULES[step].label)
    return None


def check(stage: Stage, step: Step) -> None:
    """Refuse ``step`` (ServiceError, code conflict) when the stage's status does not allow it;
    called before the step writes anything."""
    reason = refusal(stage, step)
    if reason:
        raise ServiceError(reason, field="status", code="bad_transition")


def advance(stage: Stage, step: Step, *, actor: User | None = None,
            reason: str | None = None) -> bool:
    """Record that ``step`` happened: the stage moves to the step's status if it is not there
    yet (forward only; a withdrawn list takes a stage on notice back to provisional results
    when no other list of it is on notice). Audited; returns whether the stage moved."""
    check(stage, step)
    target = RULES[step].to
    if target is None:
        return False
    if step == Step.LIST_WITHDRAWN:
        on_notice = db.session.scalar(sa.select(AdvancementList.id).where(
            AdvancementList.stage_id == stage.id, AdvancementList.status == ListStatus.NOTICE)
            .limit(1))
        if stage.status != StageStatus.NOTICE or on_notice is not None:
            return False
    elif _at(stage.status) >= _at(target):
        return False
    before = stage.status
    stage.status = target
    db.session.flush()
    audit.record("stage.status", stage,
                 f"赛段 {_stage_name(stage)}：{label(before)} → {label(target)}"
                 f"（{RULES[step].label}）",
                 before={"status": before.value}, after={"status": target.value, "step": step.value},
                 reason=reason, actor=actor, stage_id=stage.id)
    return True


# --- by hand -------------------------------------------------------------------------------------

def next_statuses(stage: Stage) -> tuple[StageStatus, ...]:
    """The status an organiser may move the stage to by hand now (none, or one)."""
    move = BY_HAND.get(stage.status)
    if move is None:
        return ()
    if move[1] == Step.RESULTS_FINAL and stage.quota:
        return ()  # a stage with a quota becomes final through its advancement list
    return (move[0],)


def _ready_for_scoring(stage: Stage) -> list[str]:
    """Scoring needs contestants, weights the engine accepts and, for judged components, a
    complete marking scheme whose maxima add up to the component's maximum."""
    from app.services import marking_schemes
    from app.services.stages import scoring_rule

    problems = []
    if not stage.components:
        problems.append(_("The stage has no components yet."))
    else:
        try:
            scoring_rule(stage)
        except sc.ScoringError as error:
            problems.append(str(error))
        for component in stage.components:
            if component.source == ScoreSource.JUDGES:
                problems.extend(marking_schemes.scheme_problems(component))
    if not _contestants(stage):
        problems.append(_("The stage has no contestants yet."))
    return problems


def _ready_for_final(stage: Stage) -> list[str]:
    from app.services.results import latest_published

    if stage.quota:
        return [_("The stage has an advancement quota: it becomes final when its advancement "
                  "list is finalised after the public notice.")]
    if latest_published(stage) is None:
        return [_("No results version has been published yet.")]
    return []


READINESS_CHECKS = {
    StageStatus.SCORING: _ready_for_scoring,
    StageStatus.FINAL: _ready_for_final,
}


def change_status(stage: Stage, to_status: StageStatus | str, *, actor: User | None = None,
                  reason: str | None = None) -> Stage:
    """Move a stage by hand one step (:data:`BY_HAND`), after the checks of the new status;
    every other status is reached through the work itself. Audited."""
    try:
        to_status = StageStatus(to_status)
    except ValueError:
        raise ServiceError(_("Unknown stage status %(status)s.", status=to_status),
                           field="status") from None
    move = BY_HAND.get(stage.status)
    if move is None or move[0] != to_status:
        hint = WHAT_MOVES.get(to_status)
        raise ServiceError(
            _("A stage in %(now)s cannot move to %(to)s.", now=label(stage.status),
              to=label(to_status)) + (f" {hint}" if hint else ""),
            field="status", code="bad_transition")
    problems = READINESS_CHECKS.get(to_status, lambda _stage: [])(stage)
    if problems:
        raise ServiceError(_("The stage is not ready for %(to)s: %(problems)s",
                             to=label(to_status), problems="；".join(problems)),
                           field="status", code="not_ready")
    advance(stage, move[1], actor=actor, reason=reason)
    return stage


# What brings a stage to each status (for messages and the stage page).
WHAT_MOVES = {
    StageStatus.REGISTRATION: _l("Open registration on the stage page; a later stage also "
                                 "enters it when the previous stage's list is finalised."),
    StageStatus.SCORING: _l("The draw, the first imported results or a sign-off start scoring; "
                            "or start it on the stage page."),
    StageStatus.REVIEW: _l("Computing a results version on the results page starts the "
                           "re-check."),
    StageStatus.PROVISIONAL: _l("Publishing a re-checked results version."),
    StageStatus.NOTICE: _l("Drawing up the advancement list from the published version and "
                           "putting it on public notice."),
    StageStatus.FINAL: _l("Finalising the list after the public notice, with no objection "
                          "left open."),
}
WHAT_MAKES_FINAL_WITHOUT_A_LIST = _l("Confirming the published results final on this page "
                                     "(the stage has no advancement list).")


# --- where the stage stands ------------------------------------------------------------------

@dataclass
class Outlook:
    """Where a stage stands: its steps, the next one, what brings it there and what blocks it."""

    status: StageStatus
    steps: list[tuple[StageStatus, str]]  # (status, "done" | "current" | "todo")
    next_status: StageStatus | None
    how: str = ""
    blockers: list[str] = field(default_factory=list)
    by_hand: StageStatus | None = None  # a move the organiser may make on the stage page
    notes: list[str] = field(default_factory=list)
    list_id: int | None = None  # the stage's list in the works (draft or on notice)
    pool: PoolStep | None = None  # the eligibility check, on a stage with a review pool


@dataclass
class PoolStep:
    """The eligibility pool as a step of the stage: drawn or not, its counts, what blocks it."""

    drawn: bool
    summary: str
    blockers: list[str] = field(default_factory=list)
    done: bool = False


def _pool_step(stage: Stage) -> PoolStep | None:
    from app.services import eligibility, results

    if not eligibility.uses_pool(stage):
        return None
    pool = eligibility.pool_of(stage)
    if pool is None:
        published = results.latest_published(stage)
        return PoolStep(False, _("Eligibility check of the top %(m)d: not drawn yet.",
                                 m=stage.review_pool),
                        [] if published is None else _pool_blockers(stage))
    waiting = eligibility.undecided_that_matter(pool.version)
    counts = eligibility.counts(pool, waiting)
    summary = _("Eligibility check of the top %(m)d (version %(n)d): %(confirmed)d confirmed, "
                "%(ineligible)d ineligible, %(undecided)d undecided.", m=pool.size,
                n=pool.version.number, confirmed=counts.confirmed,
                ineligible=counts.ineligible, undecided=counts.undecided)
    blockers = eligibility.list_blockers(pool.version, waiting) if counts.needed else []
    return PoolStep(True, summary, blockers, done=not blockers)


def _pool_blockers(stage: Stage) -> list[str]:
    from app.services import eligibility, results

    published = results.latest_published(stage)
    return [] if published is None else eligibility.list_blockers(published)


def _contestants(stage: Stage) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(StageEntry).where(
        StageEntry.stage_id == stage.id, StageEntry.status != StageEntryStatus.WITHDRAWN)) or 0


def outlook(stage: Stage) -> Outlook:
    """The stage's current step, the next one, what brings it about and what stands in its
    way now, in the organiser's words."""
    from app.services import rechecks, results

    status = stage.status
    here = _at(status)
    steps = [(s, "done" if _at(s) < here else "current" if s == status else "todo")
             for s in ORDER]
    if status == StageStatus.PROVISIONAL and not stage.quota:
        next_status = StageStatus.FINAL
    else:
        next_status = ORDER[here + 1] if here + 1 < len(ORDER) else None
    how = WHAT_MOVES.get(next_status, "") if next_status else ""
    if next_status == StageStatus.FINAL and not stage.quota:
        how = WHAT_MAKES_FINAL_WITHOUT_A_LIST
    view = Outlook(status, steps, next_status, how=str(how))
    if next_status in next_statuses(stage):
        view.by_hand = next_status
    blockers = view.blockers
    listing = _open_list(stage)
    view.list_id = listing.id if listing is not None else None
    if status == StageStatus.DRAFT:
        if stage.seq > 1:
            view.notes.append(_("Its contestants come from the previous stage's final list."))
    elif status == StageStatus.REGISTRATION:
        blockers.extend(_ready_for_scoring(stage))
    elif status == StageStatus.SCORING:
        blockers.extend(results.readiness(stage))
    elif status == StageStatus.REVIEW:
        draft = _latest(stage, VersionStatus.DRAFT)
        if draft is None:
            blockers.append(_("No draft results version awaits publication."))
        else:
            problem = rechecks.publication_blocker(draft)
            if problem:
                blockers.append(_("Version %(n)d: %(problem)s", n=draft.number, problem=problem))
    elif status == StageStatus.PROVISIONAL:
        if stage.quota:
            if listing is None:
                blockers.extend(_pool_blockers(stage))
                blockers.append(_("No advancement list has been drawn up from the published "
                                  "version yet."))
            elif listing.status == ListStatus.DRAFT:
                blockers.append(_("The advancement list is a draft: put it on public notice."))
        else:
            blockers.extend(_ready_for_final(stage))
    elif status == StageStatus.NOTICE:
        if listing is not None:
            blockers.extend(results.finalise_blockers(listing))
    elif status == StageStatus.FINAL:
        following = db.session.scalar(sa.select(Stage).where(
            Stage.track_id == stage.track_id, Stage.seq > stage.seq).order_by(Stage.seq).limit(1))
        if following is not None:
            view.notes.append(_("%(n)d contestants are in the next stage, %(name)s (%(status)s).",
                                n=_contestants(following), name=following.name,
                                status=label(following.status)))
    view.pool = _pool_step(stage)
    if status not in (StageStatus.FINAL,):
        newer_draft = _latest(stage, VersionStatus.DRAFT)
        if newer_draft is not None and status in (StageStatus.PROVISIONAL, StageStatus.NOTICE):
            view.notes.append(_("Version %(n)d is computed and not yet published.",
                                n=newer_draft.number))
    return view


def _latest(stage: Stage, status: VersionStatus) -> ResultsVersion | None:
    return db.session.scalar(sa.select(ResultsVersion).where(
        ResultsVersion.stage_id == stage.id, ResultsVersion.status == status)
        .order_by(ResultsVersion.number.desc()).limit(1))


def _open_list(stage: Stage) -> AdvancementList | None:
    """The stage's list that is neither withdrawn nor final (there is at most one)."""
    return db.session.scalar(sa.select(AdvancementList).where(
        AdvancementList.stage_id == stage.id,
        AdvancementList.status.in_([ListStatus.DRAFT, ListStatus.NOTICE]))
        .order_by(AdvancementList.id.desc()).limit(1))


def open_objections(listing: AdvancementList) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Objection).where(
        Objection.list_id == listing.id, Objection.status == RulingStatus.OPEN)) or 0
