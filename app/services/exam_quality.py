"""Theory exam quality: the item analysis of a theory component's answer sheets, and correcting
a question's key or voiding a question -- first as a preview of whose score, rank and
advancement would change, then, confirmed, as changed scores (audited) and a new results
version carrying the reason.

The answer sheets are the answers kept with each imported theory score (details["answers"]);
marking and statistics are scoring/'s (scoring.item_analysis)."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

import pandas as pd
import sqlalchemy as sa
from flask_babel import gettext as _

import scoring as sc
from app.extensions import db
from app.models import (
    Component,
    ComponentKind,
    ComponentScore,
    ExamQuestion,
    ResultsVersion,
    StageEntry,
    StageEntryStatus,
    User,
)
from app.services import ServiceError, audit
from app.services.result_import import number_text

#: What a key change does to one question: a new key (its text), or VOID.
VOID = object()


@dataclass(frozen=True)
class AnswerSheets:
    stage_entry_ids: list[int]
    answers: pd.DataFrame  # one row per sheet, one column per question number


def _questions(component: Component) -> list[ExamQuestion]:
    if component.kind != ComponentKind.THEORY:
        raise ServiceError(_("Only a theory exam has an item analysis."), code="not_found")
    questions = list(component.questions)
    if not questions:
        raise ServiceError(_("%(name)s has no answer key yet.", name=component.name),
                           code="conflict")
    return questions


def answer_sheets(component: Component) -> AnswerSheets:
    """The kept answers of the component's contestants still in the stage (withdrawn ones take
    no part), one row each, by stage entry."""
    rows = db.session.execute(
        sa.select(ComponentScore.stage_entry_id, ComponentScore.details)
        .join(StageEntry, StageEntry.id == ComponentScore.stage_entry_id)
        .where(ComponentScore.component_id == component.id,
               StageEntry.status != StageEntryStatus.WITHDRAWN)
        .order_by(ComponentScore.stage_entry_id)).all()
    ids, records = [], []
    for entry_id, details in rows:
        answers = (details or {}).get("answers")
        if isinstance(answers, dict):
            ids.append(entry_id)
            records.append(answers)
    frame = pd.DataFrame.from_records(records) if records else pd.DataFrame()
    frame.columns = [int(c) for c in frame.columns]
    return AnswerSheets(ids, frame)


def _rules(questions: list[ExamQuestion], changes: Mapping[int, object] | None = None
           ) -> list[sc.ExamQuestion]:
    rules = []
    for question in questions:
        rule = question.rule()
        change = (changes or {}).get(question.number)
        try:
            if change is VOID:
                rule = sc.ExamQuestion(rule.number, rule.kind, rule.answer_key, rule.points,
                                       rule.partial_credit, voided=True)
            elif change is not None:
                rule = sc.ExamQuestion(rule.number, rule.kind, str(change), rule.points,
                                       rule.partial_credit)
        except sc.ScoringError as error:
            raise ServiceError(str(error), field=f"key_{question.number}") from None
        rules.append(rule)
    return rules


def _marked(questions, sheets: AnswerSheets, changes=None) -> sc.MarkedSheets:
    answers = sheets.answers.reindex(columns=[q.number for q in questions])
    try:
        return sc.mark_answer_matrix(_rules(questions, changes), answers)
    except sc.ScoringError as error:
        raise ServiceError(str(error)) from None


@dataclass(frozen=True)
class Report:
    component: Component
    analysis: sc.ItemAnalysis
    questions: list[ExamQuestion]

    def chart(self) -> dict:
        """Facility (x) against discrimination index (y), a point per question, flagged
        questions as a series of their own; numbers as decimal strings rounded to 2 places."""
        def point(item):
            return {"name": item.label, "x": percent_of(item.facility),
                    "y": rounded(item.discrimination)}

        plotted = [i for i in self.analysis.items
                   if i.facility is not None and i.discrimination is not None]
        return {
            "type": "scatter",
            "title": _("Facility and discrimination of each question"),
            "x_label": _("Facility (%)"), "y_label": _("Discrimination index (%)"),
            "x_max": 100, "y_min": -100, "y_max": 100,
            "series": [
                {"name": _("Questions"), "points": [point(i) for i in plotted if not i.flag]},
                {"name": _("Flagged questions"), "color": "#dc3545",
                 "points": [point(i) for i in plotted if i.flag]},
            ],
            "note": _("Questions that everyone answered alike have no discrimination and are "
                      "not drawn.") if len(plotted) < len(self.analysis.items) else "",
        }


def rounded(value: float | None, places: int = 2) -> str | None:
    """A statistic as shown: rounded half-up to ``places`` decimals (None stays None)."""
    if value is None or value != value:
        return None
    return str(Decimal(repr(value)).quantize(Decimal(1).scaleb(-places), "ROUND_HALF_UP"))


def percent_of(fraction: float | None) -> str | None:
    """A fraction (0–1) as a percentage rounded half-up to two decimals."""
    return None if fraction is None else rounded(100 * fraction)


def item_analysis(component: Component) -> Report:
    """The item analysis of the component's answer sheets, by question and by ability."""
    questions = _questions(component)
    sheets = answer_sheets(component)
    if not sheets.stage_entry_ids:
        raise ServiceError(_("No answer sheets of %(name)s have been imported: the analysis "
                             "needs each contestant's answers.", name=component.name),
                           code="conflict")
    abilities = {q.number: q.ability.name for q in questions if q.ability is not None}
    return Report(component, sc.analyse_items(_marked(questions, sheets), abilities), questions)


