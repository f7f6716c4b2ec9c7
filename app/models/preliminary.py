"""An online preliminary run in the union's app: the stage's learning-points rule, versioned,
and the learning records imported from the app (kept so points can be reproduced)."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.base import POINTS, ScaledDecimal, utcnow


class LearningRuleVersion(db.Model):
    """One version of a stage's learning-points rule (scoring.learning.LearningRule as JSON).
    Editing the rule adds a version; a version is never changed, so each person's points name
    the version they were computed with."""

    __tablename__ = "learning_rule_versions"
    __table_args__ = (sa.UniqueConstraint("stage_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    stage_id: Mapped[int] = mapped_column(sa.ForeignKey("stages.id"), index=True)
    version: Mapped[int]
    rule: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    note: Mapped[str | None] = mapped_column(sa.Text)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LearningRecord(db.Model):
    """One row of an app's learning records, as read, for the stage entry it names."""

    __tablename__ = "learning_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(sa.ForeignKey("import_batches.id"), index=True)
    stage_entry_id: Mapped[int] = mapped_column(sa.ForeignKey("stage_entries.id"))
    row_number: Mapped[int]  # as Excel shows it
    day: Mapped[date]
    task_kind: Mapped[str] = mapped_column(sa.String(40))
    item: Mapped[str] = mapped_column(sa.String(200))
    minutes: Mapped[Decimal | None] = mapped_column(ScaledDecimal(2))
    quiz_score: Mapped[Decimal | None] = mapped_column(ScaledDecimal(POINTS))
