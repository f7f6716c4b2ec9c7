"""Accounts, their signed-in sessions and API tokens: create, change, deactivate, sign out."""
from __future__ import annotations

import functools
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _

from app.extensions import db
from app.inputs import clean_text, text_problem
from app.models import ApiToken, Enterprise, Role, User, UserSession, utcnow
from app.services import ServiceError, audit

#: A session's last-seen time is written at most this often (not on every request: a judge's
#: autosave stays one read); the server ends a session idle for its lifetime plus this.
SESSION_SEEN_EVERY = timedelta(minutes=5)

MIN_PASSWORD_LENGTH = 8


def check_password_strength(password: str) -> None:
    """At least 8 characters with a letter and a digit (the rule shown on the forms)."""
    if (len(password) < MIN_PASSWORD_LENGTH or not any(c.isalpha() for c in password)
            or not any(c.isdigit() for c in password)):
        raise ServiceError(_("A password needs at least 8 characters, with letters and digits."),
                           field="password")


def get_by_username(username: str) -> User | None:
    """The account of that name; none has a control or format character in its name (a NUL
    would not even reach the database)."""
    if text_problem(username):
        return None
    return db.session.scalar(sa.select(User).where(User.username == username.strip()))


def create_user(username: str, display_name: str, role: Role, password: str, *,
                enterprise: Enterprise | None = None, phone: str | None = None,
                actor: User | None = None) -> User:
    username = clean_text(username, field="username")
    display_name = clean_text(display_name, field="display_name")
    if not username:
        raise ServiceError(_("A username is required."), field="username")
    if get_by_username(username) is not None:
        raise ServiceError(_("The username %(name)s is already taken.", name=username),
                           field="username", code="conflict")
    check_password_strength(password)
    user = User(username=username, display_name=display_name or username, role=role,
                enterprise=enterprise, phone=phone)
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    audit.record("user.create", user, f"创建账号 {username}（{_role_words(role)}）",
                 after={"username": username, "role": role.value}, actor=actor)
    return user


def update_user(user: User, *, display_name: str, role: Role, active: bool,
                enterprise: Enterprise | None, phone: str | None, actor: User | None = None) -> None:
    before = {"display_name": user.display_name, "role": user.role.value, "active": user.active,
              "enterprise_id": user.enterprise_id, "phone": user.phone}
    if actor is not None and actor.id == user.id and (not active or role != Role.ORGANISER):
        raise ServiceError(_("You cannot demote or deactivate your own account."), field="role")
    display_name = clean_text(display_name, field="display_name")
    user.display_name, user.role, user.active = display_name, role, active
    user.enterprise, user.phone = enterprise, phone
    db.session.flush()
    if before["active"] and not active:
        end_sessions(user)  # refused at its next request; enabling it again revives none
    after = {"display_name": user.display_name, "role": user.role.value, "active": user.active,
             "enterprise_id": user.enterprise_id, "phone": user.phone}
    if before != after:
        audit.record("user.update", user, f"修改账号 {user.username}", before=before, after=after,
                     actor=actor)


def set_password(user: User, password: str, *, actor: User | None = None,
                 keep_session: str | None = None) -> None:
    """A new password ends every signed-in session of the account but ``keep_session`` (the
    secret of the session that changed its own password): whoever knew the old one is out. A
    forced change (an initial password) must choose a different one, and ends the obligation."""
    check_password_strength(password)
    if user.must_change_password and actor is user and user.check_password(password):
        raise ServiceError(_("Choose a password different from the initial one."),
                           field="password")
    user.set_password(password)
    user.must_change_password = False
    from app.services.contestant_accounts import forget_initial_password

    forget_initial_password(user)
    db.session.flush()
    ended = end_sessions(user, keep=keep_session)
    audit.record("user.password", user, f"设置账号 {user.username} 的密码",
                 after={"sessions_ended": ended} if ended else None, actor=actor)


