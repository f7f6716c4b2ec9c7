"""Contest structure: contest → track → stage → component → marking scheme; abilities; sittings."""
from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from app.extensions import db
from app.models.base import POINTS, ScaledDecimal, str_enum, utcnow


def new_stamp() -> str:
    import secrets

    return secrets.token_hex(16)


class Contest(db.Model):
    __tablename__ = "contests"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(40), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    short_name: Mapped[str | None] = mapped_column(sa.String(60))
    year: Mapped[int]
    level: Mapped[str | None] = mapped_column(sa.String(40))  # e.g. 一级 (first-class)
    organiser: Mapped[str | None] = mapped_column(sa.String(200))  # 主办
    # Age limits are measured on this date.
    contest_date: Mapped[date | None]
    # Python format pattern for exam numbers; fields: year, track_no, track_code, seq.
    exam_number_pattern: Mapped[str] = mapped_column(
        sa.String(80), default="{year}{track_no:02d}{seq:04d}")
    is_template: Mapped[bool] = mapped_column(default=False)
    copied_from_id: Mapped[int | None] = mapped_column(sa.ForeignKey("contests.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    tracks: Mapped[list[Track]] = relationship(
        back_populates="contest", order_by="Track.sort_order", cascade="all, delete-orphan")
    abilities: Mapped[list[Ability]] = relationship(
        back_populates="contest", order_by="Ability.sort_order", cascade="all, delete-orphan")


class Ability(db.Model):
    """One of the abilities a contest assesses (the team-leader contest has ten)."""

    __tablename__ = "abilities"
    __table_args__ = (sa.UniqueConstraint("contest_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contest_id: Mapped[int] = mapped_column(sa.ForeignKey("contests.id"))
    code: Mapped[str] = mapped_column(sa.String(40))
    name: Mapped[str] = mapped_column(sa.String(60))
    sort_order: Mapped[int] = mapped_column(default=0)

    contest: Mapped[Contest] = relationship(back_populates="abilities")


class Track(db.Model):
    """An industry track (赛道), hosted by an industry union with enterprises as co-hosts."""

    __tablename__ = "tracks"
    __table_args__ = (sa.UniqueConstraint("contest_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contest_id: Mapped[int] = mapped_column(sa.ForeignKey("contests.id"), index=True)
    code: Mapped[str] = mapped_column(sa.String(40))
    name: Mapped[str] = mapped_column(sa.String(100))
    number: Mapped[int] = mapped_column(default=1)  # used in exam numbers
    host_union: Mapped[str | None] = mapped_column(sa.String(200))  # 承办
    co_hosts: Mapped[str | None] = mapped_column(sa.Text)  # 协办, one per line
    sort_order: Mapped[int] = mapped_column(default=0)

    contest: Mapped[Contest] = relationship(back_populates="tracks")
    stages: Mapped[list[Stage]] = relationship(
        back_populates="track", order_by="Stage.seq", cascade="all, delete-orphan")


class StageKind(enum.StrEnum):
    PRELIMINARY = "preliminary"  # 预赛
    ADVANCED = "advanced"  # 进阶考核
    FINAL = "final"  # 总决赛


class StageStatus(enum.StrEnum):
    """A stage's life, in order; published results never change silently after REVIEW."""

    DRAFT = "draft"
    REGISTRATION = "registration"
    SCORING = "scoring"
    REVIEW = "review"  # 复核
    PROVISIONAL = "provisional"
    NOTICE = "notice"  # 公示
    FINAL = "final"


class CutoffTiePolicy(enum.StrEnum):
    BREAK = "break"  # the tie-break chain decides who takes the last places
    INCLUDE_ALL = "include_all"  # everyone tied at the cut-off advances


class AwardRounding(enum.StrEnum):
    """How a prize's share of the ranked contestants becomes a whole number of places."""
    HALF_UP = "half_up"  # 四舍五入
    FLOOR = "floor"  # 去尾
    CEIL = "ceil"  # 进一


class AwardTies(enum.StrEnum):
    """Contestants tied across a prize boundary: all take the better prize, or none does."""
    INCLUDE = "include"
    EXCLUDE = "exclude"


class Standardisation(enum.StrEnum):
    NONE = "none"
    WORLDSKILLS = "worldskills"
    ZSCORE = "zscore"


class Stage(db.Model):
    """An ordered stage of a track with every rule that turns its scores into a list."""

    __tablename__ = "stages"
    __table_args__ = (
        sa.UniqueConstraint("track_id", "seq"),
        sa.CheckConstraint("decimals BETWEEN 0 AND 4", name="decimals_range"),
        sa.CheckConstraint("quota IS NULL OR quota > 0", name="quota_positive"),
        sa.CheckConstraint("per_enterprise_cap IS NULL OR per_enterprise_cap > 0",
                           name="cap_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    track_id: Mapped[int] = mapped_column(sa.ForeignKey("tracks.id"), index=True)
    seq: Mapped[int]
    kind: Mapped[StageKind] = mapped_column(str_enum(StageKind))
    name: Mapped[str] = mapped_column(sa.String(100))
    status: Mapped[StageStatus] = mapped_column(str_enum(StageStatus), default=StageStatus.DRAFT)
    registration_opens_at: Mapped[datetime | None]
    registration_closes_at: Mapped[datetime | None]
    starts_on: Mapped[date | None]
    ends_on: Mapped[date | None]
    # Advancement
    quota: Mapped[int | None]  # top N advance
    review_pool: Mapped[int | None]  # top M eligibility-reviewed before the list (e.g. 100)
    per_enterprise_cap: Mapped[int | None]
    cutoff_tie_policy: Mapped[CutoffTiePolicy] = mapped_column(
        str_enum(CutoffTiePolicy), default=CutoffTiePolicy.BREAK)
    # [{"key": "practical" | "time" | column, "direction": "desc" | "asc"}, ...]
    tie_breaks: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list)
    notice_days: Mapped[int] = mapped_column(default=7)
    decimals: Mapped[int] = mapped_column(default=2)
    standardisation: Mapped[Standardisation] = mapped_column(
        str_enum(Standardisation), default=Standardisation.NONE)
    # Re-check (复核) before publication
    recheck_top: Mapped[int] = mapped_column(default=10)
    recheck_fraction: Mapped[Decimal] = mapped_column(ScaledDecimal(4), default=Decimal("0.15"))
    recheck_error_threshold: Mapped[Decimal] = mapped_column(
        ScaledDecimal(4), default=Decimal("0.05"))
    appeal_window_minutes: Mapped[int] = mapped_column(default=120)
    # Eligibility (defaults from the rules: 18–60 years, 2 years as team leader)
    min_age: Mapped[int | None] = mapped_column(default=18)
    max_age: Mapped[int | None] = mapped_column(default=60)
    min_years_as_leader: Mapped[Decimal | None] = mapped_column(
        ScaledDecimal(1), default=Decimal("2"))
    # Prizes best first, each with one of count / share / through (scoring.awards.AwardTier):
    # [{"name": "一等奖", "count": 3}, {"name": "二等奖", "share": "20"},
    #  {"name": "优胜奖", "through": "50"}]; shares are percent of the ranked eligible, as text.
    awards: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list)
    award_rounding: Mapped[AwardRounding] = mapped_column(
        str_enum(AwardRounding), default=AwardRounding.HALF_UP)
    award_ties: Mapped[AwardTies] = mapped_column(str_enum(AwardTies), default=AwardTies.INCLUDE)
    award_margin: Mapped[Decimal | None] = mapped_column(ScaledDecimal(4))

    track: Mapped[Track] = relationship(back_populates="stages")
    components: Mapped[list[Component]] = relationship(
        back_populates="stage", order_by="Component.sort_order", cascade="all, delete-orphan")
    sittings: Mapped[list[Sitting]] = relationship(
        back_populates="stage", order_by="Sitting.starts_at", cascade="all, delete-orphan")


class ComponentKind(enum.StrEnum):
    THEORY = "theory"
    PRACTICAL = "practical"
    DIGITAL_TWIN = "digital_twin"
    LEARNING_POINTS = "learning_points"
    OTHER = "other"


class AggregationMethod(enum.StrEnum):
    SINGLE = "single"
    MEAN = "mean"
    TRIMMED_MEAN = "trimmed_mean"
    MEDIAN = "median"


class JudgementOrder(enum.StrEnum):
    PER_SHEET = "per_sheet"  # each judge's sheet totalled, then the sheets combined
    PER_ITEM = "per_item"  # WorldSkills: the judges' grades per item averaged, rounded once


class ScoreSource(enum.StrEnum):
    JUDGES = "judges"  # judges mark score sheets
    IMPORT = "import"  # an exam system or simulator supplies the score


class Component(db.Model):
    """An assessed part of a stage (theory, practical, digital twin, …) with its weight."""

    __tablename__ = "components"
    __table_args__ = (
        sa.UniqueConstraint("stage_id", "code"),
        sa.CheckConstraint("weight >= 0", name="weight_nonnegative"),
        sa.CheckConstraint("maximum > 0", name="maximum_positive"),
        sa.CheckConstraint("min_judges >= 1", name="min_judges_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    stage_id: Mapped[int] = mapped_column(sa.ForeignKey("stages.id"), index=True)
    code: Mapped[str] = mapped_column(sa.String(40))
    name: Mapped[str] = mapped_column(sa.String(100))
    kind: Mapped[ComponentKind] = mapped_column(str_enum(ComponentKind))
    source: Mapped[ScoreSource] = mapped_column(str_enum(ScoreSource), default=ScoreSource.JUDGES)
    weight: Mapped[Decimal] = mapped_column(ScaledDecimal(2))  # percent of the stage total
    maximum: Mapped[Decimal] = mapped_column(ScaledDecimal(POINTS))
    aggregation: Mapped[AggregationMethod] = mapped_column(
        str_enum(AggregationMethod), default=AggregationMethod.MEAN)
    trim: Mapped[int | None]  # judges dropped at each end; null = rule default
    min_judges: Mapped[int] = mapped_column(default=1)
    disagreement_threshold: Mapped[Decimal | None] = mapped_column(ScaledDecimal(POINTS))
    # In which order the judges' judgement grades become points (scoring.JudgementOrder)
    judgement_order: Mapped[JudgementOrder] = mapped_column(
        str_enum(JudgementOrder), default=JudgementOrder.PER_SHEET,
        server_default=JudgementOrder.PER_SHEET.value)
    min_percent: Mapped[Decimal | None] = mapped_column(ScaledDecimal(2))
    time_limit_minutes: Mapped[int | None]
    overrun_deduction_per_minute: Mapped[Decimal | None] = mapped_column(ScaledDecimal(POINTS))
    overrun_disqualify_after_minutes: Mapped[int | None]
    ends_at: Mapped[datetime | None]  # the appeal window runs from here
    sort_order: Mapped[int] = mapped_column(default=0)
    signed_off_at: Mapped[datetime | None]
    signed_off_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    # Changes whenever the marking scheme does (an item added, changed, moved or removed, an
    # ability renamed): the judges' workers key the scoring rules they keep on it, so they
    # learn of a change from the component's row instead of reading the whole scheme each time.
    # A new random value each time, never reused (a deleted component's id can come back).
    scheme_stamp: Mapped[str | None] = mapped_column(sa.String(32), default=new_stamp)

    stage: Mapped[Stage] = relationship(back_populates="components")
    items: Mapped[list[MarkingItem]] = relationship(
        back_populates="component", order_by="MarkingItem.sort_order",
        cascade="all, delete-orphan")
    questions: Mapped[list[ExamQuestion]] = relationship(
        back_populates="component", order_by="ExamQuestion.number", cascade="all, delete-orphan")

    @property
    def is_signed_off(self) -> bool:
        return self.signed_off_at is not None


class MarkingNode(enum.StrEnum):
    CRITERION = "criterion"
    SUB_CRITERION = "sub_criterion"
    ITEM = "item"


class ItemKind(enum.StrEnum):
    MEASUREMENT = "measurement"  # 测量
    JUDGEMENT = "judgement"  # 评价, 0–3 per judge
    DEDUCTION = "deduction"  # 扣分, never below 0
    DISQUALIFYING = "disqualifying"  # 否决/失格


class DisqualifyScope(enum.StrEnum):
    COMPONENT = "component"
    ENTRY = "entry"


class MarkingItem(db.Model):
    """A node of a component's marking scheme: criterion → sub-criterion → item."""

    __tablename__ = "marking_items"
    __table_args__ = (
        sa.UniqueConstraint("component_id", "code"),
        sa.CheckConstraint("maximum IS NULL OR maximum >= 0", name="maximum_nonnegative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    component_id: Mapped[int] = mapped_column(sa.ForeignKey("components.id"), index=True)
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("marking_items.id"))
    node: Mapped[MarkingNode] = mapped_column(str_enum(MarkingNode), default=MarkingNode.ITEM)
    code: Mapped[str] = mapped_column(sa.String(40))
    title: Mapped[str] = mapped_column(sa.String(300))
    kind: Mapped[ItemKind | None] = mapped_column(str_enum(ItemKind))  # items only
    maximum: Mapped[Decimal | None] = mapped_column(ScaledDecimal(POINTS))
    all_or_nothing: Mapped[bool] = mapped_column(default=False)
    deduction_per_occurrence: Mapped[Decimal | None] = mapped_column(ScaledDecimal(POINTS))
    disqualify_scope: Mapped[DisqualifyScope | None] = mapped_column(str_enum(DisqualifyScope))
    # Judgement descriptors: {"0": "...", "1": "...", "2": "...", "3": "..."}
    descriptors: Mapped[dict[str, str] | None] = mapped_column(sa.JSON)
    ability_id: Mapped[int | None] = mapped_column(sa.ForeignKey("abilities.id"))
    sort_order: Mapped[int] = mapped_column(default=0)

    component: Mapped[Component] = relationship(back_populates="items")
    parent: Mapped[MarkingItem | None] = relationship(remote_side=[id])
    ability: Mapped[Ability | None] = relationship()


class QuestionKind(enum.StrEnum):
    SINGLE_CHOICE = "single_choice"
    MULTIPLE_CHOICE = "multiple_choice"
    TRUE_FALSE = "true_false"
    OTHER = "other"


class ExamQuestion(db.Model):
    """A machine-marked theory question: its key, points, partial-credit rule and ability."""

    __tablename__ = "exam_questions"
    __table_args__ = (sa.UniqueConstraint("component_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    component_id: Mapped[int] = mapped_column(sa.ForeignKey("components.id"), index=True)
    number: Mapped[int]
    kind: Mapped[QuestionKind] = mapped_column(str_enum(QuestionKind))
    answer_key: Mapped[str] = mapped_column(sa.String(40))
    points: Mapped[Decimal] = mapped_column(ScaledDecimal(POINTS))
    # Points for a correct proper subset of a multiple-choice key (e.g. half); 0 = none.
    partial_credit: Mapped[Decimal | None] = mapped_column(ScaledDecimal(POINTS))
    # Struck out after the exam (该题作废): every attempt earns its points.
    voided: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    ability_id: Mapped[int | None] = mapped_column(sa.ForeignKey("abilities.id"))

    component: Mapped[Component] = relationship(back_populates="questions")

    def rule(self):
        """The question as scoring/ marks it."""
        import scoring as sc

        return sc.ExamQuestion(self.number, self.kind.value, self.answer_key, self.points,
                               self.partial_credit, voided=self.voided)
    ability: Mapped[Ability | None] = relationship()


class Sitting(db.Model):
    """A sitting (场次) of a stage: where and when a group of contestants is assessed."""

    __tablename__ = "sittings"

    id: Mapped[int] = mapped_column(primary_key=True)
    stage_id: Mapped[int] = mapped_column(sa.ForeignKey("stages.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    venue: Mapped[str | None] = mapped_column(sa.String(200))
    room: Mapped[str | None] = mapped_column(sa.String(100))
    starts_at: Mapped[datetime | None]
    ends_at: Mapped[datetime | None]
    capacity: Mapped[int | None]

    stage: Mapped[Stage] = relationship(back_populates="sittings")


@sa.event.listens_for(Session, "before_flush")
def _restamp_changed_schemes(session: Session, _context, _instances) -> None:
    """A new ``Component.scheme_stamp`` for every component whose marking scheme this flush
    changes: items added, changed or deleted, or an ability an item names renamed."""
    component_ids: set[int] = set()
    abilities: list[int] = []
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, MarkingItem):
            if obj in session.dirty and not session.is_modified(obj):
                continue
            component = obj.__dict__.get("component")
            component_id = obj.component_id or (component.id if component is not None else None)
            if component_id:  # a new component's items need nothing: the component is new too
                component_ids.add(component_id)
        elif isinstance(obj, Ability) and obj.id and obj in session.dirty \
                and session.is_modified(obj):
            abilities.append(obj.id)
    if abilities:
        with session.no_autoflush:
            component_ids.update(session.scalars(sa.select(MarkingItem.component_id).where(
                MarkingItem.ability_id.in_(abilities)).distinct()))
    for component_id in component_ids:
        with session.no_autoflush:
            component = session.get(Component, component_id)
        if component is not None and component not in session.deleted:
            component.scheme_stamp = new_stamp()
