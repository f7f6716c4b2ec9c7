"""Registration rules shared by the demo, the forms and the importers."""
from __future__ import annotations

import re
import unicodedata

import sqlalchemy as sa
from flask_babel import gettext as _

from app.extensions import db
from app.models import Enterprise, Entry, EntryStatus, EntryStatusChange, User
from app.services import ServiceError, audit

_SPACES = re.compile(r"\s+")


def enterprise_match_key(name: str) -> str:
    """The form of an enterprise name used to match it: full- and half-width brackets and
    letters made alike (NFKC), every space removed, letters lower-cased."""
    return _SPACES.sub("", unicodedata.normalize("NFKC", name)).lower()


def find_or_create_enterprise(name: str, *, category: str | None = None,
                              city: str | None = None) -> tuple[Enterprise, bool]:
    """The enterprise whose name matches ``name`` (ignoring widths and spaces), or a new one."""
    clean = _SPACES.sub(" ", unicodedata.normalize("NFKC", name)).strip()
    if not clean:
        raise ServiceError(_("An enterprise name is required."), field="enterprise")
    key = enterprise_match_key(clean)
    found = db.session.scalar(sa.select(Enterprise).where(Enterprise.match_key == key))
    if found is not None:
        return found, False
    enterprise = Enterprise(name=clean, match_key=key, category=category, city=city)
    db.session.add(enterprise)
    db.session.flush()
    return enterprise, True


def issue_exam_number(entry: Entry) -> str:
    """Give an approved entry the next exam number of its track, by the contest's pattern.

    A number, once issued, never changes; the sequence is per contest and track.
    """
    if entry.exam_number:
        return entry.exam_number
    contest, track = entry.contest, entry.track
    last = db.session.scalar(
        sa.select(sa.func.max(Entry.exam_number_seq))
        .where(Entry.contest_id == contest.id, Entry.track_id == track.id)) or 0
    seq = last + 1
    entry.exam_number_seq = seq
    entry.exam_number = contest.exam_number_pattern.format(
        year=contest.year, track_no=track.number, track_code=track.code, seq=seq)
    return entry.exam_number


def change_status(entry: Entry, to_status: EntryStatus, *, reason: str | None = None,
                  actor: User | None = None) -> None:
    """Move an entry along the review chain, keeping its history and the audit log."""
    if to_status == EntryStatus.REJECTED and not (reason or "").strip():
        raise ServiceError(_("A rejection needs a reason the contestant can read."),
                           field="reason")
    from_status = entry.status
    entry.status = to_status
    entry.rejection_reason = reason if to_status == EntryStatus.REJECTED else None
    entry.history.append(EntryStatusChange(from_status=from_status, to_status=to_status,
                                           reason=reason, actor_id=actor.id if actor else None))
    if to_status == EntryStatus.APPROVED:
        issue_exam_number(entry)
    db.session.flush()
    audit.record("entry.status", entry,
                 f"报名 {entry.id} 状态 {from_status.value if from_status else '-'} → {to_status.value}",
                 before={"status": from_status.value if from_status else None},
                 after={"status": to_status.value, "exam_number": entry.exam_number},
                 reason=reason, actor=actor)
