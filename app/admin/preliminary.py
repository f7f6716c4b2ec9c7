"""Organiser console: an online preliminary from the union app -- the stage's learning-points
rule (versioned, points counted again under a new version after a confirmation), uploading the app's participant list, learning records and theory results
(checked first, through the import pipeline's batch pages), and each person's learning points
with the rule version they were computed with."""
from __future__ import annotations

from flask import current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import FieldList, FormField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional

from app.admin import bp
from app.admin.confirm import ask, confirmed
from app.admin.contest_forms import RowForm
from app.admin.import_forms import SHEET_MESSAGE, SHEET_TYPES, DecisionForm
from app.admin.imports import _after_check, _status_label, _upload
from app.errors import Refusal, abort_with
from app.extensions import db
from app.inputs import CheckedForm
from app.models import ImportKind, Role, Stage, StageKind
from app.security import roles_required
from app.services import imports as import_service
from app.services import preliminary_import as prelim

EXPORTS = {ImportKind.APP_PARTICIPANTS.value: _l("Participant list"),
           ImportKind.APP_LEARNING.value: _l("Learning records or points"),
           ImportKind.APP_THEORY.value: _l("Theory results")}


class AppUploadForm(CheckedForm):
    export = SelectField(_l("Export of the app"), choices=[
        SelectChoice(key, label) for key, label in EXPORTS.items()])
    file = FileField(_l("File"), validators=[
        FileRequired(_l("Choose the file to upload.")), FileAllowed(SHEET_TYPES, SHEET_MESSAGE)])
    submit = SubmitField(_l("Check the file"))


class TaskKindForm(RowForm):
    name = StringField(_l("Task kind"), validators=[Optional(), Length(max=40)])
    counts = SelectField(_l("Counts"), validate_choice=False, default="time", choices=[
        SelectChoice("time", _l("By time")),
                                                SelectChoice("quiz", _l("By quiz score"))])
    minutes_per_step = StringField(_l("Minutes per step"), validators=[Length(max=20)])
    points_per_step = StringField(_l("Points per step"), validators=[Length(max=20)])
    full_marks = StringField(_l("Full marks"), validators=[Length(max=20)])
    points_on_full_marks = StringField(_l("Points on full marks"), validators=[Length(max=20)])
    points_per_attempt = StringField(_l("Points below full marks"), validators=[Length(max=20)])
    daily_cap = StringField(_l("Daily cap of the kind"), validators=[Length(max=20)])


class LearningRuleForm(CheckedForm):
    kinds = FieldList(FormField(TaskKindForm), min_entries=4, max_entries=8)
    min_minutes = StringField(_l("Minimum minutes of a view"), validators=[Length(max=20)])
    daily_cap = StringField(_l("Daily cap over all kinds"), validators=[Length(max=20)])
    total_cap = StringField(_l("Total cap (empty: the component's maximum)"),
                            validators=[Length(max=20)])
    note = TextAreaField(_l("Why this version"), validators=[Length(max=500)])
    submit = SubmitField(_l("Save as a new version"))

    def rule(self) -> dict:
        """The rule as the service takes it; empty cells are absent values."""
        def value(raw):
            return (raw or "").strip() or None

        kinds = []
        for entry in self.kinds:
            row = entry.form
            if not value(row.name.data):
                continue
            kind = {"name": value(row.name.data), "daily_cap": value(row.daily_cap.data)}
            if row.counts.data == "quiz":
                kind.update(full_marks=value(row.full_marks.data),
                            points_on_full_marks=value(row.points_on_full_marks.data) or "0",
                            points_per_attempt=value(row.points_per_attempt.data) or "0")
            else:
                kind.update(minutes_per_step=value(row.minutes_per_step.data),
                            points_per_step=value(row.points_per_step.data) or "0")
            kinds.append(kind)
        return {"kinds": kinds, "min_minutes": value(self.min_minutes.data) or "0",
                "daily_cap": value(self.daily_cap.data), "total_cap": value(self.total_cap.data)}

    def fill(self, stored: dict) -> None:
        for entry, kind in zip(self.kinds, stored.get("kinds", []), strict=False):
            row = entry.form
            row.name.data = kind["name"]
            row.counts.data = "quiz" if kind.get("full_marks") else "time"
            for key in ("minutes_per_step", "points_per_step", "full_marks",
                        "points_on_full_marks", "points_per_attempt", "daily_cap"):
                getattr(row, key).data = kind.get(key) or ""
        self.min_minutes.data = stored.get("min_minutes") or ""
        self.daily_cap.data = stored.get("daily_cap") or ""
        self.total_cap.data = stored.get("total_cap") or ""


