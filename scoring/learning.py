"""Learning points of an online preliminary: an app's learning records become each person's points.

The rule (``LearningRule``) is the stage's, versioned by the web layer; this module only computes.
For one person, from rows of (day, task kind, item, minutes, quiz score):

1. The same item on the same day counts once: its best row (the longest view, the highest quiz
   score); the other rows of that item and day earn nothing.
2. A reading or video row (a kind with ``minutes_per_step``) earns ``points_per_step`` for every
   whole ``minutes_per_step`` minutes, and nothing when it is shorter than the rule's
   ``min_minutes`` (a view opened and closed).
3. A quiz row (a kind with ``full_marks``) earns ``points_on_full_marks`` when its score reaches
   the full marks, else ``points_per_attempt`` (0 by default).
4. Per day, each kind's points are capped at the kind's ``daily_cap``, then the day's sum of the
   kinds at the rule's ``daily_cap``.
5. The person's points are the sum of the days, capped at ``total_cap`` (the component's maximum),
   rounded half-up to ``decimals`` once, at the end.

All arithmetic is exact (integers and Decimal); no binary float is ever used.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from scoring.errors import InvalidInput, InvalidRule


def _number(value: Any, what: str, *, positive: bool = False, optional: bool = False
            ) -> Decimal | None:
    if value is None or value == "":
        if optional:
            return None
        raise InvalidRule(f"学习积分规则：{what}不能为空")
    if isinstance(value, float):
        raise InvalidRule(f"学习积分规则：{what}须为精确数字")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise InvalidRule(f"学习积分规则：{what}“{value}”不是数字") from None
    if not number.is_finite() or number < 0 or (positive and number == 0):
        raise InvalidRule(f"学习积分规则：{what}须为{'正数' if positive else '不小于0的数'}")
    if number.as_tuple().exponent < -3:
        raise InvalidRule(f"学习积分规则：{what}最多3位小数")
    return number


def _text(number: Decimal | None) -> str | None:
    if number is None:
        return None
    text = format(number, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


@dataclass(frozen=True)
class TaskKind:
    """How one kind of task earns points: by time (``minutes_per_step``) or by a quiz's score
    (``full_marks``); ``name`` is the kind as the app's export writes it (阅读, 视频, 答题)."""

    name: str
    minutes_per_step: Decimal | None = None
    points_per_step: Decimal = Decimal(0)
    full_marks: Decimal | None = None
    points_on_full_marks: Decimal = Decimal(0)
    points_per_attempt: Decimal = Decimal(0)
    daily_cap: Decimal | None = None

    def __post_init__(self) -> None:
        name = str(self.name or "").strip()
        if not name or len(name) > 40:
            raise InvalidRule("学习积分规则：任务类型名称须为1至40个字")
        object.__setattr__(self, "name", name)
        for attr, what, positive, optional in (
                ("minutes_per_step", f"“{name}”每档分钟数", True, True),
                ("points_per_step", f"“{name}”每档积分", False, False),
                ("full_marks", f"“{name}”满分", True, True),
                ("points_on_full_marks", f"“{name}”满分积分", False, False),
                ("points_per_attempt", f"“{name}”未满分积分", False, False),
                ("daily_cap", f"“{name}”每日上限", False, True)):
            object.__setattr__(self, attr, _number(getattr(self, attr), what,
                                                   positive=positive, optional=optional))
        if (self.minutes_per_step is None) == (self.full_marks is None):
            raise InvalidRule(f"学习积分规则：任务类型“{name}”须按时长（每档分钟数）"
                              "或按答题（满分）计分，二者选一")

    @property
    def by_time(self) -> bool:
        return self.minutes_per_step is not None

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "minutes_per_step": _text(self.minutes_per_step),
                "points_per_step": _text(self.points_per_step),
                "full_marks": _text(self.full_marks),
                "points_on_full_marks": _text(self.points_on_full_marks),
                "points_per_attempt": _text(self.points_per_attempt),
                "daily_cap": _text(self.daily_cap)}


