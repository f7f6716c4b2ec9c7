"""Awards: counts from shares under each rounding rule, a tie across a prize boundary under each
policy, and only eligible, ranked contestants."""
from decimal import Decimal as D

import pandas as pd
import pytest

from scoring import AwardRule, AwardTier, InvalidRule, assign_awards, tier_count


def results(ranks, totals=None, eligible=None):
    n = len(ranks)
    return pd.DataFrame({
        "entry_id": [f"E{k + 1}" for k in range(n)],
        "rank": pd.array(ranks, dtype="Int64"),
        "total": [D(t) for t in (totals or [100 - k for k in range(n)])],
        "eligible": eligible if eligible is not None else [True] * n})


@pytest.mark.parametrize(("rounding", "counts"), [
    # 57 ranked: 10% = 5.7, 20% = 11.4, 30% = 17.1
    ("half_up", (6, 11, 17)),
    ("floor", (5, 11, 17)),
    ("ceil", (6, 12, 18)),
])
def test_shares_of_the_ranked_become_counts_by_the_stated_rounding(rounding, counts):
    assert tuple(tier_count(D(p), 57, rounding) for p in (10, 20, 30)) == counts


def test_half_up_rounds_a_half_place_up_and_floor_down():
    # 25 ranked: 30% = 7.5 places.
    assert tier_count(D(30), 25, "half_up") == 8
    assert tier_count(D(30), 25, "floor") == 7


def test_ten_twenty_thirty_percent_then_the_rest_of_the_top_half():
    rule = AwardRule((AwardTier("一等奖", share=10), AwardTier("二等奖", share=20),
                      AwardTier("三等奖", share=30), AwardTier("优胜奖", through=D(50))))
    # 20 ranked, no ties: 2, 4, 6 places; 三等奖 ends at 12, past the top half (10): 优胜奖 none.
    awards = assign_awards(results(list(range(1, 21))), rule)
    got = [awards.by_entry.get(f"E{k}") for k in range(1, 21)]
    assert got == ["一等奖"] * 2 + ["二等奖"] * 4 + ["三等奖"] * 6 + [None] * 8
    assert [t["awarded"] for t in awards.tiers] == [2, 4, 6, 0]


def test_the_rest_of_the_top_half_take_the_last_prize():
    rule = AwardRule((AwardTier("一等奖", count=1), AwardTier("二等奖", count=2),
                      AwardTier("优胜奖", through=D(50))))
    awards = assign_awards(results(list(range(1, 11))), rule)  # top half of 10: 5 places
    assert [awards.by_entry.get(f"E{k}") for k in range(1, 7)] == [
        "一等奖", "二等奖", "二等奖", "优胜奖", "优胜奖", None]


def test_a_tie_across_a_boundary_is_included_in_the_better_prize_by_default():
    # Ranks 1, 2, 3, 3, 5, 6: one 一等奖... three places of 一等奖 end inside the tie at rank 3.
    rule = AwardRule((AwardTier("一等奖", count=3), AwardTier("二等奖", count=2)))
    awards = assign_awards(results([1, 2, 3, 3, 5, 6]), rule)
    assert [awards.by_entry.get(f"E{k}") for k in range(1, 7)] == [
        "一等奖", "一等奖", "一等奖", "一等奖", "二等奖", None]
    assert awards.tiers[0]["note"] == "第3名处并列，并列的2人均获一等奖"
    assert [t["awarded"] for t in awards.tiers] == [4, 1]  # 二等奖 still ends at place 5


def test_a_tie_across_a_boundary_takes_the_next_prize_when_excluded():
    rule = AwardRule((AwardTier("一等奖", count=3), AwardTier("二等奖", count=2)),
                     ties="exclude")
    awards = assign_awards(results([1, 2, 3, 3, 5, 6]), rule)
    assert [awards.by_entry.get(f"E{k}") for k in range(1, 7)] == [
        "一等奖", "一等奖", "二等奖", "二等奖", "二等奖", None]
    assert awards.tiers[0]["note"] == "第3名处并列，并列的2人均不获一等奖"


def test_totals_within_the_margin_of_the_boundary_count_as_tied():
    rule = AwardRule((AwardTier("金牌", count=1),), margin=D("0.5"))
    awards = assign_awards(results([1, 2, 3], totals=["90.00", "89.60", "89.40"]), rule)
    # 89.60 is within 0.5 of 90.00, 89.40 is not.
    assert awards.by_entry == {"E1": "金牌", "E2": "金牌"}


def test_only_eligible_ranked_contestants_take_prizes_or_count_in_n():
    frame = results([1, 2, 3, None, 4], eligible=[True, False, True, True, True])
    rule = AwardRule((AwardTier("一等奖", share=D(50)),))
    awards = assign_awards(frame, rule)
    # Ranked and eligible: E1, E3, E5 (N = 3); 50% of 3 = 1.5 → 2 places.
    assert awards.ranked == 3
    assert awards.by_entry == {"E1": "一等奖", "E3": "一等奖"}


def test_a_tier_must_say_how_many():
    with pytest.raises(InvalidRule, match="只能设置"):
        AwardTier("一等奖")
    with pytest.raises(InvalidRule, match="只能设置"):
        AwardTier("一等奖", count=3, share=D(10))
    with pytest.raises(InvalidRule, match="0至100"):
        AwardTier("一等奖", share=D(120))
    with pytest.raises(InvalidRule, match="取整"):
        AwardRule((AwardTier("一等奖", count=1),), rounding="bankers")
