"""The contestant's appeals (申诉): file one on a component within its window, follow the rulings."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.errors import Refusal
from app.extensions import db
from app.inputs import parse_id
from app.models import Component, Role
from app.portal import bp
from app.portal.routes import _own_entry
from app.security import roles_required
from app.services import appeals


def _page(entry, errors=None, values=None):
    options = appeals.options(entry)
    components = {o.component.id: o.component for o in options}
    return render_template("portal/appeals.html", entry=entry, options=options,
                           open_options=[o for o in options
                                         if o.state == appeals.WindowState.OPEN],
                           mine=appeals.for_entry(entry), components=components,
                           errors=errors or {}, values=values or {})


@bp.route("/entries/<int:entry_id>/appeals", methods=["GET", "POST"])
@roles_required(Role.CONTESTANT)
def appeals_page(entry_id: int):
    """Only the contestant's own entry (others: 404); only their own appeals are listed."""
    entry = _own_entry(entry_id)
    if request.method == "POST":
        raw = request.form.get("component_id", "")
        component_id = parse_id(raw)
        component = db.session.get(Component, component_id) if component_id else None
        text = request.form.get("text", "")
        refusal = Refusal(fields=("component_id", "text"), default="component_id")
        with refusal:
            appeals.file_appeal(entry, component, text, actor=current_user)
            flash(_("Your appeal has been filed. The arbitration group will rule on it."),
                  "success")
            return redirect(url_for("portal.appeals_page", entry_id=entry.id))
        return _page(entry, refusal.errors, {"component_id": raw, "text": text})
    return _page(entry)
