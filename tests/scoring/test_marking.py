"""Score sheets: measurement, judgement, deduction, disqualifying items and time overrun."""

from decimal import Decimal as D

import pandas as pd
import pytest

from scoring import (
    InvalidInput,
    InvalidMark,
    InvalidRule,
    ItemKind,
    MarkingItem,
    MarkingScheme,
    TimeOverrunRule,
    running_total,
    score_sheet,
    score_sheets,
)


def scheme(**kw):
    return MarkingScheme(
        items=(
            MarkingItem("M1", ItemKind.MEASUREMENT, D("5"), criterion=("A 安全", "A1 动火")),
            MarkingItem("M2", ItemKind.MEASUREMENT, D("3"), all_or_nothing=True, criterion=("A 安全", "A1 动火")),
            MarkingItem("J1", ItemKind.JUDGEMENT, D("2"), criterion=("B 质量",)),
            MarkingItem("D1", ItemKind.DEDUCTION, D("4"), deduction_per_occurrence=D("1.5"), criterion=("C 文明",)),
            MarkingItem("X1", ItemKind.DISQUALIFYING, 0, name="严重安全违规", disqualify_scope="entry"),
            MarkingItem("X2", ItemKind.DISQUALIFYING, 0, name="设备损坏两次"),
        ),
        **kw,
    )


BASE = {"M1": D("4.5"), "M2": 3, "J1": 3, "D1": 0}


def test_scheme_maximum_is_the_sum_of_item_maxima():
    assert scheme().maximum == D("14.00")


def test_a_single_item_scheme_scores_that_item_as_the_whole_scheme_does_and_is_kept():
    whole = scheme(decimals=1, time_overrun=TimeOverrunRule(D("60"), D("1")))
    single = whole.single("D1")
    assert single.items == (whole.item("D1"),) and single.decimals == 1
    assert single.time_overrun is None
    assert whole.single("D1") is single  # built once
    assert score_sheet(single, {"D1": 2}).points == D("1.0")  # 4 - 2 x 1.5
    assert score_sheet(single, {"D1": 2}).item_points["D1"] == \
        score_sheet(whole, {**BASE, "D1": 2}, time_used_seconds=3600).item_points["D1"]
    with pytest.raises(InvalidMark):
        whole.single("nope")


@pytest.mark.parametrize(
    ("marks", "expected"),
    [
        ({}, D("14.00")),  # full marks: 5 + 3 + 2 + 4
        ({"M1": D("4.5")}, D("13.50")),
        ({"M2": 0}, D("11.00")),
        ({"J1": 2}, D("13.33")),  # 2/3 x 2 = 1.333.. -> 1.33
        ({"J1": 1}, D("12.67")),  # 1/3 x 2 = 0.666.. -> 0.67 (half-up)
        ({"J1": 0}, D("12.00")),
        ({"D1": 1}, D("12.50")),  # 4 - 1.5
        ({"D1": 2}, D("11.00")),  # 4 - 3
        ({"D1": 3}, D("10.00")),  # 4 - 4.5 -> floor at 0 (扣完为止)
        ({"D1": 40}, D("10.00")),
    ],
)
def test_each_item_kind_scores_by_its_rule(marks, expected):
    full = {"M1": 5, "M2": 3, "J1": 3, "D1": 0}
    full.update(marks)
    assert score_sheet(scheme(), full).points == expected


def test_judgement_mark_is_grade_over_three_times_maximum_rounded_half_up():
    s = MarkingScheme((MarkingItem("J", "judgement", D("2.5")),))
    # 1/3 x 2.5 = 0.8333 -> 0.83; 2/3 x 2.5 = 1.6667 -> 1.67; 3/3 -> 2.50
    assert [score_sheet(s, {"J": g}).points for g in range(4)] == [D("0.00"), D("0.83"), D("1.67"), D("2.50")]


def test_judgement_half_grades_are_rejected():
    with pytest.raises(InvalidMark, match="整数等级"):
        score_sheet(scheme(), {**BASE, "J1": D("2.5")})


@pytest.mark.parametrize(
    ("item", "value", "fragment"),
    [
        ("M1", D("5.01"), "应在0至5之间"),
        ("M1", -1, "应在0至5之间"),
        ("M1", D("4.555"), "最多2位小数"),
        ("M2", D("1.5"), "只能给0或3"),
        ("J1", 4, "整数等级"),
        ("D1", -1, "违规次数"),
        ("D1", D("0.5"), "违规次数"),
        ("X1", 2, "是或否"),
    ],
)
def test_out_of_range_marks_are_rejected_naming_item_judge_and_entry(item, value, fragment):
    with pytest.raises(InvalidMark) as err:
        score_sheet(scheme(), {**BASE, item: value}, entry_id="E07", judge_id="J3")
    text = str(err.value)
    assert fragment in text
    assert "选手E07" in text and "裁判J3" in text and f"评分项{item}" in text
    assert err.value.problems[0]["item"] == item


