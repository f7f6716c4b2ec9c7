"""Re-check (复核) of a draft results version before it is published.

The rule (DOMAIN, "Results"): before publication, all of the top M and a seeded random sample of
the rest are checked again; an error rate above the stage's threshold forces a full re-check.
Here:

* ``open_round`` draws the sample with ``scoring.recheck_sample`` — the top ``stage.recheck_top``
  by rank plus ceil(``stage.recheck_fraction`` x the rest), ordered by SHA-256 of
  ``"<seed>|<entry id>"``. The seed is made with ``secrets`` and stored, so anyone can redraw it.
* ``record`` marks an entry correct, or corrected (the score was wrong: the note says what).
* ``close`` computes the error rate with ``scoring.recheck_verdict``; above the threshold a full
  round over every entry of the version opens at once (the sample's outcomes carried over).
* ``publication_blocker`` is what ``results.publish`` asks: a version is published only after a
  closed re-check whose verdict does not demand a full one (or a closed full round), and only if
  no score was found wrong — a wrong score is corrected and a new version computed and checked.

A stage whose settings select nothing (top 0 and fraction 0) needs no re-check.
"""
from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import gettext as _

import scoring as sc
from app.extensions import db
from app.inputs import text_or_problem
from app.models import (
    Component,
    RecheckItem,
    RecheckKind,
    RecheckOutcome,
    RecheckRound,
    ResultComponentScore,
    ResultRow,
    ResultsVersion,
    Stage,
    StageEntry,
    User,
    VersionStatus,
    utcnow,
)
from app.services import FieldErrors, ServiceError, audit, stage_flow
from app.services import results as results_service

NOTE_MAX = 2000


def required(stage: Stage) -> bool:
    """Whether the stage's settings ask for a re-check at all (top M or a sample fraction)."""
    return bool(stage.recheck_top) or bool(stage.recheck_fraction)


def rounds(version: ResultsVersion) -> list[RecheckRound]:
    return list(db.session.scalars(sa.select(RecheckRound).where(
        RecheckRound.version_id == version.id).order_by(RecheckRound.id)))


def items(round_: RecheckRound) -> list[RecheckItem]:
    return list(db.session.scalars(sa.select(RecheckItem).where(
        RecheckItem.round_id == round_.id).order_by(RecheckItem.id)))


def lines(version: ResultsVersion, entry_ids: list[int]) -> dict[int, dict]:
    """The version's numbers for these entries only (a page of a round): stage entry id →
    rank, total and ``<code>_points`` for each component."""
    if not entry_ids:
        return {}
    rows = db.session.execute(sa.select(
        ResultRow.id, ResultRow.stage_entry_id, ResultRow.rank, ResultRow.total).where(
        ResultRow.version_id == version.id, ResultRow.stage_entry_id.in_(entry_ids))).all()
    found = {entry_id: {"rank": rank, "total": total} for _id, entry_id, rank, total in rows}
    by_row = {row_id: entry_id for row_id, entry_id, _rank, _total in rows}
    for row_id, code, points in db.session.execute(
            sa.select(ResultComponentScore.row_id, Component.code, ResultComponentScore.points)
            .join(Component, Component.id == ResultComponentScore.component_id)
            .where(ResultComponentScore.row_id.in_(list(by_row)))):
        found[by_row[row_id]][f"{code}_points"] = points
    return found


def why(round_: RecheckRound, rank: int | None) -> str:
    """Why an entry is in the round: ``full`` (every entry), ``top`` (within the top M by
    rank) or ``sample`` (drawn from the rest)."""
    if round_.kind == RecheckKind.FULL:
        return "full"
    return "top" if rank is not None and rank <= round_.top else "sample"


def _label(version: ResultsVersion) -> str:
    return f"{version.stage.track.name}·{version.stage.name} 成绩第{version.number}版"