@dataclass(frozen=True)
class LearningRule:
    """A stage's learning-points rule: its task kinds, the minimum view, the daily cap over all
    kinds and the total cap; see the module docstring for the order the rule applies in."""

    kinds: tuple[TaskKind, ...]
    min_minutes: Decimal = Decimal(0)
    daily_cap: Decimal | None = None
    total_cap: Decimal | None = None
    decimals: int = 2
    by_name: dict[str, TaskKind] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        kinds = tuple(k if isinstance(k, TaskKind) else TaskKind(**k) for k in self.kinds)
        if not kinds:
            raise InvalidRule("学习积分规则至少要有一种任务类型")
        names = [k.name for k in kinds]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise InvalidRule(f"学习积分规则：任务类型“{'、'.join(twice)}”重复")
        object.__setattr__(self, "kinds", kinds)
        object.__setattr__(self, "min_minutes", _number(self.min_minutes, "最短有效时长"))
        object.__setattr__(self, "daily_cap", _number(self.daily_cap, "每日总上限",
                                                      optional=True))
        object.__setattr__(self, "total_cap", _number(self.total_cap, "总积分上限",
                                                      optional=True))
        if not isinstance(self.decimals, int) or not 0 <= self.decimals <= 3:
            raise InvalidRule("学习积分规则：小数位数须为0至3")
        object.__setattr__(self, "by_name", {k.name: k for k in kinds})

    def as_json(self) -> dict[str, Any]:
        """The rule as stored with its version (numbers as exact decimal text)."""
        return {"kinds": [k.as_json() for k in self.kinds],
                "min_minutes": _text(self.min_minutes), "daily_cap": _text(self.daily_cap),
                "total_cap": _text(self.total_cap)}

    @classmethod
    def from_json(cls, stored: Mapping[str, Any], *, total_cap: Any = None,
                  decimals: int = 2) -> LearningRule:
        """A stored rule; ``total_cap`` (the component's maximum) applies when the rule has
        none, ``decimals`` are the stage's."""
        return cls(kinds=tuple(TaskKind(**k) for k in stored.get("kinds", ())),
                   min_minutes=stored.get("min_minutes") or 0,
                   daily_cap=stored.get("daily_cap"),
                   total_cap=stored.get("total_cap") if stored.get("total_cap") is not None
                   else total_cap, decimals=decimals)


@dataclass(frozen=True)
class Activity:
    """One row of an app's learning records for one person."""

    day: date
    kind: str
    item: str
    minutes: Decimal | None = None
    score: Decimal | None = None


@dataclass(frozen=True)
class LearningPoints:
    """A person's points, each day's points (after the day's caps), and how many rows earned
    nothing because they were too short or a repeat of the same item that day."""

    points: Decimal
    days: dict[date, Decimal]
    short_views: int
    repeats: int

    def as_json(self) -> dict[str, Any]:
        return {"days": {d.isoformat(): _text(p) for d, p in sorted(self.days.items())},
                "short_views": self.short_views, "repeats": self.repeats}


def _row_points(rule: LearningRule, kind: TaskKind, activity: Activity) -> Decimal:
    if kind.by_time:
        minutes = activity.minutes or Decimal(0)
        if minutes < rule.min_minutes:
            return Decimal(0)
        return (minutes // kind.minutes_per_step) * kind.points_per_step
    score = activity.score
    if score is None:
        return Decimal(0)
    return kind.points_on_full_marks if score >= kind.full_marks else kind.points_per_attempt


def learning_points(rule: LearningRule, activities: Iterable[Activity]) -> LearningPoints:
    """One person's learning points under ``rule`` (module docstring: best row per item and
    day, the minimum view, points per kind, the kind's and the day's caps, the total cap,
    rounded half-up once at the end)."""
    best: dict[tuple[date, str, str], Activity] = {}
    repeats = 0
    for activity in activities:
        kind = rule.by_name.get(activity.kind)
        if kind is None:
            raise InvalidInput(f"学习记录的任务类型“{activity.kind}”不在学习积分规则中")
        key = (activity.day, activity.kind, activity.item)
        held = best.get(key)
        if held is None:
            best[key] = activity
            continue
        repeats += 1
        measure = (lambda a: a.minutes or Decimal(0)) if kind.by_time else \
            (lambda a: a.score if a.score is not None else Decimal(-1))
        if measure(activity) > measure(held):
            best[key] = activity

    per_kind: dict[tuple[date, str], Decimal] = {}
    short = 0
    for (day, kind_name, _item), activity in best.items():
        kind = rule.by_name[kind_name]
        if kind.by_time and (activity.minutes or Decimal(0)) < rule.min_minutes:
            short += 1
            continue
        key = (day, kind_name)
        per_kind[key] = per_kind.get(key, Decimal(0)) + _row_points(rule, kind, activity)

    days: dict[date, Decimal] = {}
    for (day, kind_name), points in per_kind.items():
        cap = rule.by_name[kind_name].daily_cap
        days[day] = days.get(day, Decimal(0)) + (min(points, cap) if cap is not None else points)
    if rule.daily_cap is not None:
        days = {day: min(points, rule.daily_cap) for day, points in days.items()}
    total = sum(days.values(), Decimal(0))
    if rule.total_cap is not None:
        total = min(total, rule.total_cap)
    total = total.quantize(Decimal(1).scaleb(-rule.decimals), rounding=ROUND_HALF_UP)
    return LearningPoints(total, days, short, repeats)
