"""The organisers' charts of a stage: distributions, judge severity, entries and advancers per
enterprise and city, and the ability profile. The page holds empty chart boxes; each box's
data comes from a JSON endpoint that checks the same role as the page."""
from __future__ import annotations

from flask import jsonify, render_template
from flask_babel import gettext as _

from app.admin import bp
from app.errors import abort_with
from app.extensions import db
from app.models import Role, ScoreSource, Stage
from app.security import roles_required
from app.services import charts

STAGE_CHARTS = {
    "distribution": charts.totals_distribution,
    "enterprises": lambda stage: charts.entries_and_advancers(stage, "enterprise"),
    "cities": lambda stage: charts.entries_and_advancers(stage, "city"),
    "abilities": charts.stage_ability_profile,
}


def _stage(stage_id: int) -> Stage:
    stage = db.session.get(Stage, stage_id)
    if stage is None:
        abort_with(404, _("No such stage."))
    return stage


@bp.route("/stages/<int:stage_id>/charts")
@roles_required(Role.ORGANISER)
def stage_charts(stage_id: int):
    stage = _stage(stage_id)
    judged = [c for c in stage.components if c.source == ScoreSource.JUDGES]
    return render_template("admin/stage_charts.html", stage=stage, judged=judged)


@bp.route("/stages/<int:stage_id>/charts/<chart>.json")
@roles_required(Role.ORGANISER)
def stage_chart(stage_id: int, chart: str):
    stage = _stage(stage_id)
    make = STAGE_CHARTS.get(chart)
    if make is None:
        abort_with(404, _("No such chart."))
    return jsonify(make(stage))
