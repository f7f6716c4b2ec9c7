"""Contestants reach their entries: accounts made in bulk with a one-time initial password, and
a signed-in contestant's claim on an entry an enterprise or an organiser made for them."""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload
from werkzeug.security import generate_password_hash

from app.extensions import db
from app.models import (
    Contestant,
    Enterprise,
    Entry,
    EntryStatus,
    InitialPassword,
    Role,
    Track,
    User,
)
from app.services import FieldErrors, ServiceError, audit
from app.services.registration import check_id_number, check_phone, clean_text

# No 0/o, 1/l/i: a printed password is typed by hand.
_LETTERS = "abcdefghjkmnpqrstuvwxyz"
_DIGITS = "23456789"
_SYMBOLS = _LETTERS + _DIGITS
INITIAL_PASSWORD_LENGTH = 10
# A machine-made password of about 57 random bits needs no slow hash against guessing (a person's
# own password does); a light one keeps a track's 1,400 accounts to seconds, not minutes.
INITIAL_HASH_METHOD = "pbkdf2:sha256:4000"


def derive_initial_password(user_id: int, salt: str) -> str:
    """The initial password of account ``user_id``: an HMAC of the application's secret key
    over the account and its salt, written as a letter, eight letters or digits and a digit (so
    it meets the password rule). Nothing stored reveals it without the secret key."""
    key = current_app.config["SECRET_KEY"].encode()
    digest = hmac.new(key, f"initial-password:{user_id}:{salt}".encode(), hashlib.sha256).digest()
    middle = "".join(_SYMBOLS[b % len(_SYMBOLS)] for b in digest[1:INITIAL_PASSWORD_LENGTH - 1])
    return _LETTERS[digest[0] % len(_LETTERS)] + middle + _DIGITS[digest[-1] % len(_DIGITS)]


def initial_passwords(users: list[User]) -> dict[int, str]:
    """The initial passwords still to hand out, by account id: those of accounts whose person
    has not signed in yet. One query for any number of accounts."""
    ids = [u.id for u in users if u is not None]
    if not ids:
        return {}
    rows = db.session.execute(sa.select(InitialPassword.user_id, InitialPassword.salt)
                              .where(InitialPassword.user_id.in_(ids))).all()
    return {user_id: derive_initial_password(user_id, salt) for user_id, salt in rows}


def _issue(user: User, actor: User | None, *, new: bool = False) -> None:
    salt = secrets.token_hex(16)
    existing = None if new else db.session.get(InitialPassword, user.id)
    if existing is None:
        db.session.add(InitialPassword(user_id=user.id, salt=salt,
                                       issued_by_id=actor.id if actor else None))
    else:
        existing.salt, existing.issued_by_id = salt, actor.id if actor else None
    user.password_hash = generate_password_hash(derive_initial_password(user.id, salt),
                                                method=INITIAL_HASH_METHOD)
    user.must_change_password = True


@dataclass
class AccountsMade:
    """What a bulk creation did: the accounts made, and how many people already had one."""

    created: list[User] = field(default_factory=list)
    already: int = 0


def _free_username(wanted: str, taken: set[str]) -> str:
    name, n = wanted, 1
    while name.lower() in taken:
        n += 1
        name = f"{wanted}-{n}"
    taken.add(name.lower())
    return name


def create_accounts(track: Track, *, actor: User) -> AccountsMade:
    """One contestant account for each person with an approved entry in ``track`` who has no
    account yet: the username is the entry's exam number, the password a one-time initial
    password (printed on the admission ticket and in the enterprise's account list) that must
    be changed at the first sign-in. People who already have an account are left as they are."""
    rows = db.session.execute(
        sa.select(Entry, Contestant).join(Contestant, Entry.contestant_id == Contestant.id)
        .where(Entry.track_id == track.id, Entry.status == EntryStatus.APPROVED,
               Entry.exam_number.is_not(None))
        .order_by(Entry.exam_number_seq, Entry.id)).all()
    outcome = AccountsMade()
    pending = [(entry, person) for entry, person in rows if person.user_id is None]
    outcome.already = len(rows) - len(pending)
    if not pending:
        return outcome
    taken = {name.lower() for name in db.session.scalars(sa.select(User.username))}
    for entry, person in pending:
        user = User(username=_free_username(entry.exam_number, taken), display_name=person.name,
                    role=Role.CONTESTANT, phone=person.phone, password_hash="!",
                    must_change_password=True)
        db.session.add(user)
        person.user = user
        outcome.created.append(user)
    db.session.flush()  # the accounts' ids: each initial password is derived from one
    for (entry, _person), user in zip(pending, outcome.created, strict=True):
        _issue(user, actor, new=True)
        audit.record("user.create", user,
                     f"为选手 {entry.exam_number} {user.display_name} 创建账号 {user.username}"
                     "（初始密码，首次登录须修改）",
                     after={"username": user.username, "role": Role.CONTESTANT.value},
                     actor=actor)
    db.session.flush()
    audit.record("track.accounts", track,
                 f"{track.contest.name} {track.name}：为 {len(outcome.created)} 名已审核选手批量创建"
                 f"账号，{outcome.already} 人已有账号", actor=actor)
    return outcome


