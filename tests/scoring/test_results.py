"""Stage results: percentages, weighted totals, exact half-up rounding, statuses, ranks and ties."""

from decimal import Decimal as D

import pandas as pd
import pytest

from scoring import (
    AggregationRule,
    ComponentRule,
    InvalidInput,
    InvalidMark,
    InvalidRule,
    StageRule,
    Standardisation,
    TieBreak,
    WeightsError,
    aggregate_components,
    compute_results,
    stage_results,
)


def rule(*tie_breaks, theory=30, practical=70, practical_max=100, **kw):
    return StageRule(
        (
            ComponentRule("theory", "理论", theory),
            ComponentRule("practical", "实操", practical, maximum=practical_max, aggregation=AggregationRule(min_judges=2)),
        ),
        tie_breaks=tuple(TieBreak(t) if isinstance(t, str) else t for t in tie_breaks),
        **kw,
    )


def points(rows):
    """rows: {entry: (theory, practical)}; None leaves the component out."""
    out = []
    for e, (t, p) in rows.items():
        if t is not None:
            out.append((e, "theory", D(str(t))))
        if p is not None:
            out.append((e, "practical", D(str(p))))
    return pd.DataFrame(out, columns=["entry_id", "component", "points"])


def entries(ids, **cols):
    df = pd.DataFrame({"entry_id": list(ids), "enterprise": ["甲"] * len(ids)})
    for k, v in cols.items():
        df[k] = v
    return df


def by_id(results):
    return results.set_index("entry_id")


def test_total_of_x_xx5_rounds_half_up_where_float_rounding_gets_it_wrong():
    # 0.3 x 80.00 + 0.7 x 90.15 = 24 + 63.105 = 87.105 exactly -> 87.11
    res = compute_results(rule(), points({"A": (80, "90.15")}), entries("A"))
    assert res["total"].iat[0] == D("87.11")
    # the float computation lands just below the half and rounds down
    assert 0.3 * 80.00 + 0.7 * 90.15 == 87.10499999999999
    assert round(0.3 * 80.00 + 0.7 * 90.15, 2) == 87.1


def test_percentage_is_rounded_from_published_points_and_total_from_published_percentage():
    # practical 33.67 of 40 = 84.175% -> published 84.18%; total = 0.3 x 80 + 0.7 x 84.18 = 82.926 -> 82.93
    # (from the unrounded 84.175% it would be 82.9225 -> 82.92)
    res = compute_results(rule(practical_max=40), points({"A": (80, "33.67")}), entries("A"))
    row = res.iloc[0]
    assert (row["practical_points"], row["practical_percent"], row["total"]) == (D("33.67"), D("84.18"), D("82.93"))


@pytest.mark.parametrize(
    ("weights", "shown"),
    [((30, 65), "当前为95%"), ((30, 71), "当前为101%"), ((D("33.33"), D("66.66")), "当前为99.99%")],
)
def test_weights_not_summing_to_100_are_rejected(weights, shown):
    with pytest.raises(WeightsError, match="权重合计必须为100%，" + shown):
        rule(theory=weights[0], practical=weights[1])


def test_weights_with_decimals_that_sum_to_100_are_accepted():
    r = StageRule(
        (ComponentRule("a", "A", D("33.33")), ComponentRule("b", "B", D("33.33")), ComponentRule("c", "C", D("33.34")))
    )
    cp = pd.DataFrame({"entry_id": ["X"] * 3, "component": ["a", "b", "c"], "points": [D(90), D(80), D(70)]})
    # 0.3333 x 90 + 0.3333 x 80 + 0.3334 x 70 = 29.997 + 26.664 + 23.338 = 79.999 -> 80.00
    assert compute_results(r, cp, entries("X"))["total"].iat[0] == D("80.00")


def test_equal_totals_share_a_rank_and_the_next_rank_skips():
    res = compute_results(rule(), points({"A": (90, 90), "B": (80, 80), "C": (80, 80), "D": (70, 70)}), entries("ABCD"))
    assert by_id(res)["rank"].to_dict() == {"A": 1, "B": 2, "C": 2, "D": 4}
    assert res["entry_id"].tolist() == ["A", "B", "C", "D"]


def test_tie_break_chain_separates_equal_totals_and_says_which_key():
    # A, B, C, D all total 80.00 (30% theory + 70% practical)
    pts = points({"A": (80, 80), "B": ("86.3", "77.3"), "C": ("86.3", "77.3"), "D": ("86.3", "77.3"), "E": (70, 70)})
    ents = entries("ABCDE", time_used=[50, 40, 30, 30, 10])
    res = by_id(compute_results(rule("practical", "time"), pts, ents))
    assert res["total"].tolist() == [D("80.00")] * 4 + [D("70.00")]
    # practical: A 80 beats B/C/D 77.3; time: C and D 30 beat B 40; C and D tied on everything
    assert res["rank"].to_dict() == {"A": 1, "C": 2, "D": 2, "B": 4, "E": 5}
    assert res["tie_break"].to_dict() == {"A": None, "C": "practical", "D": None, "B": "time", "E": None}


