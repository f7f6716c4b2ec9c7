"""The contestant portal (own entries) and the enterprise contact's view of its people."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, render_template
from flask_login import current_user

from app.extensions import db
from app.models import Contestant, Entry, Role
from app.security import roles_required

bp = Blueprint("portal", __name__)


@bp.route("/")
@roles_required(Role.CONTESTANT, Role.ENTERPRISE_CONTACT)
def home():
    """A contestant sees only their own entries; an enterprise contact only its enterprise's."""
    query = sa.select(Entry).order_by(Entry.contest_id.desc(), Entry.id)
    if current_user.role == Role.CONTESTANT:
        query = query.join(Contestant).where(Contestant.user_id == current_user.id)
    else:
        query = query.where(Entry.enterprise_id == current_user.enterprise_id)
    entries = db.session.scalars(query).all()
    return render_template("portal/home.html", entries=entries)
