"""Stage results: component percentages, weighted totals, statuses and ranks with a tie-break chain."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

import numpy as np
import pandas as pd

from ._exact import (
    bool_column,
    column_to_units,
    decimal_places_ok,
    fmt,
    half_up_div,
    order_codes,
    require_columns,
    sort_order,
    to_decimal,
    to_units,
    units_to_decimals,
)
from .aggregation import AggregationRule, _aggregate, panel_frame
from .errors import InvalidInput, InvalidMark, InvalidRule, WeightsError
from .standardisation import Standardisation, standardise_units

#: Tie-break key for time used; it reads the entries' ``time_used`` column, lower first.
TIME_KEY = "time"
TIME_COLUMN = "time_used"
#: Weights are held in units of 10**-4 percent.
WEIGHT_DECIMALS = 4
_MAX_COMPONENT_POINTS = Decimal(1_000_000)


class CutoffTiePolicy(StrEnum):
    """What happens when entries are tied on total at the advancement cut-off."""

    BREAK = "break"  # the tie-break chain decides
    INCLUDE_ALL = "include_all"  # every entry tied on total with the last place advances


class Status(StrEnum):
    """An entry's status in a results table (most serious first)."""

    DISQUALIFIED = "disqualified"
    INCOMPLETE = "incomplete"
    UNRANKED = "unranked"
    NOT_APPROVED = "not_approved"
    BELOW_MINIMUM = "below_minimum"
    OK = "ok"


_STATUS_ORDER = [Status.OK, Status.BELOW_MINIMUM, Status.NOT_APPROVED, Status.UNRANKED, Status.INCOMPLETE, Status.DISQUALIFIED]


@dataclass(frozen=True)
class TieBreak:
    """One link of the tie-break chain.

    ``key``: a component code (compares its published percentage, higher first by default),
    ``"time"`` (the entries' ``time_used`` column, lower first by default), or the name of any
    other column of the entries table (higher first by default).  ``direction``: ``"desc"``
    (higher first) or ``"asc"`` (lower first).  Missing values always lose the comparison.
    """

    key: str
    direction: str | None = None

    def __post_init__(self):
        if not isinstance(self.key, str) or not self.key.strip():
            raise InvalidRule(f"并列比较项不能为空：{self.key!r}")
        direction = self.direction
        if direction is None:
            direction = "asc" if self.key == TIME_KEY else "desc"
        if direction not in ("asc", "desc"):
            raise InvalidRule(f"并列比较方向必须是 asc（低者优先）或 desc（高者优先），当前为{direction!r}")
        object.__setattr__(self, "direction", direction)


@dataclass(frozen=True)
class ComponentRule:
    """A component of a stage (theory, practical, digital twin, ...).

    ``weight`` in percent (Decimal, at most 4 decimals); ``maximum`` its full points;
    ``aggregation`` how its judges are combined; ``min_percent`` an optional minimum percentage
    for eligibility to advance.
    """

    code: str
    name: str
    weight: Decimal
    maximum: Decimal = Decimal(100)
    aggregation: AggregationRule = field(default_factory=AggregationRule)
    min_percent: Decimal | None = None

    def __post_init__(self):
        if not isinstance(self.code, str) or not self.code.strip():
            raise InvalidRule(f"模块编号不能为空：{self.code!r}")
        label = self.name or self.code
        weight = to_decimal(self.weight, f"{label}的权重", InvalidRule)
        if weight <= 0 or weight > 100:
            raise WeightsError(f"{label}的权重必须大于0%且不超过100%，当前为{fmt(weight)}%")
        if not decimal_places_ok(weight, WEIGHT_DECIMALS):
            raise WeightsError(f"{label}的权重最多保留{WEIGHT_DECIMALS}位小数，当前为{fmt(weight)}%")
        object.__setattr__(self, "weight", weight)
        maximum = to_decimal(self.maximum, f"{label}的满分", InvalidRule)
        if maximum <= 0 or maximum > _MAX_COMPONENT_POINTS:
            raise InvalidRule(f"{label}的满分必须大于0且不超过{fmt(_MAX_COMPONENT_POINTS)}，当前为{fmt(maximum)}")
        object.__setattr__(self, "maximum", maximum)
        if not isinstance(self.aggregation, AggregationRule):
            raise InvalidRule(f"{label}的评分汇总规则必须是 AggregationRule")
        if self.min_percent is not None:
            mp = to_decimal(self.min_percent, f"{label}的最低得分率", InvalidRule)
            if mp < 0 or mp > 100:
                raise InvalidRule(f"{label}的最低得分率必须在0%到100%之间，当前为{fmt(mp)}%")
            object.__setattr__(self, "min_percent", mp)

    @property
    def label(self) -> str:
        return self.name or self.code


