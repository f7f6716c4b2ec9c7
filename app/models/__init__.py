"""Typed SQLAlchemy models of the whole contest domain, one module per part."""
from app.models.accounts import ApiToken, Role, User
from app.models.audit import AuditLog
from app.models.base import ScaledDecimal, utcnow
from app.models.contest import (
    Ability,
    AggregationMethod,
    Component,
    ComponentKind,
    Contest,
    CutoffTiePolicy,
    DisqualifyScope,
    ExamQuestion,
    ItemKind,
    MarkingItem,
    MarkingNode,
    QuestionKind,
    ScoreSource,
    Sitting,
    Stage,
    StageKind,
    StageStatus,
    Standardisation,
    Track,
)
from app.models.judging import (
    ComponentScore,
    Decryption,
    Draw,
    ImportBatch,
    ImportedResult,
    ImportKind,
    ImportStatus,
    JudgeAssignment,
    Mark,
    PanelRole,
    ScoreSheet,
    SheetStatus,
)
from app.models.registration import (
    Contestant,
    Enterprise,
    Entry,
    EntrySource,
    EntryStatus,
    EntryStatusChange,
    Gender,
    StageEntry,
    StageEntryStatus,
    mask_id_number,
)
from app.models.results import (
    AdvancementEntry,
    AdvancementEntryStatus,
    AdvancementList,
    Appeal,
    ListStatus,
    Objection,
    RecheckItem,
    RecheckKind,
    RecheckOutcome,
    RecheckRound,
    ResultComponentScore,
    ResultRow,
    ResultsVersion,
    RulingStatus,
    VersionStatus,
)

__all__ = [name for name in dir() if not name.startswith("_")]
