"""Theory exam item analysis (Moodle's definitions), checked against numbers worked by hand."""

import math
from decimal import Decimal as D

import numpy as np
import pandas as pd
import pytest

from scoring import ExamQuestion, InvalidInput, analyse_items, mark_answer_matrix, mark_answers

# Four attempts at three one-point single-choice questions (key B, B, B):
#   attempt  q1 q2 q3  total
#   A         1  1  1    3
#   B         1  1  0    2
#   C         1  0  0    1
#   D         0  0  1    1
KEY = [ExamQuestion(n, "single_choice", "B", D(1)) for n in (1, 2, 3)]
ANSWERS = pd.DataFrame({1: ["B", "B", "B", "C"], 2: ["B", "B", "A", None], 3: ["B", "D", "", "b"]})


def test_marking_a_table_of_answers_gives_the_same_marks_as_marking_each_sheet():
    sheets = mark_answer_matrix(KEY, ANSWERS)
    assert sheets.units.tolist() == [[1, 1, 1], [1, 1, 0], [1, 0, 0], [0, 0, 1]]
    by_sheet = [mark_answers(KEY, {n: row[n] for n in (1, 2, 3)})
                for _, row in ANSWERS.iterrows()]
    assert sheets.totals() == by_sheet == [D(3), D(2), D(1), D(1)]


def test_partial_credit_is_marked_exactly_in_the_smallest_unit():
    key = [ExamQuestion(1, "multiple_choice", "ACD", D("1.5"), partial_credit=D("0.75"))]
    sheets = mark_answer_matrix(key, pd.DataFrame({1: ["ACD", "AC", "ACE", None]}))
    assert sheets.decimals == 2
    assert sheets.totals() == [D("1.50"), D("0.75"), D("0.00"), D("0.00")]


def test_facility_is_the_mean_mark_over_the_maximum():
    items = analyse_items(mark_answer_matrix(KEY, ANSWERS)).items
    # q1: 3 of 4 right; q2: 2 of 4; q3: 2 of 4.
    assert [i.facility for i in items] == [0.75, 0.5, 0.5]


def test_discrimination_index_is_the_correlation_with_the_rest_of_the_test():
    items = analyse_items(mark_answer_matrix(KEY, ANSWERS)).items
    # q1: x = 1,1,1,0 and X-x = 2,1,0,1: deviations (.25,.25,.25,-.75)·(1,0,-1,0) sum to 0.
    assert items[0].discrimination == pytest.approx(0)
    # q2: x = 1,1,0,0 (var 1/3), X-x = 2,1,1,1 (var 1/4), cov = 0.5/3 = 1/6:
    #     D = 100 · (1/6) / √(1/12) = 100/√3.
    assert items[1].discrimination == pytest.approx(100 / math.sqrt(3))
    # q3: x = 1,0,0,1 (var 1/3), X-x = 2,2,1,0 (var 2.75/3), cov = -0.5/3:
    #     D = 100 · (-1/6) / √(2.75/9) = -50/√2.75.
    assert items[2].discrimination == pytest.approx(-50 / math.sqrt(2.75))


def test_discriminative_efficiency_compares_the_covariance_with_its_sorted_maximum():
    items = analyse_items(mark_answer_matrix(KEY, ANSWERS)).items
    # q1: cov 0 → 0 whatever the maximum (sorted: (-.75,.25,.25,.25)·(-1,0,0,1) = 1 → 1/3).
    assert items[0].efficiency == pytest.approx(0)
    # q2: the rest sorted (1,1,1,2) against x sorted (0,0,1,1) gives the same 1/6: 100%.
    assert items[1].efficiency == pytest.approx(100)
    # q3: sorted x (0,0,1,1), sorted rest (0,1,2,2): covariance max 1.5/3 = 0.5 → -100/3.
    assert items[2].efficiency == pytest.approx(-100 / 3)


def test_a_negative_discrimination_is_flagged_and_a_weak_one_is_flagged_low():
    items = analyse_items(mark_answer_matrix(KEY, ANSWERS)).items
    assert [i.flag for i in items] == ["low", None, "negative"]


def test_cronbachs_alpha_error_ratio_and_standard_error_of_the_test():
    test = analyse_items(mark_answer_matrix(KEY, ANSWERS)).test
    # Totals 3,2,1,1: mean 1.75, variance 2.75/3; item variances 1/4 + 1/3 + 1/3 = 2.75/3.
    # alpha = 100 · 3/2 · (1 − 1) = 0; error ratio 100 · √1 = 100; SE = SD.
    assert test.mean == pytest.approx(1.75)
    assert test.sd == pytest.approx(math.sqrt(2.75 / 3))
    assert test.alpha == pytest.approx(0)
    assert test.error_ratio == pytest.approx(100)
    assert test.standard_error == pytest.approx(math.sqrt(2.75 / 3))
    assert (test.attempts, test.questions, test.maximum) == (4, 3, D(3))


