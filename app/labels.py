"""Translatable names of the domain's statuses and kinds, shared by pages and exports."""
from flask_babel import lazy_gettext as _l

from app.models import ComponentKind, EntryStatus, StageKind, StageStatus

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
