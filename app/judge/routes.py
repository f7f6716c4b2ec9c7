"""The judges' workspace: workstations to mark, score sheets, the chief judge's panel review.

Judges see contestants only by workstation number; nothing here shows a name.
"""
from __future__ import annotations

import sqlalchemy as sa
from flask import flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import joinedload

from app.display import fixed_decimals
from app.errors import Refusal, abort_with, api_error
from app.extensions import db
from app.inputs import parse_version
from app.judge import bp
from app.judge.forms import ReturnSheetForm, SignOffForm, SubmitSheetForm
from app.models import Component, JudgeAssignment, PanelRole, Role, ScoreSheet, SheetStatus
from app.security import roles_required
from app.services import ServiceError, judging, score_sheets
from app.transaction import transaction_mode

JUDGES = (Role.JUDGE, Role.CHIEF_JUDGE)


@bp.route("/")
@roles_required(Role.JUDGE, Role.CHIEF_JUDGE, Role.ARBITRATOR)
def workspace():
    """Each panel the judge sits on, with the judge's workstations and their sheets' status."""
    assignments = db.session.scalars(
        sa.select(JudgeAssignment).where(JudgeAssignment.user_id == current_user.id)
        .order_by(JudgeAssignment.id)).all()
    panels = []
    for assignment in assignments:
        places = judging.judge_places(assignment)
        sheets = {s.stage_entry_id: s for s in db.session.scalars(sa.select(ScoreSheet).where(
            ScoreSheet.component_id == assignment.component_id,
            ScoreSheet.judge_id == current_user.id))}
        panels.append({"assignment": assignment, "component": assignment.component,
                       "places": [(p.workstation_number, sheets.get(p.id)) for p in places]})
    return render_template("judge/workspace.html", panels=panels)


def _component(component_id: int) -> Component:
    """The component, if the signed-in judge sits on its panel (the assignment is kept in
    ``g.assignment`` for the rest of the request)."""
    assignment = db.session.scalar(  # with its component and stage, in one query
        sa.select(JudgeAssignment).where(JudgeAssignment.component_id == component_id,
                                         JudgeAssignment.user_id == current_user.id)
        .options(joinedload(JudgeAssignment.component).joinedload(Component.stage)))
    component = assignment.component if assignment is not None else None
    if assignment is None:
        abort_with(404, _("You are not on the panel of this component."))
    g.assignment = assignment
    return component


def _sheet_or_404(component: Component, workstation: str, create: bool = False) -> ScoreSheet:
    try:
        return score_sheets.sheet_for(component, current_user, workstation, create=create)
    except ServiceError as error:
        abort_with(404, error.message)  # not on the judge's list: as if it did not exist


@bp.route("/components/<int:component_id>/sheets/<workstation>")
@roles_required(*JUDGES)
def sheet(component_id: int, workstation: str):
    component = _component(component_id)
    sheet = _sheet_or_404(component, workstation)
    current = score_sheets.state(sheet, component)
    items = score_sheets.marking_items(component)
    titles = {i.code: i.title for i in items}
    return render_template("judge/sheet.html", component=component, workstation=workstation,
                           sheet=sheet, state=current, items=items,
                           rules=score_sheets.mirror_rules(component),
                           missing=[score_sheets.field_label(code, titles)
                                    for code in current.problems],
                           maximum=fixed_decimals(component.maximum, component.stage.decimals),
                           submit_form=SubmitSheetForm(version=sheet.version if sheet else 0),
                           history=score_sheets.sheet_history(sheet) if sheet else [])


