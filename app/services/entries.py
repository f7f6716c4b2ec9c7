"""Entries: registering (self or by an enterprise), the review chain, lists, tickets, exports.

The review chain: submitted → endorsed by the enterprise union → approved or rejected by the
track's organisers. A rejected entry can be corrected and submitted again. Approval issues the
exam number and places the entry in the track's first stage.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.inputs import clean_text
from app.models import (
    Contest,
    Contestant,
    Enterprise,
    Entry,
    EntrySource,
    EntryStatus,
    Role,
    StageEntry,
    Track,
    User,
    utcnow,
)
from app.services import FieldErrors, ServiceError, audit
from app.services.registration import (
    EligibilityRules,
    change_status,
    check_age,
    check_gender,
    check_id_number,
    check_phone,
    check_years,
    find_or_create_enterprise,
)

CITIES = ["南京市", "无锡市", "徐州市", "常州市", "苏州市", "南通市", "连云港市", "淮安市",
          "盐城市", "扬州市", "镇江市", "泰州市", "宿迁市"]

ENTRY_FIELDS = ("name", "gender", "id_number", "phone", "enterprise", "enterprise_category",
                "city", "post", "team_name", "years_as_leader", "skill_level", "honours",
                "front_line")


def registration_open(track: Track, now: datetime | None = None) -> bool:
    """A track takes registrations while its first stage is in registration and the window
    (if set) has opened and not yet closed."""
    from app.models import StageStatus

    if not track.stages:
        return False
    stage = track.stages[0]
    now = now or utcnow()
    return (stage.status == StageStatus.REGISTRATION
            and (stage.registration_opens_at is None or stage.registration_opens_at <= now)
            and (stage.registration_closes_at is None or now <= stage.registration_closes_at))


def registration_changes_at(track: Track, now: datetime | None = None) -> datetime | None:
    """The next moment ``registration_open(track)`` changes by the clock alone (its window
    opens or closes), or None: a page that follows it is right until then."""
    if not track.stages:
        return None
    stage = track.stages[0]
    now = now or utcnow()
    opens, closes = stage.registration_opens_at, stage.registration_closes_at
    if opens is not None and now < opens:
        return opens
    if closes is not None and now <= closes:
        return closes + timedelta(microseconds=1)  # still open at the closing moment itself
    return None


def open_tracks() -> list[Track]:
    tracks = db.session.scalars(
        sa.select(Track).join(Contest).where(Contest.is_template.is_(False))
        .options(selectinload(Track.stages))
        .order_by(Contest.year.desc(), Track.sort_order)).all()
    return [t for t in tracks if registration_open(t)]


def check_entry_fields(raw: dict, track: Track) -> dict:
    """Every field of an entry checked against DOMAIN's rules and the track's eligibility.
    Raises FieldErrors naming each bad field."""
    rules = EligibilityRules.for_track(track)
    errors: dict[str, str] = {}
    values: dict = {}

    def take(name: str, check):
        try:
            values[name] = check()
        except ServiceError as error:
            errors.setdefault(error.field or name, error.message)

    for name in ("name", "enterprise", "post"):
        take(name, lambda name=name: clean_text(raw.get(name), field=name))
        if name not in errors and not values[name]:
            errors[name] = _("This field is required.")
    take("gender", lambda: check_gender(raw.get("gender")))
    gender = values.get("gender")
    try:
        number, born, _gender = check_id_number(raw.get("id_number"), gender)
        check_age(born, rules)
        values["id_number"], values["birth_date"] = number, born
    except ServiceError as error:
        errors.setdefault(error.field or "id_number", error.message)
    take("phone", lambda: check_phone(raw.get("phone")))
    take("years_as_leader", lambda: check_years(raw.get("years_as_leader"), rules))
    for name in ("enterprise_category", "city", "team_name", "skill_level", "honours"):
        take(name, lambda name=name: clean_text(raw.get(name), multiline=name == "honours",
                                                field=name) or None)
    values["front_line"] = bool(raw.get("front_line", True))
    if not values["front_line"]:
        errors.setdefault("front_line", _("Only team leaders in front-line posts may enter."))
    if errors:
        raise FieldErrors(errors)
    return values


def _person(values: dict, user: User | None) -> Contestant:
    """The person with this ID number: reused when it is the same person, else created."""
    person = db.session.scalar(
        sa.select(Contestant).where(Contestant.id_number == values["id_number"]))
    if person is None:
        person = Contestant(id_number=values["id_number"], user=user)
        db.session.add(person)
    elif user is not None and person.user_id not in (None, user.id):
        raise FieldErrors({"id_number": _("This ID number belongs to another account.")})
    elif user is not None and person.user_id is None:
        if person.name != values["name"]:
            raise FieldErrors({"id_number": _(
                "This ID number was registered by an enterprise under another name; "
                "ask your enterprise union to correct it.")})
        person.user = user
    person.name, person.gender = values["name"], values["gender"]
    person.birth_date, person.phone = values["birth_date"], values["phone"]
    return person


def _enterprise(values: dict) -> Enterprise:
    enterprise, _created = find_or_create_enterprise(
        values["enterprise"], category=values["enterprise_category"], city=values["city"])
    return enterprise


def _apply(entry: Entry, values: dict, enterprise: Enterprise) -> None:
    """The entry's fields from the form; a category or city left blank is the enterprise's."""
    entry.enterprise = enterprise
    for name in ("enterprise_category", "city", "post", "team_name", "years_as_leader",
                 "skill_level", "honours", "front_line"):
        setattr(entry, name, values[name])
    entry.enterprise_category = entry.enterprise_category or enterprise.category
    entry.city = entry.city or enterprise.city


def register(actor: User, track: Track, raw: dict) -> Entry:
    """A new entry by a contestant (submitted) or by an enterprise contact (endorsed at once:
    the contact is the enterprise union). One person, one entry per contest."""
    if not registration_open(track):
        raise ServiceError(_("Registration for this track is closed."), field="track")
    if actor.role == Role.ENTERPRISE_CONTACT:
        if actor.enterprise is None:
            raise ServiceError(_("Your account is not linked to an enterprise."), field="enterprise")
        raw = {**raw, "enterprise": actor.enterprise.name,
               "enterprise_category": raw.get("enterprise_category") or actor.enterprise.category,
               "city": raw.get("city") or actor.enterprise.city}
    elif actor.role != Role.CONTESTANT:
        raise ServiceError(_("Only contestants and enterprise contacts register entries."))
    values = check_entry_fields(raw, track)
    if actor.role == Role.CONTESTANT:
        mine = db.session.scalar(sa.select(Contestant).where(Contestant.user_id == actor.id))
        if mine is not None and mine.id_number != values["id_number"]:
            raise FieldErrors({"id_number": _("Your account already belongs to another ID number.")})
    enterprise = _enterprise(values)
    person = _person(values, actor if actor.role == Role.CONTESTANT else None)
    db.session.flush()
    existing = db.session.scalar(sa.select(Entry).where(
        Entry.contest_id == track.contest_id, Entry.contestant_id == person.id))
    if existing is not None:
        raise FieldErrors({"id_number": _(
            "This person already has an entry in this contest (track %(track)s).",
            track=existing.track.name)})
    entry = Entry(contest_id=track.contest_id, track=track, contestant=person,
                  status=EntryStatus.DRAFT, created_by_id=actor.id, submitted_at=utcnow(),
                  source=EntrySource.ENTERPRISE if actor.role == Role.ENTERPRISE_CONTACT
                  else EntrySource.SELF)
    _apply(entry, values, enterprise)
    db.session.add(entry)
    db.session.flush()
    change_status(entry, EntryStatus.SUBMITTED, actor=actor)
    if actor.role == Role.ENTERPRISE_CONTACT:
        change_status(entry, EntryStatus.ENDORSED, actor=actor)
    return entry


def correct(actor: User, entry: Entry, raw: dict) -> Entry:
    """The contestant corrects a submitted or rejected entry; a rejected one is submitted again."""
    if not can_correct(actor, entry):
        raise ServiceError(_("This entry can no longer be changed."))
    values = check_entry_fields(raw, entry.track)
    if values["id_number"] != entry.contestant.id_number:
        raise FieldErrors({"id_number": _("The ID number of an entry cannot be changed.")})
    before = entry_snapshot(entry)
    enterprise = _enterprise(values)
    _person(values, entry.contestant.user)
    _apply(entry, values, enterprise)
    db.session.flush()
    audit.record("entry.correct", entry, f"修改 {audit.entry_words(entry)} 的报名信息", before=before,
                 after=entry_snapshot(entry), actor=actor)
    if entry.status == EntryStatus.REJECTED:
        change_status(entry, EntryStatus.SUBMITTED, actor=actor, reason=_("Corrected and resubmitted"))
    return entry


def can_correct(user: User, entry: Entry) -> bool:
    return (user.role == Role.CONTESTANT and entry.contestant.user_id == user.id
            and entry.status in (EntryStatus.SUBMITTED, EntryStatus.REJECTED)
            and registration_open(entry.track))


def entry_snapshot(entry: Entry) -> dict:
    return {"name": entry.contestant.name, "enterprise": entry.enterprise.name,
            "city": entry.city, "post": entry.post, "team_name": entry.team_name,
            "years_as_leader": str(entry.years_as_leader), "skill_level": entry.skill_level,
            "honours": entry.honours, "phone": entry.contestant.phone}


# --- the review chain ------------------------------------------------------------------------

class Review:
    ENDORSE = "endorse"
    APPROVE = "approve"
    REJECT = "reject"
    ALL = (ENDORSE, APPROVE, REJECT)


def review(entry: Entry, action: str, actor: User, reason: str | None = None) -> None:
    """One step of the review chain, by someone allowed to take it.

    Enterprise contacts endorse or reject their own enterprise's submitted entries; organisers
    endorse, approve (only endorsed entries) or reject (with a reason the contestant sees).
    """
    reason = clean_text(reason, multiline=True, field="reason") or None
    is_organiser = actor.role == Role.ORGANISER
    is_own_contact = (actor.role == Role.ENTERPRISE_CONTACT
                      and entry.enterprise_id == actor.enterprise_id)
    if not (is_organiser or is_own_contact):
        raise ServiceError(_("You may not review this entry."), code="forbidden")
    if action == Review.ENDORSE:
        allowed_from = {EntryStatus.SUBMITTED}
        to_status = EntryStatus.ENDORSED
    elif action == Review.APPROVE:
        if not is_organiser:
            raise ServiceError(_("Only the track's organisers approve entries."), code="forbidden")
        allowed_from = {EntryStatus.ENDORSED}
        to_status = EntryStatus.APPROVED
    elif action == Review.REJECT:
        allowed_from = ({EntryStatus.SUBMITTED, EntryStatus.ENDORSED} if is_organiser
                        else {EntryStatus.SUBMITTED})
        to_status = EntryStatus.REJECTED
        if not reason:
            raise ServiceError(_("A rejection needs a reason the contestant can read."),
                               field="reason")
    else:
        raise ServiceError(_("Unknown review action."), field="action")
    if action == Review.APPROVE and entry.status == EntryStatus.SUBMITTED:
        raise ServiceError(_("This entry is still waiting for its enterprise's endorsement: "
                             "the enterprise contact (or an organiser) endorses it first, "
                             "then it can be approved."), code="conflict")
    if entry.status not in allowed_from:
        from app.labels import ENTRY_STATUS

        raise ServiceError(_("An entry that is %(status)s cannot be changed this way.",
                             status=ENTRY_STATUS[entry.status]), code="conflict")
    if to_status == EntryStatus.APPROVED:
        _lock_track(entry.track_id)
    change_status(entry, to_status, reason=reason, actor=actor)
    if to_status == EntryStatus.APPROVED:
        _place_in_first_stage(entry)


def _lock_track(track_id: int) -> None:
    """Serialise exam-number issuing per track (PostgreSQL row lock; SQLite writes are serial)."""
    db.session.execute(sa.select(Track.id).where(Track.id == track_id).with_for_update())


def _place_in_first_stage(entry: Entry) -> None:
    stage = entry.track.stages[0] if entry.track.stages else None
    if stage is None:
        return
    exists = db.session.scalar(sa.select(StageEntry.id).where(
        StageEntry.stage_id == stage.id, StageEntry.entry_id == entry.id))
    if exists is None:
        db.session.add(StageEntry(stage=stage, entry=entry))
        db.session.flush()


@dataclass
class BulkOutcome:
    done: list[int] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)


def review_many(entry_ids: list[int], action: str, actor: User,
                reason: str | None = None) -> BulkOutcome:
    """The same review step for many entries; each one that cannot take it is skipped with
    the reason, the others go ahead."""
    outcome = BulkOutcome()
    reason = clean_text(reason, multiline=True, field="reason") or None
    if action == Review.REJECT and not reason:
        raise ServiceError(_("A rejection needs a reason the contestant can read."),
                           field="reason")
    entries = db.session.scalars(sa.select(Entry).where(Entry.id.in_(entry_ids))
                                 .order_by(Entry.id)).all()
    found = {e.id for e in entries}
    outcome.skipped += [(i, _("No such entry.")) for i in entry_ids if i not in found]
    for entry in entries:
        try:
            with db.session.begin_nested():
                review(entry, action, actor, reason)
        except ServiceError as error:
            outcome.skipped.append((entry.id, error.message))
        else:
            outcome.done.append(entry.id)
    return outcome


# --- who sees what, lists and counts ---------------------------------------------------------

def visible_entries(user: User) -> sa.Select:
    """Organisers see every entry; an enterprise contact its enterprise's; a contestant theirs."""
    query = sa.select(Entry)
    if user.role == Role.ORGANISER:
        return query
    if user.role == Role.ENTERPRISE_CONTACT:
        return query.where(Entry.enterprise_id == (user.enterprise_id or -1))
    if user.role == Role.CONTESTANT:
        return query.join(Contestant).where(Contestant.user_id == user.id)
    return query.where(sa.false())


