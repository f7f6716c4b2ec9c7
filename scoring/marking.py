"""Marking schemes and score sheets: how one judge's marks on one entry become that judge's points."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction

import numpy as np
import pandas as pd

from ._exact import (
    MAX_UNITS,
    column_to_units,
    fmt,
    half_up_div_int,
    require_columns,
    to_decimal,
    to_units,
    units_fmt,
    units_to_decimals,
)
from .errors import InvalidInput, InvalidMark, InvalidRule, ScoringError

#: Judgement items are marked on this integer scale (0, 1, 2, 3), against written descriptors.
JUDGEMENT_SCALE = 3
#: A deduction item's occurrences above this are taken for a typing error and rejected.
MAX_OCCURRENCES = 1_000_000
#: The ten abilities the Jiangsu team-leader contest assesses; an item's ``ability`` may name one
#: (or any other label: the list is a default, not a constraint).
TEN_ABILITIES = (
    "组织管理", "沟通协调", "持续学习", "团队文化建设", "人才培育",
    "开拓创新", "问题解决", "数智化应用", "职业素养", "专业技术",
)


class ItemKind(StrEnum):
    """How an item is marked (测量 / 评价 / 扣分 / 否决)."""

    MEASUREMENT = "measurement"
    JUDGEMENT = "judgement"
    DEDUCTION = "deduction"
    DISQUALIFYING = "disqualifying"


class DisqualifyScope(StrEnum):
    """What a disqualifying event disqualifies: the component or the whole entry."""

    COMPONENT = "component"
    ENTRY = "entry"


KIND_LABEL = {
    ItemKind.MEASUREMENT: "测量",
    ItemKind.JUDGEMENT: "评价",
    ItemKind.DEDUCTION: "扣分",
    ItemKind.DISQUALIFYING: "否决",
}
_KIND_CODE = {ItemKind.MEASUREMENT: 0, ItemKind.JUDGEMENT: 1, ItemKind.DEDUCTION: 2, ItemKind.DISQUALIFYING: 3}


def _coerce_enum(cls, value, what: str):
    try:
        return cls(value)
    except ValueError:
        allowed = "、".join(m.value for m in cls)
        raise InvalidRule(f"{what}无效：{value!r}，可选值为{allowed}") from None


@dataclass(frozen=True)
class MarkingItem:
    """One line of a marking scheme.

    ``maximum`` is the item's full points (0 for a disqualifying item).  ``criterion`` is the
    path of criterion and sub-criterion names above the item, e.g. ``("A 安全", "A1 动火作业")``.
    ``ability`` optionally names one of :data:`TEN_ABILITIES`.
    """

    code: str
    kind: ItemKind
    maximum: Decimal = Decimal(0)
    all_or_nothing: bool = False
    deduction_per_occurrence: Decimal | None = None
    disqualify_scope: DisqualifyScope = DisqualifyScope.COMPONENT
    ability: str | None = None
    criterion: tuple[str, ...] = ()
    name: str = ""

    def __post_init__(self):
        if not isinstance(self.code, str) or not self.code.strip():
            raise InvalidRule(f"评分项编号不能为空：{self.code!r}")
        kind = _coerce_enum(ItemKind, self.kind, f"评分项{self.code}的类型")
        object.__setattr__(self, "kind", kind)
        maximum = to_decimal(self.maximum, f"评分项{self.code}的满分", InvalidRule)
        object.__setattr__(self, "maximum", maximum)
        scope = _coerce_enum(DisqualifyScope, self.disqualify_scope, f"评分项{self.code}的失格范围")
        object.__setattr__(self, "disqualify_scope", scope)
        crit = self.criterion
        if isinstance(crit, str):
            crit = (crit,)
        object.__setattr__(self, "criterion", tuple(str(c) for c in crit))
        if kind is ItemKind.DISQUALIFYING:
            if maximum != 0:
                raise InvalidRule(f"否决项{self.code}不计分，满分应为0，当前为{fmt(maximum)}")
        elif maximum <= 0:
            raise InvalidRule(f"评分项{self.code}的满分必须大于0，当前为{fmt(maximum)}")
        if self.all_or_nothing and kind is not ItemKind.MEASUREMENT:
            raise InvalidRule(f"评分项{self.code}：只有测量项可以设为“全得或不得”")
        if kind is ItemKind.DEDUCTION:
            if self.deduction_per_occurrence is None:
                raise InvalidRule(f"扣分项{self.code}必须设置每次扣分值")
            per = to_decimal(self.deduction_per_occurrence, f"扣分项{self.code}的每次扣分", InvalidRule)
            if per <= 0:
                raise InvalidRule(f"扣分项{self.code}的每次扣分必须大于0，当前为{fmt(per)}")
            object.__setattr__(self, "deduction_per_occurrence", per)
        elif self.deduction_per_occurrence is not None:
            raise InvalidRule(f"评分项{self.code}不是扣分项，不能设置每次扣分值")

    @property
    def label(self) -> str:
        return f"{self.code}（{self.name}）" if self.name else self.code


@dataclass(frozen=True)
class TimeOverrunRule:
    """Time overrun: every started minute beyond ``allowed_minutes`` deducts
    ``deduction_per_started_minute`` points from the sheet (never below 0); an overrun of more
    than ``disqualify_after_minutes`` disqualifies the component."""

    allowed_minutes: Decimal
    deduction_per_started_minute: Decimal
    disqualify_after_minutes: Decimal | None = None

    def __post_init__(self):
        allowed = to_decimal(self.allowed_minutes, "规定用时（分钟）", InvalidRule)
        per = to_decimal(self.deduction_per_started_minute, "超时每分钟扣分", InvalidRule)
        if allowed <= 0:
            raise InvalidRule(f"规定用时必须大于0分钟，当前为{fmt(allowed)}")
        if per < 0:
            raise InvalidRule(f"超时每分钟扣分不能为负，当前为{fmt(per)}")
        object.__setattr__(self, "allowed_minutes", allowed)
        object.__setattr__(self, "deduction_per_started_minute", per)
        if self.disqualify_after_minutes is not None:
            limit = to_decimal(self.disqualify_after_minutes, "超时失格时限（分钟）", InvalidRule)
            if limit < 0:
                raise InvalidRule(f"超时失格时限不能为负，当前为{fmt(limit)}")
            object.__setattr__(self, "disqualify_after_minutes", limit)


@dataclass(frozen=True)
class MarkingScheme:
    """A component's marking scheme: its items (criteria -> sub-criteria -> items), an optional
    time-overrun rule, and the decimals its points are published with (default 2)."""

    items: tuple[MarkingItem, ...]
    time_overrun: TimeOverrunRule | None = None
    decimals: int = 2
    _index: dict = field(init=False, repr=False, compare=False)
    _arrays: dict = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        items = tuple(self.items)
        object.__setattr__(self, "items", items)
        if not isinstance(self.decimals, int) or not 0 <= self.decimals <= 6:
            raise InvalidRule(f"小数位数必须是0到6之间的整数，当前为{self.decimals!r}")
        if not items:
            raise InvalidRule("评分标准至少需要一个评分项")
        for item in items:
            if not isinstance(item, MarkingItem):
                raise InvalidRule(f"评分标准的评分项必须是 MarkingItem，当前为{item!r}")
        codes = [i.code for i in items]
        dupes = sorted({c for c in codes if codes.count(c) > 1})
        if dupes:
            raise InvalidRule(f"评分项编号重复：{'、'.join(dupes)}")
        d = self.decimals
        max_units = np.array([to_units(i.maximum, d, f"评分项{i.code}的满分", InvalidRule) for i in items], np.int64)
        per_units = np.array(
            [
                to_units(i.deduction_per_occurrence, d, f"扣分项{i.code}的每次扣分", InvalidRule)
                if i.kind is ItemKind.DEDUCTION
                else 0
                for i in items
            ],
            np.int64,
        )
        if self.time_overrun is not None:
            if not isinstance(self.time_overrun, TimeOverrunRule):
                raise InvalidRule("超时规则必须是 TimeOverrunRule")
            rule = self.time_overrun
            to_units(rule.deduction_per_started_minute, d, "超时每分钟扣分", InvalidRule)
            to_units(rule.allowed_minutes * 60, 3, "规定用时（秒）", InvalidRule)
            if rule.disqualify_after_minutes is not None:
                to_units(rule.disqualify_after_minutes * 60, 3, "超时失格时限（秒）", InvalidRule)
        object.__setattr__(self, "_index", {c: k for k, c in enumerate(codes)})
        object.__setattr__(
            self,
            "_arrays",
            {
                "kind": np.array([_KIND_CODE[i.kind] for i in items], np.int8),
                "max": max_units,
                "per": per_units,
                "aon": np.array([i.all_or_nothing for i in items], bool),
                "entry_scope": np.array([i.disqualify_scope is DisqualifyScope.ENTRY for i in items], bool),
            },
        )

    @property
    def maximum(self) -> Decimal:
        """The scheme's full points: the sum of its items' maxima."""
        return sum((i.maximum for i in self.items), Decimal(0)).quantize(Decimal(1).scaleb(-self.decimals))

    def item(self, code: str) -> MarkingItem:
        try:
            return self.items[self._index[code]]
        except KeyError:
            raise InvalidMark(f"评分项{code}不在评分标准中") from None

    def single(self, code: str) -> MarkingScheme:
        """The scheme of item ``code`` alone (same decimals, no time rule): what checking or
        totalling one mark at a time is scored against. Built once and kept on the scheme."""
        singles = self.__dict__.get("_singles")
        if singles is None:
            singles = {}
            object.__setattr__(self, "_singles", singles)
        scheme = singles.get(code)
        if scheme is None:
            scheme = singles[code] = MarkingScheme((self.item(code),), decimals=self.decimals)
        return scheme


@dataclass(frozen=True)
class SheetResult:
    """One judge's score sheet for one entry.

    ``points`` is the sheet's points after any time deduction (0 when disqualified);
    ``item_points`` each item's points; ``criterion_points`` the subtotal of every criterion
    path prefix, e.g. ``{("A",): ..., ("A", "A1"): ...}``.
    """

    points: Decimal
    item_points: Mapping[str, Decimal]
    disqualified: bool
    dq_scope: DisqualifyScope | None
    dq_reason: str | None
    time_deduction: Decimal = Decimal(0)
    overrun_minutes: int = 0
    criterion_points: Mapping[tuple[str, ...], Decimal] = field(default_factory=dict)


def score_sheet(
    scheme: MarkingScheme,
    marks: Mapping[str, object],
    time_used_seconds=None,
    *,
    reasons: Mapping[str, str] | None = None,
    entry_id=None,
    judge_id=None,
) -> SheetResult:
    """Score one judge's marks on one entry by ``scheme``.

    ``marks`` maps item code to value: measurement points (0..maximum, or exactly 0 or maximum
    when all-or-nothing), a judgement grade (integer 0-3; points = grade / 3 x maximum, rounded
    half-up), a deduction item's number of occurrences (points = max(0, maximum - occurrences x
    per occurrence)), or True/False for a disqualifying item (missing = False).  ``reasons`` gives
    the written reason of a disqualifying item.  ``entry_id``/``judge_id`` only name the sheet in
    error messages.  The same rules, results and errors as :func:`score_sheets`, computed in pure
    Python (no pandas) since the web app calls this on every autosave.
    """
    if not isinstance(marks, Mapping):
        raise InvalidInput("评分必须是“评分项编号→分值”的映射")
    if not (
        isinstance(scheme, MarkingScheme)
        and marks
        and type(entry_id) in _PLAIN_IDS
        and type(judge_id) in _PLAIN_IDS
        and _plain_number(time_used_seconds)
        and all(type(code) is str for code in marks)
        and all(_plain_number(v) for v in marks.values())
    ):
        return _score_sheet_via_frame(
            scheme, marks, time_used_seconds, reasons=reasons, entry_id=entry_id, judge_id=judge_id
        )
    entry = "—" if entry_id is None else entry_id
    judge = "—" if judge_id is None else judge_id
    reasons = dict(reasons or {})
    lacking = [i.code for i in scheme.items if i.kind in (ItemKind.MEASUREMENT, ItemKind.JUDGEMENT) and i.code not in marks]
    if lacking:
        raise InvalidMark(
            f"选手{entry}、裁判{judge}的评分表缺少必评项：{'、'.join(lacking)}",
            [{"entry_id": entry, "judge_id": judge, "item": c, "value": None, "message": "未评分"} for c in lacking],
        )
    rule = scheme.time_overrun
    if (rule is not None or time_used_seconds is not None) and time_used_seconds is None:
        raise InvalidInput("评分标准含超时规则，须提供用时（秒）")
    return _score_one(scheme, _plain_arrays(scheme), marks, time_used_seconds, reasons, entry, judge)


# Types the pure-Python path of score_sheet takes as they are; anything else goes through pandas.
_PLAIN_IDS = frozenset({type(None), str, int})
_PLAIN_VALUES = frozenset({type(None), bool, int, float, str, Decimal, Fraction})


def _plain_number(value) -> bool:
    t = type(value)
    return t in _PLAIN_VALUES and not (t is Decimal and value.is_snan())


def _is_missing(value) -> bool:
    """None/NaN, as pandas' factorize sees a missing value among the plain types."""
    return value is None or value != value