@bp.route("/components/<int:component_id>/sheets/<workstation>/save", methods=["POST"])
@roles_required(*JUDGES)
@transaction_mode(score_sheets.autosave_outside_a_transaction)
def save_sheet(component_id: int, workstation: str):
    """Autosave from the sheet page (JSON). A stale version answers 409; bad marks 422 with
    each item's reason (error.details); otherwise the new version and the points as they will
    be computed. Not on the panel: 404; a workstation not on the judge's list: 403. Refusals
    are answered by the one handler (app/errors.py); on PostgreSQL the save's statements commit
    by themselves (see score_sheets.autosave_outside_a_transaction)."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("values", {}), dict) \
            or not isinstance(body.get("reasons", {}), dict):
        return api_error(400, "malformed_body", _("The request body must be a JSON object."))
    values, reasons = body.get("values", {}), body.get("reasons", {})
    version = parse_version(body.get("version"))
    if version < 0:
        return api_error(400, "malformed_body", _("The request could not be understood."))
    try:
        saved = score_sheets.autosave(component_id, current_user, workstation, values, reasons,
                                      body.get("overrun_minutes"), version=version)
    except (TypeError, ValueError, OverflowError):
        return api_error(400, "malformed_body", _("The request body is not valid."))
    current = saved.state
    return jsonify(version=saved.version, points=str(current.points), complete=current.complete,
                   item_points={k: str(v) for k, v in current.item_points.items()},
                   problems=current.problems, status=SheetStatus(saved.status).value)


@bp.route("/components/<int:component_id>/sheets/<workstation>/submit", methods=["POST"])
@roles_required(*JUDGES)
def submit_sheet(component_id: int, workstation: str):
    component = _component(component_id)
    sheet = _sheet_or_404(component, workstation)
    form = SubmitSheetForm()
    if sheet is None or not form.validate_on_submit():
        flash(_("Mark the sheet before submitting it."), "warning")
        return redirect(url_for("judge.sheet", component_id=component.id, workstation=workstation))
    refusal = Refusal(fields=[*(i.code for i in score_sheets.marking_items(component)),
                              "overrun_minutes"])
    with refusal:
        current = score_sheets.submit(sheet, version=parse_version(form.version.data),
                                      actor=current_user)
        flash(_("Workstation %(n)s submitted: %(points)s points.", n=workstation,
                points=current.points), "success")
        return redirect(url_for("judge.workspace"))
    if refusal.errors:  # each message names its item; the sheet page marks them too
        flash(_("The sheet is not complete: %(items)s.", items="；".join(refusal.errors.values())),
              "danger")
    return redirect(url_for("judge.sheet", component_id=component.id, workstation=workstation))


# --- the chief judge -----------------------------------------------------------------------------

def _chief_component(component_id: int) -> Component:
    component = _component(component_id)
    if not judging.is_chief(component, current_user):
        abort_with(403, _("Only the chief judge of this component may open this page."))
    return component


@bp.route("/components/<int:component_id>/panel")
@roles_required(*JUDGES)
def panel(component_id: int):
    component = _chief_component(component_id)
    from app.labels import AGGREGATION

    return render_template("judge/panel.html", component=component,
                           review=judging.review(component), sign_off_form=SignOffForm(),
                           return_form=ReturnSheetForm(), aggregation_labels=AGGREGATION)


def _panel_sheet(component: Component, sheet_id: int) -> ScoreSheet:
    sheet = db.session.get(ScoreSheet, sheet_id)
    if sheet is None or sheet.component_id != component.id:
        abort_with(404, _("No such sheet."))
    return sheet


@bp.route("/components/<int:component_id>/panel/sheets/<int:sheet_id>", methods=["GET", "POST"])
@roles_required(*JUDGES)
def correct_sheet(component_id: int, sheet_id: int):
    """The chief judge looks at one judge's sheet and corrects marks with a required reason."""
    component = _chief_component(component_id)
    sheet = _panel_sheet(component, sheet_id)
    items = score_sheets.marking_items(component)
    refusal = Refusal(fields=[*(i.code for i in items), "reason"])  # shown on the page
    if request.method == "POST":
        values = {i.code: request.form.get(f"value-{i.code}", "") for i in items}
        reasons = {i.code: request.form.get(f"reason-{i.code}", "") for i in items}
        with refusal:
            score_sheets.save(sheet, values, reasons, request.form.get("overrun_minutes"),
                              version=parse_version(request.form.get("version")),
                              actor=current_user, reason=request.form.get("reason", ""))
            flash(_("The correction has been saved and recorded."), "success")
            return redirect(url_for("judge.panel", component_id=component.id))
    return render_template("judge/correct.html", component=component, sheet=sheet,
                           state=score_sheets.state(sheet, component), items=items,
                           errors=refusal.errors, history=score_sheets.sheet_history(sheet))


@bp.route("/components/<int:component_id>/panel/sheets/<int:sheet_id>/return", methods=["POST"])
@roles_required(*JUDGES)
def return_sheet(component_id: int, sheet_id: int):
    component = _chief_component(component_id)
    sheet = _panel_sheet(component, sheet_id)
    form = ReturnSheetForm()
    with Refusal():
        score_sheets.return_sheet(sheet, form.comment.data or "", actor=current_user)
        flash(_("The sheet has been returned to %(judge)s.", judge=sheet.judge.display_name),
              "success")
    return redirect(url_for("judge.panel", component_id=component.id))


@bp.route("/components/<int:component_id>/sign-off", methods=["POST"])
@roles_required(*JUDGES)
def sign_off(component_id: int):
    component = _chief_component(component_id)
    form = SignOffForm()
    with Refusal():
        n = judging.sign_off(component, actor=current_user,
                             acknowledged_flags=bool(form.acknowledge.data))
        flash(_("%(name)s signed off: %(n)d workstations frozen.", name=component.name, n=n),
              "success")
    return redirect(url_for("judge.panel", component_id=component.id))


@bp.route("/components/<int:component_id>/print")
@roles_required(*JUDGES)
def print_sheets(component_id: int):
    """Blank A4 score sheets, one per workstation, for venues that mark on paper first."""
    component = _component(component_id)
    assignment = judging.assignment_for(component, current_user)
    if assignment.panel_role == PanelRole.CHIEF_JUDGE:
        stations = [row["workstation"] for row in judging.review(component).rows]
    else:
        stations = [p.workstation_number for p in judging.judge_places(assignment)]
    from app.labels import ITEM_KIND

    return render_template("judge/print.html", component=component, stations=stations,
                           items=score_sheets.marking_items(component), item_kind_labels=ITEM_KIND)
