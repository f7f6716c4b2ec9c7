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
    PoolState,
    Role,
    ScoreSource,
    StageKind,
    StageStatus,
    Standardisation,
    VersionStatus,
)
from scoring import Status as ResultStatus

ROLE_LABELS = {
    Role.ORGANISER: _l("Organiser"),
    Role.CHIEF_JUDGE: _l("Chief judge"),
    Role.JUDGE: _l("Judge"),
    Role.ARBITRATOR: _l("Arbitration group"),
    Role.ENTERPRISE_CONTACT: _l("Enterprise contact"),
    Role.CONTESTANT: _l("Contestant"),
}

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

# A member of an eligibility pool (资格审核), as organisers and the contestant see it.
POOL_STATE = {
    PoolState.UNDECIDED: _l("Eligibility under review"),
    PoolState.CONFIRMED: _l("Eligibility confirmed"),
    PoolState.INELIGIBLE: _l("Found ineligible"),
}

CERTIFICATE_STATE = {"valid": _l("Valid"), "revoked": _l("Revoked")}

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

# --- The audit log in words (issue 12, part 4): every action, object and field by its name ---

# Every action code recorded anywhere (tests/web/test_audit_words.py checks the source for new ones).
AUDIT_ACTIONS = {
    "ability.create": _l("Ability added"),
    "ability.update": _l("Ability changed"),
    "ability.delete": _l("Ability deleted"),
    "accounts.export": _l("Contestant accounts exported"),
    "appeal.file": _l("Appeal filed"),
    "appeal.rule": _l("Appeal ruled"),
    "appeal.version": _l("Results version after an appeal"),
    "audit.export": _l("Audit log exported"),
    "component.decrypt": _l("Component decrypted"),
    "component.export_judge_sheets": _l("Judges' sheets exported"),
    "component.sign_off": _l("Component signed off"),
    "component_score.correct": _l("Score corrected after sign-off"),
    "contest.copy": _l("Contest copied"),
    "contest.create": _l("Contest created"),
    "contest.update": _l("Contest changed"),
    "contest.delete": _l("Contest deleted"),
    "demo.load": _l("Demo contest loaded"),
    "entry.claim": _l("Entry claimed"),
    "entry.claim_refused": _l("Entry claim refused"),
    "entry.correct": _l("Entry corrected"),
    "entry.export_full_ids": _l("Registration list exported with full ID numbers"),
    "entry.reveal_id": _l("Full ID number shown"),
    "entry.status": _l("Entry status changed"),
    "exam.key_change": _l("Answer key changed"),
    "exam.key_import": _l("Answer key imported"),
    "import.error_report": _l("Import error rows downloaded"),
    "list.export": _l("Advancement list exported"),
    "list.finalise": _l("Advancement list finalised"),
    "list.generate": _l("Advancement list generated"),
    "list.keep": _l("Advancement list kept"),
    "list.notice": _l("Public notice started"),
    "list.withdraw": _l("Advancement list withdrawn"),
    "mark.save": _l("Marks saved"),
    "mark.correct": _l("Marks corrected"),
    "mark.correct_after_signoff": _l("Marks corrected after sign-off"),
    "objection.record": _l("Objection recorded"),
    "objection.rule": _l("Objection ruled"),
    "panel.assign": _l("Judge assigned"),
    "panel.remove": _l("Judge removed"),
    "recheck.open": _l("Re-check opened"),
    "recheck.close": _l("Re-check closed"),
    "recheck.full": _l("Full re-check ordered"),
    "recheck.item": _l("Re-check item recorded"),
    "recheck.items": _l("Re-check items marked correct"),
    "results.compute": _l("Results computed"),
    "results.export": _l("Results exported"),
    "results.publish": _l("Results published"),
    "scheme.add": _l("Marking item added"),
    "scheme.update": _l("Marking item changed"),
    "scheme.delete": _l("Marking item deleted"),
    "scheme.move": _l("Marking item moved"),
    "scheme.replace": _l("Marking scheme imported"),
    "score.remark": _l("Score re-marked"),
    "sheet.return": _l("Score sheet returned to the judge"),
    "sheet.submit": _l("Score sheet submitted"),
    "sitting.assign": _l("Contestants assigned to sittings"),
    "sitting.create": _l("Sitting added"),
    "sitting.update": _l("Sitting changed"),
    "sitting.delete": _l("Sitting deleted"),
    "sitting.move": _l("Contestant moved to another sitting"),
    "stage.create": _l("Stage added"),
    "stage.update": _l("Stage changed"),
    "stage.delete": _l("Stage deleted"),
    "stage.move": _l("Stage order changed"),
    "stage.components": _l("Components changed"),
    "stage.draw": _l("Draw held"),
    "stage.export_signin": _l("Sign-in sheets exported"),
    "stage.status": _l("Stage status changed"),
    "token.create": _l("API token issued"),
    "token.revoke": _l("API token revoked"),
    "track.create": _l("Track added"),
    "track.update": _l("Track changed"),
    "track.delete": _l("Track deleted"),
    "track.accounts": _l("Contestant accounts created"),
    "user.create": _l("Account created"),
    "user.update": _l("Account changed"),
    "user.login": _l("Signed in"),
    "user.password": _l("Password changed"),
    "user.sign_out_everywhere": _l("Signed out everywhere"),
    "awards.export": _l("Winners' list exported"),
    "certificate.issue": _l("Certificates issued"),
    "certificate.revoke": _l("Certificate revoked"),
    "learning.recount": _l("Learning points counted again"),
    "learning_rule.save": _l("Learning-points rule saved"),
    "list.fill": _l("Place filled from the eligibility pool"),
    "pool.decide": _l("Eligibility decided"),
    "pool.draw": _l("Eligibility pool drawn"),
    "pool.grow": _l("Eligibility pool grown"),
    "pool.join": _l("Next by rank joined the eligibility pool"),
    "pool.redraw": _l("Eligibility pool drawn again"),
}
# What was imported, for import.<kind>, import.<kind>.cancel and import.<kind>.change.
IMPORT_KINDS = {
    "registrations": (_l("Imported: registrations"), _l("Import cancelled: registrations"), _l("Import changed scores: registrations")),
    "theory": (_l("Imported: theory exam results"), _l("Import cancelled: theory exam results"), _l("Import changed scores: theory exam results")),
    "digital_twin": (_l("Imported: digital twin results"), _l("Import cancelled: digital twin results"), _l("Import changed scores: digital twin results")),
    "marking_scheme": (_l("Imported: marking scheme"), _l("Import cancelled: marking scheme"), _l("Import changed scores: marking scheme")),
    "component_scores": (_l("Imported: component scores"), _l("Import cancelled: component scores"), _l("Import changed scores: component scores")),
    "answer_key": (_l("Imported: answer key"), _l("Import cancelled: answer key"), _l("Import changed scores: answer key")),
    "app_participants": (_l("Imported: app participant list"), _l("Import cancelled: app participant list"), _l("Import changed scores: app participant list")),
    "app_learning": (_l("Imported: app learning records"), _l("Import cancelled: app learning records"), _l("Import changed scores: app learning records")),
    "app_theory": (_l("Imported: app theory results"), _l("Import cancelled: app theory results"), _l("Import changed scores: app theory results")),
}
# The filter's categories, each the prefixes of its actions.
AUDIT_CATEGORIES = {
    "accounts": (_l("Accounts and sign-in"), ('user', 'token')),
    "configuration": (_l("Contest configuration"), ('contest', 'track', 'ability', 'stage', 'scheme', 'demo', 'learning_rule')),
    "registration": (_l("Registration"), ('entry', 'accounts')),
    "judging": (_l("Sittings and judging"), ('sitting', 'panel', 'mark', 'sheet', 'component', 'component_score')),
    "imports": (_l("Imports"), ('import', 'exam')),
    "results": (_l("Results"), ('score', 'results', 'recheck', 'audit', 'learning', 'awards', 'certificate')),
    "appeals": (_l("Appeals and objections"), ('appeal', 'objection')),
    "lists": (_l("Advancement lists"), ('list', 'pool')),
}
AUDIT_OBJECTS = {
    "User": _l("Account"),
    "ApiToken": _l("API token"),
    "Contest": _l("Contest"),
    "Track": _l("Track"),
    "Ability": _l("Ability"),
    "Stage": _l("Stage"),
    "Component": _l("Component"),
    "MarkingItem": _l("Marking item"),
    "Entry": _l("Entry"),
    "Sitting": _l("Sitting"),
    "JudgeAssignment": _l("Judge assignment"),
    "ScoreSheet": _l("Score sheet"),
    "ComponentScore": _l("Component score"),
    "ImportBatch": _l("Import"),
    "ResultsVersion": _l("Results version"),
    "RecheckRound": _l("Re-check"),
    "RecheckItem": _l("Re-check item"),
    "Appeal": _l("Appeal"),
    "AdvancementList": _l("Advancement list"),
    "Objection": _l("Objection"),
    "Draw": _l("Draw"),
    "Contestant": _l("Contestant"),
    "ScoreCorrection": _l("Score correction"),
    "EligibilityPool": _l("Eligibility pool"),
    "PoolMember": _l("Eligibility pool member"),
    "Certificate": _l("Certificate"),
    "LearningRuleVersion": _l("Learning-points rule"),
}
# The fields of before/after; a key not here and not hidden is shown as written.
AUDIT_FIELDS = {
    "state": _l("State"),
    "reason": _l("Reason"),
    "size": _l("Pool size"),
    "members": _l("Members"),
    "joined": _l("Joined"),
    "left": _l("Left"),
    "numbers": _l("Certificate numbers"),
    "rule_version": _l("Rule version"),
    "name": _l("Name"),
    "gender": _l("Gender"),
    "id_number": _l("ID number"),
    "phone": _l("Phone"),
    "enterprise": _l("Enterprise"),
    "enterprise_category": _l("Enterprise category"),
    "city": _l("City"),
    "post": _l("Post"),
    "team_name": _l("Team"),
    "years_as_leader": _l("Years as team leader"),
    "skill_level": _l("Skill level"),
    "honours": _l("Honours"),
    "status": _l("Status"),
    "exam_number": _l("Exam number"),
    "username": _l("Account"),
    "display_name": _l("Display name"),
    "role": _l("Role"),
    "active": _l("Enabled"),
    "sessions_ended": _l("Sessions ended"),
    "scope": _l("Scope"),
    "user": _l("Judge"),
    "code": _l("Code"),
    "short_name": _l("Short name"),
    "year": _l("Year"),
    "level": _l("Level"),
    "organiser": _l("Organiser"),
    "contest_date": _l("Contest date"),
    "exam_number_pattern": _l("Exam number pattern"),
    "is_template": _l("Template"),
    "number": _l("Number"),
    "host_union": _l("Host union"),
    "co_hosts": _l("Co-hosts"),
    "source": _l("Source"),
    "kind": _l("Kind"),
    "starts_on": _l("Starts on"),
    "ends_on": _l("Ends on"),
    "registration_opens_at": _l("Registration opens"),
    "registration_closes_at": _l("Registration closes"),
    "quota": _l("Advancement quota"),
    "review_pool": _l("Review pool"),
    "per_enterprise_cap": _l("Cap per enterprise"),
    "cutoff_tie_policy": _l("Ties at the cut-off"),
    "tie_breaks": _l("Tie-breaks"),
    "notice_days": _l("Notice days"),
    "decimals": _l("Decimals"),
    "standardisation": _l("Standardisation"),
    "recheck_top": _l("Re-check top"),
    "recheck_fraction": _l("Re-check sample"),
    "recheck_error_threshold": _l("Re-check error threshold"),
    "appeal_window_minutes": _l("Appeal window (minutes)"),
    "min_age": _l("Minimum age"),
    "max_age": _l("Maximum age"),
    "min_years_as_leader": _l("Minimum years as team leader"),
    "awards": _l("Awards"),
    "seq": _l("Order"),
    "components": _l("Components"),
    "weight": _l("Weight"),
    "maximum": _l("Maximum"),
    "aggregation": _l("Aggregation"),
    "trim": _l("Trimmed"),
    "min_judges": _l("Minimum judges"),
    "disagreement_threshold": _l("Disagreement threshold"),
    "judgement_order": _l("Judgement order"),
    "min_percent": _l("Minimum percent"),
    "time_limit_minutes": _l("Time limit (minutes)"),
    "overrun_deduction_per_minute": _l("Deduction per overrun minute"),
    "overrun_disqualify_after_minutes": _l("Disqualified after overrun (minutes)"),
    "starts_at": _l("Starts at"),
    "ends_at": _l("Ends at"),
    "node": _l("Level"),
    "title": _l("Title"),
    "all_or_nothing": _l("All or nothing"),
    "deduction_per_occurrence": _l("Deduction per occurrence"),
    "disqualify_scope": _l("Disqualification"),
    "descriptors": _l("Descriptors"),
    "parent": _l("Parent item"),
    "ability": _l("Ability"),
    "items_total": _l("Items total"),
    "nodes": _l("Marking items"),
    "order": _l("Order"),
    "venue": _l("Venue"),
    "room": _l("Room"),
    "capacity": _l("Capacity"),
    "assignments": _l("Assignments"),
    "counts": _l("Contestants per sitting"),
    "sitting": _l("Sitting"),
    "points": _l("Points"),
    "time_used_seconds": _l("Time used (seconds)"),
    "overrun_minutes": _l("Overrun (minutes)"),
    "ground": _l("Ground"),
    "seed": _l("Draw seed"),
    "contestants": _l("Contestants"),
    "workstations": _l("Workstations"),
    "flagged": _l("Flagged for disagreement"),
    "file": _l("File"),
    "rows": _l("Rows"),
    "valid": _l("Valid rows"),
    "imported": _l("Imported"),
    "text": _l("Text"),
    "ruling": _l("Ruling"),
    "version": _l("Version"),
    "note": _l("Note"),
    "top": _l("Top"),
    "checked": _l("Checked"),
    "errors": _l("Errors"),
    "entries": _l("Contestants"),
    "correct": _l("Marked correct"),
    "step": _l("Step"),
    "error_rate": _l("Error rate"),
    "threshold": _l("Threshold"),
    "full_recheck_required": _l("Full re-check required"),
    "fraction": _l("Sample fraction"),
    "top_ids": _l("Top contestants checked"),
    "sampled_ids": _l("Contestants sampled"),
}
AUDIT_HIDDEN_FIELDS = frozenset(['batch_id', 'correction_id', 'enterprise_id', 'fingerprint', 'id', 'resulting_version_id', 'sha256', 'sitting_id', 'source_id', 'target_id'])