def open_round(version: ResultsVersion, *, actor: User, seed: int | None = None) -> RecheckRound:
    """Draw the sample of a draft version and open its re-check round.

    ``seed`` is for reproducing a draw in tests; the console never passes one, so the seed is
    made here with ``secrets`` and cannot be chosen to suit anyone.
    """
    stage = version.stage
    if version.status != VersionStatus.DRAFT:
        raise ServiceError(_("Only a draft version is re-checked."), code="conflict")
    stage_flow.check(stage, stage_flow.Step.RECHECK_OPENED)
    if rounds(version):
        raise ServiceError(_("This version already has its re-check; a version is sampled "
                             "only once."), code="conflict")
    if not required(stage):
        raise ServiceError(_("The stage's re-check settings select no entries (top 0, "
                             "sample 0%)."), code="conflict")
    table = results_service.version_table(version)
    if table.empty:
        raise ServiceError(_("The version has no entries to re-check."), code="conflict")
    seed = secrets.randbits(63) if seed is None else seed
    try:
        sample = sc.recheck_sample(table[["entry_id", "rank"]], top=stage.recheck_top,
                                   fraction=stage.recheck_fraction, seed=seed)
    except sc.ScoringError as error:
        raise ServiceError(str(error)) from None
    round_ = RecheckRound(version_id=version.id, kind=RecheckKind.SAMPLE, seed=str(sample.seed),
                          top=sample.top, fraction=sample.fraction, created_by_id=actor.id)
    db.session.add(round_)
    db.session.flush()
    _add_items(round_, [int(i) for i in sample.entry_ids])
    audit.record("recheck.open", round_,
                 f"{_label(version)} 复核抽样：前{sample.top}名{len(sample.top_ids)}份，其余"
                 f"{sample.rest_count}份中抽取{len(sample.sampled_ids)}份",
                 after={"seed": str(sample.seed), "top": sample.top,
                        "fraction": str(sample.fraction),
                        "top_ids": [int(i) for i in sample.top_ids],
                        "sampled_ids": [int(i) for i in sample.sampled_ids]},
                 actor=actor, stage_id=stage.id)
    stage_flow.advance(stage, stage_flow.Step.RECHECK_OPENED, actor=actor)
    return round_


def _add_items(round_: RecheckRound, entry_ids: list[int],
               carried: dict[int, RecheckItem] | None = None) -> None:
    rows = []
    for entry_id in entry_ids:
        before = (carried or {}).get(entry_id)
        row = {"round_id": round_.id, "stage_entry_id": entry_id,
               "outcome": RecheckOutcome.PENDING, "note": None, "checked_by_id": None,
               "checked_at": None}
        if before is not None and before.outcome != RecheckOutcome.PENDING:
            row.update(outcome=before.outcome, note=before.note,
                       checked_by_id=before.checked_by_id, checked_at=before.checked_at)
        rows.append(row)
    if rows:
        db.session.execute(sa.insert(RecheckItem), rows)


def redraw(round_: RecheckRound) -> list[int]:
    """The sample drawn again from the version and the recorded seed (top first, then sample):
    equal to the round's entries when nothing has been tampered with."""
    version = db.session.get(ResultsVersion, round_.version_id)
    table = results_service.version_table(version)
    if round_.kind == RecheckKind.FULL:
        return sorted(int(i) for i in table["entry_id"])
    sample = sc.recheck_sample(table[["entry_id", "rank"]], top=round_.top,
                               fraction=round_.fraction, seed=int(round_.seed))
    return [int(i) for i in sample.entry_ids]


def _check_open(round_: RecheckRound) -> None:
    if round_.closed_at is not None:
        raise ServiceError(_("This re-check round is closed."), code="conflict")


def record(item: RecheckItem, *, outcome: str, note: str | None, actor: User) -> None:
    """One entry checked again: correct, or corrected (the score was wrong; the note says what
    was wrong). A mark may be changed while the round is open; every change is audited."""
    round_ = db.session.get(RecheckRound, item.round_id)
    _check_open(round_)
    try:
        value = RecheckOutcome(outcome)
    except ValueError:
        value = None
    note, refused = text_or_problem(note, multiline=True)
    note = note or None
    problems = {}
    if value not in (RecheckOutcome.CORRECT, RecheckOutcome.CORRECTED):
        problems["outcome"] = _("Choose correct or corrected.")
    if value == RecheckOutcome.CORRECTED and not note:
        problems["note"] = _("Say what was wrong with the score.")
    if note and len(note) > NOTE_MAX:
        problems["note"] = _("At most %(n)d characters.", n=NOTE_MAX)
    if refused:
        problems["note"] = refused
    if problems:
        raise FieldErrors(problems)
    before = audit.snapshot(item, ("outcome", "note"))
    item.outcome, item.note = value, note
    item.checked_by_id, item.checked_at = actor.id, utcnow()
    db.session.flush()
    version = db.session.get(ResultsVersion, round_.version_id)
    audit.record("recheck.item", item,
                 f"{_label(version)} 复核："
                 f"{audit.entry_words(db.session.get(StageEntry, item.stage_entry_id).entry)} "
                 f"{'正确' if value == RecheckOutcome.CORRECT else '有误，已记录更正'}",
                 before=before, after=audit.snapshot(item, ("outcome", "note")),
                 reason=note, actor=actor, stage_id=version.stage_id)


def mark_correct(round_: RecheckRound, item_ids: Iterable[int], *, actor: User) -> int:
    """Mark the given pending entries of the round correct at once (ticked on the round page);
    entries already checked keep their mark. Returns how many were marked."""
    _check_open(round_)
    wanted = {int(i) for i in item_ids}
    chosen = [i for i in items(round_) if i.id in wanted and i.outcome == RecheckOutcome.PENDING]
    if not chosen:
        raise ServiceError(_("Tick at least one entry still to check."), field="item_id")
    now = utcnow()
    for item in chosen:
        item.outcome, item.checked_by_id, item.checked_at = RecheckOutcome.CORRECT, actor.id, now
    db.session.flush()
    version = db.session.get(ResultsVersion, round_.version_id)
    audit.record("recheck.items", round_, f"{_label(version)} 复核：{len(chosen)}份核对正确",
                 after={"correct": [i.stage_entry_id for i in chosen]}, actor=actor,
                 stage_id=version.stage_id)
    return len(chosen)


