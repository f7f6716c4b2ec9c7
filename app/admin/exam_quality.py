"""Theory exam quality pages: the item analysis of a theory component, its chart, and a key
correction or voided question -- previewed first, applied only when confirmed with a reason."""
from __future__ import annotations

from flask import flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.admin import bp
from app.admin.import_forms import AnswerKeyUploadForm
from app.admin.imports import _after_check, _upload
from app.downloads import send_download
from app.errors import Refusal, abort_with, refusal_status
from app.extensions import db
from app.models import Component, Role
from app.security import roles_required
from app.services import ServiceError, exam_quality
from app.services import imports as import_service
from app.services.answer_key_io import AnswerKeyImporter, export_key, export_name
from app.transaction import refuse
from scoring.item_analysis import LOW_DISCRIMINATION


class _Stats:
    """How the page writes the statistics: two decimals half-up, a dash when undefined."""

    low = LOW_DISCRIMINATION

    @staticmethod
    def number(value: float | None) -> str:
        return exam_quality.rounded(value) or "—"

    @staticmethod
    def percent(fraction: float | None) -> str:
        text = exam_quality.percent_of(fraction)
        return f"{text}%" if text is not None else "—"

    @staticmethod
    def percent_value(value: float | None) -> str:
        text = exam_quality.rounded(value)
        return f"{text}%" if text is not None else "—"

    @staticmethod
    def question_list(numbers) -> str:
        return _("questions %(numbers)s", numbers="、".join(str(n) for n in numbers))


def _component(component_id: int) -> Component:
    component = db.session.get(Component, component_id)
    if component is None:
        abort_with(404, _("No such component."))
    return component


def _report(component: Component):
    try:
        return exam_quality.item_analysis(component), None
    except ServiceError as error:
        if error.code == "not_found":
            abort_with(404, error.message)
        return None, error.message


@bp.route("/components/<int:component_id>/exam-quality")
@roles_required(Role.ORGANISER)
def exam_quality_page(component_id: int):
    component = _component(component_id)
    report, problem = _report(component)
    return render_template("admin/exam_quality.html", component=component, report=report,
                           problem=problem, errors={}, values={}, stats=_Stats)


@bp.route("/components/<int:component_id>/exam-quality/chart.json")
@roles_required(Role.ORGANISER)
def exam_quality_chart(component_id: int):
    component = _component(component_id)
    report, problem = _report(component)
    if report is None:
        return jsonify({"type": "scatter", "title": _("Facility and discrimination of each "
                                                      "question"),
                        "series": [], "note": problem})
    return jsonify(report.chart())


@bp.route("/components/<int:component_id>/exam-quality/key", methods=["POST"])
@roles_required(Role.ORGANISER)
def exam_key_change(component_id: int):
    """First press: the preview of whose score, rank and advancement change. Second press
    (``confirm``, with the reason): the change is applied and a new results version made."""
    component = _component(component_id)
    report, problem = _report(component)
    values = request.form.to_dict()
    try:
        changes = exam_quality.parse_changes(component, request.form)
        if request.form.get("confirm") != "yes":
            preview = exam_quality.preview_key_change(component, changes)
            return render_template("admin/exam_key_preview.html", component=component,
                                   preview=preview, values=values,
                                   names=exam_quality.entry_names(preview))
        version = exam_quality.apply_key_change(component, changes,
                                                reason=request.form.get("reason", ""),
                                                actor=current_user)
    except ServiceError as error:
        refuse(refusal_status(error))  # nothing of the change stays
        if request.form.get("confirm") == "yes" and error.field == "reason":
            preview = exam_quality.preview_key_change(component, changes)
            return render_template("admin/exam_key_preview.html", component=component,
                                   preview=preview, values=values, reason_error=error.message,
                                   names=exam_quality.entry_names(preview)), 422
        return render_template("admin/exam_quality.html", component=component, report=report,
                               problem=problem, values=values, stats=_Stats,
                               errors={error.field or "_form": error.message}), 422
    if version is None:
        flash(_("The key was changed and the scores re-marked; compute the results when the "
                "stage is ready."), "success")
        return redirect(url_for("admin.exam_quality_page", component_id=component.id))
    flash(_("The key was changed, the scores re-marked, and version %(n)d computed as a draft.",
            n=version.number), "success")
    return redirect(url_for("admin.results_version", version_id=version.id))


@bp.route("/components/<int:component_id>/answer-key.xlsx")
@roles_required(Role.ORGANISER)
def export_answer_key(component_id: int):
    """The answer key as .xlsx in the layout the import reads (an empty one is the template)."""
    component = _component(component_id)
    return send_download(export_key(component), export_name(component), fallback="answer-key.xlsx")


@bp.route("/components/<int:component_id>/answer-key/import", methods=["GET", "POST"])
@roles_required(Role.ORGANISER)
def import_answer_key(component_id: int):
    """Upload an answer key: checked first; it replaces the key only when every row is right
    and the component has no scores yet."""
    component = _component(component_id)
    form = AnswerKeyUploadForm()
    if form.validate_on_submit():
        with Refusal(form, default="file"):
            outcome = import_service.console_check(
                AnswerKeyImporter(component, current_user), _upload(form.file.data),
                current_user, in_background=False)
            return _after_check(outcome)
    return render_template("admin/import_answer_key.html", form=form, component=component,
                           stage=component.stage)
