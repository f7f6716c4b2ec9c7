"""Judge aggregation: several judges' sheet points on the same work become the entry's component points."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from enum import StrEnum

import numpy as np
import pandas as pd

from ._exact import (
    bool_column,
    column_to_units,
    fmt,
    half_up_div,
    require_columns,
    to_decimal,
    to_units,
    units_fmt,
    units_to_decimals,
)
from .errors import InvalidInput, InvalidMark, InvalidRule


class Aggregation(StrEnum):
    """How a panel's points become one figure."""

    SINGLE = "single"
    MEAN = "mean"
    TRIMMED_MEAN = "trimmed_mean"
    MEDIAN = "median"


AGGREGATION_LABEL = {
    Aggregation.SINGLE: "单人评分",
    Aggregation.MEAN: "平均分",
    Aggregation.TRIMMED_MEAN: "去掉最高分和最低分后的平均分",
    Aggregation.MEDIAN: "中位数",
}
_METHOD_CODE = {Aggregation.SINGLE: 0, Aggregation.MEAN: 1, Aggregation.TRIMMED_MEAN: 2, Aggregation.MEDIAN: 3}
#: With ``trim=None`` a trimmed mean drops this many highest and lowest when there are at least
#: :data:`DEFAULT_TRIM_MIN_JUDGES` judges, and none below that.
DEFAULT_TRIM = 1
DEFAULT_TRIM_MIN_JUDGES = 5


@dataclass(frozen=True)
class AggregationRule:
    """How a component's judges are combined.

    ``method``: single judge, mean, trimmed mean or median.  ``trim`` (trimmed mean only): the
    number of highest and of lowest points dropped; ``None`` means 1 when at least 5 judges marked
    the work and 0 (a plain mean) otherwise.  ``min_judges``: fewer judges leave the component
    incomplete (never zero); a practical component should use 2.  An explicit ``trim=k`` needs at
    least 2k+1 judges.  ``disagreement_threshold`` (points): a spread (highest - lowest) above it
    flags the work for the chief judge and names the judges at both extremes.
    """

    method: Aggregation = Aggregation.TRIMMED_MEAN
    trim: int | None = None
    min_judges: int = 1
    disagreement_threshold: Decimal | None = None

    def __post_init__(self):
        try:
            method = Aggregation(self.method)
        except ValueError:
            raise InvalidRule(
                f"评分汇总方式无效：{self.method!r}，可选值为{'、'.join(m.value for m in Aggregation)}"
            ) from None
        object.__setattr__(self, "method", method)
        if self.trim is not None:
            if method is not Aggregation.TRIMMED_MEAN:
                raise InvalidRule(f"只有截尾平均（trimmed_mean）可以设置去掉的分数个数，当前方式为{method.value}")
            if isinstance(self.trim, bool) or not isinstance(self.trim, int) or self.trim < 1:
                raise InvalidRule(f"去掉最高、最低分的个数必须是正整数，当前为{self.trim!r}")
        if isinstance(self.min_judges, bool) or not isinstance(self.min_judges, int) or self.min_judges < 1:
            raise InvalidRule(f"最少裁判人数必须是正整数，当前为{self.min_judges!r}")
        if method is Aggregation.SINGLE and self.min_judges != 1:
            raise InvalidRule(f"单人评分的最少裁判人数只能为1，当前为{self.min_judges}")
        if self.disagreement_threshold is not None:
            thr = to_decimal(self.disagreement_threshold, "裁判分差阈值", InvalidRule)
            if thr < 0:
                raise InvalidRule(f"裁判分差阈值不能为负，当前为{fmt(thr)}")
            object.__setattr__(self, "disagreement_threshold", thr)

    @property
    def required_judges(self) -> int:
        """Judges needed for a complete result: ``min_judges``, and 2k+1 for an explicit trim k."""
        if self.method is Aggregation.TRIMMED_MEAN and self.trim is not None:
            return max(self.min_judges, 2 * self.trim + 1)
        return self.min_judges

    def describe(self) -> str:
        if self.method is Aggregation.TRIMMED_MEAN:
            if self.trim is None:
                return f"满{DEFAULT_TRIM_MIN_JUDGES}位裁判时去掉一个最高分和一个最低分后取平均，否则取平均"
            return f"去掉{self.trim}个最高分和{self.trim}个最低分后取平均"
        return AGGREGATION_LABEL[self.method]


