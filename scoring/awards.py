"""Awards (一等奖, 二等奖, 三等奖, 优胜奖 …): prizes by count or by a share of the ranked
contestants, with a stated rounding rule for the counts and a stated rule for a tie across a
prize boundary.

Only eligible, ranked contestants take part: results rows with a rank and ``eligible`` true (not
disqualified, not incomplete, not unranked, approved, above every minimum). N is their number.
The tiers are given in order, best first. Each tier ends at a position in the rank order:

- ``count=c``: c places after the previous tier's end;
- ``share=p``: round(p% × N) places after the previous tier's end (a share of the ranked
  contestants, e.g. 一等奖 10%, 二等奖 20%, 三等奖 30%);
- ``through=p``: up to position round(p% × N) counted from the top, i.e. everyone not yet awarded
  within the top p% (e.g. 优胜奖 for the others in the top half).

Rounding a share into a count (``AwardRule.rounding``): ``half_up`` (四舍五入, the default),
``floor`` (去尾) or ``ceil`` (进一); a count is worked out exactly (integers, never floats).

A tie across a boundary (``AwardRule.ties``): contestants who share the rank of the last place
of a tier are tied. ``include`` (the default, as WorldSkills gives tied competitors the same
medal): all of them take the better prize, and the next tier still ends where it would have
(so it is shorter). ``exclude``: none of them does; all take the next tier's prize. With
``margin`` (points) contestants whose total is within the margin of the boundary place's total
count as tied too (WorldSkills' "within a set margin").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal

import pandas as pd

from ._exact import require_columns, to_decimal
from .errors import InvalidRule

ROUNDING = {"half_up": ROUND_HALF_UP, "floor": ROUND_FLOOR, "ceil": ROUND_CEILING}
TIE_POLICIES = ("include", "exclude")


@dataclass(frozen=True)
class AwardTier:
    """One prize: its name and exactly one of ``count``, ``share`` (percent of N) or
    ``through`` (a cumulative percent of N, for the rest within the top p%)."""

    name: str
    count: int | None = None
    share: Decimal | None = None
    through: Decimal | None = None

    def __post_init__(self):
        if not str(self.name or "").strip():
            raise InvalidRule("奖项名称不能为空")
        given = [k for k in ("count", "share", "through") if getattr(self, k) is not None]
        if len(given) != 1:
            raise InvalidRule(f"奖项“{self.name}”须且只能设置人数、比例或累计比例中的一项")
        if self.count is not None and (isinstance(self.count, bool)
                                       or not isinstance(self.count, int) or self.count < 0):
            raise InvalidRule(f"奖项“{self.name}”的人数必须是非负整数，当前为{self.count!r}")
        for name in ("share", "through"):
            value = getattr(self, name)
            if value is None:
                continue
            value = to_decimal(value, f"奖项“{self.name}”的比例", InvalidRule)
            if not Decimal(0) <= value <= Decimal(100):
                raise InvalidRule(f"奖项“{self.name}”的比例应在0至100之间，当前为{value}")
            object.__setattr__(self, name, value)


@dataclass(frozen=True)
class AwardRule:
    tiers: tuple[AwardTier, ...]
    rounding: str = "half_up"
    ties: str = "include"
    margin: Decimal | None = None

    def __post_init__(self):
        object.__setattr__(self, "tiers", tuple(self.tiers))
        if self.rounding not in ROUNDING:
            raise InvalidRule(f"比例取整方式无效：{self.rounding!r}，可选 half_up、floor、ceil")
        if self.ties not in TIE_POLICIES:
            raise InvalidRule(f"奖项分界处并列的处理方式无效：{self.ties!r}，可选 include、exclude")
        names = [t.name for t in self.tiers]
        if len(set(names)) != len(names):
            raise InvalidRule("奖项名称重复")
        if self.margin is not None:
            margin = to_decimal(self.margin, "并列分差", InvalidRule)
            if margin < 0:
                raise InvalidRule(f"并列分差不能为负数，当前为{margin}")
            object.__setattr__(self, "margin", margin)


def tier_count(share: Decimal, ranked: int, rounding: str = "half_up") -> int:
    """``share`` percent of ``ranked`` contestants as a whole number of places, exactly:
    10% of 57 is 5.7 → 6 (half_up), 5 (floor), 6 (ceil); 30% of 25 = 7.5 → 8, 7, 8."""
    exact = Decimal(share) * ranked / 100
    return int(exact.quantize(Decimal(1), rounding=ROUNDING[rounding]))


@dataclass(frozen=True)
class Awards:
    """Who takes which prize. ``by_entry`` maps an entry to its prize; ``tiers`` is one row per
    tier: ``name``, ``planned`` (places before ties), ``awarded``, ``last_rank`` and
    ``last_total`` of the tier (None when empty), and ``note`` (Chinese: the rounding and any tie
    at its boundary)."""

    by_entry: dict
    tiers: tuple[dict, ...] = field(default_factory=tuple)
    ranked: int = 0


def _ends(rule: AwardRule, n: int) -> list[int]:
    """Each tier's planned end position (1-based, cumulative, never past N or backwards)."""
    ends, end = [], 0
    for tier in rule.tiers:
        if tier.count is not None:
            end = end + tier.count
        elif tier.share is not None:
            end = end + tier_count(tier.share, n, rule.rounding)
        else:
            end = max(end, tier_count(tier.through, n, rule.rounding))
        end = min(end, n)
        ends.append(end)
    return ends


def assign_awards(results: pd.DataFrame, rule: AwardRule) -> Awards:
    """Prizes for the eligible, ranked rows of ``results`` (columns ``entry_id``, ``rank``,
    ``eligible`` and ``total``), by the module's rules: tiers in order, counts from shares
    rounded as the rule says, a tie across a boundary included in or excluded from the better
    prize."""
    require_columns(results, ("entry_id", "rank", "eligible", "total"), "成绩表")
    ranked = results[results["rank"].notna() & results["eligible"].astype(bool)]
    ranked = ranked.sort_values("rank", kind="stable")
    ids = ranked["entry_id"].tolist()
    ranks = [int(r) for r in ranked["rank"].tolist()]
    totals = [None if t is None else Decimal(t) for t in ranked["total"].tolist()]
    n = len(ids)
    by_entry: dict = {}
    rows: list[dict] = []
    start = 0  # the first position (0-based) not yet awarded
    for tier, end in zip(rule.tiers, _ends(rule, n), strict=True):
        planned = max(0, end - start)
        stop = max(start, end)  # 0-based exclusive end before ties
        note = None
        if stop > start and stop < n:
            last = stop - 1

            def tied(k: int, last: int = last) -> bool:
                if ranks[k] == ranks[last]:
                    return True
                return (rule.margin is not None and totals[k] is not None
                        and totals[last] is not None and totals[last] - totals[k] <= rule.margin)

            if tied(stop):
                first_tied = last
                while first_tied > start and tied(first_tied - 1):
                    first_tied -= 1
                after = stop
                while after < n and tied(after):
                    after += 1
                if rule.ties == "include":
                    note = f"第{planned}名处并列，并列的{after - first_tied}人均获{tier.name}"
                    stop = after
                else:
                    note = f"第{planned}名处并列，并列的{after - first_tied}人均不获{tier.name}"
                    stop = first_tied
        for k in range(start, stop):
            by_entry[ids[k]] = tier.name
        rows.append({
            "name": tier.name, "planned": planned, "awarded": stop - start,
            "last_rank": ranks[stop - 1] if stop > start else None,
            "last_total": totals[stop - 1] if stop > start else None, "note": note})
        start = max(start, stop)
    return Awards(by_entry, tuple(rows), n)
