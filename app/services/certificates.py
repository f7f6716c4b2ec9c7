"""Award certificates (获奖证书): issued for a published version's awards, numbered once and for
all, revocable with a reason, verifiable by anyone through their number."""
from __future__ import annotations

import re
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload

from app.extensions import db
from app.inputs import clean_text
from app.models import (
    Certificate,
    Entry,
    ResultRow,
    ResultsVersion,
    Stage,
    StageEntry,
    Track,
    User,
    VersionStatus,
    utcnow,
)
from app.services import ServiceError, audit

REASON_MAX = 500
NUMBER_PATTERN = re.compile(r"[A-Z0-9][A-Z0-9_-]{0,59}")


def number_prefix(track: Track) -> str:
    """The part of a certificate number naming the contest and the track, e.g. JSTL-2025-01.
    Contest codes are unique, and track numbers unique within a contest."""
    return f"{track.contest.code.upper()}-{track.number:02d}"


def mask_name(name: str) -> str:
    """A holder's name as the public verification page shows it: 张三 → 张*, 张小明 → 张*明,
    欧阳小明 → 欧**明."""
    name = (name or "").strip()
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


@dataclass
class Issued:
    """What issuing did: the certificates made now, how many award holders already had one,
    and the holders whose valid certificate names another award than this version does (a
    corrected version: revoke the old certificate, then issue again)."""

    created: list[Certificate]
    already: int
    differing: list[Certificate]


def _next_seq(prefix: str) -> int:
    # Revoked certificates keep their numbers: the next number is past every one ever issued.
    return (db.session.scalar(sa.select(sa.func.max(Certificate.seq))
                              .where(Certificate.prefix == prefix)) or 0) + 1


def issue(version: ResultsVersion, *, actor: User) -> Issued:
    """One certificate for each award holder of a published version who has no valid one for
    this stage yet, in rank order; issuing again adds nothing. Numbers run on per contest and
    track and are never reused."""
    if version.status != VersionStatus.PUBLISHED:
        raise ServiceError(_("Certificates are issued only for the published results version."),
                           code="conflict")
    stage = version.stage
    holders = db.session.execute(
        sa.select(ResultRow, StageEntry).join(StageEntry, StageEntry.id == ResultRow.stage_entry_id)
        .where(ResultRow.version_id == version.id, ResultRow.award.is_not(None))
        .options(joinedload(StageEntry.entry).joinedload(Entry.contestant))
        .order_by(ResultRow.rank, ResultRow.stage_entry_id)).all()
    if not holders:
        raise ServiceError(_("This results version gives no awards: set the stage's awards, "
                             "then compute and publish a new version."), code="conflict")
    valid = {c.stage_entry_id: c for c in db.session.scalars(
        sa.select(Certificate).where(Certificate.stage_id == stage.id,
                                     Certificate.revoked_at.is_(None)))}
    prefix = number_prefix(stage.track)
    seq = _next_seq(prefix)
    created, differing, already = [], [], 0
    now = utcnow()
    for row, place in holders:
        existing = valid.get(place.id)
        if existing is not None:
            already += 1
            if existing.award != row.award:
                differing.append(existing)
            continue
        certificate = Certificate(
            number=f"{prefix}-{seq:04d}", prefix=prefix, seq=seq, stage_id=stage.id,
            version_id=version.id, stage_entry_id=place.id, award=row.award,
            holder_name=place.entry.contestant.name, issued_at=now, issued_by_id=actor.id)
        db.session.add(certificate)
        created.append(certificate)
        seq += 1
    db.session.flush()
    if created:
        audit.record("certificate.issue", version,
                     f"{stage.track.name}·{stage.name} 成绩第{version.number}版 颁发获奖证书"
                     f"{len(created)}张（{created[0].number}至{created[-1].number}）",
                     after={"numbers": [c.number for c in created]}, actor=actor,
                     stage_id=stage.id)
    return Issued(created, already, differing)


def revoke(certificate: Certificate, reason: str | None, *, actor: User) -> Certificate:
    """Revoke a valid certificate with a reason: it keeps its number (never given again),
    can no longer be printed, and its verification page says it was revoked and when."""
    if certificate.revoked_at is not None:
        raise ServiceError(_("Certificate %(number)s is already revoked.",
                             number=certificate.number), code="conflict")
    reason = clean_text(reason, multiline=True, field="reason")
    if not reason:
        raise ServiceError(_("Give the reason for revoking the certificate."), field="reason")
    if len(reason) > REASON_MAX:
        raise ServiceError(_("At most %(n)s characters.", n=REASON_MAX), field="reason")
    certificate.revoked_at = utcnow()
    certificate.revoked_by_id = actor.id
    certificate.revocation_reason = reason
    db.session.flush()
    audit.record("certificate.revoke", certificate,
                 f"撤销获奖证书 {certificate.number}（{certificate.holder_name}，{certificate.award}）",
                 before={"state": "valid"}, after={"state": "revoked"}, reason=reason,
                 actor=actor, stage_id=certificate.stage_id)
    return certificate


def of_stage(stage: Stage) -> list[Certificate]:
    """The stage's certificates in number order, valid and revoked, with their holders."""
    return db.session.scalars(
        sa.select(Certificate).where(Certificate.stage_id == stage.id)
        .options(joinedload(Certificate.stage_entry).joinedload(StageEntry.entry)
                 .joinedload(Entry.contestant),
                 joinedload(Certificate.stage_entry).joinedload(StageEntry.entry)
                 .joinedload(Entry.enterprise))
        .order_by(Certificate.prefix, Certificate.seq)).all()


def printable(certificate: Certificate) -> Certificate:
    """A certificate to print; a revoked one is refused."""
    if certificate.revoked_at is not None:
        raise ServiceError(_("Certificate %(number)s was revoked and cannot be printed.",
                             number=certificate.number), code="conflict")
    return certificate


def find(number: str | None) -> Certificate | None:
    """The certificate with this number (as printed, any case, spaces ignored), or None."""
    number = "".join((number or "").split()).upper()
    if not NUMBER_PATTERN.fullmatch(number):
        return None  # not a number this system gives (and nothing for the database to choke on)
    return db.session.scalar(
        sa.select(Certificate).where(Certificate.number == number)
        .options(joinedload(Certificate.stage).joinedload(Stage.track).joinedload(Track.contest)))


def chinese_date(value) -> str:
    """A stored moment's day in the display time zone, as certificates date it: 2025年7月8日."""
    from app.display import display_datetime

    if value is None:
        return ""
    year, month, day = display_datetime(value, "yyyy-M-d").split("-")
    return f"{year}年{month}月{day}日"


def qr_svg(url: str) -> str:
    """A QR code of ``url`` as inline SVG (no image file, nothing fetched from elsewhere)."""
    import segno

    return segno.make(url, error="m").svg_inline(scale=3, title=url)


@dataclass
class CertificateCard:
    """Everything one printed certificate shows, worked out before the template."""

    number: str
    holder: str
    contest: str
    track: str
    stage: str
    award: str
    organiser: str
    issued_on: str
    verify_url: str
    qr: str


def card(certificate: Certificate, verify_url: str) -> CertificateCard:
    printable(certificate)
    stage = certificate.stage
    contest = stage.track.contest
    return CertificateCard(
        number=certificate.number, holder=certificate.holder_name, contest=contest.name,
        track=stage.track.name, stage=stage.name, award=certificate.award,
        organiser=contest.organiser or _("The organising committee"),
        issued_on=chinese_date(certificate.issued_at), verify_url=verify_url,
        qr=qr_svg(verify_url))
