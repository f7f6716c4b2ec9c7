"""Organiser console: sheets into the system — upload, dry-run report, import or cancel, the
error report; registration sheets into a track, marking schemes into a component."""
from __future__ import annotations

from pathlib import PurePath

import sqlalchemy as sa
from flask import (
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from app.admin import bp
from app.admin.import_forms import DecisionForm, RegistrationUploadForm, SchemeUploadForm
from app.downloads import send_download
from app.errors import Refusal, abort_with
from app.extensions import db
from app.models import Component, ImportBatch, ImportKind, ImportStatus, Role, Stage, Track, User
from app.security import roles_required
from app.services import audit, result_import
from app.services import imports as import_service
from app.services.marking_scheme_io import MarkingSchemeImporter, export_name, export_scheme
from app.services.registration_import import RegistrationImporter

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ERRORS_SHOWN = 500


def _status_label(status: ImportStatus) -> str:
    return {
        ImportStatus.CHECKING: _("Checking"),
        ImportStatus.DRY_RUN: _("Checked, waiting for a decision"),
        ImportStatus.IMPORTED: _("Imported"),
        ImportStatus.REJECTED: _("Cancelled"),
        ImportStatus.FAILED: _("Failed"),
        ImportStatus.SUPERSEDED: _("Superseded"),
    }[status]


def _upload(storage) -> import_service.Upload:
    name = PurePath((storage.filename or "upload").replace("\\", "/")).name.strip() or "upload"
    return import_service.Upload(name[:255], storage.read())


def _get_batch(batch_id: int) -> ImportBatch:
    batch = db.session.get(ImportBatch, batch_id)
    if batch is None:
        abort_with(404, _("No such import."))
    return batch


def _target(batch: ImportBatch) -> tuple[str, str | None]:
    """What the batch imports into, as words and a link."""
    if batch.kind == ImportKind.REGISTRATIONS:
        track = db.session.get(Track, batch.target_id)
        if track is not None:
            return (f"{track.contest.name} · {track.name}",
                    url_for("admin.entries", track=track.id))
    elif batch.kind in (ImportKind.THEORY, ImportKind.DIGITAL_TWIN):
        component = db.session.get(Component, batch.target_id)
        if component is not None:
            stage = component.stage
            return (f"{stage.track.name} · {stage.name} · {component.name}",
                    url_for("admin.component_results", component_id=component.id))
    elif batch.kind == ImportKind.APP_PARTICIPANTS:
        stage = db.session.get(Stage, batch.target_id)
        if stage is not None:
            return (f"{stage.track.name} · {stage.name}",
                    url_for("admin.preliminary_app", stage_id=stage.id))
    elif batch.kind in (ImportKind.APP_LEARNING, ImportKind.APP_THEORY):
        component = db.session.get(Component, batch.target_id)
        if component is not None:
            stage = component.stage
            return (f"{stage.track.name} · {stage.name} · {component.name}",
                    url_for("admin.preliminary_app", stage_id=stage.id))
    elif batch.kind == ImportKind.ANSWER_KEY:
        component = db.session.get(Component, batch.target_id)
        if component is not None:
            stage = component.stage
            return (f"{stage.track.name} · {stage.name} · {component.name}",
                    url_for("admin.exam_quality_page", component_id=component.id))
    elif batch.kind == ImportKind.MARKING_SCHEME:
        component = db.session.get(Component, batch.target_id)
        if component is not None:
            stage = component.stage
            return (f"{stage.track.name} · {stage.name} · {component.name}",
                    url_for("admin.marking_scheme", component_id=component.id))
    return (_("(no longer in the system)"), None)  # its track or component was deleted


def _after_check(outcome: import_service.Outcome):
    """Where an upload's check leads: the batch page (its progress while it runs)."""
    if outcome.already_imported:
        for notice in outcome.report.notices:
            flash(notice, "info")
    response = redirect(url_for("admin.import_batch", batch_id=outcome.batch.id))
    if outcome.pending:
        app = current_app._get_current_object()
        batch_id = outcome.batch.id
        # After the response is sent, the request's transaction has committed the batch.
        response.call_on_close(lambda: import_service.start_background_check(app, batch_id))
    return response


@bp.route("/imports", methods=["GET", "POST"])
@roles_required(Role.ORGANISER)
def imports():
    """Upload a registration sheet into a track; recent imports."""
    form = RegistrationUploadForm()
    if form.validate_on_submit():
        track = db.session.get(Track, int(form.track.data))
        upload = _upload(form.file.data)
        large = len(upload.content) > current_app.config["IMPORT_BACKGROUND_BYTES"]
        with Refusal(form, default="file"):
            outcome = import_service.console_check(
                RegistrationImporter(track, current_user), upload, current_user,
                in_background=large)
            return _after_check(outcome)
    recent = db.session.scalars(sa.select(ImportBatch).order_by(ImportBatch.id.desc())
                                .limit(30)).all()
    users = {u.id: u for u in db.session.scalars(sa.select(User).where(
        User.id.in_({b.user_id for b in recent if b.user_id})))}
    return render_template("admin/imports.html", form=form, recent=recent, users=users,
                           targets={b.id: _target(b) for b in recent},
                           status_label=_status_label)


@bp.route("/imports/<int:batch_id>")
@roles_required(Role.ORGANISER)
def import_batch(batch_id: int):
    """A check's report: counts, notices, every bad row; import the good rows or cancel."""
    batch = _get_batch(batch_id)
    if batch.kind in result_import.RESULT_KINDS:  # changes need confirming
        return redirect(url_for("admin.result_import_batch", batch_id=batch.id))
    report = batch.report or {}
    errors = report.get("errors", [])
    user = db.session.get(User, batch.user_id) if batch.user_id else None
    return render_template(
        "admin/import_batch.html", batch=batch, report=report, errors=errors[:ERRORS_SHOWN],
        more_errors=max(0, len(errors) - ERRORS_SHOWN), target=_target(batch), user=user,
        state=import_service.progress_state(batch), status_label=_status_label,
        decision=DecisionForm(), importable=report.get("importable", batch.valid_rows))


@bp.route("/imports/<int:batch_id>/progress")
@roles_required(Role.ORGANISER)
def import_progress(batch_id: int):
    """The background check's progress, polled by the batch page (static/js/import-progress.js);
    kept on the batch row, so any worker process answers."""
    return jsonify(import_service.progress_state(_get_batch(batch_id)))


@bp.route("/imports/<int:batch_id>/import", methods=["POST"])
@roles_required(Role.ORGANISER)
def confirm_import(batch_id: int):
    """Import the good rows of a checked upload (checked once more first)."""
    batch = _get_batch(batch_id)
    if not DecisionForm().validate_on_submit():
        abort_with(400, _("The form has expired; please try again."))
    if batch.kind in result_import.RESULT_KINDS:
        # Results files have their own decision (changed scores must be confirmed).
        return redirect(url_for("admin.result_import_batch", batch_id=batch.id))
    with Refusal() as refusal:
        outcome = import_service.import_stored(batch, current_user)
    if refusal.refused:
        return redirect(url_for("admin.import_batch", batch_id=batch_id))
    if outcome.already_imported:
        for notice in outcome.report.notices:
            flash(notice, "info")
    else:
        flash(_("%(n)d rows imported.", n=outcome.report.imported), "success")
    return redirect(url_for("admin.import_batch", batch_id=outcome.batch.id))


@bp.route("/imports/<int:batch_id>/cancel", methods=["POST"])
@roles_required(Role.ORGANISER)
def cancel_import(batch_id: int):
    """Import nothing from this upload."""
    batch = _get_batch(batch_id)
    if not DecisionForm().validate_on_submit():
        abort_with(400, _("The form has expired; please try again."))
    with Refusal() as refusal:
        import_service.cancel_stored(batch, current_user)
    if refusal.refused:
        return redirect(url_for("admin.import_batch", batch_id=batch_id))
    flash(_("Nothing was imported from %(file)s.", file=batch.file_name), "info")
    return redirect(url_for("admin.imports"))


@bp.route("/imports/<int:batch_id>/errors.xlsx")
@roles_required(Role.ORGANISER)
def import_error_report(batch_id: int):
    """The bad rows as they were, with a 错误原因 column, for the enterprise to correct and
    send again. It holds full ID numbers, so who downloaded it is recorded."""
    batch = _get_batch(batch_id)
    if not (batch.report or {}).get("errors"):
        abort_with(404, _("This import has no bad rows."))
    audit.record("import.error_report", batch,
                 f"下载导入错误报告 {batch.file_name}（{len(batch.report['errors'])} 处错误）")
    return send_download(import_service.error_report(batch.report),
                         import_service.error_report_name(batch), fallback="import-errors.xlsx")


# ---------------------------------------------------------------------------------------------
# Marking schemes (buttons on the scheme page, admin/marking_scheme.html)


def _component(component_id: int) -> Component:
    component = db.session.get(Component, component_id)
    if component is None:
        abort_with(404, _("No such component."))
    return component


@bp.route("/components/<int:component_id>/scheme.xlsx")
@roles_required(Role.ORGANISER)
def export_marking_scheme(component_id: int):
    """The scheme as .xlsx in the layout the import reads (an empty one is the template)."""
    component = _component(component_id)
    return send_download(export_scheme(component), export_name(component),
                         fallback="marking-scheme.xlsx")


@bp.route("/components/<int:component_id>/scheme/import", methods=["GET", "POST"])
@roles_required(Role.ORGANISER)
def import_marking_scheme(component_id: int):
    """Upload a scheme sheet: checked first; it replaces the scheme only when every row is
    right and the component has no scores yet."""
    component = _component(component_id)
    form = SchemeUploadForm()
    if form.validate_on_submit():
        with Refusal(form, default="file"):
            outcome = import_service.console_check(
                MarkingSchemeImporter(component, current_user), _upload(form.file.data),
                current_user, in_background=False)
            return _after_check(outcome)
    return render_template("admin/import_scheme.html", form=form, component=component,
                           stage=component.stage)
