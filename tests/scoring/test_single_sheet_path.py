"""score_sheet's pure-Python path gives exactly what the pandas path gives: the same SheetResult
(values and Decimal exponents) and the same exceptions, messages and problems, for every rule."""

import math
from decimal import Decimal as D
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scoring import (
    DisqualifyScope,
    InvalidInput,
    InvalidMark,
    ItemKind,
    MarkingItem,
    MarkingScheme,
    TimeOverrunRule,
    score_sheet,
    score_sheets,
)
from scoring.marking import _score_sheet_via_frame

KINDS = list(ItemKind)


def _key(value):
    """A comparable stand-in for a mark (NaN != NaN)."""
    return (type(value).__name__, repr(value))


def outcome(fn, *args, **kw):
    """("ok", result as exact strings) or ("error", class, message, problems)."""
    try:
        r = fn(*args, **kw)
    except Exception as exc:  # noqa: BLE001 - any exception must match
        problems = [{k: _key(v) if k == "value" else v for k, v in p.items()} for p in getattr(exc, "problems", ())]
        return ("error", type(exc), str(exc), problems)
    return (
        "ok",
        str(r.points),
        {k: str(v) for k, v in r.item_points.items()},
        list(r.item_points),
        {k: str(v) for k, v in r.criterion_points.items()},
        list(r.criterion_points),
        r.disqualified,
        r.dq_scope,
        type(r.dq_scope),
        r.dq_reason,
        str(r.time_deduction),
        r.overrun_minutes,
        type(r.overrun_minutes),
    )


def assert_same(scheme, marks, time=None, **kw):
    fast = outcome(score_sheet, scheme, marks, time, **kw)
    slow = outcome(_score_sheet_via_frame, scheme, marks, time, **kw)
    assert fast == slow
    if fast[0] == "ok":
        check_against_bulk(scheme, marks, time, fast, **kw)
    return fast


def check_against_bulk(scheme, marks, time, fast, reasons=None, entry_id=None, judge_id=None):
    """The one-sheet result equals score_sheets' row for the same sheet."""
    entry = "—" if entry_id is None else entry_id
    judge = "—" if judge_id is None else judge_id
    frame = pd.DataFrame(
        {
            "entry_id": [entry] * len(marks),
            "judge_id": [judge] * len(marks),
            "item_code": list(marks),
            "value": pd.Series(list(marks.values()), dtype=object),
            "reason": [(reasons or {}).get(c) for c in marks],
        }
    )
    times = None
    if scheme.time_overrun is not None:
        times = pd.DataFrame({"entry_id": [entry], "time_used_seconds": pd.Series([time], dtype=object)})
    row = score_sheets(scheme, frame, times).iloc[0]
    _, points, *_rest = fast
    assert points == str(row["points"])
    assert fast[10] == str(row["time_deduction"])
    assert fast[11] == int(row["overrun_minutes"])
    assert fast[6] == bool(row["disqualified"])
    assert (fast[7].value if fast[7] else None) == row["dq_scope"]
    assert fast[9] == row["dq_reason"]


# ---------------------------------------------------------------- random schemes and sheets


@st.composite
def schemes(draw):
    d = draw(st.integers(0, 3))
    n = draw(st.integers(1, 6))
    crit = st.sampled_from([(), ("A",), ("A", "A1"), ("A", "A2"), ("B",), ("B", "B1", "x")])
    items = []
    for i in range(n):
        kind = draw(st.sampled_from(KINDS))
        code = f"I{i}"
        common = {"criterion": draw(crit), "name": draw(st.sampled_from(["", "动火", "项"]))}
        if kind is ItemKind.DISQUALIFYING:
            scope = draw(st.sampled_from(list(DisqualifyScope)))
            items.append(MarkingItem(code, kind, 0, disqualify_scope=scope, **common))
            continue
        maximum = D(draw(st.integers(1, 3000))).scaleb(-d)
        if kind is ItemKind.MEASUREMENT:
            items.append(MarkingItem(code, kind, maximum, all_or_nothing=draw(st.booleans()), **common))
        elif kind is ItemKind.DEDUCTION:
            per = D(draw(st.integers(1, 800))).scaleb(-d)
            items.append(MarkingItem(code, kind, maximum, deduction_per_occurrence=per, **common))
        else:
            items.append(MarkingItem(code, kind, maximum, **common))
    rule = None
    if draw(st.booleans()):
        limit = draw(st.none() | st.integers(0, 6).map(D) | st.sampled_from([D("0.5"), D("2.25")]))
        rule = TimeOverrunRule(
            draw(st.sampled_from([D(1), D(2), D("0.5"), D("1.25")])),
            D(draw(st.integers(0, 500))).scaleb(-d),
            limit,
        )
    return MarkingScheme(tuple(items), time_overrun=rule, decimals=d)


