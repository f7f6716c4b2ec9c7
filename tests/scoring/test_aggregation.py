"""Judge aggregation: single, mean, trimmed mean, median, minimum judges, disagreement, 失格."""

from decimal import Decimal as D

import pandas as pd
import pytest

from scoring import (
    Aggregation,
    AggregationRule,
    InvalidInput,
    InvalidMark,
    InvalidRule,
    aggregate_judges,
)


def panel(points, entry="E1", judges=None):
    judges = judges or [f"J{i + 1}" for i in range(len(points))]
    return pd.DataFrame({"entry_id": [entry] * len(points), "judge_id": judges, "points": [D(str(p)) for p in points]})


def agg(points, **rule):
    out = aggregate_judges(panel(points), AggregationRule(**rule))
    return out.iloc[0]


@pytest.mark.parametrize(
    ("points", "rule", "expected"),
    [
        ([80, 82, 90, 70, 85], {"method": "mean"}, D("81.40")),
        ([80, 81, 81], {"method": "mean"}, D("80.67")),  # 80.666.. half-up
        ([10, "10.01"], {"method": "mean"}, D("10.01")),  # 10.005 -> 10.01 (half-up, not half-even)
        ([80, 82, 90, 70, 85], {"method": "median"}, D("82.00")),
        ([80, 82, 90, 70], {"method": "median"}, D("81.00")),  # (80 + 82) / 2
        (["80.01", "80.02"], {"method": "median"}, D("80.02")),  # 80.015 -> 80.02
        ([77], {"method": "single"}, D("77.00")),
        # default trim: 5 judges -> drop one high (90) and one low (70): (80+82+85)/3 = 82.333..
        ([80, 82, 90, 70, 85], {"method": "trimmed_mean"}, D("82.33")),
        # default trim: 4 judges -> no trim, plain mean
        ([80, 82, 90, 70], {"method": "trimmed_mean"}, D("80.50")),
        # explicit trim 2 of 7: keep 80, 82, 85
        ([60, 80, 82, 90, 70, 85, 99], {"method": "trimmed_mean", "trim": 2}, D("82.33")),
    ],
)
def test_aggregation_methods_by_hand(points, rule, expected):
    assert agg(points, **rule)["points"] == expected


def test_trimmed_mean_drops_one_high_and_one_low():
    row = agg([50, 60, 70, 80, 100], method=Aggregation.TRIMMED_MEAN)
    assert row["points"] == D("70.00") and row["trimmed"] == 1


def test_trimmed_mean_drops_only_one_of_equal_extremes():
    # 70, 70, 80, 90, 90 -> drop one 70 and one 90: (70 + 80 + 90) / 3 = 80
    assert agg([70, 90, 80, 90, 70])["points"] == D("80.00")


def test_a_missing_judge_makes_the_work_incomplete_not_zero():
    row = agg([85], method="mean", min_judges=2)
    assert row["points"] is None and not row["complete"] and row["n_judges"] == 1


def test_explicit_trim_needs_two_k_plus_one_judges():
    assert AggregationRule(trim=2).required_judges == 5
    row = agg([80, 81, 82, 83], method="trimmed_mean", trim=2)
    assert not row["complete"]


def test_disagreement_above_threshold_names_the_extreme_judges():
    row = agg([80, 82, 95, 70, 85], disagreement_threshold=20)
    assert row["disagreement"] and row["spread"] == D("25.00")
    assert row["disagreeing_judges"] == ("J3", "J4")


def test_disagreement_equal_to_threshold_is_not_flagged():
    row = agg([80, 100], method="mean", disagreement_threshold=20)
    assert not row["disagreement"] and row["disagreeing_judges"] is None


def test_any_judge_disqualifying_the_work_scores_it_zero_with_reason():
    df = panel([80, 82, 84])
    df["disqualified"] = [False, True, False]
    df["dq_scope"] = [None, "component", None]
    df["dq_reason"] = [None, "否决项S1：未佩戴安全带", None]
    row = aggregate_judges(df, AggregationRule(method="mean")).iloc[0]
    assert row["disqualified"] and row["points"] == D("0.00") and row["dq_reason"] == "否决项S1：未佩戴安全带"


def test_single_rule_with_two_judges_is_an_error():
    with pytest.raises(InvalidInput, match="单人评分"):
        agg([80, 81], method="single")


def test_same_judge_twice_on_one_work_is_an_error():
    with pytest.raises(InvalidInput, match="多条分数"):
        aggregate_judges(panel([80, 81], judges=["J1", "J1"]), AggregationRule())


def test_points_above_the_maximum_are_rejected_not_clipped():
    with pytest.raises(InvalidMark, match="超过满分40"):
        aggregate_judges(panel([39, "40.5"]), AggregationRule(), maximum=40)


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"method": "mode"}, "汇总方式无效"),
        ({"method": "mean", "trim": 1}, "只有截尾平均"),
        ({"trim": 0}, "正整数"),
        ({"min_judges": 0}, "最少裁判人数"),
        ({"method": "single", "min_judges": 2}, "单人评分"),
        ({"disagreement_threshold": -1}, "不能为负"),
    ],
)
def test_invalid_aggregation_rules_are_rejected(kwargs, fragment):
    with pytest.raises(InvalidRule, match=fragment):
        AggregationRule(**kwargs)


def test_aggregation_does_not_depend_on_row_order():
    df = pd.concat([panel([80, 82, 90, 70, 85], "E1"), panel([60, 61, 99], "E2"), panel([50], "E3")])
    rule = AggregationRule(min_judges=2, disagreement_threshold=10)
    a = aggregate_judges(df, rule)
    b = aggregate_judges(df.sample(frac=1, random_state=1), rule)
    pd.testing.assert_frame_equal(a, b)
    assert a["entry_id"].tolist() == ["E1", "E2", "E3"]