def parse_changes(component: Component, form: Mapping[str, str]) -> dict[int, object]:
    """The key changes a form asks for: ``key_<n>`` a new key for question n (blank: no
    change), ``void_<n>`` set to void it. Nothing asked raises."""
    changes: dict[int, object] = {}
    for question in _questions(component):
        if form.get(f"void_{question.number}"):
            if not question.voided:
                changes[question.number] = VOID
            continue
        key = (form.get(f"key_{question.number}") or "").strip()
        if key and key != question.answer_key:
            changes[question.number] = key
    if not changes:
        raise ServiceError(_("Give a new key or void a question first."), field="_form")
    _rules(list(component.questions), changes)  # a key the question cannot take is refused
    return changes


@dataclass(frozen=True)
class ScoreChange:
    stage_entry_id: int
    before: Decimal | None
    after: Decimal


@dataclass(frozen=True)
class KeyChangePreview:
    component: Component
    changes: dict[int, object]
    scores: list[ScoreChange]  # contestants whose theory points change
    standings: list  # whatif.Change: rank / advancement changes on the stage
    note_before: str | None
    note_after: str | None

    def describe(self) -> str:
        """The change in words, for the version's reason and the audit log."""
        parts = []
        for number, change in sorted(self.changes.items()):
            if change is VOID:
                parts.append(_("question %(n)d voided", n=number))
            else:
                parts.append(_("question %(n)d key changed to %(key)s", n=number, key=change))
        return "；".join(parts)


def preview_key_change(component: Component, changes: Mapping[int, object]) -> KeyChangePreview:
    """Whose theory points, rank and advancement would change if the key changed so: every
    kept answer sheet re-marked, the stage's results computed from the stored scores with the
    re-marked points in place of the current ones. Writes nothing."""
    from app.services import whatif
    from app.services.results import readiness, stage_inputs

    questions = _questions(component)
    sheets = answer_sheets(component)
    if not sheets.stage_entry_ids:
        raise ServiceError(_("No answer sheets of %(name)s have been imported: the analysis "
                             "needs each contestant's answers.", name=component.name),
                           code="conflict")
    after = dict(zip(sheets.stage_entry_ids, _marked(questions, sheets, changes).totals(),
                     strict=True))
    current = dict(db.session.execute(
        sa.select(ComponentScore.stage_entry_id, ComponentScore.points)
        .where(ComponentScore.component_id == component.id)).all())
    scores = [ScoreChange(e, current.get(e), points) for e, points in after.items()
              if current.get(e) != points]

    stage = component.stage
    standings, note_before, note_after = [], None, None
    if not readiness(stage):
        inputs = stage_inputs(stage)
        points = inputs.points.copy()
        points["points"] = points["points"].astype(object)
        mine = points["component"] == component.code
        new_points = points.loc[mine, "entry_id"].map(lambda e: after.get(int(e)))
        points.loc[mine, "points"] = [
            new if new is not None else old
            for new, old in zip(new_points.tolist(), points.loc[mine, "points"].tolist(),
                                strict=True)]
        settings = whatif.Settings.of(stage)
        try:
            before_table = sc.compute_results(inputs.rule, inputs.points, inputs.entries)
            after_table = sc.compute_results(inputs.rule, points,
                                             inputs.entries)
            before, note_before = whatif._standings(before_table, settings)
            after_frame, note_after = whatif._standings(after_table, settings)
        except sc.ScoringError as error:
            raise ServiceError(str(error)) from None
        standings = whatif._compare(before, after_frame)
    return KeyChangePreview(component, dict(changes), scores, standings, note_before,
                            note_after)


