"""Theory exam item analysis at full size: 10,000 answer sheets x 100 questions, marked by the key
(single choice, multiple choice with partial credit, true/false) and analysed (facility,
discrimination, discriminative efficiency, alpha; per ability too), next to a floor.

The floor is the least any analysis must do with the same table: one pass over every answer
cell to encode it (pandas.factorize per column, as the marking does) and one numpy covariance of
the 100 mark columns with the totals. Both are timed warm, best of --repeat runs. Target: at
most 2 s (issue 13).

    .venv/bin/python bench/item_analysis.py [--sheets 10000] [--questions 100] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import sys
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import scoring as sc  # noqa: E402
from bench._common import best_of, peak_rss_mb, reset_peak_rss  # noqa: E402

TARGET_SECONDS = 2.0
ABILITIES = ("组织管理", "沟通协调", "持续学习", "团队文化建设", "人才培育", "开拓创新", "问题解决",
             "数智化应用", "职业素养", "专业技术")


def exam(sheets: int, questions: int, seed: int = 2025):
    """A key (60% single choice, 30% multiple choice with half marks, 10% true/false) and
    answers drawn from a simple ability model, with some blanks."""
    rng = np.random.default_rng(seed)
    key, columns = [], {}
    ability = rng.normal(size=sheets)
    for n in range(1, questions + 1):
        p = 1 / (1 + np.exp(-(ability - rng.uniform(-1.5, 1.5)) * 1.7))
        right = rng.random(sheets) < p
        blank = rng.random(sheets) < 0.02
        kind = n % 10
        if kind < 6:
            key.append(sc.ExamQuestion(n, "single_choice", "B", Decimal(1)))
            answer = np.where(right, "B", rng.choice(list("ACD"), size=sheets))
        elif kind < 9:
            key.append(sc.ExamQuestion(n, "multiple_choice", "ACD", Decimal(2),
                                       partial_credit=Decimal(1)))
            answer = np.where(right, "ACD", rng.choice(["AC", "CD", "AB", "ABCD", "D"],
                                                       size=sheets))
        else:
            key.append(sc.ExamQuestion(n, "true_false", "对", Decimal("0.5")))
            answer = np.where(right, "对", "错")
        columns[n] = np.where(blank, None, answer.astype(object))
    tags = {q.number: ABILITIES[q.number % len(ABILITIES)] for q in key}
    return key, pd.DataFrame(columns), tags


def analysis(key, answers, tags):
    return sc.analyse_items(sc.mark_answer_matrix(key, answers), tags)


def floor(answers: pd.DataFrame):
    codes = np.column_stack([pd.factorize(answers[c])[0] for c in answers.columns])
    marks = (codes == 0).astype(np.float64)
    totals = marks.sum(axis=1)
    return np.cov(np.column_stack([marks, totals]), rowvar=False)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sheets", type=int, default=10_000)
    parser.add_argument("--questions", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)

    key, answers, tags = exam(args.sheets, args.questions)
    reset_peak_rss()
    seconds, result = best_of(lambda: analysis(key, answers, tags), args.repeat)
    peak = peak_rss_mb()
    floor_seconds, _ = best_of(lambda: floor(answers), args.repeat)
    flagged = sum(1 for i in result.items if i.flag)
    print(f"item analysis of {args.sheets:,} sheets x {args.questions} questions: "
          f"{seconds:.3f} s (target {TARGET_SECONDS} s), peak {peak:.0f} MB")
    print(f"  floor (factorize every cell + one covariance matrix): {floor_seconds:.3f} s, "
          f"ratio {seconds / floor_seconds:.2f}")
    print(f"  alpha {result.test.alpha:.2f}%, {flagged} questions flagged")
    summary = {
        "bench": "item_analysis",
        "sheets": args.sheets,
        "questions": args.questions,
        "seconds": round(seconds, 4),
        "peak_mb": round(peak, 1),
        "floor_seconds": round(floor_seconds, 4),
        "ratio": round(seconds / floor_seconds, 3),
        "target_seconds": TARGET_SECONDS,
        "targets_met": seconds <= TARGET_SECONDS,
    }
    print(json.dumps(summary, ensure_ascii=False))
    return summary


if __name__ == "__main__":
    main()
