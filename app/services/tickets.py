"""What organisers print for the contestants: admission tickets (准考证), one per A4 page, and
the sign-in sheets (签到表) of each sitting."""
from __future__ import annotations

import functools
from dataclasses import dataclass

import segno
import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from app.extensions import db
from app.models import (
    Contestant,
    Entry,
    EntryStatus,
    Sitting,
    Stage,
    StageEntry,
    StageEntryStatus,
)
from app.services.contestant_accounts import initial_passwords


@functools.lru_cache(maxsize=2048)
def exam_number_qr(contest_code: str, exam_number: str) -> str:
    """The QR code of a ticket's exam number as an SVG data URI. The mask pattern is fixed: any
    of the eight is valid, and choosing the best costs most of the time of a bulk print. An
    exam number never changes, so a batch printed again reuses its codes (kept per process)."""
    return (segno.make_qr(f"{contest_code}:{exam_number}", error="m", mask=4, boost_error=False)
            .svg_data_uri(scale=4, border=2))


@dataclass
class Ticket:
    """One admission ticket: the entry, its place (stage and sitting) in the stage printed,
    the QR code of its exam number, and the account with its initial password while that is
    still to be handed out."""

    entry: Entry
    place: StageEntry | None
    qr: str
    username: str | None
    initial_password: str | None


def _printable(query: sa.Select) -> sa.Select:
    return query.where(Entry.status == EntryStatus.APPROVED, Entry.exam_number.is_not(None))


def ticket_count(query: sa.Select) -> int:
    """How many tickets :func:`admission_tickets` prints for ``query`` in all."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(
        _printable(query).with_only_columns(Entry.id).subquery())) or 0


def admission_tickets(query: sa.Select, *, stage: Stage | None = None, offset: int = 0,
                      limit: int | None = None) -> list[Ticket]:
    """A ticket for each approved entry of ``query`` (a select of Entry), in exam-number order
    (``limit`` of them from ``offset``: a print run in batches). The place printed is the
    entry's in ``stage`` when given, else in the latest stage it has reached. Entries without
    an exam number (not approved) get none. Three queries, however many tickets."""
    ordered = (_printable(query)
               .order_by(Entry.contest_id, Entry.track_id, Entry.exam_number_seq, Entry.id)
               .offset(offset).limit(limit))
    entries = db.session.scalars(
        ordered.options(joinedload(Entry.contestant).joinedload(Contestant.user),
                        joinedload(Entry.enterprise), joinedload(Entry.track),
                        joinedload(Entry.contest))
    ).unique().all()
    if not entries:
        return []
    places_query = (sa.select(StageEntry).join(Stage, StageEntry.stage_id == Stage.id)
                    .where(StageEntry.entry_id.in_([e.id for e in entries]))
                    .options(joinedload(StageEntry.stage), joinedload(StageEntry.sitting))
                    .order_by(Stage.seq))
    if stage is not None:
        places_query = places_query.where(StageEntry.stage_id == stage.id)
    places = {p.entry_id: p for p in db.session.scalars(places_query)}  # the latest stage wins
    users = [e.contestant.user for e in entries if e.contestant.user is not None]
    passwords = initial_passwords(users)
    return [Ticket(entry=e, place=places.get(e.id),
                   qr=exam_number_qr(e.contest.code, e.exam_number),
                   username=e.contestant.user.username if e.contestant.user else None,
                   initial_password=passwords.get(e.contestant.user_id))
            for e in entries]


def tickets_query(track_id: int, *, stage_id: int | None = None, sitting_id: int | None = None,
                  enterprise_id: int | None = None) -> sa.Select:
    """The entries of a track whose tickets are printed together: all of them, those of one
    stage or one sitting, or those of one enterprise."""
    query = sa.select(Entry).where(Entry.track_id == track_id)
    if sitting_id is not None:
        query = query.where(Entry.id.in_(sa.select(StageEntry.entry_id).where(
            StageEntry.sitting_id == sitting_id)))
    elif stage_id is not None:
        query = query.where(Entry.id.in_(sa.select(StageEntry.entry_id).where(
            StageEntry.stage_id == stage_id, StageEntry.status == StageEntryStatus.ACTIVE)))
    if enterprise_id is not None:
        query = query.where(Entry.enterprise_id == enterprise_id)
    return query


@dataclass
class SigninSheet:
    """One sitting's sign-in sheet (签到表): its people in exam-number order, numbered; the
    order number is the seat at a theory sitting. Workstation numbers stay sealed (blind
    marking) and are never printed here."""

    stage: Stage
    sitting: Sitting | None
    people: list[StageEntry]


def signin_sheets(stage: Stage, *, sitting: Sitting | None = None) -> list[SigninSheet]:
    """The sign-in sheets of a stage's sittings (one sitting's when given), then one of the
    people not yet placed in a sitting, if any."""
    from app.services.sittings import rosters

    placed, unplaced = rosters(stage)
    if sitting is not None:
        return [SigninSheet(stage, r.sitting, r.people) for r in placed
                if r.sitting is not None and r.sitting.id == sitting.id]
    sheets = [SigninSheet(stage, r.sitting, r.people) for r in placed]
    if unplaced.people:
        sheets.append(SigninSheet(stage, None, unplaced.people))
    return sheets
