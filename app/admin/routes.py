"""The organiser console: dashboard, contests, accounts, audit log."""
from __future__ import annotations

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import joinedload

from app.admin import bp
from app.admin.forms import ROLE_LABELS, UserForm
from app.errors import Refusal, abort_with
from app.extensions import db
from app.inputs import parse_id, refuse_form
from app.models import AuditLog, Contest, Enterprise, Role, User
from app.security import SESSION_KEY, roles_required
from app.services import accounts
from app.services import dashboard as dashboard_service

PAGE_SIZE = 50


@bp.route("/")
@roles_required(Role.ORGANISER)
def dashboard():
    """Per track of the chosen contest, its entries by review status."""
    contests = dashboard_service.contests()
    selected = _selected_contest(contests)
    rows = dashboard_service.entries_by_status(selected) if selected else []
    return render_template("admin/dashboard.html", contests=contests, contest=selected, rows=rows)


def _selected_contest(contests: list[Contest]) -> Contest | None:
    wanted = request.args.get("contest")
    for contest in contests:
        if contest.code == wanted:
            return contest
    return contests[0] if contests else None


@bp.route("/users")
@roles_required(Role.ORGANISER)
def users():
    role = request.args.get("role")
    query = sa.select(User).order_by(User.role, User.username)
    if role in {r.value for r in Role}:
        query = query.where(User.role == Role(role))
    page = db.paginate(query.options(joinedload(User.enterprise)), per_page=PAGE_SIZE,
                       error_out=False)
    sessions = accounts.open_sessions([user.id for user in page.items])
    return render_template("admin/users.html", page=page, role=role, role_labels=ROLE_LABELS,
                           sessions=sessions)


@bp.route("/users/<int:user_id>/sign-out", methods=["POST"])
@roles_required(Role.ORGANISER)
def sign_out_user(user_id: int):
    """Sign an account out on every device: each of its sessions ends at its next request."""
    user = db.session.get(User, user_id)
    if user is None:
        abort_with(404, _("No such account."))
    ended = accounts.sign_out_everywhere(user, actor=current_user)
    flash(_("%(name)s has been signed out on every device (%(n)d sessions ended).",
            name=user.username, n=ended), "success")
    return redirect(url_for("admin.users", role=request.args.get("role") or None))


def _enterprise(value: str | None) -> Enterprise | None:
    enterprise_id = parse_id(value)
    return db.session.get(Enterprise, enterprise_id) if enterprise_id else None


@bp.route("/users/new", methods=["GET", "POST"])
@roles_required(Role.ORGANISER)
def new_user():
    form = UserForm()
    if form.validate_on_submit():
        if not form.password.data:
            form.password.errors.append(_("A new account needs a password."))
            refuse_form(form)
        else:
            with Refusal(form, default="username"):
                accounts.create_user(
                    form.username.data, form.display_name.data, Role(form.role.data),
                    form.password.data, enterprise=_enterprise(form.enterprise_id.data),
                    phone=form.phone.data or None, actor=current_user)
                flash(_("Account %(name)s created.", name=form.username.data), "success")
                return redirect(url_for("admin.users"))
    return render_template("admin/user_form.html", form=form, user=None)


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@roles_required(Role.ORGANISER)
def edit_user(user_id: int):
    user = db.session.get(User, user_id)
    if user is None:
        abort_with(404, _("No such account."))
    form = UserForm(obj=user)
    form.username.render_kw = {"readonly": True}
    if request.method == "GET":
        form.role.data = user.role.value
        form.enterprise_id.data = str(user.enterprise_id or "")
    if form.validate_on_submit():
        with Refusal(form, default="display_name"):
            accounts.update_user(
                user, display_name=form.display_name.data, role=Role(form.role.data),
                active=form.active.data, enterprise=_enterprise(form.enterprise_id.data),
                phone=form.phone.data or None, actor=current_user)
            if form.password.data:  # a reset: every session of the account ends
                accounts.set_password(user, form.password.data, actor=current_user,
                                      keep_session=session.get(SESSION_KEY)
                                      if user.id == current_user.id else None)
            flash(_("Account %(name)s saved.", name=user.username), "success")
            return redirect(url_for("admin.users"))
    return render_template("admin/user_form.html", form=form, user=user)


@bp.route("/audit")
@roles_required(Role.ORGANISER)
def audit_log():
    """The log, newest first, in words; filtered by a category (its actions' prefixes) or by
    one action, both chosen by their Chinese names."""
    from app.labels import AUDIT_ACTIONS, AUDIT_CATEGORIES
    from app.services import audit

    query = sa.select(AuditLog).order_by(AuditLog.id.desc())
    category = request.args.get("category", "").strip()
    action = request.args.get("action", "").strip()
    if category in AUDIT_CATEGORIES:
        query = query.where(sa.or_(*(AuditLog.action.startswith(f"{prefix}.")
                                     for prefix in audit.category_prefixes(category))))
    else:
        category = ""
    if action:
        query = query.where(AuditLog.action == action)
    page = db.paginate(query, per_page=PAGE_SIZE, error_out=False)
    rows = [(row, audit.action_name(row.action), audit.object_name(row.object_type),
             audit.readable_changes(row.before, row.after)) for row in page.items]
    categories = [(key, str(label)) for key, (label, _prefixes) in AUDIT_CATEGORIES.items()]
    actions = sorted(((code, str(name)) for code, name in AUDIT_ACTIONS.items()),
                     key=lambda pair: pair[1])
    return render_template("admin/audit.html", page=page, rows=rows, action=action,
                           category=category, categories=categories, actions=actions)
