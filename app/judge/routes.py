"""The judges' workspace: the panels a judge sits on."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, render_template
from flask_login import current_user

from app.extensions import db
from app.models import JudgeAssignment, Role
from app.security import roles_required

bp = Blueprint("judge", __name__)


@bp.route("/")
@roles_required(Role.JUDGE, Role.CHIEF_JUDGE, Role.ARBITRATOR)
def workspace():
    assignments = db.session.scalars(
        sa.select(JudgeAssignment).where(JudgeAssignment.user_id == current_user.id)
        .order_by(JudgeAssignment.id)).all()
    return render_template("judge/workspace.html", assignments=assignments)
