"""Results versions, re-checks, appeals, advancement lists under public notice, objections."""
from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, WriteOnlyMapped, mapped_column, relationship

from app.extensions import db
from app.models.base import POINTS, PUBLISHED, ScaledDecimal, str_enum, utcnow

if TYPE_CHECKING:
    from app.models.contest import Stage
    from app.models.registration import StageEntry


class VersionStatus(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    SUPERSEDED = "superseded"


class ResultsVersion(db.Model):
    """An immutable computation of a stage's results; a correction is a new version.

    ``fingerprint`` is the SHA-256 of the inputs (scores and settings) so anyone can tell whether
    two versions were computed from the same numbers.
    """

    __tablename__ = "results_versions"
    __table_args__ = (sa.UniqueConstraint("stage_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    stage_id: Mapped[int] = mapped_column(sa.ForeignKey("stages.id"), index=True)
    number: Mapped[int]
    status: Mapped[VersionStatus] = mapped_column(
        str_enum(VersionStatus), default=VersionStatus.DRAFT)
    reason: Mapped[str | None] = mapped_column(sa.Text)  # why this version exists
    previous_id: Mapped[int | None] = mapped_column(sa.ForeignKey("results_versions.id"))
    fingerprint: Mapped[str] = mapped_column(sa.String(64))
    settings: Mapped[dict[str, Any]] = mapped_column(sa.JSON)  # the rules used, as computed
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    published_at: Mapped[datetime | None]

    stage: Mapped[Stage] = relationship()
    rows: WriteOnlyMapped[ResultRow] = relationship(
        primaryjoin="ResultsVersion.id == foreign(ResultRow.version_id)",
        back_populates="version")


# A version's rows and their component points are written once, by results._store_rows, and
# never changed or deleted: the database refuses it (triggers, migration e4a7c9b2d6f1), as it
# refuses to delete a version, or a stage entry or component a version names. Hence no foreign
# keys on these two tables: PostgreSQL checks a foreign key row by row (a trigger and a lookup
# per key: 800,000 for a version of 100,000 entries with 3 components, most of the time of
# storing it), and every key here is known to exist when it is written -- the version just
# flushed, the rows just inserted, the stage's own entries and components, in the same
# transaction -- and kept existing by those triggers.

class ResultRow(db.Model):
    """One entry's line in a results version: total, rank and how its tie was decided.

    The unique index on (version, entry) is the version's index too: a second one on the
    version alone only slowed the writes and, for a version newer than the planner's
    statistics, drew PostgreSQL into scanning the whole version once per line."""

    __tablename__ = "result_rows"
    __table_args__ = (sa.UniqueConstraint("version_id", "stage_entry_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int]  # results_versions.id (see above: no foreign key)
    stage_entry_id: Mapped[int]  # stage_entries.id, of the version's stage
    total: Mapped[Decimal | None] = mapped_column(ScaledDecimal(PUBLISHED))
    standardised: Mapped[Decimal | None] = mapped_column(ScaledDecimal(PUBLISHED))
    rank: Mapped[int | None]
    tie_break: Mapped[str | None] = mapped_column(sa.String(100))
    status: Mapped[str] = mapped_column(sa.String(24))  # ok / incomplete / disqualified / …
    eligible: Mapped[bool] = mapped_column(default=True)
    reason: Mapped[str | None] = mapped_column(sa.Text)
    award: Mapped[str | None] = mapped_column(sa.String(40))

    version: Mapped[ResultsVersion] = relationship(
        primaryjoin="foreign(ResultRow.version_id) == ResultsVersion.id", back_populates="rows")
    stage_entry: Mapped[StageEntry] = relationship(
        primaryjoin="foreign(ResultRow.stage_entry_id) == StageEntry.id")
    components: Mapped[list[ResultComponentScore]] = relationship(
        primaryjoin="ResultRow.id == foreign(ResultComponentScore.row_id)",
        back_populates="row")


class ResultComponentScore(db.Model):
    """A component's published points and percentage on one results row, keyed by the row and
    the component (the primary key serves lookups by row)."""

    __tablename__ = "result_component_scores"

    row_id: Mapped[int] = mapped_column(primary_key=True)  # result_rows.id
    component_id: Mapped[int] = mapped_column(primary_key=True)  # components.id, of the stage
    points: Mapped[Decimal | None] = mapped_column(ScaledDecimal(PUBLISHED))
    percent: Mapped[Decimal | None] = mapped_column(ScaledDecimal(PUBLISHED))

    row: Mapped[ResultRow] = relationship(
        primaryjoin="foreign(ResultComponentScore.row_id) == ResultRow.id",
        back_populates="components")


class RecheckKind(enum.StrEnum):
    SAMPLE = "sample"
    FULL = "full"


class RecheckRound(db.Model):
    """A re-check (复核) of a results version: top M plus a seeded sample of the rest."""

    __tablename__ = "recheck_rounds"

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(sa.ForeignKey("results_versions.id"), index=True)
    kind: Mapped[RecheckKind] = mapped_column(str_enum(RecheckKind))
    seed: Mapped[str] = mapped_column(sa.String(64))
    top: Mapped[int]
    fraction: Mapped[Decimal] = mapped_column(ScaledDecimal(4))
    error_rate: Mapped[Decimal | None] = mapped_column(ScaledDecimal(4))
    closed_at: Mapped[datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RecheckOutcome(enum.StrEnum):
    PENDING = "pending"
    CORRECT = "correct"
    CORRECTED = "corrected"


class RecheckItem(db.Model):
    __tablename__ = "recheck_items"
    __table_args__ = (sa.UniqueConstraint("round_id", "stage_entry_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("recheck_rounds.id"), index=True)
    stage_entry_id: Mapped[int] = mapped_column(sa.ForeignKey("stage_entries.id"))
    outcome: Mapped[RecheckOutcome] = mapped_column(
        str_enum(RecheckOutcome), default=RecheckOutcome.PENDING)
    note: Mapped[str | None] = mapped_column(sa.Text)
    checked_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    checked_at: Mapped[datetime | None]


class RulingStatus(enum.StrEnum):
    OPEN = "open"
    UPHELD = "upheld"
    DISMISSED = "dismissed"


class Appeal(db.Model):
    """A contestant's appeal (申诉) on a component; the arbitration group's ruling is final."""

    __tablename__ = "appeals"

    id: Mapped[int] = mapped_column(primary_key=True)
    stage_entry_id: Mapped[int] = mapped_column(sa.ForeignKey("stage_entries.id"), index=True)
    component_id: Mapped[int] = mapped_column(sa.ForeignKey("components.id"), index=True)
    filed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    filed_at: Mapped[datetime] = mapped_column(default=utcnow)
    text: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[RulingStatus] = mapped_column(str_enum(RulingStatus), default=RulingStatus.OPEN)
    ruling: Mapped[str | None] = mapped_column(sa.Text)
    ruled_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    ruled_at: Mapped[datetime | None]
    resulting_version_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("results_versions.id"))


class ScoreCorrection(db.Model):
    """A judged component's score corrected after sign-off, for one contestant, on its ground:
    an upheld appeal on that component, or a re-check that found the contestant's score wrong.
    The sheets' marks and the stored points changed (each change audited); no results version
    is touched — the next version carries the correction."""

    __tablename__ = "score_corrections"
    __table_args__ = (sa.CheckConstraint("(appeal_id IS NULL) <> (recheck_item_id IS NULL)",
                                         name="one_ground"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    component_id: Mapped[int] = mapped_column(sa.ForeignKey("components.id"), index=True)
    stage_entry_id: Mapped[int] = mapped_column(sa.ForeignKey("stage_entries.id"), index=True)
    appeal_id: Mapped[int | None] = mapped_column(sa.ForeignKey("appeals.id"), index=True)
    recheck_item_id: Mapped[int | None] = mapped_column(sa.ForeignKey("recheck_items.id"),
                                                        index=True)
    reason: Mapped[str] = mapped_column(sa.Text)
    sheets: Mapped[int]  # score sheets whose marks changed
    points_before: Mapped[Decimal | None] = mapped_column(ScaledDecimal(POINTS))
    points_after: Mapped[Decimal | None] = mapped_column(ScaledDecimal(POINTS))
    corrected_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    corrected_at: Mapped[datetime] = mapped_column(default=utcnow)


class ListStatus(enum.StrEnum):
    DRAFT = "draft"
    NOTICE = "notice"  # 公示
    FINAL = "final"
    WITHDRAWN = "withdrawn"


class AdvancementList(db.Model):
    """The advancers of a stage, from one published results version, under public notice."""

    __tablename__ = "advancement_lists"

    id: Mapped[int] = mapped_column(primary_key=True)
    stage_id: Mapped[int] = mapped_column(sa.ForeignKey("stages.id"), index=True)
    version_id: Mapped[int] = mapped_column(sa.ForeignKey("results_versions.id"))
    status: Mapped[ListStatus] = mapped_column(str_enum(ListStatus), default=ListStatus.DRAFT)
    quota: Mapped[int]
    per_enterprise_cap: Mapped[int | None]
    cutoff_tie_policy: Mapped[str] = mapped_column(sa.String(24))
    cutoff_note: Mapped[str | None] = mapped_column(sa.Text)
    notice_starts_at: Mapped[datetime | None]
    notice_ends_at: Mapped[datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finalised_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    finalised_at: Mapped[datetime | None]
    # Withdrawn (a draft or a list under notice): when, by whom and why; the public page of a
    # list that was on notice says so.
    withdrawn_at: Mapped[datetime | None]
    withdrawn_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    withdrawal_reason: Mapped[str | None] = mapped_column(sa.Text)
    # The withdrawn list this one was generated in place of (from a newer published version).
    replaces_list_id: Mapped[int | None] = mapped_column(sa.ForeignKey("advancement_lists.id"))
    # The organiser's decision to keep this list although a newer version was published:
    # valid for that version only (a still newer one raises the question again).
    kept_for_version_id: Mapped[int | None] = mapped_column(sa.ForeignKey("results_versions.id"))
    kept_reason: Mapped[str | None] = mapped_column(sa.Text)
    kept_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    kept_at: Mapped[datetime | None]

    stage: Mapped[Stage] = relationship()
    version: Mapped[ResultsVersion] = relationship(foreign_keys=[version_id])
    entries: Mapped[list[AdvancementEntry]] = relationship(
        back_populates="list", order_by="AdvancementEntry.position", cascade="all, delete-orphan")


class AdvancementEntryStatus(enum.StrEnum):
    ADVANCING = "advancing"
    REMOVED = "removed"  # after a verified objection
    SKIPPED_FOR_CAP = "skipped_for_cap"  # over the per-enterprise cap
    RESERVE = "reserve"  # eligible, next in line for replacement (递补)


class AdvancementEntry(db.Model):
    __tablename__ = "advancement_entries"
    __table_args__ = (sa.UniqueConstraint("list_id", "stage_entry_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column(sa.ForeignKey("advancement_lists.id"), index=True)
    stage_entry_id: Mapped[int] = mapped_column(sa.ForeignKey("stage_entries.id"))
    position: Mapped[int]
    rank: Mapped[int | None]
    status: Mapped[AdvancementEntryStatus] = mapped_column(str_enum(AdvancementEntryStatus))
    reason: Mapped[str | None] = mapped_column(sa.Text)
    replaces_id: Mapped[int | None] = mapped_column(sa.ForeignKey("advancement_entries.id"))
    added_at: Mapped[datetime] = mapped_column(default=utcnow)
    removed_at: Mapped[datetime | None]

    list: Mapped[AdvancementList] = relationship(back_populates="entries")
    stage_entry: Mapped[StageEntry] = relationship(foreign_keys=[stage_entry_id])


class Objection(db.Model):
    """An objection raised during public notice, and its ruling."""

    __tablename__ = "objections"

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column(sa.ForeignKey("advancement_lists.id"), index=True)
    advancement_entry_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("advancement_entries.id"))
    filed_by_name: Mapped[str] = mapped_column(sa.String(100))
    contact: Mapped[str | None] = mapped_column(sa.String(100))
    text: Mapped[str] = mapped_column(sa.Text)
    filed_at: Mapped[datetime] = mapped_column(default=utcnow)
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    status: Mapped[RulingStatus] = mapped_column(str_enum(RulingStatus), default=RulingStatus.OPEN)
    ruling: Mapped[str | None] = mapped_column(sa.Text)
    ruled_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    ruled_at: Mapped[datetime | None]


class PoolState(enum.StrEnum):
    UNDECIDED = "undecided"  # 资格审核中
    CONFIRMED = "confirmed"  # 资格审核通过
    INELIGIBLE = "ineligible"  # 资格不符, with the reason the contestant sees


class EligibilityPool(db.Model):
    """A stage's eligibility pool (资格审核范围): the top M by rank of a published version whose
    eligibility the track union checks before the advancement list is drawn up. One per stage;
    a newer published version re-draws its membership (decisions stay with the people)."""

    __tablename__ = "eligibility_pools"

    id: Mapped[int] = mapped_column(primary_key=True)
    stage_id: Mapped[int] = mapped_column(sa.ForeignKey("stages.id"), unique=True)
    version_id: Mapped[int] = mapped_column(sa.ForeignKey("results_versions.id"))
    size: Mapped[int]  # M: members who are not found ineligible (grows when 递补 runs dry)
    drawn_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    drawn_at: Mapped[datetime] = mapped_column(default=utcnow)
    changes: Mapped[str | None] = mapped_column(sa.Text)  # what the last re-draw changed

    stage: Mapped[Stage] = relationship()
    version: Mapped[ResultsVersion] = relationship()


class PoolMember(db.Model):
    """A contestant drawn into a stage's eligibility pool, and the decision on their
    eligibility. ``in_pool`` is false for someone a re-draw left out (the decision is kept)."""

    __tablename__ = "pool_members"
    __table_args__ = (sa.UniqueConstraint("pool_id", "stage_entry_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    pool_id: Mapped[int] = mapped_column(sa.ForeignKey("eligibility_pools.id"), index=True)
    stage_entry_id: Mapped[int] = mapped_column(sa.ForeignKey("stage_entries.id"), index=True)
    in_pool: Mapped[bool] = mapped_column(default=True)
    rank: Mapped[int | None]  # rank in the pool's version
    joined_at: Mapped[datetime] = mapped_column(default=utcnow)
    state: Mapped[PoolState] = mapped_column(str_enum(PoolState), default=PoolState.UNDECIDED)
    reason: Mapped[str | None] = mapped_column(sa.Text)  # why ineligible: the contestant sees it
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]

    pool: Mapped[EligibilityPool] = relationship()
    stage_entry: Mapped[StageEntry] = relationship()
class Certificate(db.Model):
    """An award certificate (获奖证书) of one award holder in a published results version.

    ``number`` (``<prefix>-<seq>``, the prefix naming the contest and the track) is unique across
    the system and never reused: a revoked certificate keeps its number, and a certificate issued
    again gets the next one. The holder, track and award are kept as printed."""

    __tablename__ = "certificates"
    __table_args__ = (sa.UniqueConstraint("prefix", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(sa.String(60), unique=True)
    prefix: Mapped[str] = mapped_column(sa.String(50))
    seq: Mapped[int]
    stage_id: Mapped[int] = mapped_column(sa.ForeignKey("stages.id"), index=True)
    version_id: Mapped[int] = mapped_column(sa.ForeignKey("results_versions.id"))
    stage_entry_id: Mapped[int] = mapped_column(sa.ForeignKey("stage_entries.id"), index=True)
    award: Mapped[str] = mapped_column(sa.String(60))
    holder_name: Mapped[str] = mapped_column(sa.String(100))
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    issued_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    revoked_at: Mapped[datetime | None]
    revoked_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    revocation_reason: Mapped[str | None] = mapped_column(sa.Text)

    stage: Mapped[Stage] = relationship()
    version: Mapped[ResultsVersion] = relationship()
    stage_entry: Mapped[StageEntry] = relationship()

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None
