"""Organiser console: judging — panels, the draw, signed-off scores and decryption."""
from __future__ import annotations

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import SelectField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from app.admin import bp
from app.admin.confirm import ask, confirmed
from app.errors import Refusal, abort_with
from app.extensions import db
from app.inputs import CheckedForm, parse_id
from app.models import (
    Component,
    Draw,
    JudgeAssignment,
    PanelRole,
    Role,
    ScoreSource,
    Sitting,
    Stage,
    StageEntry,
    User,
)
from app.security import roles_required
from app.services import confirmations, judging


class AssignJudgeForm(CheckedForm):
    user = SelectField(_l("Judge"), validators=[DataRequired()], choices=[])
    panel_role = SelectField(_l("Duty"), choices=[SelectChoice("judge", _l("Judge")),
                                                  SelectChoice("chief_judge", _l("Chief judge"))])
    sitting = SelectField(_l("Sitting"), choices=[], validators=[Optional()])
    workstations = StringField(_l("Workstations (blank: all; or e.g. 101, 102, 103)"),
                               validators=[Optional(), Length(max=2000)])
    submit = SubmitField(_l("Add to the panel"))


class DrawForm(CheckedForm):
    seed = StringField(_l("Seed (blank: a random one, recorded)"),
                       validators=[Optional(), Length(max=64)])
    submit = SubmitField(_l("Draw and seal"))


class DecryptForm(CheckedForm):
    witness = StringField(_l("Witness"), validators=[DataRequired(), Length(max=100)])
    submit = SubmitField(_l("Reveal names"))


def _component(component_id: int) -> Component:
    component = db.session.get(Component, component_id)
    if component is None:
        abort_with(404, _("No such component."))
    return component


@bp.route("/judging")
@roles_required(Role.ORGANISER)
def judging_overview():
    """Every stage with judged or imported components: draw, panels, sheets, sign-off."""
    return render_template("admin/judging.html", rows=judging.overview())


@bp.route("/components/<int:component_id>/panel", methods=["GET", "POST"])
@roles_required(Role.ORGANISER)
def component_panel(component_id: int):
    component = _component(component_id)
    form = AssignJudgeForm()
    judges = db.session.scalars(sa.select(User).where(
        User.role.in_([Role.JUDGE, Role.CHIEF_JUDGE]), User.active.is_(True))
        .order_by(User.username)).all()
    form.user.choices = [SelectChoice("", "—")] + [
        SelectChoice(str(u.id), f"{u.display_name}（{u.username}）"
                     + (f" · {u.enterprise.name}" if u.enterprise else "")) for u in judges]
    form.sitting.choices = [SelectChoice("", _("All sittings"))] + [
        SelectChoice(str(s.id), s.name) for s in component.stage.sittings]
    if form.validate_on_submit():
        sitting = db.session.get(Sitting, parse_id(form.sitting.data)) if parse_id(form.sitting.data) else None
        stations = [w for w in (form.workstations.data or "").replace("，", ",").replace("、", ",")
                    .replace(" ", ",").split(",") if w]
        with Refusal(form, default="user"):
            judging.assign_judge(component, db.session.get(User, parse_id(form.user.data) or 0),
                                 panel_role=PanelRole(form.panel_role.data), sitting=sitting,
                                 workstations=stations, actor=current_user)
            flash(_("The judge has been added to the panel."), "success")
            return redirect(url_for("admin.component_panel", component_id=component.id))
    members = [{"assignment": a, "excluded": judging.conflict_exclusions(a),
                "places": len(judging.judge_places(a))} for a in judging.panel(component)]
    return render_template("admin/panel.html", component=component, form=form, members=members,
                           can_assign=component.source == ScoreSource.JUDGES)


@bp.route("/components/<int:component_id>/panel/<int:assignment_id>/remove", methods=["POST"])
@roles_required(Role.ORGANISER)
def remove_panel_member(component_id: int, assignment_id: int):
    component = _component(component_id)
    assignment = db.session.get(JudgeAssignment, assignment_id)
    if assignment is None or assignment.component_id != component.id:
        abort_with(404, _("No such panel member."))
    with Refusal():
        judging.remove_judge(assignment, actor=current_user)
        flash(_("Removed from the panel."), "success")
    return redirect(url_for("admin.component_panel", component_id=component.id))


@bp.route("/stages/<int:stage_id>/draw", methods=["GET", "POST"])
@roles_required(Role.ORGANISER)
def stage_draw(stage_id: int):
    """The draw: exam number → check-in number → workstation number, seeded and sealed."""
    stage = db.session.get(Stage, stage_id)
    if stage is None:
        abort_with(404, _("No such stage."))
    form = DrawForm()
    if form.validate_on_submit():
        with Refusal(form, default="seed"):
            judging.draw(stage, seed=form.seed.data or None, actor=current_user)
            flash(_("The draw is done and sealed."), "success")
            return redirect(url_for("admin.stage_draw", stage_id=stage.id))
    draws = db.session.scalars(sa.select(Draw).where(Draw.stage_id == stage.id)).all()
    places = db.session.scalars(sa.select(StageEntry).where(StageEntry.stage_id == stage.id)
                                .order_by(StageEntry.sitting_id, StageEntry.workstation_number,
                                          StageEntry.id)).all()
    return render_template("admin/draw.html", stage=stage, form=form, draws=draws, places=places,
                           sitting_names={s.id: s.name for s in stage.sittings})


@bp.route("/components/<int:component_id>/scores", methods=["GET", "POST"])
@roles_required(Role.ORGANISER)
def component_scores(component_id: int):
    """Signed-off points by workstation; names only after decryption with a witness."""
    component = _component(component_id)
    form = DecryptForm()
    if request.method == "POST" and form.validate_on_submit():
        with Refusal(form, default="witness"):
            confirmation = confirmations.decrypt(component, form.witness.data)
            if not confirmed(confirmation):
                return ask(confirmation, carry={"witness": form.witness.data},
                           cancel=url_for("admin.component_scores", component_id=component.id))
            judging.decrypt(component, witness=form.witness.data, actor=current_user)
            flash(_("Names revealed; the decryption is recorded."), "success")
            return redirect(url_for("admin.component_scores", component_id=component.id))
    return render_template("admin/component_scores.html", component=component, form=form,
                           rows=judging.component_scores(component),
                           decrypted=judging.is_decrypted(component))
