"""scoring: the rules engine of the skills contest -- how marks become published results.

Pure Python with pandas/numpy; no web framework, no database.  Rules are frozen dataclasses
validated on construction (errors are :class:`ScoringError` subclasses whose Chinese messages can
be shown to an organiser as they are); bulk inputs and outputs are DataFrames whose columns are
documented on each function and in ``docs/scoring.md``.

Exactness: every published number (sheet points, component points, percentage, total,
standardised score) is computed with integers in units of ``10**-decimals`` and rounded half-up
(四舍五入) once per published step, each step from the published value of the step before; ranks
are taken on the published totals.  Output numbers are :class:`decimal.Decimal`.

A worked example of each rule (run as a test, so it cannot drift):

>>> from decimal import Decimal
>>> import pandas as pd
>>> import scoring as sc

1. Score sheet -- measurement 0..max, judgement grade/3 x max, deduction per occurrence (never
below 0), disqualifying items, time overrun per started minute:

>>> scheme = sc.MarkingScheme((
...     sc.MarkingItem("A1", "measurement", 5),
...     sc.MarkingItem("A2", "judgement", 2),
...     sc.MarkingItem("A3", "deduction", 4, deduction_per_occurrence="1.5"),
...     sc.MarkingItem("A4", "disqualifying", 0, name="严重安全违规", disqualify_scope="entry"),
... ), time_overrun=sc.TimeOverrunRule(allowed_minutes=90, deduction_per_started_minute="0.5",
...                                    disqualify_after_minutes=10))
>>> sheet = sc.score_sheet(scheme, {"A1": "4.5", "A2": 2, "A3": 1}, time_used_seconds=91 * 60 + 5)
>>> sheet.item_points["A2"], sheet.time_deduction, sheet.points  # 2/3 x 2; 2 started minutes
(Decimal('1.33'), Decimal('1.00'), Decimal('7.33'))
>>> sc.score_sheet(scheme, {"A1": 6, "A2": 2}, time_used_seconds=0, entry_id="E1", judge_id="J2")
Traceback (most recent call last):
...
scoring.errors.InvalidMark: 有1处评分不符合评分标准：选手E1、裁判J2、评分项A1：测量项（满分5）给出6，应在0至5之间，最多2位小数

2. Judge aggregation -- trimmed mean (one high and one low dropped with 5 judges), too few
judges is incomplete (not zero), a spread above the threshold names the extreme judges:

>>> marks = pd.DataFrame({"entry_id": ["E1"] * 5 + ["E2"],
...                       "judge_id": ["J1", "J2", "J3", "J4", "J5", "J1"],
...                       "points": [80, 82, 90, 70, 85, 60]})
>>> agg = sc.aggregate_judges(marks, sc.AggregationRule(min_judges=2, disagreement_threshold=15))
>>> print(agg[["entry_id", "points", "complete", "spread", "disagreeing_judges"]].to_string(index=False))
entry_id points  complete spread disagreeing_judges
      E1  82.33      True  20.00           (J3, J4)
      E2   None     False   0.00               None

3.-5. Totals, exactness and ranking -- percent of maximum, weighted total, half-up at each
step (33.67 of 40 = 84.175% -> 84.18%; 0.3 x 80 + 0.7 x 84.18 = 82.926 -> 82.93), tie-break
chain, then shared ranks:

>>> rule = sc.StageRule((
...     sc.ComponentRule("theory", "理论", 30),
...     sc.ComponentRule("practical", "实操", 70, maximum=40),
... ), tie_breaks=(sc.TieBreak("practical"), sc.TieBreak("time")), quota=2, per_enterprise_cap=1)
>>> points = pd.DataFrame({
...     "entry_id": ["A", "A", "B", "B", "C", "C", "D", "D"],
...     "component": ["theory", "practical"] * 4,
...     "points": [Decimal(x) for x in ("80", "33.67", "80", "33.67", "90", "30", "95", "20")]})
>>> entries = pd.DataFrame({"entry_id": ["A", "B", "C", "D"], "enterprise": ["甲", "甲", "乙", "丙"],
...                         "time_used": [3100, 3000, 3300, 2900]})
>>> results = sc.compute_results(rule, points, entries)
>>> print(results[["entry_id", "practical_percent", "total", "rank", "tie_break"]].to_string(index=False))
entry_id practical_percent  total  rank tie_break
       B             84.18  82.93     1      None
       A             84.18  82.93     2      time
       C             75.00  79.50     3      None
       D             50.00  63.50     4      None

6. Advancement -- top N of the eligible, at most K per enterprise; a removed advancer's place
passes to the next eligible by rank, still within the cap (递补):

>>> adv = sc.select_advancers(results, rule.quota, rule.per_enterprise_cap, rule.cutoff_tie_policy)
>>> adv.advanced_ids, adv.table.set_index("entry_id").loc["A", "skipped_for_cap"]
(['B', 'C'], np.True_)
>>> sc.replace_advancer(adv, "B", "公示期异议成立").advanced_ids
['A', 'C']

7. Re-check: the top M and ceil(15%) of the rest from a recorded seed; more than 5% errors
forces a full re-check:

>>> sample = sc.recheck_sample(results, top=1, seed=20250601)
>>> sample.top_ids, len(sample.sampled_ids), sample.seed
(('B',), 1, 20250601)
>>> sc.recheck_verdict(checked=40, errors=3).message
'复核40份，差错3份，差错率7.5%，超过5%，须全部复核'

8. Judge effects (severity = mean deviation from the panel median on the same work) and
aggregation sensitivity (what changes under another rule):

>>> print(sc.judge_effects(marks).to_string(index=False))
judge_id  n_works severity consistency_sd correlation
      J1        1    -2.00           0.00        None
      J2        1     0.00           0.00        None
      J3        1     8.00           0.00        None
      J4        1   -12.00           0.00        None
      J5        1     3.00           0.00        None

9. Standardisation: WorldSkills-style, the median at 700 and 100 per standard deviation:

>>> sc.standardise(pd.DataFrame({"entry_id": list("ABC"), "points": [60, 70, 80]}))["standardised"].tolist()
[Decimal('577.53'), Decimal('700.00'), Decimal('822.47')]

10. Theory exams, machine-marked: multiple choice earns the question's partial credit for a
correct proper subset of the key, nothing for any wrong option:

>>> key = [sc.ExamQuestion(1, "multiple_choice", "ABD", 2, partial_credit=1),
...        sc.ExamQuestion(2, "true_false", "错", 1)]
>>> sc.mark_answers(key, {1: "AB", 2: "×"}), sc.mark_answers(key, {1: "ABC", 2: "对"})
(Decimal('2'), Decimal('0'))
"""

