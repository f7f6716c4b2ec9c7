"""A judged component's score corrected after sign-off, on an upheld appeal or a re-check
finding: the chief judge of the component corrects the judges' sheets of one workstation;
organisers and the arbitration group open the same page to follow it (names only once the
component is decrypted, and never for judges)."""
from __future__ import annotations

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.errors import Refusal, abort_with
from app.extensions import db
from app.inputs import parse_version
from app.judge import bp
from app.models import Component, ComponentScore, Role, ScoreSource, StageEntry, User
from app.security import roles_required
from app.services import judging, score_corrections, score_sheets

VIEWERS = (Role.CHIEF_JUDGE, Role.ORGANISER, Role.ARBITRATOR)


def _component_and_place(component_id: int, workstation: str) -> tuple[Component, StageEntry]:
    component = db.session.get(Component, component_id)
    if component is None or component.source != ScoreSource.JUDGES:
        abort_with(404, _("No such judged component."))
    if current_user.role == Role.CHIEF_JUDGE and not judging.is_chief(component, current_user):
        abort_with(403, _("Only the chief judge of this component may open this page."))
    place = score_corrections.place_at(component, workstation)
    if place is None:
        abort_with(404, _("No such workstation."))
    return component, place


def _page(component: Component, place: StageEntry, *, errors: dict | None = None,
          typed: dict | None = None, chosen: str | None = None, reason: str = ""):
    sheets = score_corrections.sheets_of(component, place)
    judges = {u.id: u for u in db.session.scalars(
        sa.select(User).where(User.id.in_([s.judge_id for s in sheets])))} if sheets else {}
    score = db.session.scalar(sa.select(ComponentScore).where(
        ComponentScore.component_id == component.id, ComponentScore.stage_entry_id == place.id))
    grounds = score_corrections.grounds_for(component, place) \
        if component.signed_off_at is not None else []
    corrections = [(c, score_corrections.carried_by(c), db.session.get(User, c.corrected_by_id))
                   for c in score_corrections.for_place(component, place)]
    is_chief = judging.is_chief(component, current_user)
    return render_template(
        "judge/score_correction.html", component=component, place=place,
        sheets=[(s, judges.get(s.judge_id), score_sheets.state(s, component)) for s in sheets],
        items=score_sheets.marking_items(component), score=score, grounds=grounds,
        chosen=chosen if chosen is not None else request.args.get("ground", ""),
        corrections=corrections, awaiting=any(version is None for _c, version, _by in corrections),
        can_correct=is_chief and component.signed_off_at is not None,
        reveal=current_user.role != Role.CHIEF_JUDGE and judging.is_decrypted(component),
        errors=errors or {}, typed=typed or {}, reason=reason,
        history=[row for s in sheets for row in score_sheets.sheet_history(s)
                 if row.action == "mark.correct_after_signoff"])


@bp.route("/components/<int:component_id>/corrections/<workstation>")
@roles_required(*VIEWERS)
def score_correction(component_id: int, workstation: str):
    """One workstation's judges' sheets of a signed-off component, the grounds on which they
    may be corrected, and the corrections made."""
    component, place = _component_and_place(component_id, workstation)
    return _page(component, place)


@bp.route("/components/<int:component_id>/corrections/<workstation>", methods=["POST"])
@roles_required(Role.CHIEF_JUDGE)
def save_score_correction(component_id: int, workstation: str):
    component, place = _component_and_place(component_id, workstation)
    items = score_sheets.marking_items(component)
    changes, typed = {}, {}
    shown = {"ground", "reason", "marks"}  # where the page shows a message; others are flashed
    for sheet in score_corrections.sheets_of(component, place):
        shown |= {f"{sheet.id}:{i.code}" for i in items} | {f"{sheet.id}:overrun_minutes"}
        values = {i.code: request.form.get(f"value-{sheet.id}-{i.code}", "") for i in items}
        reasons = {i.code: request.form.get(f"reason-{sheet.id}-{i.code}", "") for i in items
                   if i.kind.value == "disqualifying"}
        overrun = request.form.get(f"overrun-{sheet.id}")
        version = request.form.get(f"version-{sheet.id}", "")
        changes[sheet.id] = score_corrections.SheetChange(
            parse_version(version), values, reasons, overrun)
        typed[sheet.id] = {"values": values, "reasons": reasons, "overrun": overrun}
    key, reason = request.form.get("ground", ""), request.form.get("reason", "")
    refusal = Refusal(fields=shown)
    with refusal:
        correction = score_corrections.correct(
            component, place, score_corrections.parse_ground(key), changes, reason,
            actor=current_user)
    if refusal.refused:
        return _page(component, place, errors=refusal.errors, typed=typed, chosen=key,
                     reason=reason)
    decimals = component.stage.decimals
    from app.display import fixed_decimals

    flash(_("Correction recorded: %(name)s, workstation %(n)s, %(before)s → %(after)s points. "
            "The organisers now compute a new results version%(appeal)s; it is re-checked "
            "before it is published.", name=component.name, n=place.workstation_number,
            before=fixed_decimals(correction.points_before, decimals) or "—",
            after=fixed_decimals(correction.points_after, decimals) or "—",
            appeal=_(" naming appeal #%(id)d", id=correction.appeal_id)
            if correction.appeal_id else ""), "success")
    return redirect(url_for("judge.score_correction", component_id=component.id,
                            workstation=place.workstation_number))


# --- what other pages show about corrections -------------------------------------------------------

@bp.app_template_global("correction_worklist")
def correction_worklist(component: Component) -> list[score_corrections.Work]:
    """The chief judge's grounds to act on after sign-off (the panel page lists them)."""
    return score_corrections.worklist(component)


@bp.app_template_global("correctable_components")
def correctable_components(stage) -> list[Component]:
    """The stage's judged components that have been signed off: their scores are corrected
    on the correction page, the others through their usual path."""
    return [c for c in stage.components
            if c.source == ScoreSource.JUDGES and c.signed_off_at is not None]


@bp.app_template_global("corrections_on")
def corrections_on(appeal_ids=(), recheck_item_ids=()) -> dict:
    """Corrections made on these appeals and re-check findings: {("appeal", id): [...],
    ("recheck", id): [...]}."""
    out = {("appeal", k): v for k, v in score_corrections.by_appeal(list(appeal_ids)).items()}
    out.update({("recheck", k): v for k, v in
                score_corrections.by_recheck_item(list(recheck_item_ids)).items()})
    return out