def _plain_arrays(scheme: MarkingScheme) -> dict:
    """``scheme._arrays`` as Python lists plus the time rule in units, cached on the scheme."""
    plain = scheme.__dict__.get("_plain")
    if plain is None:
        arr = scheme._arrays
        kinds = arr["kind"].tolist()
        maxima = arr["max"].tolist()
        plain = {
            "kind": kinds,
            "max": maxima,
            "per": arr["per"].tolist(),
            "aon": arr["aon"].tolist(),
            "entry_scope": arr["entry_scope"].tolist(),
            "ded_full": sum(m for k, m in zip(kinds, maxima, strict=True) if k == 2),
        }
        rule = scheme.time_overrun
        if rule is not None:
            plain["allowed_ms"] = int(rule.allowed_minutes * 60 * 1000)
            plain["per_min"] = to_units(rule.deduction_per_started_minute, scheme.decimals, "超时每分钟扣分", InvalidRule)
            limit = rule.disqualify_after_minutes
            plain["limit_ms"] = None if limit is None else int(limit * 60 * 1000)
        object.__setattr__(scheme, "_plain", plain)
    return plain


def _plain_units(value, decimals: int, cache: dict) -> int | None:
    """One value as column_to_units converts it: units, or None when bad (equal values share one
    conversion, the first one met, as in pandas' factorize)."""
    t = type(value)
    if t is int or t is bool:  # to_units of an int, without the Decimal round trip
        units = int(value) * 10**decimals
        return units if -MAX_UNITS <= units <= MAX_UNITS else None
    try:
        return cache[value]
    except KeyError:
        pass
    try:
        units = to_units(value, decimals, "数值")
    except ScoringError:
        units = None
    cache[value] = units
    return units


