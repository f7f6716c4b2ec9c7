"""Machine-marked theory exams: all or nothing, partial credit for a correct subset, exact sums."""

from decimal import Decimal as D

import pytest

from scoring import ExamQuestion, InvalidInput, InvalidRule, QuestionKind, mark_answer, mark_answers

SINGLE = ExamQuestion(1, QuestionKind.SINGLE_CHOICE, "B", D("1"))
MULTI = ExamQuestion(2, QuestionKind.MULTIPLE_CHOICE, "ACD", D("2"), partial_credit=D("1"))
MULTI_NO_PARTIAL = ExamQuestion(3, QuestionKind.MULTIPLE_CHOICE, "AB", D("2"))
JUDGE = ExamQuestion(4, QuestionKind.TRUE_FALSE, "对", D("0.5"))
FILL = ExamQuestion(5, QuestionKind.OTHER, "GB 30871", D("1.5"))


@pytest.mark.parametrize(("question", "answer", "points"), [
    (SINGLE, "B", D("1")),
    (SINGLE, " ｂ ", D("1")),  # full-width, lower case, spaces
    (SINGLE, "C", D("0")),
    (SINGLE, "BC", D("0")),
    (SINGLE, None, D("0")),
    (SINGLE, "未作答", D("0")),
    (MULTI, "ACD", D("2")),
    (MULTI, "D,C、A", D("2")),  # any order, any separator
    (MULTI, "AC", D("1")),  # a correct proper subset: the partial credit
    (MULTI, "D", D("1")),
    (MULTI, "ACDE", D("0")),  # any wrong option: nothing
    (MULTI, "AE", D("0")),
    (MULTI, "", D("0")),
    (MULTI_NO_PARTIAL, "A", D("0")),  # no partial credit set
    (MULTI_NO_PARTIAL, "BA", D("2")),
    (JUDGE, "√", D("0.5")),
    (JUDGE, "正确", D("0.5")),
    (JUDGE, "T", D("0.5")),
    (JUDGE, "×", D("0")),
    (JUDGE, "错", D("0")),
    (FILL, "gb30871", D("1.5")),
    (FILL, "GB 30872", D("0")),
])
def test_each_answer_earns_the_points_of_its_rule(question, answer, points):
    assert mark_answer(question, answer) == points


def test_an_exam_is_the_exact_sum_of_its_questions():
    key = [SINGLE, MULTI, MULTI_NO_PARTIAL, JUDGE, FILL]
    assert mark_answers(key, {1: "B", 2: "AC", 3: "AB", 4: "对", 5: "GB30871"}) == D("6.0")
    assert mark_answers(key, {}) == D("0")
    third = [ExamQuestion(n, "single_choice", "A", D("0.1")) for n in range(1, 31)]
    assert mark_answers(third, dict.fromkeys(range(1, 31), "A")) == D("3.0")  # never 3.0000000004


def test_an_answer_to_a_question_the_key_lacks_is_refused():
    with pytest.raises(InvalidInput, match="第9题"):
        mark_answers([SINGLE], {9: "A"})


@pytest.mark.parametrize("answer", ["1", "A?", "甲"])
def test_an_unreadable_choice_is_refused(answer):
    with pytest.raises(InvalidInput, match="第1题"):
        mark_answer(SINGLE, answer)


def test_an_unreadable_true_false_answer_is_refused():
    with pytest.raises(InvalidInput, match="判断题"):
        mark_answer(JUDGE, "也许")


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"number": 0}, "题号"),
    ({"kind": "essay"}, "题型"),
    ({"points": 0}, "分值"),
    ({"partial_credit": D("3")}, "部分得分"),
    ({"kind": "single_choice", "answer_key": "AB", "partial_credit": None}, "只能有一个选项"),
    ({"kind": "single_choice", "answer_key": "A"}, "不是多选题"),
    ({"answer_key": ""}, "没有标准答案"),
])
def test_a_wrong_key_is_refused(kwargs, message):
    values = {"number": 2, "kind": "multiple_choice", "answer_key": "AB", "points": D("2"),
              "partial_credit": D("1"), **kwargs}
    with pytest.raises(InvalidRule, match=message):
        ExamQuestion(**values)


def test_duplicate_question_numbers_are_refused():
    with pytest.raises(InvalidRule, match="题号重复"):
        mark_answers([SINGLE, SINGLE], {})