from .advancement import (
    CUTOFF_ALL_TIED_INCLUDED,
    CUTOFF_BROKEN_BY_CHAIN,
    CUTOFF_NONE,
    CUTOFF_QUOTA_NOT_FILLED,
    CUTOFF_TIED_AFTER_CHAIN,
    Advancement,
    replace_advancer,
    select_advancers,
)
from .aggregation import Aggregation, AggregationRule, aggregate_judges
from .awards import AwardRule, Awards, AwardTier, assign_awards, tier_count
from .eligibility import draw_pool, undecided_that_matter
from .errors import InvalidInput, InvalidMark, InvalidRule, ScoringError, WeightsError
from .exam import ExamQuestion, QuestionKind, mark_answer, mark_answers
from .item_analysis import (
    ItemAnalysis,
    ItemStatistics,
    MarkedSheets,
    TestStatistics,
    analyse_items,
    mark_answer_matrix,
)
from .judges import AggregationSensitivity, aggregation_sensitivity, judge_effects
from .marking import (
    JUDGEMENT_SCALE,
    TEN_ABILITIES,
    DisqualifyScope,
    ItemKind,
    JudgementOrder,
    MarkingItem,
    MarkingScheme,
    PanelScores,
    PanelSheet,
    RunningTotal,
    SheetResult,
    TimeOverrunRule,
    judgement_item_points,
    running_total,
    score_panel,
    score_sheet,
    score_sheets,
)
from .recheck import RecheckSample, RecheckVerdict, recheck_sample, recheck_verdict
from .results import (
    ComponentRule,
    CutoffTiePolicy,
    StageResults,
    StageRule,
    Status,
    TieBreak,
    aggregate_components,
    compute_results,
    stage_results,
)
from .standardisation import Standardisation, StandardisationMethod, standardise

__all__ = [
    "draw_pool",
    "undecided_that_matter",
    "CUTOFF_ALL_TIED_INCLUDED",
    "CUTOFF_BROKEN_BY_CHAIN",
    "CUTOFF_NONE",
    "CUTOFF_QUOTA_NOT_FILLED",
    "CUTOFF_TIED_AFTER_CHAIN",
    "JUDGEMENT_SCALE",
    "TEN_ABILITIES",
    "Advancement",
    "Aggregation",
    "AggregationRule",
    "AggregationSensitivity",
    "ComponentRule",
    "CutoffTiePolicy",
    "DisqualifyScope",
    "ExamQuestion",
    "InvalidInput",
    "InvalidMark",
    "InvalidRule",
    "ItemKind",
    "JudgementOrder",
    "MarkingItem",
    "MarkingScheme",
    "PanelScores",
    "PanelSheet",
    "QuestionKind",
    "RecheckSample",
    "RecheckVerdict",
    "RunningTotal",
    "ScoringError",
    "SheetResult",
    "StageResults",
    "StageRule",
    "Standardisation",
    "StandardisationMethod",
    "Status",
    "TieBreak",
    "TimeOverrunRule",
    "WeightsError",
    "aggregate_components",
    "aggregate_judges",
    "aggregation_sensitivity",
    "compute_results",
    "judge_effects",
    "judgement_item_points",
    "mark_answer",
    "mark_answers",
    "recheck_sample",
    "recheck_verdict",
    "replace_advancer",
    "running_total",
    "score_panel",
    "score_sheet",
    "score_sheets",
    "select_advancers",
    "stage_results",
    "standardise",
    "ItemAnalysis", "ItemStatistics", "MarkedSheets", "TestStatistics", "analyse_items",
    "mark_answer_matrix", "AwardRule", "AwardTier", "Awards", "assign_awards", "tier_count",
]
