"""The contestant's appeals (申诉): file one on a component within its window, follow the rulings."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.extensions import db
from app.inputs import parse_id
from app.models import Component, Role
from app.portal.routes import _own_entry, bp
from app.security import roles_required
from app.services import FieldErrors, ServiceError, appeals


def _page(entry, errors=None, values=None, status=200):
    options = appeals.options(entry)
    components = {o.component.id: o.component for o in options}
    return render_template("portal/appeals.html", entry=entry, options=options,
                           open_options=[o for o in options
                                         if o.state == appeals.WindowState.OPEN],
                           mine=appeals.for_entry(entry), components=components,
                           errors=errors or {}, values=values or {}), status


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
        try:
            appeals.file_appeal(entry, component, text, actor=current_user)
        except FieldErrors as error:
            db.session.rollback()
            return _page(entry, error.errors, {"component_id": raw, "text": text}, 422)
        except ServiceError as error:
            db.session.rollback()
            return _page(entry, {error.field or "component_id": error.message},
                         {"component_id": raw, "text": text}, 422)
        flash(_("Your appeal has been filed. The arbitration group will rule on it."), "success")
        return redirect(url_for("portal.appeals_page", entry_id=entry.id))
    return _page(entry)
