"""Organiser downloads: the advancement list as unions publish it and a stage's audit log.

The sheets themselves are made in app/services/exports.py; these views check access and send
the file, which is deleted once sent.
"""
from __future__ import annotations

from pathlib import Path

from flask_babel import gettext as _
from flask_login import current_user

from app.admin import bp
from app.downloads import send_download
from app.errors import abort_with
from app.extensions import db
from app.models import AdvancementList, Role, Stage
from app.security import roles_required
from app.services.exports import EXPORTERS


def send_export(path: Path, download_name: str, fallback: str):
    """Send a finished export under its Chinese name and delete its temporary file once sent."""
    return send_download(path, download_name, fallback=fallback, delete=True)


@bp.route("/lists/<int:list_id>/export")
@roles_required(Role.ORGANISER)
def export_advancement_list(list_id: int):
    """The list's advancers for printing and publishing (公示名单, A4 portrait); audited."""
    listing = db.session.get(AdvancementList, list_id)
    if listing is None:
        abort_with(404, _("No such advancement list."))
    path = EXPORTERS["advancement"](listing, actor=current_user)
    stage = listing.stage
    return send_export(path, f"{stage.track.name}{stage.name}晋级名单.xlsx",
                       f"advancement-list-{listing.id}.xlsx")


@bp.route("/stages/<int:stage_id>/audit.xlsx")
@roles_required(Role.ORGANISER)
def export_stage_audit(stage_id: int):
    """Everything recorded about one stage, in order; audited."""
    stage = db.session.get(Stage, stage_id)
    if stage is None:
        abort_with(404, _("No such stage."))
    path = EXPORTERS["stage_audit"](stage, actor=current_user)
    return send_export(path, f"{stage.track.name}{stage.name}审计日志.xlsx",
                       f"audit-stage-{stage.id}.xlsx")
