"""The supervision and arbitration group's (监督仲裁组) appeal pages: open appeals per stage and the
ruling. Arbitrators rule; organisers may look (and see which upheld appeals await a version)."""
from __future__ import annotations

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.errors import Refusal, abort_with
from app.extensions import db
from app.judge import bp
from app.models import Appeal, Component, ComponentScore, Role, RulingStatus, Stage, StageEntry
from app.security import roles_required
from app.services import appeals, results

VIEWERS = (Role.ARBITRATOR, Role.ORGANISER)
FILTERS = ("open", "upheld", "dismissed", "all")


@bp.route("/appeals")
@roles_required(*VIEWERS)
def appeals_overview():
    return render_template("judge/appeals.html", rows=appeals.counts_by_stage())


def _stage_page(stage: Stage, errors: dict | None = None, values: dict | None = None):
    show = request.args.get("status", "open")
    show = show if show in FILTERS else "open"
    listed = appeals.for_stage(stage, None if show == "all" else RulingStatus(show))
    place_ids = {a.stage_entry_id for a in listed}
    places = {p.id: p for p in db.session.scalars(sa.select(StageEntry).where(
        StageEntry.id.in_(place_ids)))} if place_ids else {}
    stored = {(s.stage_entry_id, s.component_id): s for s in db.session.scalars(
        sa.select(ComponentScore).where(ComponentScore.stage_entry_id.in_(place_ids)))} \
        if place_ids else {}
    return render_template(
        "judge/stage_appeals.html", stage=stage, appeals=listed, places=places, stored=stored,
        components={c.id: c for c in stage.components}, show=show,
        reveal=results.names_revealed(stage), errors=errors or {}, values=values or {},
        can_rule=current_user.role == Role.ARBITRATOR)


@bp.route("/stages/<int:stage_id>/appeals")
@roles_required(*VIEWERS)
def stage_appeals(stage_id: int):
    stage = db.session.get(Stage, stage_id)
    if stage is None:
        abort_with(404, _("No such stage."))
    return _stage_page(stage)


@bp.route("/appeals/<int:appeal_id>/ruling", methods=["POST"])
@roles_required(Role.ARBITRATOR)
def rule_appeal(appeal_id: int):
    appeal = db.session.get(Appeal, appeal_id)
    if appeal is None:
        abort_with(404, _("No such appeal."))
    stage = db.session.get(Component, appeal.component_id).stage
    decision, ruling = request.form.get("decision"), request.form.get("ruling", "")
    refusal = Refusal(fields=("decision", "ruling"))  # shown on the appeal's row
    with refusal:
        appeals.rule_on(appeal, decision=decision, ruling=ruling, actor=current_user)
        flash(_("Ruling recorded.") + (" " + _("The organisers correct the score and compute a "
                                               "new results version naming this appeal.")
                                       if appeal.status == RulingStatus.UPHELD else ""), "success")
    if refusal.errors:
        return _stage_page(stage, {appeal.id: refusal.errors},
                           {appeal.id: {"decision": decision, "ruling": ruling}})
    return redirect(url_for("judge.stage_appeals", stage_id=stage.id))


@bp.app_template_global("appeals_awaiting")
def appeals_awaiting(stage: Stage) -> list[Appeal]:
    """Upheld appeals of the stage no version carries yet (the version form lists them)."""
    return appeals.awaiting_version(stage)