def test_missing_required_item_is_rejected_not_scored_zero():
    with pytest.raises(InvalidMark, match="缺少必评项：J1"):
        score_sheet(scheme(), {"M1": 5, "M2": 3, "D1": 0})


def test_unknown_item_is_rejected():
    with pytest.raises(InvalidMark, match="不在评分标准中"):
        score_sheet(scheme(), {**BASE, "Z9": 1})


def test_disqualifying_item_disqualifies_the_entry_with_its_reason():
    r = score_sheet(scheme(), {**BASE, "X1": True}, reasons={"X1": "动火作业未办票"})
    assert r.disqualified and r.dq_scope == "entry" and r.points == D("0.00")
    assert r.dq_reason == "否决项X1（严重安全违规）：动火作业未办票"


def test_disqualifying_item_with_component_scope_disqualifies_the_component():
    r = score_sheet(scheme(), {**BASE, "X2": 1})
    assert r.disqualified and r.dq_scope == "component"


def test_disqualifying_item_false_changes_nothing():
    assert not score_sheet(scheme(), {**BASE, "X1": False}).disqualified


def test_criterion_points_subtotal_every_criterion_level():
    r = score_sheet(scheme(), {"M1": D("4.5"), "M2": 3, "J1": 2, "D1": 1})
    assert r.criterion_points[("A 安全",)] == D("7.50")
    assert r.criterion_points[("A 安全", "A1 动火")] == D("7.50")
    assert r.criterion_points[("B 质量",)] == D("1.33")
    assert r.item_points["D1"] == D("2.50")


TIMED = TimeOverrunRule(allowed_minutes=90, deduction_per_started_minute=D("0.5"), disqualify_after_minutes=10)


@pytest.mark.parametrize(
    ("seconds", "points", "minutes", "dq"),
    [
        (90 * 60, D("14.00"), 0, False),  # exactly on time
        (90 * 60 + 1, D("13.50"), 1, False),  # one second over: one started minute
        (91 * 60, D("13.50"), 1, False),
        (91 * 60 + 1, D("13.00"), 2, False),
        (100 * 60, D("9.00"), 10, False),  # 10 minutes over is still allowed
        (100 * 60 + 1, D("0.00"), 11, True),  # beyond the limit: disqualified
    ],
)
def test_time_overrun_deducts_per_started_minute_then_disqualifies(seconds, points, minutes, dq):
    full = {"M1": 5, "M2": 3, "J1": 3, "D1": 0}
    r = score_sheet(scheme(time_overrun=TIMED), full, time_used_seconds=seconds)
    assert (r.points, r.overrun_minutes, r.disqualified) == (points, minutes, dq)
    if dq:
        assert r.dq_scope == "component" and "超过失格时限10分钟" in r.dq_reason


def test_time_deduction_never_takes_a_sheet_below_zero():
    s = MarkingScheme((MarkingItem("M", "measurement", 1),), time_overrun=TimeOverrunRule(10, 5))
    r = score_sheet(s, {"M": 1}, time_used_seconds=20 * 60)
    assert r.points == D("0.00") and r.time_deduction == D("1.00")


def test_time_rule_requires_a_time():
    with pytest.raises(InvalidInput, match="用时"):
        score_sheet(scheme(time_overrun=TIMED), BASE)


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"code": "A", "kind": "measurement", "maximum": 0}, "满分必须大于0，当前为0"),
        ({"code": "A", "kind": "judgement", "maximum": -2}, "满分必须大于0，当前为-2"),
        ({"code": "A", "kind": "disqualifying", "maximum": 5}, "满分应为0，当前为5"),
        ({"code": "A", "kind": "deduction", "maximum": 5}, "必须设置每次扣分值"),
        ({"code": "A", "kind": "judgement", "maximum": 5, "all_or_nothing": True}, "只有测量项"),
        ({"code": "A", "kind": "estimate", "maximum": 5}, "类型无效"),
        ({"code": "", "kind": "measurement", "maximum": 5}, "编号不能为空"),
    ],
)
def test_invalid_items_are_rejected_with_chinese_messages(kwargs, fragment):
    with pytest.raises(InvalidRule, match=fragment):
        MarkingItem(**kwargs)


def test_scheme_rejects_duplicate_codes_and_too_many_decimals():
    with pytest.raises(InvalidRule, match="编号重复：A"):
        MarkingScheme((MarkingItem("A", "measurement", 1), MarkingItem("A", "measurement", 2)))
    with pytest.raises(InvalidRule, match="最多保留2位小数"):
        MarkingScheme((MarkingItem("A", "measurement", D("1.005")),))


def _bulk(rows):
    return pd.DataFrame(rows, columns=["entry_id", "judge_id", "item_code", "value"])