@dataclass
class _Panel:
    """Aggregated arrays over groups (entry x component), all in units of 10**-decimals points."""

    n_judges: np.ndarray
    points: np.ndarray
    complete: np.ndarray
    trimmed: np.ndarray
    spread: np.ndarray
    disagreement: np.ndarray
    judges: dict  # group -> tuple of judge ids at the extremes (flagged groups only)
    dq: np.ndarray
    dq_entry: np.ndarray
    dq_reason: dict  # group -> reason text
    incomplete_reason: dict  # group -> reason text, filled lazily by callers


def _aggregate(
    frame: pd.DataFrame,
    group: np.ndarray,
    n_groups: int,
    group_rule: np.ndarray,
    rules: list[AggregationRule],
    decimals: int,
    group_max_units: np.ndarray | None,
    what: str,
) -> _Panel:
    """Aggregate judge points per group; ``group_rule[g]`` indexes ``rules``."""
    units, missing, bad = column_to_units(frame["points"], decimals)
    limit = None if group_max_units is None else group_max_units[group]
    problem = missing | bad | (units < 0)
    if limit is not None:
        problem |= units > limit
    if problem.any():
        rows = np.flatnonzero(problem)
        items = []
        for r in rows[:5].tolist():
            raw = frame["points"].iat[r]
            if missing[r]:
                why = "缺少分数"
            elif bad[r]:
                why = f"{raw}不是最多{decimals}位小数的数值"
            elif units[r] < 0:
                why = f"{raw}为负数"
            else:
                why = f"{raw}超过满分{units_fmt(limit[r], decimals)}"
            items.append(f"选手{frame['entry_id'].iat[r]}、裁判{frame['judge_id'].iat[r]}：{why}")
        more = f"（等共{len(rows)}处）" if len(rows) > 5 else ""
        raise InvalidMark(f"{what}的裁判分数无效：{'；'.join(items)}{more}")

    j_codes, j_uniq = pd.factorize(frame["judge_id"], sort=True)
    if (j_codes < 0).any():
        raise InvalidInput(f"{what}的裁判编号不能为空")
    n_j = max(len(j_uniq), 1)
    pair = group * n_j + j_codes
    if not pd.Index(pair).is_unique:
        dup = pd.Index(pair)
        first = int(np.flatnonzero(dup.duplicated())[0])
        raise InvalidInput(
            f"{what}中同一裁判对同一选手有多条分数：选手{frame['entry_id'].iat[first]}、裁判{frame['judge_id'].iat[first]}"
        )

    n_rows = len(units)
    umax = int(units.max()) + 1 if n_rows else 1
    if n_groups * umax < 2**62:
        order = np.argsort(group * umax + units, kind="stable")
    else:  # pragma: no cover - astronomically large point ranges
        order = np.lexsort((units, group))
    g_s = group[order]
    u_s = units[order]
    counts = np.bincount(group, minlength=n_groups).astype(np.int64)
    starts = np.zeros(n_groups, np.int64)
    np.cumsum(counts[:-1], out=starts[1:])
    has = counts > 0
    pos = np.arange(n_rows, dtype=np.int64) - starts[g_s]

    method = np.array([_METHOD_CODE[r.method] for r in rules], np.int8)[group_rule]
    explicit_trim = np.array([-1 if r.trim is None else r.trim for r in rules], np.int64)[group_rule]
    required = np.array([r.required_judges for r in rules], np.int64)[group_rule]

    k = np.where(
        method == 2,
        np.where(explicit_trim >= 0, explicit_trim, np.where(counts >= DEFAULT_TRIM_MIN_JUDGES, DEFAULT_TRIM, 0)),
        0,
    )
    kept = counts - 2 * k
    keep = (pos >= k[g_s]) & (pos < counts[g_s] - k[g_s])
    if n_rows and int(u_s.max()) * n_rows < 2**53:
        kept_sum = np.bincount(g_s[keep], weights=u_s[keep], minlength=n_groups).astype(np.int64)
    else:
        kept_sum = np.zeros(n_groups, np.int64)
        np.add.at(kept_sum, g_s[keep], u_s[keep])
    points = np.zeros(n_groups, np.int64)
    ok = has & (kept > 0)
    points[ok] = half_up_div(kept_sum[ok], kept[ok])
    safe_start = np.where(has, starts, 0)
    safe_last = np.where(has, starts + counts - 1, 0)
    if n_rows:
        lowest = u_s[safe_start]
        highest = u_s[safe_last]
        med_lo = u_s[np.where(has, starts + (counts - 1) // 2, 0)]
        med_hi = u_s[np.where(has, starts + counts // 2, 0)]
    else:
        lowest = highest = med_lo = med_hi = np.zeros(n_groups, np.int64)
    is_median = method == 3
    points = np.where(is_median, (med_lo + med_hi + 1) // 2, points)
    is_single = method == 0
    points = np.where(is_single, lowest, points)
    if (is_single & (counts > 1)).any():
        g = int(np.flatnonzero(is_single & (counts > 1))[0])
        row = int(order[starts[g]])
        raise InvalidInput(
            f"{what}为单人评分，但选手{frame['entry_id'].iat[row]}有{int(counts[g])}位裁判的分数"
        )
    spread = np.where(has, highest - lowest, 0)
    complete = has & (counts >= required)
    points = np.where(complete, points, 0)

    # spread > threshold; for integer spreads this equals spread > floor(threshold in units),
    # so a threshold with more decimals than the points is still compared exactly.
    thr = np.array(
        [
            -1
            if r.disagreement_threshold is None
            else int(r.disagreement_threshold.scaleb(decimals).to_integral_value(rounding=ROUND_FLOOR))
            for r in rules
        ],
        np.int64,
    )[group_rule]
    disagreement = has & (thr >= 0) & (spread > thr)
    judges: dict = {}
    if disagreement.any():
        flagged_rows = disagreement[g_s] & ((u_s == highest[g_s]) | (u_s == lowest[g_s]))
        fr = np.flatnonzero(flagged_rows)
        fg = g_s[fr]
        fj = j_codes[order[fr]]
        srt = np.lexsort((fj, fg))
        fg, fj = fg[srt], fj[srt]
        bounds = np.flatnonzero(np.diff(fg)) + 1
        for gg, jj in zip(np.split(fg, bounds), np.split(fj, bounds), strict=True):
            judges[int(gg[0])] = tuple(j_uniq[np.unique(jj)].tolist())

    dq = np.zeros(n_groups, bool)
    dq_entry = np.zeros(n_groups, bool)
    dq_reason: dict = {}
    if "disqualified" in frame.columns:
        flag = bool_column(frame, "disqualified")
        if flag.any():
            rows = np.flatnonzero(flag)
            dq[group[rows]] = True
            scope = frame["dq_scope"] if "dq_scope" in frame.columns else None
            reason = frame["dq_reason"] if "dq_reason" in frame.columns else None
            for r in rows.tolist():
                g = int(group[r])
                if scope is not None and scope.iat[r] == "entry":
                    dq_entry[g] = True
                text = reason.iat[r] if reason is not None else None
                if isinstance(text, str) and text:
                    texts = dq_reason.setdefault(g, [])
                    if text not in texts:
                        texts.append(text)
            dq_reason = {g: "；".join(t) for g, t in dq_reason.items()}
    points = np.where(dq, 0, points)
    complete = complete | dq
    return _Panel(
        n_judges=counts,
        points=points,
        complete=complete,
        trimmed=np.where(complete & ~dq, k, 0),
        spread=spread,
        disagreement=disagreement,
        judges=judges,
        dq=dq,
        dq_entry=dq_entry,
        dq_reason=dq_reason,
        incomplete_reason={},
    )


def panel_frame(panel: _Panel, decimals: int, idx: np.ndarray | None = None) -> dict:
    """Output columns of an aggregation, for the groups ``idx`` (all when None)."""
    sel = np.arange(len(panel.points)) if idx is None else idx
    complete = panel.complete[sel]
    has = panel.n_judges[sel] > 0
    dq = panel.dq[sel]
    scope = np.full(len(sel), None, dtype=object)
    scope[dq] = "component"
    scope[panel.dq_entry[sel]] = "entry"
    reason = np.full(len(sel), None, dtype=object)
    judges = np.full(len(sel), None, dtype=object)
    if panel.dq_reason or panel.judges:
        where = {int(g): i for i, g in enumerate(sel.tolist())} if idx is not None else None
        for g, text in panel.dq_reason.items():
            i = g if where is None else where.get(g)
            if i is not None:
                reason[i] = text
        for g, names in panel.judges.items():
            i = g if where is None else where.get(g)
            if i is not None:
                judges[i] = names
    return {
        "points": units_to_decimals(panel.points[sel], decimals, ~complete),
        "n_judges": panel.n_judges[sel].astype(np.int64),
        "complete": complete,
        "trimmed": panel.trimmed[sel].astype(np.int64),
        "spread": units_to_decimals(panel.spread[sel], decimals, ~has),
        "disagreement": panel.disagreement[sel],
        "disagreeing_judges": pd.Series(judges, dtype=object),
        "disqualified": dq,
        "dq_scope": pd.Series(scope, dtype=object),
        "dq_reason": pd.Series(reason, dtype=object),
    }


def aggregate_judges(judge_points: pd.DataFrame, rule: AggregationRule, decimals: int = 2, maximum=None) -> pd.DataFrame:
    """Combine each entry's judges' points by ``rule`` (mean, trimmed mean, median or single).

    Every step is exact: the mean of the kept points is rounded half-up to ``decimals``; a median
    of an even panel is the half-up midpoint.  Fewer judges than the rule requires leave the entry
    incomplete (``points`` None, ``complete`` False), never zero.  Any judge's disqualification
    (失格) of the work disqualifies it: points 0.

    Input ``judge_points``, one row per (entry, judge):

    ============  ======================  =====================================================
    entry_id      any hashable
    judge_id      any hashable
    points        Decimal / int / float   the judge's sheet points, at most ``decimals`` decimals
    disqualified  bool, optional          the judge's sheet was disqualified
    dq_scope      str, optional           "component" or "entry"
    dq_reason     str, optional
    ============  ======================  =====================================================

    ``maximum`` (points), when given, rejects points above it.  Output, one row per entry sorted
    by entry_id:

    ==================  ===============  ===================================================
    entry_id            as input
    points              Decimal or None  aggregated points; None when incomplete
    n_judges            int64            judges who marked the work
    complete            bool             at least ``rule.required_judges`` judges (or disqualified)
    trimmed             int64            points dropped at each end (trimmed mean)
    spread              Decimal          highest minus lowest judge points
    disagreement        bool             spread above ``rule.disagreement_threshold``
    disagreeing_judges  tuple or None    judges at the highest and lowest points, when flagged
    disqualified        bool
    dq_scope            str or None      "component" or "entry"
    dq_reason           str or None
    ==================  ===============  ===================================================
    """
    if not isinstance(rule, AggregationRule):
        raise InvalidRule("rule 必须是 AggregationRule")
    require_columns(judge_points, ("entry_id", "judge_id", "points"), "裁判分数表")
    e_codes, e_uniq = pd.factorize(judge_points["entry_id"], sort=True)
    if (e_codes < 0).any():
        raise InvalidInput("裁判分数表的选手编号不能为空")
    n = len(e_uniq)
    max_units = None
    if maximum is not None:
        max_units = np.full(n, to_units(maximum, decimals, "满分", InvalidRule), np.int64)
    panel = _aggregate(
        judge_points, e_codes.astype(np.int64), n, np.zeros(n, np.int64), [rule], decimals, max_units, "本项"
    )
    cols = panel_frame(panel, decimals)
    return pd.DataFrame({"entry_id": e_uniq, **cols})


__all__ = ["Aggregation", "AggregationRule", "aggregate_judges"]
