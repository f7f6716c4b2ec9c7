"""Judgement items combined per judge's sheet (totals first) or per item (WorldSkills: grades
averaged, then / 3 x maximum, rounded once): both exact, each worked by hand."""

from decimal import Decimal as D

import pytest

from scoring import (
    AggregationRule,
    InvalidMark,
    ItemKind,
    JudgementOrder,
    MarkingItem,
    MarkingScheme,
    PanelSheet,
    TimeOverrunRule,
    aggregate_judges,
    judgement_item_points,
    score_panel,
)


def ten_aspects(**kw) -> MarkingScheme:
    """Ten judgement aspects of 1 point each and a 10-point measurement."""
    items = [MarkingItem(f"J{k}", ItemKind.JUDGEMENT, 1) for k in range(1, 11)]
    items.append(MarkingItem("M1", ItemKind.MEASUREMENT, 10))
    return MarkingScheme(tuple(items), **kw)


def panel_of(grades_by_judge: dict, measured: dict, entry="E1", **extra) -> list[PanelSheet]:
    return [PanelSheet(entry, judge, {**{f"J{k}": grade for k in range(1, 11)}, "M1": measured[judge]},
                       **extra.get(judge, {}))
            for judge, grade in grades_by_judge.items()]


def published(scheme, sheets, order) -> D:
    scored = score_panel(scheme, sheets, order)
    return aggregate_judges(scored.sheets, AggregationRule(method="mean"), decimals=scheme.decimals)["points"].iat[0]


def test_per_item_averages_the_grades_then_rounds_once():
    scheme = ten_aspects()
    # grades 1, 1, 2 on a 1-point aspect: 4 / (3 x 3) = 0.444... -> 0.44
    assert judgement_item_points(scheme, {"J1": [1, 1, 2]}) == {"J1": D("0.44")}
    # grades 0 and 1: 1 / 6 = 0.1666... -> 0.17; 2 and 3 of 3 judges with a 3: 8 / 9 -> 0.89
    assert judgement_item_points(scheme, {"J1": [0, 1], "J2": [2, 3, 3]}) == {"J1": D("0.17"), "J2": D("0.89")}


def test_the_two_orders_publish_different_numbers_with_many_aspects():
    scheme = ten_aspects()
    sheets = panel_of({"A": 1, "B": 1, "C": 2}, {"A": 8, "B": 8, "C": 8})
    # per sheet: A and B 10 x 0.33 + 8 = 11.30, C 10 x 0.67 + 8 = 14.70; mean 37.30 / 3 = 12.4333 -> 12.43
    assert score_panel(scheme, sheets, "per_sheet").sheets["points"].tolist() == [D("11.30"), D("11.30"), D("14.70")]
    assert published(scheme, sheets, JudgementOrder.PER_SHEET) == D("12.43")
    # per item: each aspect 4/9 -> 0.44, ten of them 4.40, + 8 on every sheet: 12.40
    scored = score_panel(scheme, sheets, JudgementOrder.PER_ITEM)
    assert scored.judgement_points["E1"]["J1"] == D("0.44")
    assert scored.sheets["points"].tolist() == [D("12.40")] * 3
    assert published(scheme, sheets, JudgementOrder.PER_ITEM) == D("12.40")


def test_per_item_keeps_each_judges_own_measurement_and_rounds_the_grades_of_two_judges_up():
    scheme = ten_aspects()
    sheets = panel_of({"A": 0, "B": 1}, {"A": 6, "B": 9})
    # per sheet: A 0 + 6 = 6.00, B 3.30 + 9 = 12.30; mean 9.15
    assert published(scheme, sheets, "per_sheet") == D("9.15")
    # per item: 1 / 6 = 0.1667 -> 0.17 per aspect, 1.70; A 7.70, B 10.70; mean 9.20
    assert score_panel(scheme, sheets, "per_item").sheets["points"].tolist() == [D("7.70"), D("10.70")]
    assert published(scheme, sheets, "per_item") == D("9.20")


def test_per_item_entries_are_pooled_separately():
    scheme = ten_aspects()
    sheets = panel_of({"A": 3, "B": 3}, {"A": 10, "B": 10}) + panel_of({"A": 0, "B": 3}, {"A": 0, "B": 0}, "E2")
    scored = score_panel(scheme, sheets, "per_item")
    assert scored.judgement_points["E1"]["J1"] == D("1.00") and scored.judgement_points["E2"]["J1"] == D("0.50")
    assert scored.sheets["points"].tolist() == [D("20.00"), D("20.00"), D("5.00"), D("5.00")]


def test_per_item_applies_each_judges_time_deduction_and_disqualification_to_the_pooled_sheet():
    scheme = ten_aspects(time_overrun=TimeOverrunRule(allowed_minutes=60, deduction_per_started_minute=2))
    sheets = [
        PanelSheet("E1", "A", {**{f"J{k}": 1 for k in range(1, 11)}, "M1": 1}, time_used_seconds=60 * 60 + 90),
        PanelSheet("E1", "B", {**{f"J{k}": 2 for k in range(1, 11)}, "M1": 1}, time_used_seconds=60 * 60),
    ]
    # pooled aspect 3/6 = 0.50 -> 5.00 + 1 = 6.00; A is 2 started minutes over: 6.00 - 4 = 2.00
    assert score_panel(scheme, sheets, "per_item").sheets["points"].tolist() == [D("2.00"), D("6.00")]
    late = [PanelSheet("E1", "A", sheets[0].marks, time_used_seconds=60 * 60 + 6 * 60), sheets[1]]
    # 6 started minutes x 2 = 12 > 6.00: never below 0
    assert score_panel(scheme, late, "per_item").sheets["points"].tolist() == [D("0.00"), D("6.00")]
    disqualifying = MarkingScheme((*ten_aspects().items, MarkingItem("X1", ItemKind.DISQUALIFYING, 0)))
    fired = [PanelSheet("E1", "A", {**sheets[0].marks, "X1": True}, reasons={"X1": "违规"}),
             PanelSheet("E1", "B", sheets[1].marks)]
    scored = score_panel(disqualifying, fired, "per_item").sheets
    assert scored["points"].tolist() == [D("0.00"), D("6.00")] and scored["disqualified"].tolist() == [True, False]


def test_per_sheet_is_each_sheet_as_score_sheet_scores_it_and_bad_grades_are_refused():
    scheme = ten_aspects()
    sheets = panel_of({"A": 2}, {"A": 5})
    assert score_panel(scheme, sheets).sheets["points"].tolist() == [D("11.70")]  # 10 x 0.67 + 5
    assert score_panel(scheme, sheets).judgement_points == {}
    with pytest.raises(InvalidMark):
        score_panel(scheme, panel_of({"A": 4}, {"A": 5}), "per_item")
    with pytest.raises(InvalidMark, match="等级"):
        judgement_item_points(scheme, {"J1": [D("1.5")]})