def apply_key_change(component: Component, changes: Mapping[int, object], *, reason: str,
                     actor: User) -> ResultsVersion | None:
    """Correct the key (or void the questions), re-mark every kept answer sheet, store the
    changed points (each audited), and compute a new draft results version whose reason names
    the change and the organiser's reason. Returns the version, or None when the stage cannot
    be computed yet (its scores are changed all the same)."""
    from app.services import results

    reason = (reason or "").strip()
    if not reason:
        raise ServiceError(_("Give the reason for the change."), field="reason")
    preview = preview_key_change(component, changes)
    described = preview.describe()
    for question in component.questions:
        change = changes.get(question.number)
        if change is None:
            continue
        before = audit.snapshot(question, ("answer_key", "voided"))
        if change is VOID:
            question.voided = True
        else:
            question.answer_key = str(change)
        audit.record("exam.key_change", question,
                     _("%(component)s question %(n)d: %(change)s", component=component.name,
                       n=question.number, change=described),
                     before=before, after=audit.snapshot(question, ("answer_key", "voided")),
                     reason=reason, actor=actor, stage_id=component.stage_id)
    questions = list(component.questions)
    rules = {q.number: q.rule() for q in questions}
    by_entry = {s.stage_entry_id: s for s in preview.scores}
    if by_entry:
        rows = db.session.scalars(sa.select(ComponentScore).where(
            ComponentScore.component_id == component.id,
            ComponentScore.stage_entry_id.in_(list(by_entry))))
        for score in rows:
            change = by_entry[score.stage_entry_id]
            details = dict(score.details or {})
            answers = details.get("answers") or {}
            details["question_points"] = {
                str(n): number_text(sc.mark_answer(rule, answers.get(str(n))))
                for n, rule in rules.items()}
            score.details = details
            score.points = change.after
            audit.record("score.remark", score,
                         _("%(component)s re-marked after a key change", component=component.name),
                         before={"points": audit.json_safe(change.before)},
                         after={"points": audit.json_safe(change.after)},
                         reason=reason, actor=actor, stage_id=component.stage_id)
    db.session.flush()
    if results.readiness(component.stage):
        return None
    return results.create_version(component.stage, actor=actor,
                                  reason=f"{described}（{reason}）")


def entry_names(preview: KeyChangePreview, limit: int = 200) -> dict[int, StageEntry]:
    """The stage entries a preview lists (its first ``limit`` score and standing changes),
    with their contestants and enterprises loaded in one query."""
    from sqlalchemy.orm import joinedload

    from app.models import Entry

    wanted = {s.stage_entry_id for s in preview.scores[:limit]} | {
        c.entry_id for c in preview.standings[:limit]}
    if not wanted:
        return {}
    return {p.id: p for p in db.session.scalars(
        sa.select(StageEntry).where(StageEntry.id.in_(wanted))
        .options(joinedload(StageEntry.entry).joinedload(Entry.contestant),
                 joinedload(StageEntry.entry).joinedload(Entry.enterprise)))}
