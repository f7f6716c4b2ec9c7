"""Accounts, roles and API tokens."""
from __future__ import annotations

import enum
import hashlib
import secrets
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from app.extensions import db
from app.models.base import str_enum, utcnow

if TYPE_CHECKING:
    from app.models.registration import Contestant, Enterprise


class Role(enum.StrEnum):
    """What an account is for; a judge's chief-judge duty is per component (JudgeAssignment)."""

    ORGANISER = "organiser"
    CHIEF_JUDGE = "chief_judge"
    JUDGE = "judge"
    ARBITRATOR = "arbitrator"
    ENTERPRISE_CONTACT = "enterprise_contact"
    CONTESTANT = "contestant"


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(64), unique=True)
    display_name: Mapped[str] = mapped_column(sa.String(100))
    role: Mapped[Role] = mapped_column(str_enum(Role), index=True)
    password_hash: Mapped[str] = mapped_column(sa.String(256))
    active: Mapped[bool] = mapped_column(default=True)
    phone: Mapped[str | None] = mapped_column(sa.String(20))
    locale: Mapped[str | None] = mapped_column(sa.String(8))
    # A judge's own enterprise (conflict of interest) or an enterprise contact's enterprise.
    enterprise_id: Mapped[int | None] = mapped_column(sa.ForeignKey("enterprises.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]
    password_changed_at: Mapped[datetime | None]
    # Set on accounts made for people (an organiser's bulk accounts, a reset): the next sign-in
    # leads to the password page and nothing else opens until the password is changed.
    must_change_password: Mapped[bool] = mapped_column(default=False, server_default=sa.false())

    enterprise: Mapped[Enterprise | None] = relationship(foreign_keys=[enterprise_id])
    contestant: Mapped[Contestant | None] = relationship(back_populates="user")

    @property
    def is_active(self) -> bool:  # Flask-Login refuses sign-in to inactive accounts
        return self.active

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)
        self.password_changed_at = utcnow()

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def __repr__(self) -> str:
        return f"<User {self.username} {self.role}>"


class UserSession(db.Model):
    """One signed-in browser session. The cookie carries a random secret; only its SHA-256 is
    stored. Signing out deletes the row, so a copy of the cookie taken earlier opens nothing;
    ending a user's rows signs the user out on every device at the next request."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Renewed at most every few minutes (not on every request): idle rows are pruned.
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    ip: Mapped[str | None] = mapped_column(sa.String(45))

    @staticmethod
    def hash_secret(secret: str) -> str:
        return hashlib.sha256(secret.encode()).hexdigest()


class SignInFailure(db.Model):
    """A failed sign-in, counted in the database so that every worker and every machine of
    one system sees the same count: an account name with too many recent failures is locked,
    whichever worker answers. ``account`` is the name as typed (lower case), known or not."""

    __tablename__ = "sign_in_failures"
    __table_args__ = (sa.Index("ix_sign_in_failures_account_at", "account", "at"),
                      sa.Index("ix_sign_in_failures_address_at", "address", "at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    account: Mapped[str] = mapped_column(sa.String(64))
    address: Mapped[str] = mapped_column(sa.String(45))
    # Made from an address over its own limit: this failure alone locks the account.
    locks: Mapped[bool] = mapped_column(default=False)
class InitialPassword(db.Model):
    """The one-time initial password of an account made for a person, kept only until that
    person's first sign-in so that the admission ticket and the enterprise's account list can
    print it. The password itself is never stored: it is derived from the application's secret
    key and ``salt`` (app.services.contestant_accounts), and the account keeps only its hash."""

    __tablename__ = "initial_passwords"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True)
    salt: Mapped[str] = mapped_column(sa.String(32))
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    issued_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    user: Mapped[User] = relationship(foreign_keys=[user_id])


class ApiToken(db.Model):
    """A bearer token for /api/v1. Only its SHA-256 is stored; the secret is shown once.

    ``scope`` narrows what the token may do (e.g. ``component:12:push`` lets a simulator push
    results for one component and nothing else); null means the user's full role.
    """

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    prefix: Mapped[str] = mapped_column(sa.String(12))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    scope: Mapped[str | None] = mapped_column(sa.String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()

    PREFIX = "cst_"

    @staticmethod
    def hash_secret(secret: str) -> str:
        return hashlib.sha256(secret.encode()).hexdigest()

    @classmethod
    def issue(cls, user: User, name: str, scope: str | None = None,
              expires_at: datetime | None = None) -> tuple[ApiToken, str]:
        """A new token and its secret; the caller shows the secret once and never again."""
        secret = cls.PREFIX + secrets.token_urlsafe(32)
        token = cls(user=user, name=name, prefix=secret[:10], token_hash=cls.hash_secret(secret),
                    scope=scope, expires_at=expires_at)
        return token, secret

    @property
    def is_usable(self) -> bool:
        now = utcnow()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)