def _stage(stage_id: int) -> Stage:
    stage = db.session.get(Stage, stage_id)
    if stage is None:
        abort_with(404, _("No such stage."))
    if stage.kind != StageKind.PRELIMINARY:
        abort_with(404, _("The app's exports are imported into a preliminary stage only."))
    return stage


@bp.route("/stages/<int:stage_id>/app", methods=["GET", "POST"])
@roles_required(Role.ORGANISER)
def preliminary_app(stage_id: int):
    """The preliminary from the app: the rule in force, upload an export (checked first, then
    imported from its batch page), earlier files, each person's learning points."""
    stage = _stage(stage_id)
    form = AppUploadForm()
    if form.validate_on_submit():
        upload = _upload(form.file.data)
        # A learning export of 200,000 rows is checked in the background, as every large file.
        large = len(upload.content) > current_app.config["IMPORT_BACKGROUND_BYTES"]
        with Refusal(form, default="file"):
            outcome = import_service.console_check(
                prelim.app_importer(stage, form.export.data, current_user), upload,
                current_user, in_background=large)
            return _after_check(outcome)
    learning = prelim.learning_component(stage)
    rule = prelim.current_rule(stage)
    return render_template(
        "admin/preliminary_app.html", stage=stage, form=form, rule=rule,
        versions=prelim.rule_versions(stage), learning=learning,
        lines=prelim.learning_lines(learning) if learning is not None else [],
        batches=prelim.app_batches(stage), status_label=_status_label, exports=EXPORTS,
        stale=prelim.stale_learning_count(stage), decision=DecisionForm())


@bp.route("/stages/<int:stage_id>/learning-rule", methods=["GET", "POST"])
@roles_required(Role.ORGANISER)
def learning_rule(stage_id: int):
    """Edit the stage's learning-points rule: saving makes a new version; points already
    computed keep theirs."""
    stage = _stage(stage_id)
    form = LearningRuleForm()
    held = prelim.current_rule(stage)
    if form.validate_on_submit():
        with Refusal(form, fields=("rule",)) as refusal:
            version = prelim.save_rule(stage, form.rule(), current_user, note=form.note.data)
            if held is not None and version.id == held.id:
                flash(_("The rule is the same as version %(n)d; no new version was made.",
                        n=version.version), "info")
            else:
                flash(_("Version %(n)d of the learning-points rule saved.", n=version.version),
                      "success")
            return redirect(url_for("admin.preliminary_app", stage_id=stage.id))
        return render_template("admin/learning_rule.html", stage=stage, form=form, held=held,
                               errors=refusal.errors)
    if held is not None and not form.is_submitted():
        form.fill(held.rule)
    return render_template("admin/learning_rule.html", stage=stage, form=form, held=held,
                           errors={})


@bp.route("/stages/<int:stage_id>/learning/recount", methods=["POST"])
@roles_required(Role.ORGANISER)
def learning_recount(stage_id: int):
    """Count again, under the rule in force, the learning points an earlier version computed
    (after a confirmation listing whose points change)."""
    stage = _stage(stage_id)
    if not DecisionForm().validate_on_submit():
        abort_with(400, _("The form has expired; please try again."))
    confirmation = prelim.recount_confirmation(stage)
    if not confirmed(confirmation):
        return ask(confirmation, cancel=url_for("admin.preliminary_app", stage_id=stage.id))
    with Refusal():
        counted = prelim.recount_learning(stage, current_user)
        flash(_("The learning points of %(n)d people were counted again with the rule in "
                "force.", n=counted), "success")
    return redirect(url_for("admin.preliminary_app", stage_id=stage.id))
