"""Pages anyone may open: the landing page, the language switch, the health check."""
from __future__ import annotations

import sqlalchemy as sa
from flask import (
    Blueprint,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user

from app.auth.routes import safe_next
from app.extensions import db
from app.models import Contest
from app.security import home_for

bp = Blueprint("public", __name__)


@bp.route("/")
def index():
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    contests = db.session.scalars(
        sa.select(Contest).where(Contest.is_template.is_(False)).order_by(Contest.year.desc())).all()
    return render_template("public/index.html", contests=contests)


@bp.route("/lang/<code>")
def set_language(code: str):
    """Switch the interface language for this browser session (and remember it on the account)."""
    if code in current_app.config["LANGUAGES"]:
        session["lang"] = code
        if current_user.is_authenticated:
            current_user.locale = code
    return redirect(safe_next(request.args.get("next")) or url_for("public.index"))


@bp.route("/notices")
def notices():
    """Advancement lists under public notice (公示) or final: open to everyone."""
    from app.models import AdvancementList, ListStatus

    lists = db.session.scalars(sa.select(AdvancementList).where(
        AdvancementList.status.in_([ListStatus.NOTICE, ListStatus.FINAL]))
        .order_by(AdvancementList.id.desc())).all()
    return render_template("public/notices.html", lists=lists)


@bp.route("/notices/<int:list_id>")
def notice(list_id: int):
    """One list as published: names and enterprises (never ID numbers), the notice period and
    how to object; prints on A4."""
    from flask_babel import gettext as _

    from app.errors import abort_with
    from app.services import results

    published = results.notice(list_id)
    if published is None:
        abort_with(404, _("No such list under public notice."))
    return render_template("public/notice.html", listing=published.listing,
                           rows=published.lines, removed=published.removed)


@bp.route("/healthz")
def health():
    db.session.execute(sa.text("SELECT 1"))
    return jsonify(status="ok")