def test_alpha_of_a_perfectly_consistent_test_is_100_with_no_error():
    key = [ExamQuestion(n, "true_false", "对", D(2)) for n in (1, 2)]
    answers = pd.DataFrame({1: ["对", "错", "对", "错"], 2: ["对", "错", "对", "错"]})
    test = analyse_items(mark_answer_matrix(key, answers)).test
    # Each total is twice each item: Var(X) = 4·Var(x), alpha = 100 · 2 · (1 − 2/4) = 100.
    assert test.alpha == pytest.approx(100)
    assert test.error_ratio == pytest.approx(0)
    assert test.standard_error == pytest.approx(0)


def test_ability_groups_are_analysed_as_one_part_of_the_test():
    analysis = analyse_items(mark_answer_matrix(KEY, ANSWERS), {1: "专业技术", 2: "专业技术"})
    (group,) = analysis.groups
    assert (group.label, group.questions, group.maximum) == ("专业技术", (1, 2), D(2))
    # part = q1 + q2 = 2,2,1,0 (mean 1.25, facility 0.625); rest = q3 = 1,0,0,1:
    # deviations (.75,.75,-.25,-1.25)·(.5,-.5,-.5,.5) = -.5 → cov -1/6; var part 2.75/3, rest 1/3.
    assert group.facility == pytest.approx(0.625)
    assert group.discrimination == pytest.approx(-50 / math.sqrt(2.75))


def test_a_question_everyone_got_right_has_no_discrimination_and_no_flag():
    key = [ExamQuestion(1, "single_choice", "A", D(1)), ExamQuestion(2, "single_choice", "B", D(1))]
    items = analyse_items(mark_answer_matrix(key, pd.DataFrame({1: ["A"] * 3,
                                                               2: ["B", "C", "B"]}))).items
    assert items[0].facility == 1
    assert items[0].discrimination is None and items[0].efficiency is None
    assert items[0].flag is None


def test_one_attempt_has_facilities_but_no_variances():
    analysis = analyse_items(mark_answer_matrix(KEY, ANSWERS.iloc[:1]))
    assert [i.facility for i in analysis.items] == [1.0, 1.0, 1.0]
    assert all(i.discrimination is None for i in analysis.items)
    assert analysis.test.sd is None and analysis.test.alpha is None


def test_an_unreadable_answer_names_its_question():
    with pytest.raises(InvalidInput, match="第2题"):
        mark_answer_matrix(KEY, pd.DataFrame({1: ["B"], 2: ["?"], 3: ["B"]}))


def _simulated_exam(wrong_key_question: int | None, seed: int = 7):
    """300 candidates of varied ability answer 20 four-option questions; the better the
    candidate, the likelier the right option (B). A wrong key names option C instead."""
    rng = np.random.default_rng(seed)
    ability = rng.normal(size=300)
    difficulty = np.linspace(-1.5, 1.5, 20)
    p_right = 1 / (1 + np.exp(-(ability[:, None] - difficulty[None, :]) * 1.7))
    right = rng.random((300, 20)) < p_right
    wrong = rng.choice(list("ACD"), size=(300, 20))
    answers = pd.DataFrame(np.where(right, "B", wrong), columns=range(1, 21))
    key = [ExamQuestion(n, "single_choice",
                        "C" if n == wrong_key_question else "B", D(1)) for n in range(1, 21)]
    return key, answers


def test_a_planted_wrong_key_is_flagged_with_a_negative_discrimination():
    key, answers = _simulated_exam(wrong_key_question=12)
    items = analyse_items(mark_answer_matrix(key, answers)).items
    flagged = [i.questions[0] for i in items if i.flag == "negative"]
    assert flagged == [12]
    assert all(i.discrimination > 20 for i in items if i.questions != (12,))


def test_correcting_the_planted_key_clears_the_flag_and_raises_alpha():
    wrong_key, answers = _simulated_exam(wrong_key_question=12)
    right_key, _ = _simulated_exam(wrong_key_question=None)
    before = analyse_items(mark_answer_matrix(wrong_key, answers))
    after = analyse_items(mark_answer_matrix(right_key, answers))
    assert after.items[11].flag is None and after.items[11].discrimination > 20
    assert after.test.alpha > before.test.alpha
