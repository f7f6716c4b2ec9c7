"""Translatable names of the domain's statuses and kinds, shared by pages and exports."""
from flask_babel import lazy_gettext as _l

from app.models import (
    AdvancementEntryStatus,
    AggregationMethod,
    AwardRounding,
    AwardTies,
    ComponentKind,
    CutoffTiePolicy,
    DisqualifyScope,
    EntryStatus,
    ItemKind,
    JudgementOrder,
    ListStatus,
    MarkingNode,
    ScoreSource,
    StageKind,
    StageStatus,
    Standardisation,
    VersionStatus,
)
from scoring import Status as ResultStatus

ENTRY_STATUS = {
    EntryStatus.DRAFT: _l("Draft"),
    EntryStatus.SUBMITTED: _l("Submitted"),
    EntryStatus.ENDORSED: _l("Endorsed by enterprise"),
    EntryStatus.APPROVED: _l("Approved"),
    EntryStatus.REJECTED: _l("Rejected"),
    EntryStatus.WITHDRAWN: _l("Withdrawn"),
}

STAGE_STATUS = {
    StageStatus.DRAFT: _l("Draft"),
    StageStatus.REGISTRATION: _l("Registration"),
    StageStatus.SCORING: _l("Scoring"),
    StageStatus.REVIEW: _l("Re-check"),
    StageStatus.PROVISIONAL: _l("Provisional results"),
    StageStatus.NOTICE: _l("Public notice"),
    StageStatus.FINAL: _l("Final"),
}

STAGE_KIND = {
    StageKind.PRELIMINARY: _l("Preliminary"),
    StageKind.ADVANCED: _l("Advanced assessment"),
    StageKind.FINAL: _l("Final round"),
}

COMPONENT_KIND = {
    ComponentKind.THEORY: _l("Theory exam"),
    ComponentKind.PRACTICAL: _l("Practical exam"),
    ComponentKind.DIGITAL_TWIN: _l("Digital twin"),
    ComponentKind.LEARNING_POINTS: _l("Learning points"),
    ComponentKind.OTHER: _l("Other"),
}

SCORE_SOURCE = {
    ScoreSource.JUDGES: _l("Judges' score sheets"),
    ScoreSource.IMPORT: _l("Imported (exam system, simulator)"),
}

AGGREGATION = {
    AggregationMethod.MEAN: _l("Mean"),
    AggregationMethod.TRIMMED_MEAN: _l("Trimmed mean"),
    AggregationMethod.MEDIAN: _l("Median"),
    AggregationMethod.SINGLE: _l("Single judge or system"),
}

JUDGEMENT_ORDER = {
    JudgementOrder.PER_SHEET: _l("Each judge's sheet totalled, then the sheets combined"),
    JudgementOrder.PER_ITEM: _l("Per judgement item: judges' grades averaged, rounded once "
                                "(WorldSkills)"),
}

CUTOFF_TIE_POLICY = {
    CutoffTiePolicy.BREAK: _l("Broken by the tie-break chain"),
    CutoffTiePolicy.INCLUDE_ALL: _l("Everyone tied advances"),
}

AWARD_ROUNDING = {
    AwardRounding.HALF_UP: _l("Rounded half up"),
    AwardRounding.FLOOR: _l("Rounded down"),
    AwardRounding.CEIL: _l("Rounded up"),
}

AWARD_TIES = {
    AwardTies.INCLUDE: _l("Everyone tied takes the better award"),
    AwardTies.EXCLUDE: _l("No one tied takes the better award"),
}

STANDARDISATION = {
    Standardisation.NONE: _l("None"),
    Standardisation.WORLDSKILLS: _l("WorldSkills scale (median 700)"),
    Standardisation.ZSCORE: _l("z-score"),
}

MARKING_NODE = {
    MarkingNode.CRITERION: _l("Criterion"),
    MarkingNode.SUB_CRITERION: _l("Sub-criterion"),
    MarkingNode.ITEM: _l("Item"),
}

ITEM_KIND = {
    ItemKind.MEASUREMENT: _l("Measurement"),
    ItemKind.JUDGEMENT: _l("Judgement (0–3)"),
    ItemKind.DEDUCTION: _l("Deduction"),
    ItemKind.DISQUALIFYING: _l("Disqualifying"),
}

DISQUALIFY_SCOPE = {
    DisqualifyScope.COMPONENT: _l("The component"),
    DisqualifyScope.ENTRY: _l("The whole entry"),
}

TIE_BREAK_DIRECTION = {"desc": _l("higher first"), "asc": _l("lower first")}

VERSION_STATUS = {
    VersionStatus.DRAFT: _l("Draft"),
    VersionStatus.PUBLISHED: _l("Published"),
    VersionStatus.SUPERSEDED: _l("Superseded"),
}

LIST_STATUS = {
    ListStatus.DRAFT: _l("Draft"),
    ListStatus.NOTICE: _l("Public notice"),
    ListStatus.FINAL: _l("Final"),
    ListStatus.WITHDRAWN: _l("Withdrawn"),
}

ADVANCEMENT_STATUS = {
    AdvancementEntryStatus.ADVANCING: _l("Advances"),
    AdvancementEntryStatus.REMOVED: _l("Removed after an objection"),
    AdvancementEntryStatus.SKIPPED_FOR_CAP: _l("Over the enterprise's cap"),
    AdvancementEntryStatus.RESERVE: _l("Reserve"),
}

# An entry's status in a results version (ResultRow.status, scoring.Status's values).
RESULT_STATUS = {
    ResultStatus.OK: _l("Normal"),
    ResultStatus.BELOW_MINIMUM: _l("Below a component's minimum"),
    ResultStatus.NOT_APPROVED: _l("Entry not approved"),
    ResultStatus.UNRANKED: _l("Not ranked (honour holder)"),
    ResultStatus.INCOMPLETE: _l("Incomplete"),
    ResultStatus.DISQUALIFIED: _l("Disqualified"),
}

# Where a contestant stands after a stage (app.services.standings.Advancement's values).
ADVANCEMENT_STANDING = {
    "notice": _l("On the list, under public notice"),
    "advanced": _l("Advanced"),
    "replacement": _l("Advanced as a replacement"),
    "not_advanced": _l("Not advanced"),
}