def numbers(d: int, lo: int, hi: int):
    """Valid-looking unit counts in several representations (int, float, str, Decimal, Fraction)."""
    units = st.integers(lo, hi)
    return st.one_of(
        units.map(lambda u: D(u).scaleb(-d)),
        units.map(lambda u: str(D(u).scaleb(-d))),
        units.map(lambda u: f" {D(u).scaleb(-d)} "),
        units.map(lambda u: float(D(u).scaleb(-d))),
        units.map(lambda u: Fraction(u, 10**d)),
        units.filter(lambda u: u % 10**d == 0).map(lambda u: u // 10**d),
    )


ODD = st.sampled_from(
    [None, math.nan, math.inf, -1, -0.5, True, False, "abc", "", "1e2", "0.0001", D("NaN"), D("Infinity"),
     D("-0"), -0.0, 0.125, 10**20, 4, 1_000_001, np.float64(1.0), np.int64(2), np.True_, pd.NA]
)


def mark_for(item: MarkingItem, d: int):
    scale = 10**d
    max_units = int(item.maximum.scaleb(d))
    if item.kind is ItemKind.MEASUREMENT:
        valid = numbers(d, 0, max_units)
        if item.all_or_nothing:
            valid = st.sampled_from([0, item.maximum, str(item.maximum), float(item.maximum)])
        near = numbers(d + 1, -10, max_units * 10 + 10)
    elif item.kind is ItemKind.JUDGEMENT:
        valid = st.integers(0, 3) | st.integers(0, 3).map(D) | st.integers(0, 3).map(float) | st.sampled_from(["2", "3.0"])
        near = numbers(d, -scale, 4 * scale)
    elif item.kind is ItemKind.DEDUCTION:
        valid = st.integers(0, 12) | st.integers(0, 12).map(str) | st.integers(0, 12).map(D)
        near = numbers(d, -scale, 5 * scale)
    else:
        valid = st.booleans() | st.sampled_from([0, 1, 1.0, "1", D("0.00")])
        near = numbers(d, -scale, 2 * scale)
    return st.one_of(valid, valid, valid, valid, valid, near, ODD)


@st.composite
def sheets(draw):
    scheme = draw(schemes())
    d = scheme.decimals
    marks = {}
    invalid_sheet = draw(st.integers(0, 3)) == 0  # a quarter of sheets may carry anything
    for item in draw(st.permutations(scheme.items)):
        required = item.kind in (ItemKind.MEASUREMENT, ItemKind.JUDGEMENT)
        present = draw(st.integers(0, 39)) > 0 if required else draw(st.booleans())
        if not present:
            continue
        if invalid_sheet:
            marks[item.code] = draw(mark_for(item, d))
        else:
            marks[item.code] = draw(mark_for(item, d).filter(lambda v: v is not None))
    if draw(st.integers(0, 14)) == 0:
        marks[draw(st.sampled_from(["ZZ", "i0", 7]))] = draw(ODD)
    time = draw(
        st.one_of(
            st.integers(0, 1500).map(lambda s: s * 3),
            st.integers(0, 1500 * 1000).map(lambda ms: D(ms).scaleb(-3)),
            st.integers(0, 1500 * 1000).map(lambda ms: float(D(ms).scaleb(-3))),
            st.integers(0, 1500).map(str),
            st.sampled_from([None, -1, math.nan, "x", D("1.0005"), True, np.int64(70)]),
        )
    )
    reasons = draw(st.dictionaries(st.sampled_from([i.code for i in scheme.items]), st.sampled_from(["", " ", "未检测即动火 ", None, 3])))
    entry_id = draw(st.sampled_from([None, "E1", 5, "选手7"]))
    judge_id = draw(st.sampled_from([None, "J1", 2]))
    return scheme, marks, time, reasons, entry_id, judge_id


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(sheets())
def test_pure_python_path_equals_the_pandas_path(sheet):
    scheme, marks, time, reasons, entry_id, judge_id = sheet
    assert_same(scheme, marks, time, reasons=reasons, entry_id=entry_id, judge_id=judge_id)


# ---------------------------------------------------------------- table-driven examples

SCHEME = MarkingScheme(
    (
        MarkingItem("A1", ItemKind.MEASUREMENT, D(10), all_or_nothing=True, criterion=("A",)),
        MarkingItem("A2", ItemKind.MEASUREMENT, D(15), criterion=("A", "A-x")),
        MarkingItem("B1", ItemKind.JUDGEMENT, D(20), criterion=("B",)),
        MarkingItem("C1", ItemKind.DEDUCTION, D(10), deduction_per_occurrence=D(2), criterion=("C",)),
        MarkingItem("C2", ItemKind.DISQUALIFYING, 0, name="严重违章", criterion=("C",)),
        MarkingItem("C3", ItemKind.DISQUALIFYING, 0, disqualify_scope="entry"),
    ),
    time_overrun=TimeOverrunRule(60, D(1), 10),
)
OK = {"A1": 10, "A2": "12.5", "B1": 2}


@pytest.mark.parametrize(
    ("marks", "seconds", "expected"),
    [
        (OK, 3600, ("ok", "45.83", "0.00", 0, False, None)),  # 10 + 12.5 + 13.33 + 10 (C1 unmarked)
        ({**OK, "C1": 3}, 3601, ("ok", "38.83", "1.00", 1, False, None)),
        ({**OK, "C1": 7}, 3600 + 125.5, ("ok", "32.83", "3.00", 3, False, None)),
        ({"A1": 0, "A2": 0, "B1": 0, "C1": 9}, 3600 + 9 * 60, ("ok", "0.00", "0.00", 9, False, None)),
        ({**OK, "C2": True}, 3600, ("ok", "0.00", "0.00", 0, True, DisqualifyScope.COMPONENT)),
        ({**OK, "C2": 1, "C3": "1"}, 3600, ("ok", "0.00", "0.00", 0, True, DisqualifyScope.ENTRY)),
        ({**OK}, 3600 + 10 * 60 + 0.001, ("ok", "0.00", "11.00", 11, True, DisqualifyScope.COMPONENT)),
        ({**OK, "A1": 5}, 3600, ("error", InvalidMark)),
        ({**OK, "A2": "12.555"}, 3600, ("error", InvalidMark)),
        ({**OK, "B1": 2.5}, 3600, ("error", InvalidMark)),
        ({**OK, "C1": -1}, 3600, ("error", InvalidMark)),
        ({**OK, "C2": 2}, 3600, ("error", InvalidMark)),
        ({**OK, "Q9": 1}, 3600, ("error", InvalidMark)),
        ({"A1": 10}, 3600, ("error", InvalidMark)),
        (OK, None, ("error", InvalidInput)),
        (OK, -5, ("error", InvalidMark)),
        ({}, 3600, ("error", InvalidMark)),
    ],
)
def test_examples(marks, seconds, expected):
    got = assert_same(SCHEME, marks, seconds, reasons={"C2": " 未检测即动火 "}, entry_id="E1", judge_id="J1")
    if expected[0] == "error":
        assert got[1] is expected[1]
    else:
        assert (got[0], got[1], got[10], got[11], got[6], got[7]) == expected


def test_reasons_and_messages_match():
    got = assert_same(SCHEME, {**OK, "C2": True, "C3": True}, 3600 + 11 * 60, reasons={"C2": " 未检测即动火 "})
    assert got[9] == "否决项C2（严重违章）：未检测即动火；否决项C3；超时660秒，超过失格时限10分钟"
    err = assert_same(SCHEME, {**OK, "A1": 3, "B1": 4}, 3600, entry_id=3, judge_id="J")
    assert err[2].startswith("有2处评分不符合评分标准：选手3、裁判J、评分项A1：")


@pytest.mark.parametrize("decimals", [0, 1, 2, 3])
def test_one_item_schemes_as_the_web_app_validates_marks(decimals):
    for kind, maximum, values in [
        (ItemKind.MEASUREMENT, D(7), [0, 7, 3, "3.5", 3.25, D("6.999"), 8, -1, "x", None]),
        (ItemKind.JUDGEMENT, D(5), [0, 1, 2, 3, 4, 1.5, "2", True]),
        (ItemKind.DEDUCTION, D(5), [0, 1, 2, 3, 99, 1_000_001, 0.5, "2"]),
        (ItemKind.DISQUALIFYING, D(0), [True, False, 0, 1, 2, "1", None]),
    ]:
        extra = {"deduction_per_occurrence": D(2)} if kind is ItemKind.DEDUCTION else {}
        one = MarkingScheme((MarkingItem("X", kind, maximum, **extra),), decimals=decimals)
        for value in values:
            assert_same(one, {"X": value})
