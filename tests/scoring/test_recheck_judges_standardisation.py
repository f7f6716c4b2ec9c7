"""Re-check sampling and verdict, judge effects, aggregation sensitivity, standardisation."""

import math
from decimal import Decimal as D
from decimal import localcontext

import pandas as pd
import pytest

from scoring import (
    Aggregation,
    AggregationRule,
    ComponentRule,
    InvalidInput,
    StageRule,
    Standardisation,
    StandardisationMethod,
    aggregation_sensitivity,
    judge_effects,
    recheck_sample,
    recheck_verdict,
    standardise,
)


def ranked(n, ties_at=None):
    ranks = list(range(1, n + 1))
    if ties_at:
        ranks[ties_at] = ranks[ties_at - 1]
    return pd.DataFrame({"entry_id": [f"E{i:03d}" for i in range(1, n + 1)], "rank": pd.array(ranks, dtype="Int64")})


def test_recheck_takes_all_of_the_top_and_at_least_the_fraction_of_the_rest():
    s = recheck_sample(ranked(50), top=10, fraction=D("0.15"), seed=2025)
    assert s.top_ids == tuple(f"E{i:03d}" for i in range(1, 11))
    assert s.rest_count == 40 and len(s.sampled_ids) == 6  # ceil(0.15 x 40) = 6
    assert set(s.sampled_ids).isdisjoint(s.top_ids) and s.seed == 2025
    assert s.table["why"].tolist() == ["top"] * 10 + ["sample"] * 6


def test_recheck_top_includes_entries_tied_at_the_last_top_rank():
    s = recheck_sample(ranked(20, ties_at=10), top=10, seed=1)  # E011 shares rank 10
    assert len(s.top_ids) == 11 and len(s.sampled_ids) == math.ceil(9 * 0.15)


def test_same_seed_gives_the_same_sample_whatever_the_row_order():
    df = ranked(200)
    a = recheck_sample(df, seed=77)
    b = recheck_sample(df.sample(frac=1, random_state=4), seed=77)
    assert a.sampled_ids == b.sampled_ids and a.top_ids == b.top_ids
    assert recheck_sample(df, seed=78).sampled_ids != a.sampled_ids


def test_a_sample_without_a_seed_records_the_seed_it_used():
    s = recheck_sample(ranked(30))
    assert recheck_sample(ranked(30), seed=s.seed).sampled_ids == s.sampled_ids


@pytest.mark.parametrize(
    ("checked", "errors", "full", "rate"),
    [(20, 0, False, D("0")), (20, 1, False, D("0.05")), (20, 2, True, D("0.1")), (100, 5, False, D("0.05")), (100, 6, True, D("0.06")), (3, 1, True, D("0.3333"))],
)
def test_error_rate_above_five_percent_forces_a_full_recheck(checked, errors, full, rate):
    v = recheck_verdict(checked, errors)
    assert v.full_recheck_required is full and v.error_rate == rate
    assert v.message.endswith("，须全部复核") is full


def test_recheck_verdict_rejects_impossible_counts():
    with pytest.raises(InvalidInput, match="不能多于"):
        recheck_verdict(5, 6)
    with pytest.raises(InvalidInput, match="为0"):
        recheck_verdict(0, 0)


def judge_points():
    # Three works; J3 is 3 points harsher than the panel median every time, J1 and J2 agree.
    rows = []
    for entry, base in (("A", 80), ("B", 70), ("C", 90)):
        rows += [(entry, "J1", base), (entry, "J2", base + 1), (entry, "J3", base - 3)]
    return pd.DataFrame(rows, columns=["entry_id", "judge_id", "points"])


def test_judge_severity_is_mean_deviation_from_the_panel_median():
    eff = judge_effects(judge_points()).set_index("judge_id")
    # medians are the J1 points; J2 deviates +1, J3 -3 on every work
    assert eff["severity"].to_dict() == {"J1": D("0.00"), "J2": D("1.00"), "J3": D("-3.00")}
    assert eff["consistency_sd"].to_dict() == {"J1": D("0.00"), "J2": D("0.00"), "J3": D("0.00")}
    assert eff["correlation"].to_dict() == {"J1": D("1.000"), "J2": D("1.000"), "J3": D("1.000")}
    assert eff["n_works"].tolist() == [3, 3, 3]


def test_judge_consistency_is_the_standard_deviation_of_deviations():
    df = judge_points()
    df.loc[(df.entry_id == "C") & (df.judge_id == "J3"), "points"] = 95  # C: 90, 91, 95 -> median 91
    eff = judge_effects(df).set_index("judge_id")
    # J3 deviations -3, -3, +4: mean -2/3 = -0.67; population sd = sqrt(294 / 27) = 3.2998 -> 3.30
    assert eff.loc["J3", "severity"] == D("-0.67") and eff.loc["J3", "consistency_sd"] == D("3.30")


def test_aggregation_sensitivity_names_rank_and_place_changes():
    rule = StageRule(
        (ComponentRule("practical", "实操", 100, aggregation=AggregationRule(Aggregation.TRIMMED_MEAN)),), quota=1
    )
    # A: 80 80 80 80 80 -> 80 either way. B: 100 79 79 79 79 -> trimmed 79, mean 83.2
    rows = [("A", f"J{i}", 80) for i in range(5)] + [("B", "J0", 100)] + [("B", f"J{i}", 79) for i in range(1, 5)]
    jp = pd.DataFrame(rows, columns=["entry_id", "judge_id", "points"]).assign(component="practical")
    ents = pd.DataFrame({"entry_id": ["A", "B"], "enterprise": ["x", "y"]})
    sens = aggregation_sensitivity(rule, jp, ents, alternative=Aggregation.MEAN)
    t = sens.table.set_index("entry_id")
    assert t.loc["B", "total"] == D("79.00") and t.loc["B", "alt_total"] == D("83.20")
    assert t["rank_change"].to_dict() == {"A": 1, "B": -1}
    assert sens.gains == ("B",) and sens.losses == ("A",) and sens.rank_changes == 2


def test_worldskills_standardisation_puts_the_median_at_700():
    scores = pd.DataFrame({"entry_id": list("ABCDE"), "points": [D(x) for x in ("50", "60", "70", "80", "90")]})
    out = standardise(scores).set_index("entry_id")["standardised"]
    # median 70, population sd sqrt(200) = 14.142..; 100 x 10 / 14.142 = 70.71
    assert out.to_dict() == {"A": D("558.58"), "B": D("629.29"), "C": D("700.00"), "D": D("770.71"), "E": D("841.42")}


def test_z_score_standardisation():
    scores = pd.DataFrame({"entry_id": list("ABCD"), "points": [D(x) for x in ("1", "2", "3", "10")]})
    out = standardise(scores, Standardisation(StandardisationMethod.Z_SCORE, decimals=4))["standardised"]
    with localcontext() as ctx:
        ctx.prec = 50
        xs = [D(1), D(2), D(3), D(10)]
        mean = sum(xs) / 4
        sd = (sum((x - mean) ** 2 for x in xs) / 4).sqrt()
        expected = [((x - mean) / sd).quantize(D("0.0001"), rounding="ROUND_HALF_UP") for x in xs]
    assert out.tolist() == expected


def test_standardisation_of_equal_scores_gives_the_centre():
    scores = pd.DataFrame({"entry_id": ["A", "B"], "points": [D(5), D(5)]})
    assert standardise(scores)["standardised"].tolist() == [D("700.00"), D("700.00")]