def test_tie_break_direction_and_named_column_with_missing_value_losing():
    pts = points({"A": (80, 80), "B": (80, 80), "C": (80, 80)})
    ents = entries("ABC", learning=[D("95.5"), None, D("99")])
    res = by_id(compute_results(rule(TieBreak("learning", "desc")), pts, ents))
    assert res["rank"].to_dict() == {"C": 1, "A": 2, "B": 3}
    assert res.loc["A", "learning"] == D("95.5")
    res = by_id(compute_results(rule(TieBreak("learning", "asc")), pts, ents))
    assert res["rank"].to_dict() == {"A": 1, "C": 2, "B": 3}


def test_disqualified_top_scorer_takes_no_rank_and_the_place_passes_on():
    pts = points({"A": (99, 99), "B": (90, 90), "C": (80, 80)})
    ents = entries("ABC", disqualified=[True, False, False], flag_reason=["考试作弊", None, None])
    res = by_id(compute_results(rule(), pts, ents))
    assert pd.isna(res.loc["A", "rank"]) and res.loc["A", "status"] == "disqualified"
    assert res.loc["A", "total"] is None and res.loc["A", "reason"] == "失格：考试作弊"
    assert not res.loc["A", "eligible"]
    assert res.loc[["B", "C"], "rank"].tolist() == [1, 2]


def test_entry_scope_disqualification_from_a_component_disqualifies_the_entry():
    cp = points({"A": (99, 99), "B": (90, 90)})
    cp["disqualified"] = [False, True, False, False]
    cp["dq_scope"] = [None, "entry", None, None]
    cp["dq_reason"] = [None, "否决项S1：动火未办票", None, None]
    res = by_id(compute_results(rule(), cp, entries("AB")))
    assert res.loc["A", "status"] == "disqualified" and "实操失格：否决项S1：动火未办票" in res.loc["A", "reason"]
    assert res.loc["B", "rank"] == 1


def test_component_scope_disqualification_scores_the_component_zero_and_keeps_the_entry_ranked():
    cp = points({"A": (90, 90)})
    cp["disqualified"] = [False, True]
    res = compute_results(rule(), cp, entries("A")).iloc[0]
    assert (res["practical_points"], res["total"], res["rank"], res["status"]) == (D("0.00"), D("27.00"), 1, "ok")
    assert "实操失格" in res["reason"]


def test_a_judge_missing_makes_the_entry_incomplete_not_zero():
    jp = pd.DataFrame(
        [
            ("A", "theory", "M", 90), ("A", "practical", "J1", 80), ("A", "practical", "J2", 82),
            ("B", "theory", "M", 95), ("B", "practical", "J1", 99),  # second practical judge missing
        ],
        columns=["entry_id", "component", "judge_id", "points"],
    )
    res = by_id(stage_results(rule(), jp, entries("AB")).results)
    assert res.loc["B", "status"] == "incomplete" and res.loc["B", "total"] is None
    assert res.loc["B", "practical_points"] is None and pd.isna(res.loc["B", "rank"])
    assert res.loc["B", "reason"] == "实操评分裁判不足（1/2）"
    assert res.loc["A", "rank"] == 1 and res.loc["A", "total"] == D("83.70")  # 27 + 0.7 x 81


def test_missing_component_makes_the_entry_incomplete():
    res = compute_results(rule(), points({"A": (90, None)}), entries("A")).iloc[0]
    assert res["status"] == "incomplete" and res["reason"] == "缺少实操成绩"


def test_below_minimum_is_ranked_but_not_eligible():
    r = StageRule(
        (ComponentRule("theory", "理论", 30), ComponentRule("practical", "实操", 70, min_percent=60)),
    )
    res = by_id(compute_results(r, points({"A": (100, "59.99"), "B": (50, 60)}), entries("AB")))
    assert res.loc["A", "status"] == "below_minimum" and not res.loc["A", "eligible"]
    assert res.loc["A", "rank"] == 1 and res.loc["A", "reason"] == "实操得分率59.99%，低于最低要求60%"
    assert res.loc["B", "status"] == "ok" and res.loc["B", "eligible"]


def test_unranked_and_not_approved_entries():
    pts = points({"A": (99, 99), "B": (90, 90), "C": (80, 80)})
    ents = entries("ABC", unranked=[True, False, False], approved=[True, False, True], flag_reason=["全国技术能手", "", None])
    res = by_id(compute_results(rule(), pts, ents))
    assert res.loc["A", "status"] == "unranked" and pd.isna(res.loc["A", "rank"])
    assert res.loc["A", "total"] == D("99.00") and res.loc["A", "reason"] == "不参与排名：全国技术能手"
    assert res.loc["B", "status"] == "not_approved" and res.loc["B", "rank"] == 1 and not res.loc["B", "eligible"]
    assert res.loc["C", "rank"] == 2 and res.loc["C", "eligible"]


