"""A judged component's charts and per-judge score sheets, for organisers and the component's
chief judge (and nobody else): the points' distribution, each judge's severity, and the
workbook of every judge's marks to print and sign."""
from __future__ import annotations

from flask import jsonify
from flask_babel import gettext as _
from flask_login import current_user

from app.errors import abort_with
from app.extensions import db
from app.judge import bp
from app.models import Component, Role, ScoreSource
from app.security import roles_required
from app.services import charts, judging


def _component_for_chief_or_organiser(component_id: int, *, judged: bool = False) -> Component:
    component = db.session.get(Component, component_id)
    if component is None or (judged and component.source != ScoreSource.JUDGES):
        abort_with(404, _("No such judged component."))
    if current_user.role != Role.ORGANISER and not judging.is_chief(component, current_user):
        abort_with(403, _("Only the chief judge of this component may open this page."))
    return component


@bp.route("/components/<int:component_id>/charts/<chart>.json")
@roles_required(Role.ORGANISER, Role.CHIEF_JUDGE)
def component_chart(component_id: int, chart: str):
    """The distribution of the component's points, or (judged components) judge severity."""
    if chart not in ("distribution", "severity"):
        abort_with(404, _("No such chart."))
    component = _component_for_chief_or_organiser(
        component_id, judged=chart == "severity" or current_user.role != Role.ORGANISER)
    if chart == "severity":
        return jsonify(charts.judge_severity(component))
    return jsonify(charts.component_distribution(component))


@bp.route("/components/<int:component_id>/judge-sheets.xlsx")
@roles_required(Role.ORGANISER, Role.CHIEF_JUDGE)
def export_judge_sheets(component_id: int):
    """Every judge's marks, a worksheet per judge; names only once decrypted (audited)."""
    from app.admin.exports import send_export
    from app.services.exports import EXPORTERS

    component = _component_for_chief_or_organiser(component_id, judged=True)
    path = EXPORTERS["judge_sheets"](component, reveal_names=judging.is_decrypted(component),
                                     actor=current_user)
    stage = component.stage
    return send_export(path, f"{stage.track.name}{stage.name}{component.name}裁判评分表.xlsx",
                       f"judge-sheets-{component.id}.xlsx")
