"""Machine-marked theory exams: how a contestant's answers become points by the answer key."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from ._exact import fmt, to_decimal
from .errors import InvalidInput, InvalidRule


class QuestionKind(StrEnum):
    """单选 / 多选 / 判断, and any other exactly-matched answer (填空)."""

    SINGLE_CHOICE = "single_choice"
    MULTIPLE_CHOICE = "multiple_choice"
    TRUE_FALSE = "true_false"
    OTHER = "other"


# Words exam systems write for true and false; both the key and the answers are read this way.
_TRUE = {"T", "TRUE", "Y", "YES", "对", "正确", "是", "√", "✓", "✔"}
_FALSE = {"F", "FALSE", "N", "NO", "错", "错误", "否", "×", "✗", "✘", "X"}
# An answer cell meaning "not answered".
_UNANSWERED = {"", "-", "—", "--", "/", "未答", "未作答", "空", "无"}
_SEPARATORS = re.compile(r"[\s,，、;；/|+]+")


@dataclass(frozen=True)
class ExamQuestion:
    """One question of an answer key.

    ``answer_key`` is the correct option letters (``"A"``, ``"ABD"``, ``"A,B,D"``), a true/false
    word (``"对"``, ``"√"``, ``"T"``), or, for ``other``, the exact expected text.
    ``partial_credit`` is what a multiple-choice answer earns when it is a non-empty proper
    subset of the key (e.g. half the points); 0 or None means none.
    ``voided``: the question was struck out after the exam (该题作废): every attempt earns its
    points, whatever was answered, so the exam's maximum stays as published.
    """

    number: int
    kind: QuestionKind
    answer_key: str
    points: Decimal
    partial_credit: Decimal | None = None
    voided: bool = False

    def __post_init__(self):
        if isinstance(self.number, bool) or not isinstance(self.number, int) or self.number < 1:
            raise InvalidRule(f"题号必须是正整数，当前为{self.number!r}")
        try:
            kind = QuestionKind(self.kind)
        except ValueError:
            allowed = "、".join(k.value for k in QuestionKind)
            raise InvalidRule(f"第{self.number}题的题型无效：{self.kind!r}，可选值为{allowed}") from None
        object.__setattr__(self, "kind", kind)
        points = to_decimal(self.points, f"第{self.number}题的分值", InvalidRule)
        if points <= 0:
            raise InvalidRule(f"第{self.number}题的分值必须大于0，当前为{fmt(points)}")
        object.__setattr__(self, "points", points)
        partial = Decimal(0) if self.partial_credit is None else to_decimal(
            self.partial_credit, f"第{self.number}题的部分得分", InvalidRule)
        if partial < 0 or partial > points:
            raise InvalidRule(f"第{self.number}题的部分得分应在0至{fmt(points)}之间，当前为{fmt(partial)}")
        if partial and kind is not QuestionKind.MULTIPLE_CHOICE:
            raise InvalidRule(f"第{self.number}题不是多选题，不能设置部分得分")
        object.__setattr__(self, "partial_credit", partial)
        key = _read(self, self.answer_key)
        if key is None:
            raise InvalidRule(f"第{self.number}题没有标准答案")
        if kind is QuestionKind.SINGLE_CHOICE and len(key) != 1:
            raise InvalidRule(f"第{self.number}题是单选题，标准答案只能有一个选项，当前为{self.answer_key}")


def _normalised(text: str) -> str:
    return unicodedata.normalize("NFKC", str(text)).strip().upper()


def _read(question: ExamQuestion, raw) -> frozenset[str] | str | None:
    """An answer (or the key) as the question compares it: a set of option letters, "T"/"F",
    or normalised text; None when not answered. Unreadable choices raise InvalidInput."""
    if raw is None:
        return None
    text = _normalised(raw)
    if text in _UNANSWERED:
        return None
    if question.kind is QuestionKind.TRUE_FALSE:
        if text in _TRUE:
            return "T"
        if text in _FALSE:
            return "F"
        if re.fullmatch(r"[A-Z]", text):  # 判断题 written as options A/B
            return text
        raise InvalidInput(f"第{question.number}题（判断题）的答案“{raw}”无法识别")
    if question.kind is QuestionKind.OTHER:
        return re.sub(r"\s+", "", text)
    letters = _SEPARATORS.sub("", text)
    if not re.fullmatch(r"[A-Z]+", letters):
        raise InvalidInput(f"第{question.number}题的答案“{raw}”不是选项字母")
    return frozenset(letters)


def mark_answer(question: ExamQuestion, answer) -> Decimal:
    """Points for one answer: single choice, true/false and other questions all or nothing;
    multiple choice the full points for exactly the key, the question's partial credit for a
    non-empty proper subset of the key, 0 for any wrong option. Not answered earns 0. A voided
    question earns its points for every attempt."""
    if question.voided:
        return question.points
    given = _read(question, answer)
    if given is None:
        return Decimal(0)
    key = _read(question, question.answer_key)
    if given == key:
        return question.points
    if question.kind is QuestionKind.MULTIPLE_CHOICE and given < key:
        return question.partial_credit
    return Decimal(0)


def mark_answers(questions: Iterable[ExamQuestion], answers: Mapping[int, object]) -> Decimal:
    """A contestant's exam points: the sum over the key's questions of :func:`mark_answer`
    (a question without an answer earns 0), exact.

    >>> from decimal import Decimal
    >>> key = [ExamQuestion(1, "single_choice", "B", Decimal(1)),
    ...        ExamQuestion(2, "multiple_choice", "ACD", Decimal(2), partial_credit=Decimal(1)),
    ...        ExamQuestion(3, "true_false", "对", Decimal("0.5"))]
    >>> mark_answers(key, {1: "B", 2: "A,C", 3: "√"})  # 1 + half marks + 0.5
    Decimal('2.5')
    >>> mark_answers(key, {1: "C", 2: "ACE", 3: "错"})  # a wrong option earns nothing
    Decimal('0')

    Answers to questions the key does not have, and unreadable answers, raise InvalidInput.
    """
    by_number: dict[int, ExamQuestion] = {}
    for question in questions:
        if not isinstance(question, ExamQuestion):
            raise InvalidRule(f"试题必须是 ExamQuestion，当前为{question!r}")
        if question.number in by_number:
            raise InvalidRule(f"题号重复：第{question.number}题")
        by_number[question.number] = question
    unknown = sorted(n for n in answers if n not in by_number)
    if unknown:
        raise InvalidInput("标准答案中没有这些题：" + "、".join(f"第{n}题" for n in unknown))
    total = Decimal(0)
    for number, question in by_number.items():
        total += mark_answer(question, answers.get(number))
    return total
