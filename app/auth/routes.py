"""Sign-in, sign-out, own password and own API tokens."""
from __future__ import annotations

from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import (
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from app.auth import bp
from app.auth.forms import LoginForm, PasswordForm, SignUpForm, TokenForm
from app.display import display_datetime
from app.errors import Refusal, abort_with
from app.extensions import db, limiter
from app.inputs import refuse_form
from app.models import ApiToken, Role, User
from app.security import PASSWORD_CHANGE_FIRST, SESSION_KEY, home_for, roles_required
from app.services import accounts, audit, sign_in
from app.transaction import commit_despite_refusal


def safe_next(target: str | None) -> str | None:
    """Only same-site relative paths are followed after sign-in (no open redirect)."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def _address_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT_PER_ADDRESS"]


def _sign_in_limits() -> sign_in.SignInLimits:
    return sign_in.SignInLimits.parse(current_app.config["LOGIN_RATE_LIMIT"],
                                      current_app.config["LOGIN_RATE_LIMIT_PER_ADDRESS"])


def _start_session(user: User) -> None:
    """Sign ``user`` in on this browser: a session the server knows, ended by sign-out."""
    session.permanent = True  # the session then expires after PERMANENT_SESSION_LIFETIME
    accounts.prune_sessions(current_app.permanent_session_lifetime)
    secret = accounts.start_session(user, ip=request.remote_addr)
    login_user(user)
    session[SESSION_KEY] = secret


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    form = LoginForm()
    if form.validate_on_submit():
        outcome = sign_in.attempt(form.username.data, form.password.data,
                                  address=request.remote_addr or "-", rules=_sign_in_limits())
        if outcome.locked_until is not None:
            form.password.errors.append(_(
                "Too many failed sign-ins for this account: it is locked until %(time)s "
                "(Beijing time). Try again after that.",
                time=display_datetime(outcome.locked_until, "yyyy-MM-dd HH:mm:ss")))
            return render_template("auth/login.html", form=form), 429
        if outcome.user is None:
            commit_despite_refusal()  # the failure counts against the account
            form.password.errors.append(_("Wrong username or password."))
            return render_template("auth/login.html", form=form), 401
        user = outcome.user
        _start_session(user)
        audit.record("user.login", user, f"{user.username} 登录", actor=user)
        if user.must_change_password:  # the first sign-in with an initial password
            from app.services.contestant_accounts import forget_initial_password

            forget_initial_password(user)
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
        with Refusal(form, default="username"):
            user = accounts.create_user(form.username.data, form.display_name.data,
                                        Role.CONTESTANT, form.password.data,
                                        phone=form.phone.data)
            _start_session(user)
            flash(_("Your account has been created. Now fill in your entry."), "success")
            return redirect(url_for("portal.new_entry"))
    return render_template("auth/register.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout():
    """Sign-out ends the session on the server: a copy of its cookie opens nothing after."""
    secret = session.pop(SESSION_KEY, None)
    if secret:
        accounts.end_session(secret)
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
            refuse_form(form)
        else:
            with Refusal(form, default="password"):
                accounts.set_password(current_user, form.password.data, actor=current_user,
                                      keep_session=session.get(SESSION_KEY))
                session.pop(PASSWORD_CHANGE_FIRST, None)
                flash(_("Your password has been changed. Your other sessions have been "
                        "signed out."), "success")
                return redirect(home_for(current_user))
    return render_template("auth/password.html", form=form,
                           forced=session.get(PASSWORD_CHANGE_FIRST, False))


@bp.route("/account/tokens", methods=["GET", "POST"])
@roles_required()
def tokens():
    form = TokenForm()
    new_secret = None
    if form.validate_on_submit():
        with Refusal(form, default="name"):
            _token, new_secret = accounts.issue_token(current_user, form.name.data)
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