@dataclass
class Progress:
    total: int
    checked: int
    errors: int
    verdict: sc.RecheckVerdict | None  # on the entries checked so far (none checked: None)

    @property
    def pending(self) -> int:
        return self.total - self.checked


def progress(round_: RecheckRound, stage: Stage) -> Progress:
    counts = dict(db.session.execute(
        sa.select(RecheckItem.outcome, sa.func.count()).where(RecheckItem.round_id == round_.id)
        .group_by(RecheckItem.outcome)).all())
    total = sum(counts.values())
    errors = counts.get(RecheckOutcome.CORRECTED, 0)
    checked = total - counts.get(RecheckOutcome.PENDING, 0)
    verdict = sc.recheck_verdict(checked, errors, stage.recheck_error_threshold) if checked else None
    return Progress(total, checked, errors, verdict)


def close(round_: RecheckRound, *, actor: User) -> tuple[sc.RecheckVerdict, RecheckRound | None]:
    """Close a round whose entries are all checked: the error rate, and — for a sample above
    the threshold — the full round it demands, opened at once. Returns (verdict, full round)."""
    _check_open(round_)
    version = db.session.get(ResultsVersion, round_.version_id)
    stage = version.stage
    state = progress(round_, stage)
    if state.pending:
        raise ServiceError(_("%(n)d entries are still to be checked.", n=state.pending),
                           code="conflict")
    verdict = state.verdict
    round_.error_rate = verdict.error_rate
    round_.closed_at = utcnow()
    db.session.flush()
    audit.record("recheck.close", round_, f"{_label(version)} 复核结束：{verdict.message}",
                 after={"checked": verdict.checked, "errors": verdict.errors,
                        "error_rate": str(verdict.error_rate), "threshold": str(verdict.threshold),
                        "full_recheck_required": verdict.full_recheck_required},
                 actor=actor, stage_id=stage.id)
    full = None
    if round_.kind == RecheckKind.SAMPLE and verdict.full_recheck_required:
        full = _open_full(version, round_, actor=actor)
    return verdict, full


def _open_full(version: ResultsVersion, sample: RecheckRound, *, actor: User) -> RecheckRound:
    full = RecheckRound(version_id=version.id, kind=RecheckKind.FULL, seed=sample.seed,
                        top=sample.top, fraction=Decimal(1), created_by_id=actor.id)
    db.session.add(full)
    db.session.flush()
    entry_ids = sorted(int(i) for i in db.session.scalars(
        sa.select(ResultRow.stage_entry_id).where(ResultRow.version_id == version.id)))
    _add_items(full, entry_ids, carried={i.stage_entry_id: i for i in items(sample)})
    audit.record("recheck.full", full,
                 f"{_label(version)} 抽查差错率超过阈值，须全部复核（{len(entry_ids)}份，"
                 f"已抽查的{len(items(sample))}份沿用抽查结果）",
                 after={"entries": len(entry_ids)}, actor=actor, stage_id=version.stage_id)
    return full


def demanded_full(round_: RecheckRound) -> bool:
    """Whether closing this sample round demanded a full re-check (a full round followed)."""
    return round_.kind == RecheckKind.SAMPLE and db.session.scalar(
        sa.select(RecheckRound.id).where(RecheckRound.version_id == round_.version_id,
                                         RecheckRound.kind == RecheckKind.FULL).limit(1)) is not None


def corrected_count(version: ResultsVersion) -> int:
    """Entries of this version that a closed round found wrong (each counted once)."""
    return db.session.scalar(
        sa.select(sa.func.count(sa.distinct(RecheckItem.stage_entry_id)))
        .join(RecheckRound, RecheckRound.id == RecheckItem.round_id)
        .where(RecheckRound.version_id == version.id, RecheckRound.closed_at.is_not(None),
               RecheckItem.outcome == RecheckOutcome.CORRECTED)) or 0


def publication_blocker(version: ResultsVersion) -> str | None:
    """Why this version may not be published yet because of its re-check (None: it may)."""
    if not required(version.stage):
        return None
    if results_service.open_recheck(version) is not None:
        return _("A re-check of this version is still open.")
    closed = [r for r in rounds(version) if r.closed_at is not None]
    if not closed:
        return _("This version has not been re-checked yet: draw the re-check sample (复核) and "
                 "close it before publishing.")
    wrong = corrected_count(version)
    if wrong:
        return _("The re-check found %(n)d wrong scores in this version: correct them and "
                 "compute a new version, which is re-checked in turn.", n=wrong)
    return None
