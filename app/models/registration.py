"""Enterprises, contestants, their entries to a contest and their places in each stage."""
from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import ScaledDecimal, str_enum, utcnow

if TYPE_CHECKING:
    from app.models.accounts import User
    from app.models.contest import Contest, Sitting, Stage, Track


class Enterprise(db.Model):
    """A contestant's employer (单位). ``match_key`` ignores bracket widths and spaces."""

    __tablename__ = "enterprises"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    match_key: Mapped[str] = mapped_column(sa.String(200), unique=True)
    category: Mapped[str | None] = mapped_column(sa.String(40))  # e.g. 化工 / 生物医药
    city: Mapped[str | None] = mapped_column(sa.String(40))  # 设区市
    credit_code: Mapped[str | None] = mapped_column(sa.String(18), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Gender(enum.StrEnum):
    MALE = "male"
    FEMALE = "female"


class Contestant(db.Model):
    """A person (选手). The resident ID number is sensitive: views show it masked."""

    __tablename__ = "contestants"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), unique=True)
    name: Mapped[str] = mapped_column(sa.String(60))
    gender: Mapped[Gender] = mapped_column(str_enum(Gender))
    id_number: Mapped[str] = mapped_column(sa.String(18), unique=True)
    birth_date: Mapped[date]
    phone: Mapped[str | None] = mapped_column(sa.String(11))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User | None] = relationship(back_populates="contestant")
    entries: Mapped[list[Entry]] = relationship(back_populates="contestant")

    @property
    def masked_id_number(self) -> str:
        return mask_id_number(self.id_number)


def mask_id_number(id_number: str | None) -> str:
    """320102********1234 style: region and last four visible, birth date hidden."""
    if not id_number:
        return ""
    if len(id_number) <= 10:
        return "*" * len(id_number)
    return id_number[:6] + "*" * (len(id_number) - 10) + id_number[-4:]


class EntryStatus(enum.StrEnum):
    """The review chain: submitted → endorsed (enterprise union) → approved / rejected."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    ENDORSED = "endorsed"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


class EntrySource(enum.StrEnum):
    SELF = "self"
    ENTERPRISE = "enterprise"
    IMPORT = "import"
    ADVANCEMENT = "advancement"


class Entry(db.Model):
    """One person's entry to one track of a contest; one entry per person per contest."""

    __tablename__ = "entries"
    __table_args__ = (
        sa.UniqueConstraint("contest_id", "contestant_id"),
        sa.UniqueConstraint("contest_id", "exam_number"),
        sa.CheckConstraint("years_as_leader IS NULL OR years_as_leader >= 0",
                           name="years_nonnegative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contest_id: Mapped[int] = mapped_column(sa.ForeignKey("contests.id"), index=True)
    track_id: Mapped[int] = mapped_column(sa.ForeignKey("tracks.id"), index=True)
    contestant_id: Mapped[int] = mapped_column(sa.ForeignKey("contestants.id"), index=True)
    enterprise_id: Mapped[int] = mapped_column(sa.ForeignKey("enterprises.id"), index=True)
    enterprise_category: Mapped[str | None] = mapped_column(sa.String(40))
    city: Mapped[str | None] = mapped_column(sa.String(40))
    post: Mapped[str | None] = mapped_column(sa.String(100))  # 岗位
    team_name: Mapped[str | None] = mapped_column(sa.String(100))  # 班组
    years_as_leader: Mapped[Decimal | None] = mapped_column(ScaledDecimal(1))
    skill_level: Mapped[str | None] = mapped_column(sa.String(40))
    honours: Mapped[str | None] = mapped_column(sa.Text)
    front_line: Mapped[bool] = mapped_column(default=True)
    # Holders of some honours run unranked: their place passes on.
    unranked: Mapped[bool] = mapped_column(default=False)
    status: Mapped[EntryStatus] = mapped_column(
        str_enum(EntryStatus), default=EntryStatus.SUBMITTED, index=True)
    rejection_reason: Mapped[str | None] = mapped_column(sa.Text)
    exam_number: Mapped[str | None] = mapped_column(sa.String(40))
    exam_number_seq: Mapped[int | None]
    source: Mapped[EntrySource] = mapped_column(str_enum(EntrySource), default=EntrySource.SELF)
    import_batch_id: Mapped[int | None] = mapped_column(sa.ForeignKey("import_batches.id"))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    submitted_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    contest: Mapped[Contest] = relationship()
    track: Mapped[Track] = relationship()
    contestant: Mapped[Contestant] = relationship(back_populates="entries")
    enterprise: Mapped[Enterprise] = relationship()
    history: Mapped[list[EntryStatusChange]] = relationship(
        back_populates="entry", order_by="EntryStatusChange.id", cascade="all, delete-orphan")


class EntryStatusChange(db.Model):
    """One step of an entry's review history, with the reason the contestant sees."""

    __tablename__ = "entry_status_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(sa.ForeignKey("entries.id"), index=True)
    from_status: Mapped[EntryStatus | None] = mapped_column(str_enum(EntryStatus))
    to_status: Mapped[EntryStatus] = mapped_column(str_enum(EntryStatus))
    reason: Mapped[str | None] = mapped_column(sa.Text)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)

    entry: Mapped[Entry] = relationship(back_populates="history")


class StageEntryStatus(enum.StrEnum):
    ACTIVE = "active"
    WITHDRAWN = "withdrawn"
    DISQUALIFIED = "disqualified"  # the whole entry, e.g. fraud


class StageEntry(db.Model):
    """An entry's place in one stage: sitting and the sealed blind numbers.

    exam number → check-in draw number (检录号) → workstation number (赛位号); judges see only
    the workstation number.
    """

    __tablename__ = "stage_entries"
    __table_args__ = (
        sa.UniqueConstraint("stage_id", "entry_id"),
        sa.UniqueConstraint("stage_id", "checkin_number"),
        sa.UniqueConstraint("stage_id", "workstation_number"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    stage_id: Mapped[int] = mapped_column(sa.ForeignKey("stages.id"), index=True)
    entry_id: Mapped[int] = mapped_column(sa.ForeignKey("entries.id"), index=True)
    status: Mapped[StageEntryStatus] = mapped_column(
        str_enum(StageEntryStatus), default=StageEntryStatus.ACTIVE)
    disqualified_reason: Mapped[str | None] = mapped_column(sa.Text)
    sitting_id: Mapped[int | None] = mapped_column(sa.ForeignKey("sittings.id"), index=True)
    checkin_number: Mapped[str | None] = mapped_column(sa.String(20))
    workstation_number: Mapped[str | None] = mapped_column(sa.String(20))
    draw_id: Mapped[int | None] = mapped_column(sa.ForeignKey("draws.id"))
    # Set when the entry came in through a previous stage's final advancement list.
    advanced_from_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("advancement_entries.id", use_alter=True))  # the tables refer to each other
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    stage: Mapped[Stage] = relationship()
    entry: Mapped[Entry] = relationship()
    sitting: Mapped[Sitting | None] = relationship()
