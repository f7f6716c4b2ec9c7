"""Organiser console: theory and simulator results files into an imported component — upload,
dry-run report with the changes to stored scores, import (confirming changes) or cancel, the
error report; and the push token a simulator uses for one component."""
from __future__ import annotations

import sqlalchemy as sa
from flask import current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.admin import bp
from app.admin.import_forms import DecisionForm, ResultDecisionForm, ResultUploadForm
from app.admin.imports import _after_check, _get_batch, _status_label, _upload
from app.errors import Refusal, abort_with
from app.extensions import db
from app.models import Component, ImportStatus, Role, ScoreSource, User
from app.security import roles_required
from app.services import accounts, result_import
from app.services import imports as import_service

ERRORS_SHOWN = 500


def _component(component_id: int) -> Component:
    component = db.session.get(Component, component_id)
    if component is None:
        abort_with(404, _("No such component."))
    return component


def _component_page(component: Component, form: ResultUploadForm, new_secret: str | None = None):
    batches = result_import.result_batches(component)
    users = {u.id: u for u in db.session.scalars(sa.select(User).where(
        User.id.in_({b.user_id for b in batches if b.user_id})))}
    return render_template(
        "admin/component_results.html", component=component, stage=component.stage,
        importable=component.source == ScoreSource.IMPORT, form=form, batches=batches,
        maximum=result_import.number_text(component.maximum),
        users=users, status_label=_status_label, scored=result_import.scored_count(component),
        people=result_import.stage_people(component), scope=result_import.push_scope(component),
        token_form=DecisionForm(), new_secret=new_secret)


@bp.route("/components/<int:component_id>/results", methods=["GET", "POST"])
@roles_required(Role.ORGANISER)
def component_results(component_id: int):
    """An imported component's results: upload a file (checked first), earlier files, the
    simulator's push token."""
    component = _component(component_id)
    form = ResultUploadForm()
    if component.source == ScoreSource.IMPORT and form.validate_on_submit():
        upload = _upload(form.file.data)
        large = len(upload.content) > current_app.config["IMPORT_BACKGROUND_BYTES"]
        with Refusal(form, default="file"):
            outcome = import_service.console_check(
                result_import.result_importer(component, current_user), upload, current_user,
                in_background=large)
            return _after_check(outcome)
    return _component_page(component, form)


@bp.route("/components/<int:component_id>/push-token", methods=["POST"])
@roles_required(Role.ORGANISER)
def component_push_token(component_id: int):
    """A bearer token (shown once) that lets a simulator push this component's results and do
    nothing else."""
    component = _component(component_id)
    if not DecisionForm().validate_on_submit():
        abort_with(400, _("The form has expired; please try again."))
    if component.source != ScoreSource.IMPORT:
        abort_with(404, _("This component's scores come from the judges."))
    _token, secret = accounts.issue_token(
        current_user, _("Push results: %(name)s", name=component.name)[:100],
        scope=result_import.push_scope(component), actor=current_user)
    return _component_page(component, ResultUploadForm(formdata=None), new_secret=secret)


@bp.route("/results-imports/<int:batch_id>")
@roles_required(Role.ORGANISER)
def result_import_batch(batch_id: int):
    """A results file's check: counts, notices, the changes to stored scores (old → new), every
    bad row; import (confirming changes) or cancel."""
    batch = _get_batch(batch_id)
    if batch.kind not in result_import.RESULT_KINDS:
        return redirect(url_for("admin.import_batch", batch_id=batch.id))
    component = db.session.get(Component, batch.target_id)
    if component is None:
        abort_with(404, _("No such component."))
    report = batch.report or {}
    errors = report.get("errors", [])
    user = db.session.get(User, batch.user_id) if batch.user_id else None
    return render_template(
        "admin/result_import.html", batch=batch, report=report, errors=errors[:ERRORS_SHOWN],
        more_errors=max(0, len(errors) - ERRORS_SHOWN), component=component,
        stage=component.stage, user=user, state=import_service.progress_state(batch),
        status_label=_status_label, decision=DecisionForm(), confirm_form=ResultDecisionForm(),
        changes=report.get("changes", []))


@bp.route("/results-imports/<int:batch_id>/import", methods=["POST"])
@roles_required(Role.ORGANISER)
def confirm_result_import(batch_id: int):
    """Import a checked results file (checked once more first); changes need the box ticked."""
    batch = _get_batch(batch_id)
    form = ResultDecisionForm()
    if not form.validate_on_submit():
        abort_with(400, _("The form has expired; please try again."))
    with Refusal() as refusal:
        outcome = result_import.import_checked(batch, current_user,
                                               confirm_changes=bool(form.confirm_changes.data))
    if refusal.refused:
        return redirect(url_for("admin.result_import_batch", batch_id=batch_id))
    if outcome.already_imported:
        for notice in outcome.report.notices:
            flash(notice, "info")
    elif result_import.needs_confirmation(outcome):
        flash(_("Nothing was imported: tick the box to confirm the changes to stored scores."),
              "warning")
    elif outcome.batch.status == ImportStatus.IMPORTED:
        flash(_("%(n)d results imported.", n=outcome.report.imported), "success")
    else:
        flash(_("Nothing was imported: the file has bad rows."), "danger")
    return redirect(url_for("admin.result_import_batch", batch_id=outcome.batch.id))
