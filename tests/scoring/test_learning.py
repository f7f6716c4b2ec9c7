"""The learning-points rule of an online preliminary, worked by hand (scoring/learning.py)."""
from datetime import date
from decimal import Decimal

import pytest

from scoring.errors import InvalidInput, InvalidRule
from scoring.learning import Activity, LearningRule, TaskKind, learning_points

D1, D2 = date(2025, 7, 1), date(2025, 7, 2)


def rule(**overrides) -> LearningRule:
    values = dict(
        kinds=(TaskKind("阅读", minutes_per_step=5, points_per_step=1, daily_cap=6),
               TaskKind("视频", minutes_per_step=10, points_per_step=1, daily_cap=5),
               TaskKind("答题", full_marks=100, points_on_full_marks=3, points_per_attempt=1)),
        min_minutes=2, daily_cap=10, total_cap=100)
    values.update(overrides)
    return LearningRule(**values)


def read(day, item, minutes):
    return Activity(day, "阅读", item, minutes=Decimal(str(minutes)))


def test_reading_earns_a_point_per_whole_step_of_minutes():
    assert learning_points(rule(), [read(D1, "A", 14)]).points == Decimal("2.00")


def test_a_view_shorter_than_the_minimum_earns_nothing_even_when_a_step_is_shorter():
    short = rule(kinds=(TaskKind("阅读", minutes_per_step=1, points_per_step=1),),
                 min_minutes=2)
    result = learning_points(short, [read(D1, "A", "1.5"), read(D1, "B", 2)])
    assert result.points == Decimal("2.00")  # B: 2 whole minutes; A: under the 2-minute minimum
    assert result.short_views == 1


def test_the_same_item_on_one_day_counts_once_with_its_longest_view():
    result = learning_points(rule(), [read(D1, "A", 12), read(D1, "A", 20), read(D1, "A", 3)])
    assert result.points == Decimal("4.00")  # 20 min / 5 = 4, not 2 + 4 + 0
    assert result.repeats == 2


def test_the_same_item_on_another_day_counts_again():
    assert learning_points(rule(), [read(D1, "A", 10), read(D2, "A", 10)]).points == \
        Decimal("4.00")


def test_a_quiz_earns_its_full_marks_points_only_on_full_marks_and_its_best_try_counts():
    result = learning_points(rule(), [Activity(D1, "答题", "Q1", score=Decimal(80)),
                                      Activity(D1, "答题", "Q2", score=Decimal(80)),
                                      Activity(D1, "答题", "Q2", score=Decimal(100))])
    assert result.points == Decimal("4.00")  # Q1 attempt 1 + Q2 best (full marks) 3


def test_caps_per_kind_then_per_day_worked_example():
    """Day 1: reading A (best of 12 and 20 min) 4 + B short 0 + C 9 min 1 + D 15 min 3 = 8,
    capped at 6; video 35 min 3; quiz 100 → 3; 6 + 3 + 3 = 12, capped at 10 for the day.
    Day 2: video 35 min 3; quiz best 100 → 3; 6. Total 16."""
    rows = [read(D1, "A", 12), read(D1, "A", 20), read(D1, "B", "1.5"), read(D1, "C", 9),
            read(D1, "D", 15), Activity(D1, "视频", "V", minutes=Decimal(35)),
            Activity(D1, "答题", "Q", score=Decimal(100)),
            Activity(D2, "视频", "V", minutes=Decimal(35)),
            Activity(D2, "答题", "Q", score=Decimal(80)),
            Activity(D2, "答题", "Q", score=Decimal(100))]
    result = learning_points(rule(), rows)
    assert result.days == {D1: Decimal(10), D2: Decimal(6)}
    assert result.points == Decimal("16.00")
    assert (result.short_views, result.repeats) == (1, 2)


def test_the_total_is_capped_at_the_components_maximum():
    days = [read(date(2025, 7, d), "A", 30) for d in range(1, 8)]  # 6 a day (cap) x 7 = 42
    assert learning_points(rule(total_cap=40), days).points == Decimal("40.00")


def test_fractional_step_points_are_rounded_half_up_once_at_the_end():
    thirds = rule(kinds=(TaskKind("阅读", minutes_per_step=1, points_per_step="0.125"),),
                  min_minutes=0, decimals=2)
    # 3 items x 1 minute x 0.125 = 0.375 → 0.38 (half-up), not 0.13 + 0.13 + 0.13 = 0.39
    rows = [read(D1, item, 1) for item in "ABC"]
    assert learning_points(thirds, rows).points == Decimal("0.38")


def test_a_task_kind_the_rule_does_not_know_is_refused():
    with pytest.raises(InvalidInput, match="直播"):
        learning_points(rule(), [Activity(D1, "直播", "L", minutes=Decimal(10))])


def test_a_kind_must_count_either_time_or_a_quiz():
    with pytest.raises(InvalidRule, match="二者选一"):
        TaskKind("阅读", minutes_per_step=5, full_marks=100)
    with pytest.raises(InvalidRule, match="正数"):
        TaskKind("阅读", minutes_per_step=0)


def test_a_rule_survives_its_stored_form_exactly():
    stored = rule().as_json()
    again = LearningRule.from_json(stored, total_cap=Decimal(100))
    assert again.as_json() == stored
    assert stored["kinds"][0] == {"name": "阅读", "minutes_per_step": "5", "points_per_step": "1",
                                  "full_marks": None, "points_on_full_marks": "0",
                                  "points_per_attempt": "0", "daily_cap": "6"}