def test_bulk_sheets_match_single_sheets_and_ignore_row_order():
    sheets = {
        ("E1", "J1"): {"M1": D("4.5"), "M2": 3, "J1": 2, "D1": 1},
        ("E1", "J2"): {"M1": 5, "M2": 0, "J1": 1, "D1": 0, "X2": True},
        ("E2", "J1"): {"M1": D("0.25"), "M2": 3, "J1": 3},
    }
    rows = [(e, j, code, v) for (e, j), marks in sheets.items() for code, v in marks.items()]
    df = _bulk(rows)
    out = score_sheets(scheme(), df)
    shuffled = score_sheets(scheme(), df.sample(frac=1, random_state=3))
    pd.testing.assert_frame_equal(out, shuffled)
    for (e, j), marks in sheets.items():
        row = out[(out.entry_id == e) & (out.judge_id == j)].iloc[0]
        single = score_sheet(scheme(), marks)
        assert row["points"] == single.points and row["disqualified"] == single.disqualified
    assert list(out.columns) == [
        "entry_id", "judge_id", "points", "time_deduction", "overrun_minutes", "disqualified", "dq_scope", "dq_reason",
    ]


def test_bulk_rejects_duplicate_marks_and_lists_every_problem():
    df = _bulk([("E1", "J1", "M1", 1), ("E1", "J1", "M1", 2), ("E1", "J1", "M2", 3), ("E1", "J1", "J1", 1)])
    with pytest.raises(InvalidInput, match="重复评分"):
        score_sheets(scheme(), df)
    bad = _bulk([("E1", "J1", "M1", 9), ("E1", "J1", "M2", 3), ("E1", "J1", "J1", 7), ("E2", "J1", "M1", 1)])
    with pytest.raises(InvalidMark) as err:
        score_sheets(scheme(), bad)
    assert len(err.value.problems) == 2 and "有2处评分" in str(err.value)


def test_bulk_accepts_float_values_that_are_exact_at_the_decimals():
    df = _bulk([("E1", "J1", "M1", 4.55), ("E1", "J1", "M2", 3.0), ("E1", "J1", "J1", 2.0)])
    assert score_sheets(scheme(), df)["points"].iat[0] == D("12.88")  # 4.55 + 3 + 1.33 + 4
    with pytest.raises(InvalidMark, match="最多2位小数"):
        score_sheets(scheme(), _bulk([("E1", "J1", "M1", 4.555), ("E1", "J1", "M2", 3.0), ("E1", "J1", "J1", 2.0)]))


def test_bulk_time_overrun_uses_each_entrys_time():
    df = _bulk([(e, "J1", c, v) for e in ("E1", "E2") for c, v in {"M1": 5, "M2": 3, "J1": 3}.items()])
    times = pd.DataFrame({"entry_id": ["E1", "E2"], "time_used_seconds": [90 * 60, 92 * 60 + 30]})
    out = score_sheets(scheme(time_overrun=TIMED), df, times)
    assert out["points"].tolist() == [D("14.00"), D("12.50")]
    with pytest.raises(InvalidInput, match="缺少选手用时：E2"):
        score_sheets(scheme(time_overrun=TIMED), df, times.iloc[:1])


# --- the running total of a sheet still being marked ------------------------------------------


def test_running_total_counts_marked_items_and_every_deduction_item_not_yet_recorded_at_its_maximum():
    # J1 grade 2 of 3 on 2 points: 1.333 -> 1.33; D1 unrecorded counts its 4; M1, M2 unmarked: 0
    running = running_total(scheme(), {"J1": 2})
    assert running.item_points == {"J1": D("1.33"), "D1": D("4.00")}
    assert running.points == D("5.33")
    # a recorded deduction counts what is left of it: 4 - 2 x 1.5 = 1
    running = running_total(scheme(), {"M1": D("4.5"), "J1": 2, "D1": 2})
    assert running.item_points == {"M1": D("4.50"), "J1": D("1.33"), "D1": D("1.00")}
    assert running.points == D("6.83")


def test_running_total_applies_neither_a_disqualification_nor_a_time_overrun_until_complete():
    running = running_total(scheme(time_overrun=TIMED), {"M1": 5, "X1": True}, reasons={"X1": "动火未检测"})
    assert running.item_points == {"M1": D("5.00"), "D1": D("4.00"), "X1": D("0.00")}
    assert running.points == D("9.00")  # not 0: the sheet is not complete yet


def test_running_total_of_a_sheet_marked_in_full_is_what_the_sheet_scores():
    for marks in (BASE, {**BASE, "J1": 1, "D1": 1}, {"M1": 0, "M2": 0, "J1": 0, "D1": 3}):
        assert running_total(scheme(), marks).points == score_sheet(scheme(), marks).points
        assert dict(running_total(scheme(), marks).item_points) == {
            code: points for code, points in score_sheet(scheme(), marks).item_points.items()
            if code in marks or code == "D1"}


def test_running_total_refuses_a_bad_or_unknown_mark_as_a_whole_sheet_would():
    with pytest.raises(InvalidMark, match="0至5"):
        running_total(scheme(), {"M1": 6})
    with pytest.raises(InvalidMark, match="等级"):
        running_total(scheme(), {"J1": "2.5"})
    with pytest.raises(InvalidMark, match="Z9不在评分标准中"):
        running_total(scheme(), {"Z9": 1})