def reissue_initial_password(user: User, *, actor: User) -> str:
    """A new one-time initial password for a contestant's account (a forgotten or lost one):
    the old password stops working and the next sign-in must change the new one."""
    if user.role != Role.CONTESTANT:
        raise ServiceError(_("Initial passwords are for contestants' accounts only."))
    _issue(user, actor)
    db.session.flush()
    audit.record("user.password", user, f"重新生成账号 {user.username} 的初始密码", actor=actor)
    return initial_passwords([user])[user.id]


def forget_initial_password(user: User) -> None:
    """The person has signed in: the initial password is no longer printed anywhere."""
    db.session.execute(sa.delete(InitialPassword).where(InitialPassword.user_id == user.id))


@dataclass
class AccountLine:
    """One person in an account list: their entry and account, and the initial password while
    it is still to be handed out (None once they have signed in)."""

    entry: Entry
    user: User | None
    initial_password: str | None


def account_lines(query: sa.Select) -> list[AccountLine]:
    """The approved entries of ``query`` (a select of Entry) with their accounts, by enterprise
    and exam number, the person, enterprise and track loaded."""
    entries = db.session.scalars(
        query.where(Entry.status == EntryStatus.APPROVED, Entry.exam_number.is_not(None))
        .join(Enterprise, Entry.enterprise_id == Enterprise.id)
        .options(joinedload(Entry.contestant).joinedload(Contestant.user),
                 joinedload(Entry.enterprise), joinedload(Entry.track))
        .order_by(Enterprise.name, Entry.track_id, Entry.exam_number_seq, Entry.id)).unique().all()
    passwords = initial_passwords([e.contestant.user for e in entries if e.contestant.user])
    return [AccountLine(e, e.contestant.user, passwords.get(e.contestant.user_id))
            for e in entries]


# --- a contestant claims an entry --------------------------------------------------------------

def claim_refused() -> str:
    """The one answer to every claim that does not match: it says what to check and whom to ask,
    and nothing about whether such an entry exists."""
    return _("These details do not match an entry that can be claimed. Check that the ID "
             "number, name and mobile number are exactly as your enterprise registered them; "
             "if they are, ask your enterprise contact or the organisers.")


def claim_entry(user: User, raw: dict) -> Contestant:
    """Link the signed-in contestant's account to the person whose ID number, name and mobile
    number all match an existing entry, made by an enterprise, an import or an organiser.

    Refused with the same message whatever does not match (no such ID number, another name or
    phone, a person already linked to another account), so a claim reveals nothing about any
    entry. An account already linked to a person cannot claim another."""
    if user.role != Role.CONTESTANT:
        raise ServiceError(_("Only contestants' accounts claim entries."), code="forbidden")
    mine = db.session.scalar(sa.select(Contestant).where(Contestant.user_id == user.id))
    if mine is not None:
        raise ServiceError(_("Your account already belongs to %(name)s; one account holds one "
                             "person's entries.", name=mine.name), code="conflict")
    errors: dict[str, str] = {}
    number = name = phone = None
    try:
        number = check_id_number(raw.get("id_number"))[0]
    except ServiceError as error:
        errors["id_number"] = error.message
    name = clean_text(raw.get("name"))
    if not name:
        errors["name"] = _("This field is required.")
    try:
        phone = check_phone(raw.get("phone"))
    except ServiceError as error:
        errors["phone"] = error.message
    if errors:  # the form of what was typed, checked without looking at any entry
        raise FieldErrors(errors)
    person = db.session.scalar(sa.select(Contestant).where(Contestant.id_number == number))
    has_entry = person is not None and db.session.scalar(
        sa.select(sa.func.count()).select_from(Entry).where(Entry.contestant_id == person.id))
    if (person is None or not has_entry or person.user_id is not None
            or not hmac.compare_digest(person.name.encode(), name.encode())
            or not hmac.compare_digest((person.phone or "").encode(), phone.encode())):
        raise ServiceError(claim_refused(), code="no_match")
    person.user = user
    user.display_name = person.name
    db.session.flush()
    audit.record("entry.claim", person,
                 f"账号 {user.username} 认领选手 {person.name}（身份证号 {person.masked_id_number}）"
                 "的报名", actor=user)
    return person


def record_refused_claim(user: User, raw: dict, reason: str) -> None:
    """Audit a refused claim (who, the masked ID number typed, why) after the request's changes
    were rolled back: a refusal leaves nothing else behind."""
    from app.models import mask_id_number

    typed = clean_text(raw.get("id_number")).replace(" ", "").upper()
    audit.record("entry.claim_refused", user,
                 f"账号 {user.username} 认领报名未成功（身份证号 {mask_id_number(typed) or '未填'}）",
                 reason=reason, actor=user)
