"""Judge panels, the draw, score sheets and marks, aggregated and imported component scores."""
from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import POINTS, ScaledDecimal, str_enum, utcnow

if TYPE_CHECKING:
    from app.models.accounts import User
    from app.models.contest import Component, MarkingItem
    from app.models.registration import StageEntry


class PanelRole(enum.StrEnum):
    JUDGE = "judge"
    CHIEF_JUDGE = "chief_judge"


class JudgeAssignment(db.Model):
    """A judge (or the chief judge) on a component's panel, optionally for some workstations."""

    __tablename__ = "judge_assignments"
    __table_args__ = (sa.UniqueConstraint("component_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    component_id: Mapped[int] = mapped_column(sa.ForeignKey("components.id"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    panel_role: Mapped[PanelRole] = mapped_column(str_enum(PanelRole), default=PanelRole.JUDGE)
    sitting_id: Mapped[int | None] = mapped_column(sa.ForeignKey("sittings.id"))
    # Workstation numbers this judge marks; null = every workstation of the component.
    workstations: Mapped[list[str] | None] = mapped_column(sa.JSON)
    assigned_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    assigned_at: Mapped[datetime] = mapped_column(default=utcnow)

    component: Mapped[Component] = relationship()
    user: Mapped[User] = relationship(foreign_keys=[user_id])


class Draw(db.Model):
    """A recorded random draw of check-in and workstation numbers; the seed reproduces it."""

    __tablename__ = "draws"

    id: Mapped[int] = mapped_column(primary_key=True)
    stage_id: Mapped[int] = mapped_column(sa.ForeignKey("stages.id"), index=True)
    sitting_id: Mapped[int | None] = mapped_column(sa.ForeignKey("sittings.id"))
    seed: Mapped[str] = mapped_column(sa.String(64))
    drawn_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    drawn_at: Mapped[datetime] = mapped_column(default=utcnow)
    sealed_at: Mapped[datetime | None]


class SheetStatus(enum.StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    RETURNED = "returned"  # sent back by the chief judge with a comment


class ScoreSheet(db.Model):
    """One judge's marks for one workstation on one component.

    ``version`` is SQLAlchemy's optimistic lock: a save based on a stale version is refused.
    """

    __tablename__ = "score_sheets"
    __table_args__ = (sa.UniqueConstraint("component_id", "stage_entry_id", "judge_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    component_id: Mapped[int] = mapped_column(sa.ForeignKey("components.id"), index=True)
    stage_entry_id: Mapped[int] = mapped_column(sa.ForeignKey("stage_entries.id"), index=True)
    judge_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    status: Mapped[SheetStatus] = mapped_column(str_enum(SheetStatus), default=SheetStatus.DRAFT)
    points: Mapped[Decimal | None] = mapped_column(ScaledDecimal(POINTS))
    overrun_minutes: Mapped[int | None]
    disqualified: Mapped[bool] = mapped_column(default=False)
    disqualified_reason: Mapped[str | None] = mapped_column(sa.Text)
    return_comment: Mapped[str | None] = mapped_column(sa.Text)
    version: Mapped[int] = mapped_column(default=1)
    submitted_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    component: Mapped[Component] = relationship()
    stage_entry: Mapped[StageEntry] = relationship()
    judge: Mapped[User] = relationship()
    marks: Mapped[list[Mark]] = relationship(back_populates="sheet", cascade="all, delete-orphan")

    __mapper_args__ = {"version_id_col": version}


class Mark(db.Model):
    """A judge's value for one marking item: points, a 0–3 judgement, a count, or a flag."""

    __tablename__ = "marks"
    __table_args__ = (sa.UniqueConstraint("sheet_id", "item_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sheet_id: Mapped[int] = mapped_column(sa.ForeignKey("score_sheets.id"), index=True)
    item_id: Mapped[int] = mapped_column(sa.ForeignKey("marking_items.id"))
    value: Mapped[Decimal | None] = mapped_column(ScaledDecimal(POINTS))
    reason: Mapped[str | None] = mapped_column(sa.Text)  # required for disqualifying items
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    sheet: Mapped[ScoreSheet] = relationship(back_populates="marks")
    item: Mapped[MarkingItem] = relationship()


class Decryption(db.Model):
    """Names revealed (解密) for a signed-off component: when, by whom, witnessed by whom."""

    __tablename__ = "decryptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    component_id: Mapped[int] = mapped_column(sa.ForeignKey("components.id"), index=True)
    operator_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    witness: Mapped[str] = mapped_column(sa.String(100))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class ImportKind(enum.StrEnum):
    REGISTRATIONS = "registrations"
    THEORY = "theory"
    DIGITAL_TWIN = "digital_twin"
    MARKING_SCHEME = "marking_scheme"
    COMPONENT_SCORES = "component_scores"
    ANSWER_KEY = "answer_key"
    APP_PARTICIPANTS = "app_participants"  # an online preliminary's participant list
    APP_LEARNING = "app_learning"  # its learning records or points, by ID number
    APP_THEORY = "app_theory"  # its theory results, by ID number


class ImportStatus(enum.StrEnum):
    CHECKING = "checking"  # a large file's dry run is running in the background
    DRY_RUN = "dry_run"
    IMPORTED = "imported"
    REJECTED = "rejected"  # the organiser chose to import nothing
    FAILED = "failed"  # the file could not be read or the check stopped
    SUPERSEDED = "superseded"


class ImportBatch(db.Model):
    """Provenance of one imported file: name, SHA-256, who, when, rows and the report.

    ``content`` holds the uploaded file between a console dry run and the organiser's choice
    (import or cancel), and is cleared then; ``progress`` ({"phase", "done", "total", "at"}) is
    where a background check reports, so every worker process can answer a progress poll.
    """

    __tablename__ = "import_batches"
    __table_args__ = (sa.Index("ix_import_batches_target", "kind", "target_id", "sha256"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[ImportKind] = mapped_column(str_enum(ImportKind))
    target_id: Mapped[int]  # the track (registrations) or the component (results)
    file_name: Mapped[str] = mapped_column(sa.String(255))
    sha256: Mapped[str] = mapped_column(sa.String(64))
    status: Mapped[ImportStatus] = mapped_column(str_enum(ImportStatus))
    rows: Mapped[int] = mapped_column(default=0)
    valid_rows: Mapped[int] = mapped_column(default=0)
    imported_rows: Mapped[int] = mapped_column(default=0)
    report: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    progress: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    content: Mapped[bytes | None] = mapped_column(sa.LargeBinary, deferred=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ComponentScore(db.Model):
    """A stage entry's points on a component: aggregated from judges' sheets or imported.

    Computed once when the component is signed off (a signed-off component never changes) so a
    stage's results are recomputed from these rows alone.
    """

    __tablename__ = "component_scores"
    __table_args__ = (sa.UniqueConstraint("component_id", "stage_entry_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    component_id: Mapped[int] = mapped_column(sa.ForeignKey("components.id"), index=True)
    stage_entry_id: Mapped[int] = mapped_column(sa.ForeignKey("stage_entries.id"), index=True)
    points: Mapped[Decimal | None] = mapped_column(ScaledDecimal(POINTS))
    judges: Mapped[int] = mapped_column(default=0)
    complete: Mapped[bool] = mapped_column(default=True)
    disagreement: Mapped[bool] = mapped_column(default=False)
    disqualified: Mapped[bool] = mapped_column(default=False)
    disqualified_reason: Mapped[str | None] = mapped_column(sa.Text)
    time_used_seconds: Mapped[int | None]
    # Per-step / per-module / per-question detail from a simulator or exam system.
    details: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    import_batch_id: Mapped[int | None] = mapped_column(sa.ForeignKey("import_batches.id"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    component: Mapped[Component] = relationship()
    stage_entry: Mapped[StageEntry] = relationship()


class ImportedResult(db.Model):
    """One row of an imported results file exactly as it was read, kept for provenance."""

    __tablename__ = "imported_results"

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(sa.ForeignKey("import_batches.id"), index=True)
    stage_entry_id: Mapped[int] = mapped_column(sa.ForeignKey("stage_entries.id"), index=True)
    row_number: Mapped[int]  # as Excel shows it
    points: Mapped[Decimal] = mapped_column(ScaledDecimal(POINTS))
    time_used_seconds: Mapped[int | None]
    details: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
