"""The flow the web layer runs: sheets -> judge points -> stage results -> advancement -> re-check."""

from decimal import Decimal as D

import pandas as pd

from scoring import (
    Aggregation,
    AggregationRule,
    ComponentRule,
    MarkingItem,
    MarkingScheme,
    StageRule,
    TieBreak,
    aggregate_components,
    judge_effects,
    recheck_sample,
    score_sheets,
    select_advancers,
    stage_results,
)

SCHEME = MarkingScheme(
    (
        MarkingItem("P1", "measurement", 40),
        MarkingItem("P2", "judgement", 30),
        MarkingItem("P3", "deduction", 30, deduction_per_occurrence=5),
        MarkingItem("PX", "disqualifying", 0, name="严重违章", disqualify_scope="entry"),
    )
)
RULE = StageRule(
    (
        ComponentRule("theory", "理论", 30, aggregation=AggregationRule(Aggregation.SINGLE)),
        ComponentRule("practical", "实操", 70, aggregation=AggregationRule(min_judges=2, disagreement_threshold=15)),
    ),
    tie_breaks=(TieBreak("practical"),),
    quota=2,
    per_enterprise_cap=1,
)


def marks():
    rows = []
    plan = {
        "A": {"J1": (40, 3, 0), "J2": (38, 3, 1), "J3": (39, 2, 0)},
        "B": {"J1": (30, 2, 0), "J2": (31, 2, 0), "J3": (32, 1, 2)},
        "C": {"J1": (40, 3, 0), "J2": (40, 3, 0)},  # J3 disqualifies C below
        "D": {"J1": (35, 3, 0)},  # only one practical judge so far
    }
    for entry, sheets in plan.items():
        for judge, (p1, p2, p3) in sheets.items():
            rows += [(entry, judge, "P1", p1), (entry, judge, "P2", p2), (entry, judge, "P3", p3)]
    rows += [("C", "J3", "P1", 40), ("C", "J3", "P2", 3), ("C", "J3", "PX", True)]
    df = pd.DataFrame(rows, columns=["entry_id", "judge_id", "item_code", "value"])
    df["reason"] = None
    df.loc[df.item_code == "PX", "reason"] = "受限空间作业未检测气体"
    return df


def test_sheets_flow_into_results_and_advancement():
    sheets = score_sheets(SCHEME, marks())
    practical = sheets.assign(component="practical")
    theory = pd.DataFrame(
        {"entry_id": list("ABCD"), "component": "theory", "judge_id": "机考", "points": [D("88.5"), D(90), D(99), D(95)]}
    )
    judge_points = pd.concat([practical, theory], ignore_index=True)
    entries = pd.DataFrame({"entry_id": list("ABCD"), "enterprise": ["甲", "甲", "乙", "丙"]})

    out = stage_results(RULE, judge_points, entries)
    res = out.results.set_index("entry_id")
    # A: sheets 40+30+30 = 100, 38+30+25 = 93, 39+20+30 = 89 -> mean 94 (3 judges, no trim);
    # total 0.3 x 88.5 + 0.7 x 94 = 26.55 + 65.8 = 92.35
    assert res.loc["A", "practical_points"] == D("94.00") and res.loc["A", "total"] == D("92.35")
    # B: 80, 81, 62 -> 74.33; total 27 + 52.031 = 79.031 -> 79.03
    assert res.loc["B", "practical_points"] == D("74.33") and res.loc["B", "total"] == D("79.03")
    assert res.loc["C", "status"] == "disqualified" and "受限空间作业未检测气体" in res.loc["C", "reason"]
    assert res.loc["D", "status"] == "incomplete" and res.loc["D", "reason"] == "实操评分裁判不足（1/2）"
    comp = out.components.set_index(["entry_id", "component"])
    assert comp.loc[("B", "practical"), "disagreement"]  # 81 - 62 = 19 > 15
    assert comp.loc[("B", "practical"), "disagreeing_judges"] == ("J2", "J3")

    adv = select_advancers(out.results, RULE.quota, RULE.per_enterprise_cap, RULE.cutoff_tie_policy)
    assert adv.advanced_ids == ["A"]  # B is 甲 too; C disqualified; D incomplete
    assert adv.table.set_index("entry_id").loc["B", "skipped_for_cap"]

    sample = recheck_sample(out.results, top=1, seed=9)
    assert sample.top_ids == ("A",) and sample.rest_count == 3 and len(sample.sampled_ids) == 1

    effects = judge_effects(practical).set_index("judge_id")
    assert set(effects.index) == {"J1", "J2", "J3"}

    two_step = aggregate_components(RULE, judge_points, entries)
    pd.testing.assert_frame_equal(two_step.reset_index(drop=True), out.components.reset_index(drop=True))
