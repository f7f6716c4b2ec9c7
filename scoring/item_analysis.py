"""Theory exam quality: item analysis of marked answer sheets, with Moodle's quiz statistics as
the reference definitions.

Notation (S attempts, k questions): x_i is an attempt's mark on question i, X the attempt's total,
X₋ᵢ = X − x_i the rest of the test; variances and covariances are sample ones (divided by S − 1).

- facility F_i = mean(x_i) / max_i;
- discrimination index D_i = 100 · Cov(x_i, X₋ᵢ) / √(Var(x_i) · Var(X₋ᵢ)) (the correlation of the
  question with the rest of the test, in percent);
- discriminative efficiency E_i = 100 · Cov(x_i, X₋ᵢ) / Cov_max, where Cov_max is the covariance of
  the same marks with both columns sorted (the largest covariance those marks allow);
- the test's coefficient of internal consistency (Cronbach's alpha, in percent)
  α = 100 · k/(k − 1) · (1 − Σ Var(x_i) / Var(X)), its error ratio 100 · √(1 − α/100) and the
  standard error of a total, error ratio · SD(X) / 100.

These are diagnostics, never published scores: they are computed in binary floating point from
marks that are themselves exact.  Marking is exact: :func:`mark_answer_matrix` marks every
answer with :func:`scoring.exam.mark_answer` (each distinct answer of a question once) and keeps
the marks as integers of the smallest unit, so a corrected key re-marks sheets exactly.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import pandas as pd

from .errors import InvalidInput, InvalidRule
from .exam import ExamQuestion, mark_answer

#: Below this discrimination index (in percent) a question is flagged as weak. Moodle's guide
#: calls 20–29 weak and below 20 very weak; a negative index usually means a wrong key.
LOW_DISCRIMINATION = 20


@dataclass(frozen=True)
class MarkedSheets:
    """Every attempt's mark on every question, exactly: ``units[a, i]`` is attempt ``a``'s mark
    on ``questions[i]`` in units of ``10**-decimals`` points."""

    questions: tuple[ExamQuestion, ...]
    units: np.ndarray
    decimals: int

    @property
    def scale(self) -> int:
        return 10 ** self.decimals

    def totals(self) -> list[Decimal]:
        """Each attempt's exact total (the sum of its marks)."""
        sums = self.units.sum(axis=1, dtype=np.int64)
        return [Decimal(int(s)).scaleb(-self.decimals) for s in sums]


def _decimals_of(values: Sequence[Decimal]) -> int:
    places = 0
    for value in values:
        exponent = value.normalize().as_tuple().exponent
        if isinstance(exponent, int) and exponent < 0:
            places = max(places, -exponent)
    return places


def mark_answer_matrix(questions: Sequence[ExamQuestion], answers: pd.DataFrame) -> MarkedSheets:
    """Mark a table of answers (one row per attempt, one column per question number; a missing
    or empty cell is not answered) by the key, exactly as :func:`scoring.mark_answer` marks one
    answer. Each distinct answer of a question is marked once, so 10,000 sheets cost about as
    much as the handful of distinct answers each question gets. An unreadable answer raises
    :class:`InvalidInput` naming the question."""
    questions = tuple(questions)
    numbers = [q.number for q in questions]
    if len(set(numbers)) != len(numbers):
        raise InvalidRule("题号重复")
    unknown = [c for c in answers.columns if c not in set(numbers)]
    if unknown:
        raise InvalidInput("标准答案中没有这些题：" + "、".join(f"第{n}题" for n in unknown))
    decimals = _decimals_of([q.points for q in questions] + [q.partial_credit or Decimal(0)
                                                               for q in questions])
    scale = Decimal(10) ** decimals
    units = np.zeros((len(answers), len(questions)), dtype=np.int64)
    for column, question in enumerate(questions):
        if question.number not in answers.columns:
            continue
        codes, distinct = pd.factorize(answers[question.number], use_na_sentinel=True)
        earned = np.array([int(mark_answer(question, value) * scale) for value in distinct]
                          + [0], dtype=np.int64)  # the last slot is "not answered" (code -1)
        units[:, column] = earned[codes]
    return MarkedSheets(questions, units, decimals)


@dataclass(frozen=True)
class ItemStatistics:
    """One question's (or one ability's questions taken together) statistics.

    ``facility`` is a fraction of the maximum (0–1); ``discrimination`` and ``efficiency`` are
    percentages; each is None where it is undefined (fewer than two attempts, or a question that
    every attempt marked the same). ``flag`` is None, ``"negative"`` (a negative discrimination:
    usually a wrong key) or ``"low"`` (below the threshold)."""

    label: str
    questions: tuple[int, ...]
    maximum: Decimal
    attempts: int
    mean: float
    facility: float | None
    sd: float | None
    discrimination: float | None
    efficiency: float | None
    flag: str | None


@dataclass(frozen=True)
class TestStatistics:
    """The whole test: attempts, questions, mean and SD of the totals, and its consistency."""

    attempts: int
    questions: int
    maximum: Decimal
    mean: float | None
    sd: float | None
    alpha: float | None  # coefficient of internal consistency, percent
    error_ratio: float | None  # percent
    standard_error: float | None  # points