def start_session(user: User, *, ip: str | None) -> str:
    """A new signed-in session of ``user``: its secret, for the session cookie only."""
    secret = secrets.token_urlsafe(32)
    db.session.add(UserSession(user_id=user.id, token_hash=UserSession.hash_secret(secret),
                               ip=ip))
    db.session.flush()
    return secret


@functools.cache
def _session_user() -> sa.Select:
    """The signed-in session's user, built once: every signed-in request runs it."""
    return (sa.select(User, UserSession.id, UserSession.last_seen_at)
            .join(UserSession, UserSession.user_id == User.id)
            .where(UserSession.token_hash == sa.bindparam("token_hash"),
                   User.id == sa.bindparam("user_id")))


def user_for_session(user_id: int, secret: str, *, lifetime: timedelta,
                     now: datetime | None = None) -> User | None:
    """The active user of a signed-in session still open on the server, or None: signed out,
    ended by a password change or "sign out everywhere", idle too long, or the account
    disabled. One query (the judges' autosave runs it on every save); the last-seen time is
    written only when it is older than SESSION_SEEN_EVERY."""
    now = now or utcnow()
    row = db.session.execute(_session_user(), {"token_hash": UserSession.hash_secret(secret),
                                               "user_id": user_id}).first()
    if row is None:
        return None
    user, session_id, last_seen = row
    if not user.active or last_seen < now - lifetime - SESSION_SEEN_EVERY:
        return None
    if now - last_seen > SESSION_SEEN_EVERY:
        sessions = UserSession.__table__
        db.session.execute(sa.update(sessions).where(sessions.c.id == session_id)
                           .values(last_seen_at=now))
    return user


def end_session(secret: str) -> None:
    """Sign-out: the session is gone from the server, whoever holds a copy of its cookie."""
    sessions = UserSession.__table__
    db.session.execute(sa.delete(sessions).where(
        sessions.c.token_hash == UserSession.hash_secret(secret)))


def end_sessions(user: User, *, keep: str | None = None) -> int:
    """End every signed-in session of ``user`` (but ``keep``'s); how many were open."""
    sessions = UserSession.__table__
    query = sa.delete(sessions).where(sessions.c.user_id == user.id)
    if keep:
        query = query.where(sessions.c.token_hash != UserSession.hash_secret(keep))
    return db.session.execute(query).rowcount


def prune_sessions(lifetime: timedelta, now: datetime | None = None) -> None:
    """Forget sessions idle for longer than the lifetime (their cookies have expired too)."""
    sessions = UserSession.__table__
    db.session.execute(sa.delete(sessions).where(
        sessions.c.last_seen_at < (now or utcnow()) - lifetime - SESSION_SEEN_EVERY))


def open_sessions(user_ids: list[int]) -> dict[int, int]:
    """How many signed-in sessions each of these accounts has open on the server."""
    if not user_ids:
        return {}
    return dict(db.session.execute(
        sa.select(UserSession.user_id, sa.func.count()).where(UserSession.user_id.in_(user_ids))
        .group_by(UserSession.user_id)).all())


def sign_out_everywhere(user: User, *, actor: User) -> int:
    """An organiser signs ``user`` out on every device (a lost tablet, a shared password):
    each of the user's sessions ends at its next request. Audited; how many ended."""
    ended = end_sessions(user)
    audit.record("user.sign_out_everywhere", user,
                 f"将账号 {user.username} 在所有设备上登出（结束 {ended} 个会话）",
                 after={"sessions_ended": ended}, actor=actor)
    return ended


def issue_token(user: User, name: str, *, scope: str | None = None,
                expires_at: datetime | None = None, actor: User | None = None) -> tuple[ApiToken, str]:
    name = clean_text(name, field="name")
    if not name:
        raise ServiceError(_("Give the token a name."), field="name")
    token, secret = ApiToken.issue(user, name, scope=scope, expires_at=expires_at)
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


def _role_words(role: Role) -> str:
    """A role by its Chinese name, as the audit log is written."""
    from flask_babel import force_locale

    from app.labels import ROLE_LABELS

    with force_locale("zh"):
        return str(ROLE_LABELS[role])
