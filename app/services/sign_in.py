"""Signing in with a password, and the limits that make guessing one slow.

Failures are counted in the database (``sign_in_failures``), so the limits hold whichever
gunicorn worker or machine answers, with no other service. The rules:

* an account name with ``per_account`` failures within ``account_seconds`` is locked until the
  oldest of them is that old; while locked even the right password is refused (and not checked),
  and the answer says until when. Unknown names are counted and locked the same way, so a lock
  tells nobody whether an account exists;
* failures from one address never refuse a right password of an account that is not itself
  locked (a venue's judges share one NAT address). Past ``per_address`` failures within
  ``address_seconds`` from one address, each further failure from it locks the account it
  named at once: guessing across many accounts from one address gets one try per account;
* every attempt that is not refused as locked costs one password-hash verification, against a
  stand-in hash for an unknown or disabled account, so the time taken tells nothing either;
* a right password clears the account's failures.
"""
from __future__ import annotations

import functools
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import limits
import sqlalchemy as sa
from werkzeug.security import check_password_hash, generate_password_hash

from app.extensions import db
from app.models import SignInFailure, User, utcnow
from app.services import accounts


@dataclass(frozen=True)
class SignInLimits:
    per_account: int
    account_seconds: int
    per_address: int
    address_seconds: int

    @classmethod
    def parse(cls, per_account: str, per_address: str) -> SignInLimits:
        """From settings written as "10 per minute", "100 per hour", "5/30 seconds"."""
        account, address = limits.parse(per_account), limits.parse(per_address)
        return cls(account.amount, account.get_expiry(), address.amount, address.get_expiry())


@dataclass(frozen=True)
class SignIn:
    """What an attempt came to: the user signed in, else ``locked_until`` (UTC) when the
    account is locked, else a wrong name or password (``user`` and ``locked_until`` None)."""

    user: User | None = None
    locked_until: datetime | None = None


@functools.cache
def _stand_in_hash() -> str:
    """A hash made as the accounts' are (same method and cost), of a password nobody knows."""
    return generate_password_hash(secrets.token_urlsafe(16))


def _account_key(username: str) -> str:
    return username.strip().lower()[:64]


def locked_until(account: str, rules: SignInLimits, now: datetime) -> datetime | None:
    """When the account name's lock ends, or None when it is not locked."""
    window = timedelta(seconds=rules.account_seconds)
    failures = db.session.execute(
        sa.select(SignInFailure.at, SignInFailure.locks)
        .where(SignInFailure.account == account, SignInFailure.at > now - window)
        .order_by(SignInFailure.at.desc())).all()
    ends = [at + window for at, locks in failures if locks]
    if len(failures) >= rules.per_account:
        ends.append(failures[rules.per_account - 1].at + window)
    return max(ends) if ends else None


def _one_at_a_time(account: str) -> None:
    """PostgreSQL: attempts on one account name wait for each other from here to their
    commit (a transaction-level advisory lock), so concurrent workers or machines cannot
    each see a count below the limit. SQLite (one machine) counts without it: two workers
    racing may let one attempt more through."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtext(account))))


def attempt(username: str, password: str, *, address: str, rules: SignInLimits,
            now: datetime | None = None) -> SignIn:
    """One sign-in attempt by name and password from ``address`` under ``rules`` (the module's
    docstring states them). A failure is written (flushed); the caller keeps it even though
    the attempt is refused."""
    now = now or utcnow()
    account = _account_key(username)
    until = locked_until(account, rules, now)
    if until is not None:
        return SignIn(locked_until=until)
    user = accounts.get_by_username(username)
    right = check_password_hash(user.password_hash if user else _stand_in_hash(), password)
    _one_at_a_time(account)
    until = locked_until(account, rules, now)  # again: another attempt may have locked it
    if until is not None:
        return SignIn(locked_until=until)
    failures = SignInFailure.__table__
    if right and user is not None and user.active:
        db.session.execute(sa.delete(failures).where(failures.c.account == account))
        user.last_login_at = now
        return SignIn(user=user)
    keep = max(rules.account_seconds, rules.address_seconds)
    db.session.execute(sa.delete(failures).where(failures.c.at < now - timedelta(seconds=keep)))
    from_address = db.session.scalar(
        sa.select(sa.func.count()).select_from(failures).where(
            failures.c.address == address,
            failures.c.at > now - timedelta(seconds=rules.address_seconds)))
    db.session.execute(sa.insert(failures).values(
        at=now, account=account, address=address, locks=from_address >= rules.per_address))
    return SignIn()
