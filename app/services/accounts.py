"""Accounts and API tokens: create, change, deactivate, authenticate."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext as _

from app.extensions import db
from app.models import ApiToken, Enterprise, Role, User, utcnow
from app.services import ServiceError, audit

MIN_PASSWORD_LENGTH = 8


def check_password_strength(password: str) -> None:
    """At least 8 characters with a letter and a digit (the rule shown on the forms)."""
    if (len(password) < MIN_PASSWORD_LENGTH or not any(c.isalpha() for c in password)
            or not any(c.isdigit() for c in password)):
        raise ServiceError(_("A password needs at least 8 characters, with letters and digits."),
                           field="password")


def get_by_username(username: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.username == username.strip()))


def create_user(username: str, display_name: str, role: Role, password: str, *,
                enterprise: Enterprise | None = None, phone: str | None = None,
                actor: User | None = None) -> User:
    username = username.strip()
    if not username:
        raise ServiceError(_("A username is required."), field="username")
    if get_by_username(username) is not None:
        raise ServiceError(_("The username %(name)s is already taken.", name=username),
                           field="username")
    check_password_strength(password)
    user = User(username=username, display_name=display_name.strip() or username, role=role,
                enterprise=enterprise, phone=phone)
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    audit.record("user.create", user, f"创建账号 {username}（{role.value}）",
                 after={"username": username, "role": role.value}, actor=actor)
    return user


def update_user(user: User, *, display_name: str, role: Role, active: bool,
                enterprise: Enterprise | None, phone: str | None, actor: User | None = None) -> None:
    before = {"display_name": user.display_name, "role": user.role.value, "active": user.active,
              "enterprise_id": user.enterprise_id, "phone": user.phone}
    if actor is not None and actor.id == user.id and (not active or role != Role.ORGANISER):
        raise ServiceError(_("You cannot demote or deactivate your own account."), field="role")
    user.display_name, user.role, user.active = display_name, role, active
    user.enterprise, user.phone = enterprise, phone
    db.session.flush()
    after = {"display_name": user.display_name, "role": user.role.value, "active": user.active,
             "enterprise_id": user.enterprise_id, "phone": user.phone}
    if before != after:
        audit.record("user.update", user, f"修改账号 {user.username}", before=before, after=after,
                     actor=actor)


def set_password(user: User, password: str, *, actor: User | None = None) -> None:
    """A new password; a forced change (an initial password) must choose a different one, and
    ends the obligation."""
    check_password_strength(password)
    if user.must_change_password and actor is user and user.check_password(password):
        raise ServiceError(_("Choose a password different from the initial one."),
                           field="password")
    user.set_password(password)
    user.must_change_password = False
    from app.services.contestant_accounts import forget_initial_password

    forget_initial_password(user)
    db.session.flush()
    audit.record("user.password", user, f"设置账号 {user.username} 的密码", actor=actor)


def authenticate(username: str, password: str) -> User | None:
    """The active user with these credentials, or None (the same answer for every failure)."""
    user = get_by_username(username)
    if user is None or not user.active or not user.check_password(password):
        return None
    user.last_login_at = utcnow()
    if user.must_change_password:  # the first sign-in with an initial password
        from app.services.contestant_accounts import forget_initial_password

        forget_initial_password(user)
    return user


def issue_token(user: User, name: str, *, scope: str | None = None,
                expires_at: datetime | None = None, actor: User | None = None) -> tuple[ApiToken, str]:
    if not name.strip():
        raise ServiceError(_("Give the token a name."), field="name")
    token, secret = ApiToken.issue(user, name.strip(), scope=scope, expires_at=expires_at)
    db.session.add(token)
    db.session.flush()
    audit.record("token.create", token, f"为 {user.username} 创建 API 令牌 {token.prefix}…",
                 after={"name": token.name, "scope": scope}, actor=actor or user)
    return token, secret


def revoke_token(token: ApiToken, *, actor: User | None = None) -> None:
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        db.session.flush()
        audit.record("token.revoke", token, f"吊销 API 令牌 {token.prefix}…", actor=actor)


def user_for_token(secret: str) -> tuple[User, ApiToken] | None:
    """The active user and token for a bearer secret, or None."""
    token = db.session.scalar(
        sa.select(ApiToken).where(ApiToken.token_hash == ApiToken.hash_secret(secret)))
    if token is None or not token.is_usable or not token.user.active:
        return None
    now = utcnow()
    # Write the last-use time at most once a minute, not on every request.
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        token.last_used_at = now
    return token.user, token
