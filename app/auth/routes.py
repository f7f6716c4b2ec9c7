"""Sign-in, sign-out, own password and own API tokens."""
from __future__ import annotations

from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_user, logout_user

from app.auth.forms import LoginForm, PasswordForm, SignUpForm, TokenForm
from app.errors import abort_with
from app.extensions import db, limiter
from app.models import ApiToken, Role
from app.security import PASSWORD_CHANGE_FIRST, home_for, roles_required
from app.services import ServiceError, accounts, audit

bp = Blueprint("auth", __name__)


def safe_next(target: str | None) -> str | None:
    """Only same-site relative paths are followed after sign-in (no open redirect)."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _address_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT_PER_ADDRESS"]


def _address_and_username() -> str:
    username = (request.form.get("username") or "").strip().lower()
    return f"{get_remote_address()}|{username}"


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"], key_func=_address_and_username)
@limiter.limit(_address_limit, methods=["POST"])
def login():
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    form = LoginForm()
    if form.validate_on_submit():
        user = accounts.authenticate(form.username.data, form.password.data)
        if user is None:
            form.password.errors.append(_("Wrong username or password."))
            return render_template("auth/login.html", form=form), 401
        session.permanent = True  # the session then expires after PERMANENT_SESSION_LIFETIME
        login_user(user)
        audit.record("user.login", user, f"{user.username} 登录", actor=user)
        if user.must_change_password:
            # Kept in the signed session, so the guard costs no query on later requests.
            session[PASSWORD_CHANGE_FIRST] = True
            flash(_("This is your first sign-in with the initial password: choose your own "
                    "password now."), "warning")
            return redirect(url_for("auth.change_password"))
        session.pop(PASSWORD_CHANGE_FIRST, None)
        return redirect(safe_next(request.args.get("next")) or home_for(user))
    return render_template("auth/login.html", form=form)


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(_address_limit, methods=["POST"])
def register():
    """A contestant creates an account, then fills in the entry form."""
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    form = SignUpForm()
    if form.validate_on_submit():
        try:
            user = accounts.create_user(form.username.data, form.display_name.data,
                                        Role.CONTESTANT, form.password.data,
                                        phone=form.phone.data)
        except ServiceError as error:
            getattr(form, error.field or "username").errors.append(error.message)
        else:
            session.permanent = True
            login_user(user)
            flash(_("Your account has been created. Now fill in your entry."), "success")
            return redirect(url_for("portal.new_entry"))
    return render_template("auth/register.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout():
    logout_user()
    session.pop(PASSWORD_CHANGE_FIRST, None)
    flash(_("You have signed out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@roles_required()
def change_password():
    form = PasswordForm()
    if form.validate_on_submit():
        if not current_user.check_password(form.current_password.data):
            form.current_password.errors.append(_("The current password is wrong."))
        else:
            try:
                accounts.set_password(current_user, form.password.data, actor=current_user)
            except ServiceError as error:
                form.password.errors.append(error.message)
            else:
                session.pop(PASSWORD_CHANGE_FIRST, None)
                flash(_("Your password has been changed."), "success")
                return redirect(home_for(current_user))
    return render_template("auth/password.html", form=form,
                           forced=session.get(PASSWORD_CHANGE_FIRST, False))


@bp.route("/account/tokens", methods=["GET", "POST"])
@roles_required()
def tokens():
    form = TokenForm()
    new_secret = None
    if form.validate_on_submit():
        try:
            _token, new_secret = accounts.issue_token(current_user, form.name.data)
        except ServiceError as error:
            form.name.errors.append(error.message)
        else:
            form = TokenForm(formdata=None)
    own = db.session.scalars(sa.select(ApiToken).where(ApiToken.user_id == current_user.id)
                             .order_by(ApiToken.id.desc())).all()
    return render_template("auth/tokens.html", form=form, tokens=own, new_secret=new_secret)


@bp.route("/account/tokens/<int:token_id>/revoke", methods=["POST"])
@roles_required()
def revoke_token(token_id: int):
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != current_user.id:
        abort_with(404, _("No such token."))
    accounts.revoke_token(token, actor=current_user)
    flash(_("The token has been revoked."), "info")
    return redirect(url_for("auth.tokens"))