def test_an_empty_stage_gives_an_empty_table_with_every_column():
    res = compute_results(rule("time"), points({}), entries("", time_used=[]))
    assert len(res) == 0
    assert list(res.columns) == [
        "entry_id", "enterprise", "theory_points", "theory_percent", "practical_points", "practical_percent",
        "total", "rank", "tie_break", "eligible", "status", "reason", "time_used",
    ]


def test_a_stage_of_one_ranks_its_entry_first():
    res = compute_results(rule(), points({"A": (0, 0)}), entries("A")).iloc[0]
    assert (res["total"], res["rank"], res["eligible"]) == (D("0.00"), 1, True)


def test_groups_are_ranked_separately():
    ents = entries("ABCD", track=["化工", "化工", "钢铁", "钢铁"])
    res = compute_results(rule(), points({"A": (90, 90), "B": (80, 80), "C": (70, 70), "D": (60, 60)}), ents, "track")
    assert res[["track", "entry_id", "rank"]].values.tolist() == [["化工", "A", 1], ["化工", "B", 2], ["钢铁", "C", 1], ["钢铁", "D", 2]]


def test_stage_results_equals_aggregate_then_compute():
    jp = pd.DataFrame(
        [(e, "theory", "M", t) for e, t in (("A", 90), ("B", "85.5"), ("C", 70))]
        + [(e, "practical", j, p) for e, ps in (("A", (80, 85, 90)), ("B", (91, 92, 60)), ("C", (70, 71, 72))) for j, p in zip(("J1", "J2", "J3"), ps, strict=True)],
        columns=["entry_id", "component", "judge_id", "points"],
    )
    r, ents = rule("practical"), entries("ABC")
    direct = stage_results(r, jp, ents).results
    two_step = compute_results(r, aggregate_components(r, jp), ents)
    pd.testing.assert_frame_equal(direct, two_step)


def test_points_above_component_maximum_are_rejected():
    with pytest.raises(InvalidMark, match="应为0至40之间"):
        compute_results(rule(practical_max=40), points({"A": (80, 41)}), entries("A"))


@pytest.mark.parametrize(
    ("bad", "error", "fragment"),
    [
        ("unknown_entry", InvalidInput, "不在选手表中"),
        ("unknown_component", InvalidInput, "没有的考核模块"),
        ("duplicate", InvalidInput, "多条成绩"),
        ("missing_column", InvalidInput, "缺少列：enterprise"),
        ("missing_tie_column", InvalidInput, "需要选手表中的列time_used"),
    ],
)
def test_malformed_inputs_are_rejected(bad, error, fragment):
    cp, ents, r = points({"A": (80, 80)}), entries("A"), rule()
    if bad == "unknown_entry":
        cp = points({"A": (80, 80), "Z": (1, 1)})
    elif bad == "unknown_component":
        cp.loc[0, "component"] = "twin"
    elif bad == "duplicate":
        cp = pd.concat([cp, cp.iloc[:1]])
    elif bad == "missing_column":
        ents = ents.drop(columns=["enterprise"])
    else:
        r = rule("time")
    with pytest.raises(error, match=fragment):
        compute_results(r, cp, ents)


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"components": ()}, "至少需要一个"),
        ({"decimals": 5}, "0到4"),
        ({"quota": 0}, "晋级名额"),
        ({"per_enterprise_cap": -1}, "每单位晋级上限"),
        ({"cutoff_tie_policy": "coin"}, "名额线并列"),
        ({"tie_breaks": ("time", "time")}, "并列比较项重复"),
        ({"tie_breaks": ("total",)}, "不能用total"),
    ],
)
def test_invalid_stage_rules_are_rejected(kwargs, fragment):
    base = {"components": (ComponentRule("t", "理论", 100),)}
    base.update(kwargs)
    with pytest.raises(InvalidRule, match=fragment):
        StageRule(**base)


def test_results_do_not_depend_on_row_order():
    pts = points({"A": (80, 80), "B": ("86.3", "77.3"), "C": ("86.3", "77.3"), "D": (70, 70)})
    ents = entries("ABCD", time_used=[5, 4, 4, 3])
    r = rule("practical", "time")
    a = compute_results(r, pts, ents)
    b = compute_results(r, pts.sample(frac=1, random_state=5), ents.sample(frac=1, random_state=6))
    pd.testing.assert_frame_equal(a, b)


def test_standardised_stage_ranks_on_the_standardised_total():
    r = StageRule(
        (ComponentRule("theory", "理论", 50), ComponentRule("practical", "实操", 50)),
        standardisation=Standardisation(),
    )
    # theory 60/70/80 -> 700 -/+ 100 x 10 / 8.165 = 577.53 / 700.00 / 822.47; practical likewise
    res = by_id(compute_results(r, points({"A": (60, 80), "B": (70, 70), "C": (80, 60)}), entries("ABC")))
    assert res["theory_standardised"].to_dict() == {"A": D("577.53"), "B": D("700.00"), "C": D("822.47")}
    assert res["total"].to_dict() == {"A": D("700.00"), "B": D("700.00"), "C": D("700.00")}
    assert set(res["rank"]) == {1}