@dataclass
class EntryFilter:
    contest_id: int | None = None
    track_id: int | None = None
    enterprise_id: int | None = None
    city: str | None = None
    category: str | None = None
    status: EntryStatus | None = None
    search: str | None = None  # a name, an exam number, or an ID number (or its last digits)

    def apply(self, query: sa.Select) -> sa.Select:
        conditions = []
        for column, value in ((Entry.contest_id, self.contest_id), (Entry.track_id, self.track_id),
                              (Entry.enterprise_id, self.enterprise_id), (Entry.city, self.city),
                              (Entry.enterprise_category, self.category),
                              (Entry.status, self.status)):
            if value is not None and value != "":
                conditions.append(column == value)
        try:
            text = clean_text(self.search).upper()
        except ServiceError:  # a control character: nobody's name or number has one
            text, conditions = "", [*conditions, sa.false()]
        if text:
            person = sa.select(Contestant.id).where(sa.or_(
                Contestant.name.contains(text, autoescape=True),
                Contestant.id_number == text,
                sa.and_(sa.func.length(text) >= 4,
                        Contestant.id_number.endswith(text, autoescape=True))))
            conditions.append(sa.or_(Entry.contestant_id.in_(person), Entry.exam_number == text))
        return query.where(*conditions)


def counts(query: sa.Select) -> dict[str, list[tuple[str, int]]]:
    """The filtered entries counted by status, enterprise category and city."""
    subquery = query.with_only_columns(Entry.id, Entry.status, Entry.enterprise_category,
                                       Entry.city).subquery()
    result = {}
    for key, column in (("status", subquery.c.status), ("category", subquery.c.enterprise_category),
                        ("city", subquery.c.city)):
        rows = db.session.execute(sa.select(column, sa.func.count()).group_by(column)
                                  .order_by(sa.func.count().desc())).all()
        result[key] = [(value, n) for value, n in rows]
    return result


def enterprise_counts(query: sa.Select, limit: int = 50) -> list[tuple[str, int]]:
    subquery = query.with_only_columns(Entry.id, Entry.enterprise_id).subquery()
    return [tuple(r) for r in db.session.execute(
        sa.select(Enterprise.name, sa.func.count()).join(subquery, subquery.c.enterprise_id
                                                         == Enterprise.id)
        .group_by(Enterprise.name).order_by(sa.func.count().desc(), Enterprise.name).limit(limit))]


def reveal_id_number(entry: Entry, actor: User) -> str:
    """The full ID number, for an organiser, recorded in the audit log."""
    if actor.role != Role.ORGANISER:
        raise ServiceError(_("Only organisers may see full ID numbers."), code="forbidden")
    audit.record("entry.reveal_id", entry, f"查看 {audit.entry_words(entry)} 的完整身份证号", actor=actor)
    return entry.contestant.id_number
