"""Judge effects and aggregation sensitivity: what a chief judge should see before signing off."""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

import numpy as np
import pandas as pd

from ._exact import (
    column_to_units,
    half_up_div_int,
    require_columns,
    round_c_plus_ratio_sqrt,
)
from .advancement import select_advancers
from .aggregation import Aggregation, AggregationRule
from .errors import InvalidMark, InvalidRule
from .results import StageRule, stage_results

CORRELATION_DECIMALS = 3


def judge_effects(judge_points: pd.DataFrame, decimals: int = 2) -> pd.DataFrame:
    """Per judge (and component, when the input has one): severity and consistency.

    Consensus on a work (one entry's component) is the median of all its judges' points.  A
    judge's deviation on a work is their points minus that consensus.  ``severity`` is the mean
    deviation (negative: harsher than the panel, positive: more lenient); ``consistency_sd`` the
    population standard deviation of the deviations (0: always the same distance from the panel);
    ``correlation`` the Pearson correlation of the judge's points with the consensus across works
    (1: orders the works exactly as the panel does; None when either does not vary).  Works
    marked by a single judge carry no information and are left out.

    Input: entry_id, judge_id, points (at most ``decimals`` decimals), optional component.
    Output, sorted by [component,] judge_id:

    ==============  ===============  ===============================================
    [component]     as input
    judge_id        as input
    n_works         int64            works with at least two judges this judge marked
    severity        Decimal          points, ``decimals`` places, half-up
    consistency_sd  Decimal          points, ``decimals`` places, half-up
    correlation     Decimal / None   3 places, half-up
    ==============  ===============  ===============================================
    """
    require_columns(judge_points, ("entry_id", "judge_id", "points"), "裁判分数表")
    has_comp = "component" in judge_points.columns
    units, missing, bad = column_to_units(judge_points["points"], decimals)
    if (missing | bad).any():
        r = int(np.flatnonzero(missing | bad)[0])
        raise InvalidMark(
            f"选手{judge_points['entry_id'].iat[r]}、裁判{judge_points['judge_id'].iat[r]}的分数无效："
            f"{judge_points['points'].iat[r]!r}"
        )
    e_codes, e_uniq = pd.factorize(judge_points["entry_id"], sort=True)
    j_codes, j_uniq = pd.factorize(judge_points["judge_id"], sort=True)
    if has_comp:
        c_codes, c_uniq = pd.factorize(judge_points["component"], sort=True)
    else:
        c_codes, c_uniq = np.zeros(len(units), np.int64), [None]
    n_e = max(len(e_uniq), 1)
    work = c_codes.astype(np.int64) * n_e + e_codes
    w_codes, w_uniq = pd.factorize(work)
    n_w = len(w_uniq)
    order = np.lexsort((units, w_codes))
    counts = np.bincount(w_codes, minlength=n_w)
    starts = np.zeros(n_w, np.int64)
    np.cumsum(counts[:-1], out=starts[1:])
    u_s = units[order]
    m2 = np.zeros(n_w, np.int64)
    if len(units):
        m2 = u_s[starts + (counts - 1) // 2] + u_s[starts + counts // 2]  # twice the median
    keep = counts[w_codes] >= 2
    x = 2 * units[keep]  # judge, in half units
    y = m2[w_codes[keep]]  # consensus, in half units
    dev = x - y
    key_c = c_codes[keep]
    key_j = j_codes[keep]
    frame = pd.DataFrame({"c": key_c, "j": key_j, "x": x.astype(object), "y": y.astype(object), "dev": dev.astype(object)})
    frame["xx"] = frame["x"] * frame["x"]
    frame["yy"] = frame["y"] * frame["y"]
    frame["xy"] = frame["x"] * frame["y"]
    frame["dd"] = frame["dev"] * frame["dev"]
    sums = frame.groupby(["c", "j"], sort=True).agg(
        n=("x", "size"), sx=("x", "sum"), sy=("y", "sum"), sxx=("xx", "sum"), syy=("yy", "sum"),
        sxy=("xy", "sum"), sd=("dev", "sum"), sdd=("dd", "sum"),
    )
    rows = []
    scale_r = 10**CORRELATION_DECIMALS
    for (c, j), s in sums.iterrows():
        n = int(s["n"])
        sd, sdd = int(s["sd"]), int(s["sdd"])
        severity = half_up_div_int(sd, 2 * n)  # deviations are in half units
        v = n * sdd - sd * sd
        spread = round_c_plus_ratio_sqrt(0, v, 4 * n * n * v) if v > 0 else 0
        a = n * int(s["sxx"]) - int(s["sx"]) ** 2
        b = n * int(s["syy"]) - int(s["sy"]) ** 2
        cov = n * int(s["sxy"]) - int(s["sx"]) * int(s["sy"])
        corr = round_c_plus_ratio_sqrt(0, scale_r * cov, a * b) if a > 0 and b > 0 else None
        rows.append(
            {
                **({"component": c_uniq[c]} if has_comp else {}),
                "judge_id": j_uniq[j],
                "n_works": n,
                "severity": Decimal(severity).scaleb(-decimals),
                "consistency_sd": Decimal(spread).scaleb(-decimals),
                "correlation": None if corr is None else Decimal(corr).scaleb(-CORRELATION_DECIMALS),
            }
        )
    columns = (["component"] if has_comp else []) + ["judge_id", "n_works", "severity", "consistency_sd", "correlation"]
    out = pd.DataFrame(rows, columns=columns)
    out["n_works"] = out["n_works"].astype(np.int64)
    return out


@dataclass(frozen=True)
class AggregationSensitivity:
    """What would change under another aggregation rule.

    ``table``, one row per entry in the current rank order: [group], entry_id, total, rank,
    advanced (None without a quota), alt_total, alt_rank, alt_advanced, rank_change (Int64:
    alt_rank - rank, positive = worse), place_change ("gains" / "loses" / None).
    ``rank_changes`` counts entries whose rank differs; ``gains``/``losses`` the entries that
    would enter / leave the advancement list.
    """

    alternative: AggregationRule
    table: pd.DataFrame
    rank_changes: int
    gains: tuple
    losses: tuple


def _alternative_rule(stage_rule: StageRule, alternative) -> tuple[StageRule, AggregationRule]:
    if isinstance(alternative, AggregationRule):
        alt = alternative
    else:
        try:
            alt = AggregationRule(method=Aggregation(alternative))
        except ValueError:
            raise InvalidRule(f"评分汇总方式无效：{alternative!r}") from None
    comps = []
    for c in stage_rule.components:
        if c.aggregation.method is Aggregation.SINGLE:
            comps.append(c)  # a machine-marked or single-judge component has nothing to re-aggregate
            continue
        min_judges = c.aggregation.min_judges if alt.method is not Aggregation.SINGLE else 1
        new = AggregationRule(
            method=alt.method, trim=alt.trim, min_judges=max(min_judges, alt.min_judges) if alt.method is not Aggregation.SINGLE else 1,
            disagreement_threshold=c.aggregation.disagreement_threshold,
        )
        comps.append(replace(c, aggregation=new))
    return replace(stage_rule, components=tuple(comps)), alt


def aggregation_sensitivity(
    stage_rule: StageRule,
    judge_points: pd.DataFrame,
    entries: pd.DataFrame,
    alternative=Aggregation.MEAN,
    group_by: str | None = None,
) -> AggregationSensitivity:
    """Recompute the stage with every judged component aggregated by ``alternative`` (a method
    or an :class:`AggregationRule`) and report which ranks and which advancement places
    (``stage_rule.quota``, ``per_enterprise_cap``, ``cutoff_tie_policy``) would change.
    Single-judge components are left as they are."""
    alt_rule, alt = _alternative_rule(stage_rule, alternative)
    base = stage_results(stage_rule, judge_points, entries, group_by).results
    other = stage_results(alt_rule, judge_points, entries, group_by).results
    keys = ([group_by] if group_by else []) + ["entry_id"]
    table = base[keys + ["total", "rank"]].copy()
    alt_part = other[["entry_id", "total", "rank"]].rename(columns={"total": "alt_total", "rank": "alt_rank"})
    table = table.merge(alt_part, on="entry_id", how="left")
    table["rank_change"] = (table["alt_rank"] - table["rank"]).astype("Int64")
    gains: tuple = ()
    losses: tuple = ()
    if stage_rule.quota is not None:
        a = select_advancers(base, stage_rule.quota, stage_rule.per_enterprise_cap, stage_rule.cutoff_tie_policy, group_by=group_by)
        b = select_advancers(other, stage_rule.quota, stage_rule.per_enterprise_cap, stage_rule.cutoff_tie_policy, group_by=group_by)
        adv_a = dict(zip(a.table["entry_id"], a.table["advanced"], strict=True))
        adv_b = dict(zip(b.table["entry_id"], b.table["advanced"], strict=True))
        table["advanced"] = table["entry_id"].map(adv_a).astype(bool)
        table["alt_advanced"] = table["entry_id"].map(adv_b).astype(bool)
        change = np.full(len(table), None, dtype=object)
        change[(table["alt_advanced"] & ~table["advanced"]).to_numpy()] = "gains"
        change[(table["advanced"] & ~table["alt_advanced"]).to_numpy()] = "loses"
        table["place_change"] = change
        gains = tuple(table.loc[change == "gains", "entry_id"].tolist())
        losses = tuple(table.loc[change == "loses", "entry_id"].tolist())
    else:
        table["advanced"] = None
        table["alt_advanced"] = None
        table["place_change"] = None
    changed = (table["rank"].fillna(-1) != table["alt_rank"].fillna(-1)).to_numpy()
    return AggregationSensitivity(
        alternative=alt, table=table, rank_changes=int(changed.sum()), gains=gains, losses=losses
    )


__all__ = ["AggregationSensitivity", "aggregation_sensitivity", "judge_effects"]