@dataclass(frozen=True)
class StageRule:
    """The rules of one stage: components and weights, decimals, tie-break chain, advancement.

    Weights must sum to exactly 100%.  ``decimals`` (0-4, default 2) applies to every published
    step.  ``quota`` (N), ``per_enterprise_cap`` (K) and ``cutoff_tie_policy`` are the
    advancement settings :func:`scoring.select_advancers` is called with.  ``standardisation``,
    when set, ranks on a total of standardised component scores instead of percentages.
    """

    components: tuple[ComponentRule, ...]
    decimals: int = 2
    tie_breaks: tuple[TieBreak, ...] = ()
    quota: int | None = None
    per_enterprise_cap: int | None = None
    cutoff_tie_policy: CutoffTiePolicy = CutoffTiePolicy.BREAK
    standardisation: Standardisation | None = None

    def __post_init__(self):
        comps = tuple(self.components)
        object.__setattr__(self, "components", comps)
        if not comps:
            raise InvalidRule("阶段至少需要一个考核模块")
        for c in comps:
            if not isinstance(c, ComponentRule):
                raise InvalidRule(f"考核模块必须是 ComponentRule，当前为{c!r}")
        codes = [c.code for c in comps]
        dupes = sorted({c for c in codes if codes.count(c) > 1})
        if dupes:
            raise InvalidRule(f"考核模块编号重复：{'、'.join(dupes)}")
        total = sum((c.weight for c in comps), Decimal(0))
        if total != 100:
            parts = "＋".join(f"{c.label}{fmt(c.weight)}%" for c in comps)
            raise WeightsError(f"权重合计必须为100%，当前为{fmt(total)}%（{parts}）")
        if isinstance(self.decimals, bool) or not isinstance(self.decimals, int) or not 0 <= self.decimals <= 4:
            raise InvalidRule(f"小数位数必须是0到4之间的整数，当前为{self.decimals!r}")
        for c in comps:
            if not decimal_places_ok(c.maximum, self.decimals):
                raise InvalidRule(f"{c.label}的满分{fmt(c.maximum)}的小数位数超过{self.decimals}位")
            thr = c.aggregation.disagreement_threshold
            if thr is not None and thr > c.maximum:
                raise InvalidRule(f"{c.label}的裁判分差阈值{fmt(thr)}超过满分{fmt(c.maximum)}")
        tbs = tuple(TieBreak(t) if isinstance(t, str) else t for t in self.tie_breaks)
        for t in tbs:
            if not isinstance(t, TieBreak):
                raise InvalidRule(f"并列比较项必须是 TieBreak，当前为{t!r}")
        keys = [t.key for t in tbs]
        if len(set(keys)) != len(keys):
            raise InvalidRule(f"并列比较项重复：{'、'.join(keys)}")
        reserved = {"total", "rank", "entry_id"} & set(keys)
        if reserved:
            raise InvalidRule(f"不能用{'、'.join(sorted(reserved))}作为并列比较项")
        object.__setattr__(self, "tie_breaks", tbs)
        for name, value in (("晋级名额", self.quota), ("每单位晋级上限", self.per_enterprise_cap)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise InvalidRule(f"{name}必须是正整数，当前为{value!r}")
        try:
            object.__setattr__(self, "cutoff_tie_policy", CutoffTiePolicy(self.cutoff_tie_policy))
        except ValueError:
            raise InvalidRule(f"名额线并列处理方式无效：{self.cutoff_tie_policy!r}，可选 break 或 include_all") from None
        if self.standardisation is not None and not isinstance(self.standardisation, Standardisation):
            raise InvalidRule("standardisation 必须是 Standardisation")

    def component(self, code: str) -> ComponentRule:
        for c in self.components:
            if c.code == code:
                return c
        raise InvalidRule(f"阶段没有考核模块{code}")


@dataclass(frozen=True)
class StageResults:
    """What :func:`stage_results` returns: per-component aggregation and the results table."""

    components: pd.DataFrame
    results: pd.DataFrame


# --------------------------------------------------------------------------------------------
# Entries


@dataclass
class _Entries:
    frame: pd.DataFrame
    index: pd.Index  # entry ids, sorted
    order: np.ndarray  # row of frame for each sorted entry
    groups: np.ndarray  # group code per sorted entry


def _entries(entries: pd.DataFrame, group_by: str | None, need_enterprise: bool = True) -> _Entries:
    cols = ["entry_id"] + (["enterprise"] if need_enterprise else []) + ([group_by] if group_by else [])
    require_columns(entries, cols, "选手表")
    ids = pd.Index(entries["entry_id"])
    if ids.hasnans:
        raise InvalidInput("选手表的选手编号不能为空")
    if ids.has_duplicates:
        dup = ids[ids.duplicated()].unique().tolist()[:5]
        raise InvalidInput(f"选手表中选手编号重复：{'、'.join(map(str, dup))}")
    codes, uniq = pd.factorize(entries["entry_id"], sort=True)
    order = np.empty(len(codes), np.int64)
    order[codes] = np.arange(len(codes))
    if group_by:
        gcodes, _ = pd.factorize(entries[group_by], sort=True)
        if (gcodes < 0).any():
            raise InvalidInput(f"选手表的分组列{group_by}不能为空")
        groups = gcodes[order].astype(np.int64)
    else:
        groups = np.zeros(len(codes), np.int64)
    return _Entries(entries, pd.Index(uniq), order, groups)


# --------------------------------------------------------------------------------------------
# Public functions


def compute_results(
    stage_rule: StageRule,
    component_points: pd.DataFrame,
    entries: pd.DataFrame,
    group_by: str | None = None,
) -> pd.DataFrame:
    """Results of a stage from each entry's component points.

    Rule: each component's points (rounded half-up to the stage's decimals) become a percentage of
    its maximum, rounded half-up from the published points; the total is the weighted sum of the
    published percentages, rounded half-up once; ranks are taken on the published totals, ties
    broken by ``stage_rule.tie_breaks`` in order, then shared (1, 2, 2, 4).  With ``group_by``
    (e.g. ``"track"``) each group is ranked on its own.

    ``component_points``, one row per (entry, component):

    ============  ======================  ====================================================
    entry_id      any hashable            must be in ``entries``
    component     str                     a component code of the stage
    points        Decimal / int / float   at most ``decimals`` decimals, 0..maximum; None = none
    complete      bool, optional          False: too few judges, the component is incomplete
    disqualified  bool, optional          the component was disqualified (its points count 0)
    dq_scope      str, optional           "entry" disqualifies the whole entry
    dq_reason     str, optional
    ============  ======================  ====================================================

    ``entries``, one row per entry: ``entry_id``, ``enterprise`` (str) and optionally
    ``approved`` (bool, default True), ``disqualified`` (bool, default False), ``unranked``
    (bool, default False: runs out of competition, takes no rank), ``flag_reason`` (str, shown
    in ``reason``), ``time_used`` (number, for the ``"time"`` tie-break), the ``group_by``
    column, and any column a tie-break names.

    Output, one row per entry, each group in rank order then unranked entries:

    =====================  ==============  ==================================================
    [group_by]             as input        when grouping
    entry_id               as input
    enterprise             as input
    <code>_points          Decimal / None  component points, stage decimals
    <code>_percent         Decimal / None  percent of the component's maximum, stage decimals
    <code>_standardised    Decimal / None  only when the stage standardises
    total                  Decimal / None  weighted total (on 100, or the standardised scale)
    rank                   Int64 / <NA>    1, 2, 2, 4 ...; NA when not ranked
    tie_break              str / None      the key that separated it from the entry above
    eligible               bool            may advance: status "ok"
    status                 str             ok / below_minimum / not_approved / unranked /
                                           incomplete / disqualified
    reason                 str / None      why the status (Chinese, for the results sheet)
    <tie-break columns>    as input        ``time_used`` and named tie-break columns
    =====================  ==============  ==================================================

    Entries that are disqualified, incomplete or unranked take no rank; below-minimum and
    not-approved entries are ranked but not eligible.
    """
    rule = _check_rule(stage_rule)
    require_columns(component_points, ("entry_id", "component", "points"), "模块成绩表")
    ents = _entries(entries, group_by)
    n_e, n_c = len(ents.index), len(rule.components)
    d = rule.decimals
    e_pos = ents.index.get_indexer(pd.Index(component_points["entry_id"]))
    if (e_pos < 0).any():
        bad = component_points["entry_id"][e_pos < 0].unique().tolist()[:5]
        raise InvalidInput(f"模块成绩表中有选手不在选手表中：{'、'.join(map(str, bad))}")
    codes = [c.code for c in rule.components]
    c_pos = pd.Index(codes).get_indexer(component_points["component"]).astype(np.int64)
    if (c_pos < 0).any():
        bad = component_points["component"][c_pos < 0].unique().tolist()[:5]
        raise InvalidInput(f"模块成绩表中有本阶段没有的考核模块：{'、'.join(map(str, bad))}")
    cell = e_pos.astype(np.int64) * n_c + c_pos
    if not pd.Index(cell).is_unique:
        first = int(np.flatnonzero(pd.Index(cell).duplicated())[0])
        raise InvalidInput(
            f"模块成绩表中选手{component_points['entry_id'].iat[first]}的{component_points['component'].iat[first]}有多条成绩"
        )
    units, missing, bad = column_to_units(component_points["points"], d)
    max_units = np.array([to_units(c.maximum, d, c.label, InvalidRule) for c in rule.components], np.int64)
    over = ~missing & ((units < 0) | (units > max_units[c_pos]))
    if (bad | over).any():
        r = int(np.flatnonzero(bad | over)[0])
        comp = rule.components[c_pos[r]]
        raise InvalidMark(
            f"选手{component_points['entry_id'].iat[r]}的{comp.label}成绩{component_points['points'].iat[r]!r}无效："
            f"应为0至{fmt(comp.maximum)}之间、最多{d}位小数的数值"
        )
    complete_col = bool_column(component_points, "complete", default=True)
    dq_col = bool_column(component_points, "disqualified")
    size = n_e * n_c
    points = np.zeros(size, np.int64)
    has = np.zeros(size, bool)
    complete = np.zeros(size, bool)
    dq = np.zeros(size, bool)
    dq_entry = np.zeros(size, bool)
    points[cell] = np.where(missing | dq_col, 0, units)
    has[cell] = ~missing | dq_col
    complete[cell] = (complete_col & ~missing) | dq_col
    dq[cell] = dq_col
    dq_reason: dict = {}
    if dq_col.any():
        scope = component_points["dq_scope"] if "dq_scope" in component_points.columns else None
        reason = component_points["dq_reason"] if "dq_reason" in component_points.columns else None
        for r in np.flatnonzero(dq_col).tolist():
            if scope is not None and scope.iat[r] == "entry":
                dq_entry[cell[r]] = True
            text = reason.iat[r] if reason is not None else None
            if isinstance(text, str) and text:
                dq_reason[int(cell[r])] = text
    n_judges = None
    if "n_judges" in component_points.columns:
        n_judges = np.zeros(size, np.int64)
        n_judges[cell] = component_points["n_judges"].fillna(0).to_numpy(dtype=np.int64)
    return _results(rule, ents, points, has, complete, dq, dq_entry, dq_reason, n_judges, group_by)


def aggregate_components(stage_rule: StageRule, judge_points: pd.DataFrame, entries: pd.DataFrame | None = None) -> pd.DataFrame:
    """Aggregate every component's judges by that component's rule (see :func:`aggregate_judges`).

    ``judge_points``: entry_id, component, judge_id, points, and optionally disqualified,
    dq_scope, dq_reason.  Machine-marked components (theory, simulator) come as one row per
    entry from a single "judge" and use ``Aggregation.SINGLE``.  Returns one row per (entry,
    component) that has any judge points (or, with ``entries``, per entry of ``entries`` and
    component) with the columns of :func:`aggregate_judges` plus ``component`` (category).
    Its output can be passed to :func:`compute_results` as it is.
    """
    rule = _check_rule(stage_rule)
    return _stage(rule, judge_points, entries, None, components_only=True)[0]


def stage_results(
    stage_rule: StageRule, judge_points: pd.DataFrame, entries: pd.DataFrame, group_by: str | None = None
) -> StageResults:
    """Judge points to results in one call: :func:`aggregate_components` then
    :func:`compute_results`, without rounding anything twice.  Entries with no judge points for a
    component are incomplete.  Returns :class:`StageResults` (``components``: one row per entry
    and component; ``results``: as :func:`compute_results`)."""
    rule = _check_rule(stage_rule)
    components, results = _stage(rule, judge_points, entries, group_by, components_only=False)
    return StageResults(components=components, results=results)


# --------------------------------------------------------------------------------------------
# Internals


def _check_rule(stage_rule) -> StageRule:
    if not isinstance(stage_rule, StageRule):
        raise InvalidRule("stage_rule 必须是 StageRule")
    return stage_rule


def _stage(rule: StageRule, judge_points: pd.DataFrame, entries, group_by, components_only: bool):
    require_columns(judge_points, ("entry_id", "component", "judge_id", "points"), "裁判分数表")
    d = rule.decimals
    n_c = len(rule.components)
    codes = [c.code for c in rule.components]
    c_pos = pd.Index(codes).get_indexer(judge_points["component"]).astype(np.int64)
    if (c_pos < 0).any():
        bad = judge_points["component"][c_pos < 0].unique().tolist()[:5]
        raise InvalidInput(f"裁判分数表中有本阶段没有的考核模块：{'、'.join(map(str, bad))}")
    if entries is not None:
        ents = _entries(entries, group_by, need_enterprise=not components_only)
        index = ents.index
        e_pos = index.get_indexer(pd.Index(judge_points["entry_id"]))
        if (e_pos < 0).any():
            bad = judge_points["entry_id"][e_pos < 0].unique().tolist()[:5]
            raise InvalidInput(f"裁判分数表中有选手不在选手表中：{'、'.join(map(str, bad))}")
    else:
        ents = None
        e_pos, uniq = pd.factorize(judge_points["entry_id"], sort=True)
        if (e_pos < 0).any():
            raise InvalidInput("裁判分数表的选手编号不能为空")
        index = pd.Index(uniq)
    n_e = len(index)
    group = e_pos.astype(np.int64) * n_c + c_pos
    n_groups = n_e * n_c
    group_rule = np.tile(np.arange(n_c, dtype=np.int64), n_e)
    max_units = np.array([to_units(c.maximum, d, c.label, InvalidRule) for c in rule.components], np.int64)
    panel = _aggregate(
        judge_points,
        group,
        n_groups,
        group_rule,
        [c.aggregation for c in rule.components],
        d,
        np.tile(max_units, n_e),
        "裁判分数表",
    )
    sel = np.flatnonzero(panel.n_judges > 0) if ents is None else np.arange(n_groups)
    comp_frame = pd.DataFrame(
        {
            "entry_id": index.take(sel // n_c),
            "component": pd.Categorical.from_codes(sel % n_c, categories=codes),
            **panel_frame(panel, d, sel if ents is None else None),
        }
    )
    if components_only:
        return comp_frame, None
    has = panel.n_judges > 0
    results = _results(
        rule, ents, panel.points, has | panel.dq, panel.complete, panel.dq, panel.dq_entry, panel.dq_reason,
        panel.n_judges, group_by,
    )
    return comp_frame, results


def _tie_key(rule: StageRule, tb: TieBreak, ents: _Entries, pct: np.ndarray, comp_index: dict) -> tuple[np.ndarray, np.ndarray]:
    """Sort key (ascending = better) and missing mask for one tie-break, per sorted entry."""
    if tb.key in comp_index:
        values = pct[:, comp_index[tb.key]]
        miss = values < 0
        key = np.where(miss, 0, values)
    else:
        column = TIME_COLUMN if tb.key == TIME_KEY else tb.key
        if column not in ents.frame.columns:
            raise InvalidInput(f"并列比较项“{tb.key}”需要选手表中的列{column}")
        codes, miss = order_codes(ents.frame[column])
        key = codes[ents.order]
        miss = miss[ents.order]
    key = key.astype(np.int64)
    if tb.direction == "desc":
        key = -key
    worst = (int(key.max()) + 1) if len(key) else 0
    return np.where(miss, worst, key), miss


def _results(
    rule: StageRule,
    ents: _Entries,
    points: np.ndarray,
    has: np.ndarray,
    complete: np.ndarray,
    dq: np.ndarray,
    dq_entry: np.ndarray,
    dq_reason: dict,
    n_judges: np.ndarray | None,
    group_by: str | None,
) -> pd.DataFrame:
    d = rule.decimals
    comps = rule.components
    n_e, n_c = len(ents.index), len(comps)
    P = points.reshape(n_e, n_c)
    HAS = has.reshape(n_e, n_c)
    COMPLETE = complete.reshape(n_e, n_c)
    DQ = dq.reshape(n_e, n_c)
    max_units = np.array([int(c.maximum.scaleb(d)) for c in comps], np.int64)
    frame = ents.frame
    o = ents.order

    # Percentages from the published points: 100 * p / M, half-up at d decimals.
    pct = half_up_div(100 * 10**d * P, max_units[None, :])
    pct = np.where(COMPLETE, pct, -1)
    all_complete = COMPLETE.all(axis=1)

    entry_dq = bool_column(frame, "disqualified")[o] | dq_entry.reshape(n_e, n_c).any(axis=1)
    unranked = bool_column(frame, "unranked")[o]
    approved = bool_column(frame, "approved", default=True)[o]
    has_total = all_complete & ~entry_dq

    std = None
    weights = np.array([int(c.weight.scaleb(4)) for c in comps], np.int64)  # 10**-4 percent
    if rule.standardisation is not None:
        std_rule = rule.standardisation
        d_std = d if std_rule.decimals is None else std_rule.decimals
        std = np.zeros((n_e, n_c), np.int64)
        for j in range(n_c):
            valid = COMPLETE[:, j] & ~entry_dq
            std[:, j] = standardise_units(pct[:, j], valid, ents.groups, std_rule, d, d_std)
        # total on the standardised scale, at d decimals: sum(w% x s) / 100
        total = half_up_div((std * weights[None, :]).sum(axis=1) * 10**d, 10**6 * 10**d_std)
    else:
        d_std = d
        # total = sum(weight% x percent) / 100, half-up: units of 10**-d
        total = half_up_div((pct * weights[None, :]).sum(axis=1), 10**6)
    total = np.where(has_total, total, 0)

    below = np.zeros(n_e, bool)
    below_parts: list[tuple[int, np.ndarray]] = []
    for j, c in enumerate(comps):
        if c.min_percent is not None:
            # pct (units of 10**-d %) >= min_percent, compared exactly
            limit = c.min_percent.scaleb(d)
            fails = COMPLETE[:, j] & (pct[:, j] < np.int64(int(limit.to_integral_value(rounding="ROUND_CEILING"))))
            below |= fails
            below_parts.append((j, fails))

    # Status index into _STATUS_ORDER, the most serious condition winning.
    status = np.where(
        entry_dq, 5, np.where(~all_complete, 4, np.where(unranked, 3, np.where(~approved, 2, np.where(below, 1, 0))))
    )
    rankable = has_total & ~unranked
    eligible = status == 0

    # Ranking: lexsort keys, last is primary.
    comp_index = {c.code: j for j, c in enumerate(comps)}
    tb_keys = []
    for tb in rule.tie_breaks:
        key, _ = _tie_key(rule, tb, ents, pct, comp_index)
        tb_keys.append(np.where(rankable, key, 0))
    entry_code = np.arange(n_e)
    primary = np.where(rankable, -total, status.astype(np.int64))
    order = sort_order([ents.groups, ~rankable, primary, *tb_keys, entry_code])

    g_s = ents.groups[order]
    r_s = rankable[order]
    t_s = total[order]
    n = n_e
    idx = np.arange(n)
    same_group = np.zeros(n, bool)
    same_group[1:] = g_s[1:] == g_s[:-1]
    same_total = np.zeros(n, bool)
    same_total[1:] = same_group[1:] & (t_s[1:] == t_s[:-1]) & r_s[1:] & r_s[:-1]
    differs = np.zeros((n, len(tb_keys)), bool)
    for k, key in enumerate(tb_keys):
        ks = key[order]
        differs[1:, k] = ks[1:] != ks[:-1]
    any_diff = differs.any(axis=1)
    new_block = ~same_total | any_diff
    group_start = np.maximum.accumulate(np.where(~same_group, idx, 0))
    block_start = np.maximum.accumulate(np.where(new_block, idx, 0))
    rank_s = block_start - group_start[block_start] + 1
    rank = np.zeros(n, np.int64)
    rank[order] = rank_s
    tb_name = np.full(n, None, dtype=object)
    if tb_keys:
        sep = same_total & any_diff
        first = np.argmax(differs, axis=1)
        names = np.array([tb.key for tb in rule.tie_breaks], dtype=object)
        tb_sorted = np.full(n, None, dtype=object)
        tb_sorted[sep] = names[first[sep]]
        tb_name[order] = tb_sorted

    reasons = _reasons(rule, ents, status, P, HAS, COMPLETE, DQ, dq_reason, pct, below_parts, n_judges, frame, o)

    # Output in display order.
    out: dict = {}
    if group_by:
        out[group_by] = frame[group_by].to_numpy()[o][order]
    out["entry_id"] = ents.index.take(order)
    out["enterprise"] = frame["enterprise"].to_numpy()[o][order]
    for j, c in enumerate(comps):
        out[f"{c.code}_points"] = units_to_decimals(P[order, j], d, ~(COMPLETE[order, j]))
        out[f"{c.code}_percent"] = units_to_decimals(pct[order, j], d, ~(COMPLETE[order, j]))
        if std is not None:
            valid = (COMPLETE[:, j] & ~entry_dq)[order]
            out[f"{c.code}_standardised"] = units_to_decimals(std[order, j], d_std, ~valid)
    out["total"] = units_to_decimals(total[order], d, ~has_total[order])
    out["rank"] = pd.arrays.IntegerArray(rank[order], ~rankable[order])
    out["tie_break"] = pd.Series(tb_name[order], dtype=object)
    out["eligible"] = eligible[order]
    status_names = np.array([s.value for s in _STATUS_ORDER], dtype=object)
    out["status"] = status_names[status[order]]
    out["reason"] = pd.Series(reasons[order], dtype=object)
    for tb in rule.tie_breaks:
        column = TIME_COLUMN if tb.key == TIME_KEY else tb.key
        if tb.key not in comp_index and column not in out:
            out[column] = frame[column].to_numpy()[o][order]
    return pd.DataFrame(out)


def _reasons(rule, ents, status, P, HAS, COMPLETE, DQ, dq_reason, pct, below_parts, n_judges, frame, o) -> np.ndarray:
    """Chinese reason text per entry (None for a plain ok)."""
    d = rule.decimals
    comps = rule.components
    n_e, n_c = P.shape
    reasons = np.full(n_e, None, dtype=object)
    any_dq = DQ.any(axis=1)
    todo = np.flatnonzero((status != 0) | any_dq)
    if not len(todo):
        return reasons
    flag_reason = frame["flag_reason"].to_numpy()[o] if "flag_reason" in frame.columns else None
    below_map = {j: fails for j, fails in below_parts}
    for i in todo.tolist():
        parts: list[str] = []
        st = _STATUS_ORDER[status[i]]
        note = flag_reason[i] if flag_reason is not None else None
        note = note.strip() if isinstance(note, str) and note.strip() else None
        for j, c in enumerate(comps):
            cell = i * n_c + j
            if DQ[i, j]:
                text = dq_reason.get(cell)
                parts.append(f"{c.label}失格" + (f"：{text}" if text else ""))
            elif not COMPLETE[i, j]:
                if HAS[i, j] and n_judges is not None:
                    parts.append(f"{c.label}评分裁判不足（{int(n_judges[i * n_c + j])}/{c.aggregation.required_judges}）")
                elif HAS[i, j]:
                    parts.append(f"{c.label}成绩不完整")
                else:
                    parts.append(f"缺少{c.label}成绩")
            elif j in below_map and below_map[j][i]:
                parts.append(
                    f"{c.label}得分率{Decimal(int(pct[i, j])).scaleb(-d)}%，低于最低要求{fmt(c.min_percent)}%"
                )
        if st is Status.DISQUALIFIED:
            head = "失格" + (f"：{note}" if note else "")
            if note or not DQ[i].any():
                parts.insert(0, head)
        elif st is Status.UNRANKED:
            parts.insert(0, "不参与排名" + (f"：{note}" if note else ""))
        elif st is Status.NOT_APPROVED:
            parts.insert(0, "资格审核未通过" + (f"：{note}" if note else ""))
        elif note:
            parts.append(note)
        reasons[i] = "；".join(parts) if parts else None
    return reasons


__all__ = [
    "ComponentRule",
    "CutoffTiePolicy",
    "StageResults",
    "StageRule",
    "Status",
    "TieBreak",
    "aggregate_components",
    "compute_results",
    "stage_results",
]
