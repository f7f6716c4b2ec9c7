"""Standardisation of component scores: WorldSkills-style (median at 700) or plain z-scores, exact."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction

import numpy as np
import pandas as pd

from ._exact import (
    column_to_units,
    decimal_places_ok,
    fmt,
    require_columns,
    round_c_plus_ratio_sqrt,
    to_decimal,
    units_to_decimals,
)
from .errors import InvalidInput, InvalidMark, InvalidRule


class StandardisationMethod(StrEnum):
    """WorldSkills-style (median at 700) or a plain z-score."""

    WORLDSKILLS = "worldskills"
    Z_SCORE = "z_score"


_DEFAULTS = {
    StandardisationMethod.WORLDSKILLS: (Decimal(700), Decimal(100)),
    StandardisationMethod.Z_SCORE: (Decimal(0), Decimal(1)),
}


@dataclass(frozen=True)
class Standardisation:
    """How scores are standardised within a stage (and within each group, e.g. track).

    WORLDSKILLS: ``centre + spread x (x - median) / sd`` with centre 700 and spread 100, so the
    median contestant gets exactly 700.  Z_SCORE: ``centre + spread x (x - mean) / sd`` with
    centre 0 and spread 1.  ``sd`` is the population standard deviation (divide by n) of the
    scores standardised together.  ``decimals`` of the output (None: the stage's decimals).
    """

    method: StandardisationMethod = StandardisationMethod.WORLDSKILLS
    centre: Decimal | None = None
    spread: Decimal | None = None
    decimals: int | None = None

    def __post_init__(self):
        try:
            method = StandardisationMethod(self.method)
        except ValueError:
            raise InvalidRule(
                f"标准化方式无效：{self.method!r}，可选值为{'、'.join(m.value for m in StandardisationMethod)}"
            ) from None
        object.__setattr__(self, "method", method)
        centre, spread = _DEFAULTS[method]
        if self.centre is not None:
            centre = to_decimal(self.centre, "标准化中心值", InvalidRule)
        if self.spread is not None:
            spread = to_decimal(self.spread, "每个标准差对应的分值", InvalidRule)
        if spread <= 0:
            raise InvalidRule(f"每个标准差对应的分值必须大于0，当前为{fmt(spread)}")
        object.__setattr__(self, "centre", centre)
        object.__setattr__(self, "spread", spread)
        if self.decimals is not None and (
            isinstance(self.decimals, bool) or not isinstance(self.decimals, int) or not 0 <= self.decimals <= 6
        ):
            raise InvalidRule(f"标准分小数位数必须是0到6之间的整数，当前为{self.decimals!r}")
        if self.decimals is not None and not decimal_places_ok(centre, self.decimals):
            raise InvalidRule(f"标准化中心值{fmt(centre)}的小数位数超过{self.decimals}位")


def standardise_units(
    units: np.ndarray, valid: np.ndarray, groups: np.ndarray, rule: Standardisation, d_in: int, d_out: int
) -> np.ndarray:
    """Standardised values (int64 units at ``d_out``) for ``units`` at ``d_in``, per group.

    Rows where ``valid`` is False neither enter the statistics nor get a value (0 returned).
    Exact: the mean, median and variance are rational, the square root is handled by integer
    square roots, so the result is the correctly rounded (half-up) value.
    """
    out = np.zeros(len(units), np.int64)
    if not decimal_places_ok(rule.centre, d_out):
        raise InvalidRule(f"标准化中心值{fmt(rule.centre)}的小数位数超过{d_out}位")
    c_units = int(rule.centre.scaleb(d_out))
    spread = Fraction(rule.spread)
    sp, sq = spread.numerator * 10**d_out, spread.denominator
    for g in np.unique(groups[valid]).tolist():
        rows = np.flatnonzero(valid & (groups == g))
        x = units[rows]
        uniq, inverse = np.unique(x, return_inverse=True)
        n = len(x)
        xs = [int(v) for v in x.tolist()]
        s1 = sum(xs)
        s2 = sum(v * v for v in xs)
        w = n * s2 - s1 * s1  # n^2 x variance, in units^2
        values = []
        if w == 0:
            values = [c_units] * len(uniq)
        elif rule.method is StandardisationMethod.WORLDSKILLS:
            srt = sorted(xs)
            m2 = srt[(n - 1) // 2] + srt[n // 2]  # twice the median
            q = sq * sq * 4 * w
            values = [round_c_plus_ratio_sqrt(c_units, sp * n * (2 * int(v) - m2), q) for v in uniq.tolist()]
        else:
            q = sq * sq * w
            values = [round_c_plus_ratio_sqrt(c_units, sp * (n * int(v) - s1), q) for v in uniq.tolist()]
        out[rows] = np.array(values, dtype=np.int64)[inverse]
    return out


def standardise(
    scores: pd.DataFrame,
    rule: Standardisation | None = None,
    decimals: int = 2,
    group_by: str | None = None,
) -> pd.DataFrame:
    """Standardise ``scores`` by ``rule`` (default WorldSkills-style: median at 700).

    Input columns: ``entry_id``; ``points`` (Decimal/int/float, at most ``decimals`` decimals,
    None = not standardised); ``group_by`` column if given (each group is standardised on its
    own).  Output: the input columns plus ``standardised`` (Decimal, rounded half-up to
    ``rule.decimals`` or ``decimals``; None where points are None), in input order.
    """
    rule = Standardisation() if rule is None else rule
    if not isinstance(rule, Standardisation):
        raise InvalidRule("rule 必须是 Standardisation")
    cols = ["entry_id", "points"] + ([group_by] if group_by else [])
    require_columns(scores, cols, "成绩表")
    units, missing, bad = column_to_units(scores["points"], decimals)
    if bad.any():
        r = int(np.flatnonzero(bad)[0])
        raise InvalidMark(f"选手{scores['entry_id'].iat[r]}的分数{scores['points'].iat[r]!r}不是最多{decimals}位小数的数值")
    if pd.Index(scores["entry_id"]).has_duplicates:
        raise InvalidInput("成绩表中选手编号重复")
    groups = np.zeros(len(scores), np.int64)
    if group_by:
        groups = pd.factorize(scores[group_by], sort=True)[0].astype(np.int64)
    d_out = decimals if rule.decimals is None else rule.decimals
    values = standardise_units(units, ~missing, groups, rule, decimals, d_out)
    result = scores.copy()
    result["standardised"] = units_to_decimals(values, d_out, missing)
    return result


__all__ = ["Standardisation", "StandardisationMethod", "standardise"]