@dataclass(frozen=True)
class ItemAnalysis:
    items: tuple[ItemStatistics, ...]
    groups: tuple[ItemStatistics, ...]
    test: TestStatistics


def _column_statistics(parts: np.ndarray, rest: np.ndarray) -> tuple[np.ndarray, ...]:
    """Per column j: mean and sample variance of parts[:, j], and its covariance with rest[:, j]
    as they are and with both sorted (the maximal covariance)."""
    s = parts.shape[0]
    mean = parts.mean(axis=0)
    d_part = parts - mean
    d_rest = rest - rest.mean(axis=0)
    var_part = (d_part * d_part).sum(axis=0) / (s - 1)
    var_rest = (d_rest * d_rest).sum(axis=0) / (s - 1)
    cov = (d_part * d_rest).sum(axis=0) / (s - 1)
    sorted_part = np.sort(parts, axis=0)
    sorted_rest = np.sort(rest, axis=0)
    cov_max = ((sorted_part - mean) * (sorted_rest - rest.mean(axis=0))).sum(axis=0) / (s - 1)
    return mean, var_part, var_rest, cov, cov_max


def _statistics(labels: Sequence[str], members: Sequence[tuple[int, ...]],
                maxima: Sequence[Decimal], parts: np.ndarray, totals: np.ndarray,
                low: float) -> tuple[ItemStatistics, ...]:
    s = parts.shape[0]
    if s == 0:
        return tuple(ItemStatistics(label, m, mx, 0, math.nan, None, None, None, None, None)
                     for label, m, mx in zip(labels, members, maxima, strict=True))
    if s < 2:
        mean = parts.mean(axis=0)
        return tuple(ItemStatistics(label, m, mx, s, float(mean[j]),
                                    float(mean[j] / float(mx)) if mx else None,
                                    None, None, None, None)
                     for j, (label, m, mx) in enumerate(zip(labels, members, maxima, strict=True)))
    rest = totals[:, None] - parts
    mean, var_part, var_rest, cov, cov_max = _column_statistics(parts, rest)
    out = []
    for j, (label, member, maximum) in enumerate(zip(labels, members, maxima, strict=True)):
        product = var_part[j] * var_rest[j]
        discrimination = float(100 * cov[j] / math.sqrt(product)) if product > 0 else None
        efficiency = float(100 * cov[j] / cov_max[j]) if cov_max[j] > 0 else None
        flag = None
        if discrimination is not None:
            if discrimination < 0:
                flag = "negative"
            elif discrimination < low:
                flag = "low"
        out.append(ItemStatistics(
            label, member, maximum, s, float(mean[j]),
            float(mean[j] / float(maximum)) if maximum else None,
            float(math.sqrt(var_part[j])), discrimination, efficiency, flag))
    return tuple(out)


def analyse_items(sheets: MarkedSheets, abilities: Mapping[int, str] | None = None, *,
                  low_discrimination: float = LOW_DISCRIMINATION) -> ItemAnalysis:
    """Item analysis of marked sheets (Moodle's definitions, see the module's docstring): each
    question, each ability's questions taken together as one part of the test (``abilities``
    maps a question number to its ability's name; untagged questions form no group), and the
    test's internal consistency. A question whose discrimination is negative, or below
    ``low_discrimination`` percent, is flagged."""
    scale = float(sheets.scale)
    marks = sheets.units.astype(np.float64) / scale
    totals = marks.sum(axis=1)
    questions = sheets.questions
    items = _statistics([f"第{q.number}题" for q in questions], [(q.number,) for q in questions],
                        [q.points for q in questions], marks, totals, low_discrimination)

    groups: tuple[ItemStatistics, ...] = ()
    if abilities:
        names: dict[str, list[int]] = {}
        for column, question in enumerate(questions):
            name = abilities.get(question.number)
            if name:
                names.setdefault(name, []).append(column)
        if names:
            labels = list(names)
            parts = np.column_stack([marks[:, names[n]].sum(axis=1) for n in labels])
            groups = _statistics(
                labels, [tuple(questions[c].number for c in names[n]) for n in labels],
                [sum((questions[c].points for c in names[n]), Decimal(0)) for n in labels],
                parts, totals, low_discrimination)

    s, k = marks.shape
    maximum = sum((q.points for q in questions), Decimal(0))
    mean = float(totals.mean()) if s else None
    sd = alpha = error_ratio = standard_error = None
    if s > 1:
        variance = float(totals.var(ddof=1))
        sd = math.sqrt(variance)
        if k > 1 and variance > 0:
            item_variance = float(marks.var(axis=0, ddof=1).sum())
            alpha = 100 * k / (k - 1) * (1 - item_variance / variance)
            if alpha <= 100:
                error_ratio = 100 * math.sqrt(1 - alpha / 100)
                standard_error = error_ratio * sd / 100
    return ItemAnalysis(items, groups, TestStatistics(s, k, maximum, mean, sd, alpha,
                                                      error_ratio, standard_error))