_DECIMALS: dict[tuple[int, int], Decimal] = {}


def _units_decimal(units: int, decimals: int) -> Decimal:
    """``Decimal(units).scaleb(-decimals)``, shared for small values like units_to_decimals does."""
    key = (units, decimals)
    value = _DECIMALS.get(key)
    if value is None:
        value = Decimal(units).scaleb(-decimals)
        if len(_DECIMALS) < 50_000:
            _DECIMALS[key] = value
    return value


def _score_one(scheme: MarkingScheme, plain: dict, marks: Mapping, time_used_seconds, reasons: dict, entry, judge) -> SheetResult:
    """The rules of :func:`_score` for one sheet of plain Python values (see :func:`score_sheet`)."""
    d = scheme.decimals
    scale = 10**d
    index = scheme._index
    items = scheme.items
    rows = list(marks.items())

    idx = [index.get(code) for code, _ in rows]
    if None in idx:
        unknown = [
            {"entry_id": entry, "judge_id": judge, "item": code, "value": raw, "message": "不在评分标准中"}
            for (code, raw), k in zip(rows, idx, strict=True)
            if k is None
        ]
        _raise_problems(InvalidMark, f"有{len(unknown)}条评分的评分项不在评分标准中", unknown[:20])

    kinds, maxima, pers, aons = plain["kind"], plain["max"], plain["per"], plain["aon"]
    cache: dict = {}
    values = []
    problems = []
    for (_, raw), k in zip(rows, idx, strict=True):
        missing = _is_missing(raw)
        units = None if missing else _plain_units(raw, d, cache)
        kind, maxu = kinds[k], maxima[k]
        if units is None:
            ok = False
        elif kind == 0:
            ok = 0 <= units <= maxu and not (aons[k] and units != 0 and units != maxu)
        elif units % scale:
            ok = False
        elif kind == 1:
            ok = 0 <= units <= JUDGEMENT_SCALE * scale
        elif kind == 2:
            ok = units >= 0 and units // scale <= MAX_OCCURRENCES
        else:
            ok = units in (0, scale)
        if not ok:
            problems.append(
                {
                    "entry_id": entry,
                    "judge_id": judge,
                    "item": items[k].code,
                    "value": raw,
                    "message": _range_message(items[k], raw, missing, d),
                }
            )
        values.append(units)
    if problems:
        _raise_problems(InvalidMark, f"有{len(problems)}处评分不符合评分标准", problems[:20])

    # Item points in units; unmarked deduction items count their full maximum.
    per_code: dict[str, int] = {}
    sheet_units = plain["ded_full"]
    dq = entry_scope = False
    texts: list[str] = []
    for (code, _), k, units in zip(rows, idx, values, strict=True):
        kind = kinds[k]
        if kind == 0:
            points = units
        elif kind == 1:
            points = half_up_div_int(units // scale * maxima[k], JUDGEMENT_SCALE)
        elif kind == 2:
            points = max(0, maxima[k] - units // scale * pers[k])
            sheet_units -= maxima[k]
        else:
            points = 0
            if units:
                dq = True
                entry_scope = entry_scope or plain["entry_scope"][k]
                text = f"否决项{items[k].label}"
                note = reasons.get(code)
                if isinstance(note, str) and note.strip():
                    text += f"：{note.strip()}"
                texts.append(text)
        per_code[code] = points
        sheet_units += points

    time_ded = overrun_min = 0
    rule = scheme.time_overrun
    if rule is not None:
        ms = None if _is_missing(time_used_seconds) else _plain_units(time_used_seconds, 3, {})
        if ms is None or ms < 0:
            raise InvalidMark(f"选手{entry}的用时无效：{time_used_seconds!r}（应为不小于0的秒数，最多3位小数）")
        over_ms = max(0, ms - plain["allowed_ms"])
        overrun_min = (over_ms + 59_999) // 60_000
        time_ded = min(overrun_min * plain["per_min"], sheet_units)
        sheet_units -= time_ded
        if plain["limit_ms"] is not None and over_ms > plain["limit_ms"]:
            texts.append(f"超时{units_fmt(over_ms, 3)}秒，超过失格时限{fmt(rule.disqualify_after_minutes)}分钟")
            dq = True

    item_points: dict[str, Decimal] = {}
    criterion_units: dict[tuple[str, ...], int] = {}
    for item, m in zip(items, maxima, strict=True):
        units = per_code.get(item.code)
        if units is None:
            if item.kind in (ItemKind.MEASUREMENT, ItemKind.JUDGEMENT):
                continue  # unreachable: missing required items were rejected above
            units = m
        item_points[item.code] = _units_decimal(units, d)
        crit = item.criterion
        for depth in range(1, len(crit) + 1):
            key = crit[:depth]
            criterion_units[key] = criterion_units.get(key, 0) + units
    # Same values (and exponent) as summing the item Decimals from Decimal(0).scaleb(-d).
    criterion_points = {key: _units_decimal(units, d) for key, units in criterion_units.items()}
    if entry_scope:
        scope = DisqualifyScope.ENTRY
    elif dq:
        scope = DisqualifyScope.COMPONENT
    else:
        scope = None
    return SheetResult(
        points=_units_decimal(0 if dq else sheet_units, d),
        item_points=item_points,
        disqualified=dq,
        dq_scope=scope,
        dq_reason="；".join(texts) if dq else None,
        time_deduction=_units_decimal(time_ded, d),
        overrun_minutes=overrun_min,
        criterion_points=criterion_points,
    )


def _score_sheet_via_frame(
    scheme: MarkingScheme,
    marks: Mapping[str, object],
    time_used_seconds=None,
    *,
    reasons: Mapping[str, str] | None = None,
    entry_id=None,
    judge_id=None,
) -> SheetResult:
    """The original pandas-based :func:`score_sheet`: one sheet through the vectorised :func:`_score`.

    Kept as the reference the pure-Python path is tested against, and as its fallback for
    unusual input types (numpy scalars, pandas missing values, non-str item codes, ...).
    """
    if not isinstance(marks, Mapping):
        raise InvalidInput("评分必须是“评分项编号→分值”的映射")
    entry = "—" if entry_id is None else entry_id
    judge = "—" if judge_id is None else judge_id
    reasons = dict(reasons or {})
    lacking = [i.code for i in scheme.items if i.kind in (ItemKind.MEASUREMENT, ItemKind.JUDGEMENT) and i.code not in marks]
    if lacking:
        raise InvalidMark(
            f"选手{entry}、裁判{judge}的评分表缺少必评项：{'、'.join(lacking)}",
            [{"entry_id": entry, "judge_id": judge, "item": c, "value": None, "message": "未评分"} for c in lacking],
        )
    frame = pd.DataFrame(
        {
            "entry_id": [entry] * len(marks),
            "judge_id": [judge] * len(marks),
            "item_code": list(marks.keys()),
            "value": pd.Series(list(marks.values()), dtype=object),
            "reason": [reasons.get(code) for code in marks],
        }
    )
    times = None
    if scheme.time_overrun is not None or time_used_seconds is not None:
        if time_used_seconds is None:
            raise InvalidInput("评分标准含超时规则，须提供用时（秒）")
        times = pd.DataFrame({"entry_id": [entry], "time_used_seconds": pd.Series([time_used_seconds], dtype=object)})
    sheets, item_units = _score(scheme, frame, times, single=True)
    row = sheets.iloc[0] if len(sheets) else None
    d = scheme.decimals
    item_points: dict[str, Decimal] = {}
    per_code = dict(zip(frame["item_code"].tolist(), item_units.tolist(), strict=True))
    for item in scheme.items:
        units = per_code.get(item.code)
        if units is None:
            if item.kind in (ItemKind.MEASUREMENT, ItemKind.JUDGEMENT):
                continue  # unreachable: _score rejects missing required items
            units = int(scheme._arrays["max"][scheme._index[item.code]])
        item_points[item.code] = Decimal(int(units)).scaleb(-d)
    criterion_points: dict[tuple[str, ...], Decimal] = {}
    for item in scheme.items:
        for depth in range(1, len(item.criterion) + 1):
            key = item.criterion[:depth]
            criterion_points[key] = criterion_points.get(key, Decimal(0).scaleb(-d)) + item_points[item.code]
    if row is None:  # pragma: no cover - a sheet always exists once marks were given
        raise InvalidInput("评分表为空")
    scope = row["dq_scope"]
    return SheetResult(
        points=row["points"],
        item_points=item_points,
        disqualified=bool(row["disqualified"]),
        dq_scope=DisqualifyScope(scope) if isinstance(scope, str) else None,
        dq_reason=row["dq_reason"] if isinstance(row["dq_reason"], str) else None,
        time_deduction=row["time_deduction"],
        overrun_minutes=int(row["overrun_minutes"]),
        criterion_points=criterion_points,
    )


@dataclass(frozen=True)
class RunningTotal:
    """The points of a sheet still being marked: ``item_points`` of the items counted so far
    and their sum ``points`` (scheme decimals)."""

    points: Decimal
    item_points: Mapping[str, Decimal]


def running_total(
    scheme: MarkingScheme,
    marks: Mapping[str, object],
    *,
    reasons: Mapping[str, str] | None = None,
) -> RunningTotal:
    """The running total of an incomplete sheet, as its judge sees it while marking: every item
    marked so far scored exactly as :func:`score_sheet` will score it, plus the full maximum of
    each deduction item with no occurrence recorded yet; unmarked measurement and judgement
    items count nothing, and neither a disqualification nor a time overrun is applied until the
    sheet is complete (then :func:`score_sheet` gives its points).

    ``marks`` as for :func:`score_sheet`, any subset of the items; a bad mark raises
    :class:`InvalidMark` as it would there.
    """
    if not isinstance(marks, Mapping):
        raise InvalidInput("评分必须是“评分项编号→分值”的映射")
    reasons = reasons or {}
    item_points: dict[str, Decimal] = {}
    for item in scheme.items:
        value = marks.get(item.code)
        if value is None:
            continue
        # One item at a time through the same rules as a whole sheet (its own scheme, kept).
        item_points[item.code] = score_sheet(
            scheme.single(item.code), {item.code: value}, reasons={item.code: reasons.get(item.code) or "-"}
        ).item_points[item.code]
    unit = Decimal(1).scaleb(-scheme.decimals)
    for item in scheme.items:
        if item.kind is ItemKind.DEDUCTION and item.code not in item_points:
            item_points[item.code] = item.maximum.quantize(unit)  # no occurrence recorded yet
    unknown = [str(code) for code, value in marks.items() if value is not None and code not in scheme._index]
    if unknown:
        raise InvalidMark(f"评分项{'、'.join(unknown)}不在评分标准中")
    return RunningTotal(sum(item_points.values(), Decimal(0)).quantize(unit), item_points)


class JudgementOrder(StrEnum):
    """In which order a panel's judgement grades become points (a component setting).

    ``per_sheet``: each judge's grade becomes points on that judge's sheet (grade / 3 x maximum,
    rounded per item), and the judges are then combined on their sheet totals -- the way many
    Chinese contests total each judge's sheet.  ``per_item`` (WorldSkills): each judgement item's
    grades are averaged over the judges first, then / 3 x maximum, rounded once; every judge's
    sheet counts the panel's points for the judgement items, and the sheets are combined as
    before (measurement, deduction, time and disqualification stay each judge's own).
    """

    PER_SHEET = "per_sheet"
    PER_ITEM = "per_item"


@dataclass(frozen=True)
class PanelSheet:
    """One judge's complete sheet on one entry, as :func:`score_panel` takes it (``marks`` and
    ``reasons`` as for :func:`score_sheet`)."""

    entry_id: object
    judge_id: object
    marks: Mapping[str, object]
    time_used_seconds: object = None
    reasons: Mapping[str, str] | None = None


@dataclass(frozen=True)
class PanelScores:
    """What :func:`score_panel` gives: ``sheets``, one row per sheet with the columns of
    :func:`score_sheets` (the points that enter the judges' aggregation); ``judgement_points``,
    per entry, each judgement item's panel points (``per_item`` order only, else empty)."""

    sheets: pd.DataFrame
    judgement_points: Mapping[object, Mapping[str, Decimal]]


def judgement_item_points(scheme: MarkingScheme, grades: Mapping[str, list]) -> dict[str, Decimal]:
    """Each judgement item's points from its judges' grades the WorldSkills way: the grades'
    mean / 3 x the item's maximum, rounded half-up once to the scheme's decimals (exact: the sum
    of the grades x maximum / (3 x judges), never a rounded mean)."""
    d = scheme.decimals
    out: dict[str, Decimal] = {}
    for code, given in grades.items():
        item = scheme.item(code)
        if item.kind is not ItemKind.JUDGEMENT:
            raise InvalidInput(f"评分项{code}不是评价项")
        if not given:
            raise InvalidInput(f"评价项{code}没有裁判等级")
        total = 0
        for grade in given:
            units = _plain_units(grade, 0, {}) if _plain_number(grade) else None
            if units is None or not 0 <= units <= JUDGEMENT_SCALE:
                raise InvalidMark(f"评价项{code}的等级应为0、1、2、3中的整数，当前为{grade}")
            total += units
        max_units = to_units(item.maximum, d, f"评分项{code}的满分", InvalidRule)
        out[code] = _units_decimal(half_up_div_int(total * max_units, JUDGEMENT_SCALE * len(given)), d)
    return out


def score_panel(
    scheme: MarkingScheme, sheets, order: JudgementOrder | str = JudgementOrder.PER_SHEET
) -> PanelScores:
    """Score a panel's complete sheets for the judges' aggregation, judgement items in the
    component's ``order`` (:class:`JudgementOrder`).

    ``per_sheet``: each sheet as :func:`score_sheet` scores it.  ``per_item``: each entry's
    judgement items get the panel's points (:func:`judgement_item_points` over the grades of all
    that entry's sheets); each sheet is then totalled with those points in place of its judge's
    own -- its other items, its time deduction (per started minute, never below 0) and a
    disqualification as :func:`score_sheet` gives them.  Exact throughout: every item's points
    are at the scheme's decimals, and so is every total.
    """
    order = _coerce_enum(JudgementOrder, order, "评价项汇总顺序")
    sheets = list(sheets)
    results = [
        score_sheet(scheme, s.marks, s.time_used_seconds, reasons=s.reasons, entry_id=s.entry_id, judge_id=s.judge_id)
        for s in sheets
    ]
    panel: dict[object, dict[str, Decimal]] = {}
    points = [r.points for r in results]
    judged = [i.code for i in scheme.items if i.kind is ItemKind.JUDGEMENT]
    if order is JudgementOrder.PER_ITEM and judged:
        grades: dict[object, dict[str, list]] = {}
        for sheet in sheets:
            by_item = grades.setdefault(sheet.entry_id, {code: [] for code in judged})
            for code in judged:
                by_item[code].append(sheet.marks[code])
        panel = {entry: judgement_item_points(scheme, given) for entry, given in grades.items()}
        rule = scheme.time_overrun
        unit = Decimal(1).scaleb(-scheme.decimals)
        for k, (sheet, result) in enumerate(zip(sheets, results, strict=True)):
            if result.disqualified:
                continue  # 0 whichever the order
            items = {**result.item_points, **panel[sheet.entry_id]}
            total = sum(items.values(), Decimal(0))
            if rule is not None:
                total -= min(result.overrun_minutes * rule.deduction_per_started_minute, total)
            points[k] = total.quantize(unit)
    frame = pd.DataFrame(
        {
            "entry_id": pd.Series([s.entry_id for s in sheets], dtype=object),
            "judge_id": pd.Series([s.judge_id for s in sheets], dtype=object),
            "points": pd.Series(points, dtype=object),
            "time_deduction": pd.Series([r.time_deduction for r in results], dtype=object),
            "overrun_minutes": pd.Series([r.overrun_minutes for r in results], dtype="int64"),
            "disqualified": pd.Series([r.disqualified for r in results], dtype=bool),
            "dq_scope": pd.Series([r.dq_scope.value if r.dq_scope else None for r in results], dtype=object),
            "dq_reason": pd.Series([r.dq_reason for r in results], dtype=object),
        }
    )
    return PanelScores(frame, panel)


def score_sheets(scheme: MarkingScheme, marks: pd.DataFrame, times: pd.DataFrame | None = None) -> pd.DataFrame:
    """Score every judge's sheet in ``marks`` by ``scheme`` in one vectorised pass.

    Input ``marks``, one row per (entry, judge, item):

    ============  ==========================  ==========================================
    entry_id      any hashable                the entry (contestant) marked
    judge_id      any hashable                the judge who marked it
    item_code     str                         a code of ``scheme.items``
    value         number / Decimal / bool     points, grade 0-3, occurrences, or 0/1
    reason        str, optional               written reason of a disqualifying item
    ============  ==========================  ==========================================

    Every measurement and judgement item must be marked once per sheet; deduction items default
    to 0 occurrences and disqualifying items to False.  Out-of-range marks raise
    :class:`InvalidMark` naming item, judge and entry; nothing is clipped.  ``times`` (entry_id,
    time_used_seconds) is required when the scheme has a time-overrun rule.

    Returns one row per (entry_id, judge_id), sorted by both:

    ===============  ==============  ==========================================================
    entry_id         as input
    judge_id         as input
    points           Decimal         sheet points (scheme decimals; 0 when disqualified)
    time_deduction   Decimal         points deducted for time overrun
    overrun_minutes  int64           started minutes beyond the allowed time
    disqualified     bool            a disqualifying item fired or the time limit was passed
    dq_scope         str or None     "component" or "entry"
    dq_reason        str or None     what disqualified the sheet
    ===============  ==============  ==========================================================
    """
    return _score(scheme, marks, times, single=False)[0]


def _problem_text(p: dict) -> str:
    return f"选手{p['entry_id']}、裁判{p['judge_id']}、评分项{p['item']}：{p['message']}"


def _raise_problems(cls, headline: str, problems: list[dict]):
    shown = "；".join(_problem_text(p) for p in problems[:5])
    more = f"（等共{len(problems)}处）" if len(problems) > 5 else ""
    raise cls(f"{headline}：{shown}{more}", problems)


def _score(scheme: MarkingScheme, marks: pd.DataFrame, times: pd.DataFrame | None, single: bool):
    if not isinstance(scheme, MarkingScheme):
        raise InvalidRule("scheme 必须是 MarkingScheme")
    require_columns(marks, ("entry_id", "judge_id", "item_code", "value"), "评分表")
    d = scheme.decimals
    scale = 10**d
    arr = scheme._arrays
    n_items = len(scheme.items)

    item_idx = pd.Index(list(scheme._index)).get_indexer(marks["item_code"]).astype(np.int64)
    unknown = item_idx < 0
    if unknown.any():
        rows = np.flatnonzero(unknown)
        problems = [
            {
                "entry_id": marks["entry_id"].iat[r],
                "judge_id": marks["judge_id"].iat[r],
                "item": marks["item_code"].iat[r],
                "value": marks["value"].iat[r],
                "message": "不在评分标准中",
            }
            for r in rows[:20]
        ]
        _raise_problems(InvalidMark, f"有{len(rows)}条评分的评分项不在评分标准中", problems)

    e_codes, e_uniq = pd.factorize(marks["entry_id"], sort=True)
    j_codes, j_uniq = pd.factorize(marks["judge_id"], sort=True)
    if (e_codes < 0).any() or (j_codes < 0).any():
        raise InvalidInput("评分表的选手编号和裁判编号不能为空")
    n_judges_all = max(len(j_uniq), 1)
    pair = e_codes.astype(np.int64) * n_judges_all + j_codes
    sheet_code, sheet_pairs = pd.factorize(pair, sort=True)
    sheet_code = sheet_code.astype(np.int64)
    n_sheets = len(sheet_pairs)
    sheet_entry = np.asarray(sheet_pairs, np.int64) // n_judges_all
    sheet_judge = np.asarray(sheet_pairs, np.int64) % n_judges_all

    key = sheet_code * n_items + item_idx
    if n_sheets * n_items <= 50_000_000:
        counts = np.bincount(key, minlength=n_sheets * n_items)
        dup_keys = np.flatnonzero(counts > 1)
    else:
        uniq, cnt = np.unique(key, return_counts=True)
        dup_keys = uniq[cnt > 1]
    if len(dup_keys):
        problems = [
            {
                "entry_id": e_uniq[sheet_entry[k // n_items]],
                "judge_id": j_uniq[sheet_judge[k // n_items]],
                "item": scheme.items[k % n_items].code,
                "value": None,
                "message": "重复评分",
            }
            for k in dup_keys[:20].tolist()
        ]
        _raise_problems(InvalidInput, f"有{len(dup_keys)}个评分项被同一裁判重复评分", problems)

    kind = arr["kind"][item_idx]
    maxu = arr["max"][item_idx]
    value_units, missing, bad = column_to_units(marks["value"], d)

    # Validate every mark against its item; collect all problems before raising.
    whole = value_units % scale == 0
    count = value_units // scale
    is_meas, is_judg, is_ded, is_dq = kind == 0, kind == 1, kind == 2, kind == 3
    out_meas = is_meas & ((value_units < 0) | (value_units > maxu) | (arr["aon"][item_idx] & (value_units != 0) & (value_units != maxu)))
    out_judg = is_judg & (~whole | (value_units < 0) | (value_units > JUDGEMENT_SCALE * scale))
    out_ded = is_ded & (~whole | (value_units < 0) | (count > MAX_OCCURRENCES))
    out_dq = is_dq & (~whole | ((count != 0) & (count != 1)))
    invalid = missing | bad | out_meas | out_judg | out_ded | out_dq
    if invalid.any():
        rows = np.flatnonzero(invalid)
        problems = []
        for r in rows[:20].tolist():
            item = scheme.items[item_idx[r]]
            raw = marks["value"].iat[r]
            problems.append(
                {
                    "entry_id": marks["entry_id"].iat[r],
                    "judge_id": marks["judge_id"].iat[r],
                    "item": item.code,
                    "value": raw,
                    "message": _range_message(item, raw, bool(missing[r]), d),
                }
            )
        _raise_problems(InvalidMark, f"有{len(rows)}处评分不符合评分标准", problems)

    # Item points in units of 10**-d points.
    item_units = np.zeros(len(marks), np.int64)
    item_units[is_meas] = value_units[is_meas]
    # grade g of 3: g/3 x maximum, half-up: (2*g*M + 3) // 6
    g = count[is_judg]
    item_units[is_judg] = (2 * g * maxu[is_judg] + JUDGEMENT_SCALE) // (2 * JUDGEMENT_SCALE)
    per = arr["per"][item_idx[is_ded]]
    item_units[is_ded] = np.maximum(0, maxu[is_ded] - count[is_ded] * per)

    # Every measurement / judgement item must be on every sheet.
    required = (arr["kind"] == 0) | (arr["kind"] == 1)
    n_required = int(required.sum())
    req_count = np.bincount(sheet_code[is_meas | is_judg], minlength=n_sheets)
    if (req_count != n_required).any():
        short = np.flatnonzero(req_count != n_required)
        present = np.zeros((len(short), n_items), bool)
        pos = {s: i for i, s in enumerate(short.tolist())}
        sel = np.isin(sheet_code, short)
        for s, it in zip(sheet_code[sel].tolist(), item_idx[sel].tolist(), strict=True):
            present[pos[s], it] = True
        problems = []
        for i, s in enumerate(short.tolist()):
            for it in np.flatnonzero(required & ~present[i]).tolist():
                problems.append(
                    {
                        "entry_id": e_uniq[sheet_entry[s]],
                        "judge_id": j_uniq[sheet_judge[s]],
                        "item": scheme.items[it].code,
                        "value": None,
                        "message": "未评分",
                    }
                )
                if len(problems) >= 20:
                    break
            if len(problems) >= 20:
                break
        _raise_problems(InvalidMark, f"有{len(short)}张评分表缺少必评项", problems)

    # Sheet totals: marked items, plus the full maximum of every deduction item left unmarked.
    ded_items = np.flatnonzero(arr["kind"] == 2)
    ded_full = int(arr["max"][ded_items].sum())
    ded_marked_max = np.bincount(sheet_code[is_ded], weights=maxu[is_ded], minlength=n_sheets).astype(np.int64)
    sheet_units = _exact_group_sum(sheet_code, item_units, n_sheets) + (ded_full - ded_marked_max)

    # Disqualifying items that fired.
    fired = is_dq & (count == 1)
    dq = np.zeros(n_sheets, bool)
    entry_scope = np.zeros(n_sheets, bool)
    reasons: dict[int, list[str]] = {}
    if fired.any():
        f_rows = np.flatnonzero(fired)
        dq[sheet_code[f_rows]] = True
        scope_rows = f_rows[arr["entry_scope"][item_idx[f_rows]]]
        entry_scope[sheet_code[scope_rows]] = True
        reason_col = marks["reason"] if "reason" in marks.columns else None
        for r in f_rows.tolist():
            item = scheme.items[item_idx[r]]
            text = f"否决项{item.label}"
            if reason_col is not None:
                note = reason_col.iat[r]
                if isinstance(note, str) and note.strip():
                    text += f"：{note.strip()}"
            reasons.setdefault(int(sheet_code[r]), []).append(text)

    # Time overrun, per entry.
    time_ded = np.zeros(n_sheets, np.int64)
    overrun_min = np.zeros(n_sheets, np.int64)
    rule = scheme.time_overrun
    if rule is not None:
        if times is None:
            raise InvalidInput("评分标准含超时规则，须提供各选手用时（times 表：entry_id, time_used_seconds）")
        require_columns(times, ("entry_id", "time_used_seconds"), "用时表")
        t_idx = pd.Index(times["entry_id"])
        if t_idx.has_duplicates:
            dup = t_idx[t_idx.duplicated()].unique().tolist()[:5]
            raise InvalidInput(f"用时表中选手重复：{'、'.join(map(str, dup))}")
        ms, t_missing, t_bad = column_to_units(times["time_used_seconds"], 3)
        if (t_bad | t_missing | (ms < 0)).any():
            r = int(np.flatnonzero(t_bad | t_missing | (ms < 0))[0])
            raise InvalidMark(
                f"选手{times['entry_id'].iat[r]}的用时无效：{times['time_used_seconds'].iat[r]!r}（应为不小于0的秒数，最多3位小数）"
            )
        pos = t_idx.get_indexer(pd.Index(e_uniq))
        if (pos < 0).any():
            lacking = [e_uniq[i] for i in np.flatnonzero(pos < 0)[:5].tolist()]
            raise InvalidInput(f"缺少选手用时：{'、'.join(map(str, lacking))}")
        entry_ms = ms[pos]
        allowed_ms = int(rule.allowed_minutes * 60 * 1000)
        over_ms = np.maximum(0, entry_ms - allowed_ms)
        started = (over_ms + 59_999) // 60_000
        per_min = to_units(rule.deduction_per_started_minute, d, "超时每分钟扣分", InvalidRule)
        overrun_min = started[sheet_entry]
        time_ded = np.minimum(overrun_min * per_min, sheet_units)
        sheet_units = sheet_units - time_ded
        if rule.disqualify_after_minutes is not None:
            limit_ms = int(rule.disqualify_after_minutes * 60 * 1000)
            late = over_ms[sheet_entry] > limit_ms
            for s in np.flatnonzero(late).tolist():
                reasons.setdefault(s, []).append(
                    f"超时{units_fmt(over_ms[sheet_entry[s]], 3)}秒，超过失格时限{fmt(rule.disqualify_after_minutes)}分钟"
                )
            dq |= late

    points_units = np.where(dq, 0, sheet_units)
    scope = np.full(n_sheets, None, dtype=object)
    scope[dq] = DisqualifyScope.COMPONENT.value
    scope[entry_scope] = DisqualifyScope.ENTRY.value
    reason_arr = np.full(n_sheets, None, dtype=object)
    for s, texts in reasons.items():
        if dq[s]:
            reason_arr[s] = "；".join(texts)
    result = pd.DataFrame(
        {
            "entry_id": e_uniq.take(sheet_entry),
            "judge_id": j_uniq.take(sheet_judge),
            "points": units_to_decimals(points_units, d),
            "time_deduction": units_to_decimals(time_ded, d),
            "overrun_minutes": overrun_min.astype(np.int64),
            "disqualified": dq,
            "dq_scope": pd.Series(scope, dtype=object),
            "dq_reason": pd.Series(reason_arr, dtype=object),
        }
    )
    return result, item_units


def _exact_group_sum(codes: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Per-group sums of int64 values, exact (float bincount only while sums stay below 2**53)."""
    if len(values) == 0:
        return np.zeros(n, np.int64)
    bound = int(np.abs(values).max()) * len(values)
    if bound < 2**53:
        return np.bincount(codes, weights=values, minlength=n).astype(np.int64)
    out = np.zeros(n, np.int64)
    np.add.at(out, codes, values)
    return out


def _range_message(item: MarkingItem, raw, missing: bool, d: int) -> str:
    label = KIND_LABEL[item.kind]
    if missing:
        return "未评分"
    if item.kind is ItemKind.MEASUREMENT:
        if item.all_or_nothing:
            return f"{label}项（全得或不得，满分{fmt(item.maximum)}）只能给0或{fmt(item.maximum)}，当前为{raw}"
        return f"{label}项（满分{fmt(item.maximum)}）给出{raw}，应在0至{fmt(item.maximum)}之间，最多{d}位小数"
    if item.kind is ItemKind.JUDGEMENT:
        return f"{label}项应给0、1、2、3中的整数等级，当前为{raw}"
    if item.kind is ItemKind.DEDUCTION:
        return f"{label}项应填违规次数（0至{MAX_OCCURRENCES}的整数），当前为{raw}"
    return f"{label}项只能填是或否，当前为{raw}"


__all__ = [
    "JUDGEMENT_SCALE",
    "TEN_ABILITIES",
    "DisqualifyScope",
    "ItemKind",
    "JudgementOrder",
    "MarkingItem",
    "MarkingScheme",
    "PanelScores",
    "PanelSheet",
    "RunningTotal",
    "SheetResult",
    "TimeOverrunRule",
    "judgement_item_points",
    "running_total",
    "score_panel",
    "score_sheet",
    "score_sheets",
]
