"""Theory and digital-twin results into an imported component, through the one import pipeline.

Two importers, one per kind of file (app/services/imports.py does the reading, provenance,
idempotence and the report):

- ``TheoryImporter`` (an exam system's export): one row per exam number with the score, and
  optionally the answers per question (columns 第1题 / 题1 / Q1 / 1 …). When the component has an
  answer key (ExamQuestion rows) the answers are marked by ``scoring.mark_answers``: with a score
  column the two must agree (a disagreement is a bad row); without one, the marked points are the
  score. Without an answer key the answers are kept with the score, unmarked.
- ``SimulatorImporter`` (a digital-twin simulator's export, .xlsx/.csv or JSON, or a pushed body):
  one row per contestant matched by exam number or workstation number (both given: they must
  name the same contestant), the total score, the time used and every other column (per step,
  per module) kept in ``details``.

Rules for both: a results file is imported only when every row is right (all or nothing); a row
is bad when its contestant is unknown in the stage or already in an earlier row, its score is
unreadable, negative, above the component's maximum or has more decimals than the stage
publishes, or its time is unreadable or negative. Every row read is kept as an ImportedResult of
the batch; the component's scores (ComponentScore) are added or replaced from them. A file that
would change scores contestants already have needs an explicit confirmation
(``confirm_changes``); without it the file is only checked and the report lists each change,
old → new. A confirmed change is audited with before and after, and the earlier batches whose
scores it replaced are marked superseded (importing one of them again is then a change too).
Scores of contestants absent from the file stay as they are.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import time, timedelta
from decimal import Decimal
from typing import Any, ClassVar

import sqlalchemy as sa
from flask_babel import gettext as _

import scoring as sc
from app.extensions import db
from app.inputs import ID_MAX, hostile_json, parse_number, text_problem, visible_text
from app.models import (
    Component,
    ComponentKind,
    ComponentScore,
    Entry,
    ImportBatch,
    ImportedResult,
    ImportKind,
    ImportStatus,
    ResultsVersion,
    ScoreSource,
    StageEntry,
    User,
    VersionStatus,
    utcnow,
)
from app.models.base import POINTS
from app.services import ServiceError, audit
from app.services.imports import (
    Column,
    Importer,
    ImportFailed,
    Outcome,
    Progress,
    Report,
    Row,
    Table,
    Upload,
    header_name,
    insert_rows,
    register_importer,
    run,
    stored_upload,
)

# The app's learning and theory exports of an online preliminary are results files too
# (app/services/preliminary_import.py): same page, same confirmation of changes.
RESULT_KINDS = (ImportKind.THEORY, ImportKind.DIGITAL_TWIN, ImportKind.APP_LEARNING,
                ImportKind.APP_THEORY)
PROGRESS_EVERY = 500

EXAM_NUMBER = Column("exam_number", "准考证号", (
    "准考证号码", "考号", "准考证", "准考号", "考生号", "考生编号", "考试号", "exam_number", "examno",
    "exam_no"))
WORKSTATION = Column("workstation", "赛位号", (
    "赛位", "工位号", "工位", "机位号", "机位", "赛位编号", "workstation", "workstation_number",
    "station"))
SCORE = Column("points", "成绩", (
    "总分", "得分", "分数", "总成绩", "考试成绩", "理论成绩", "综合得分", "最终得分", "points", "score",
    "total_score", "total"))
TIME_USED = Column("time_used", "用时", (
    "考试用时", "作答用时", "答题用时", "操作用时", "耗时", "用时(秒)", "time_used_seconds",
    "time_used", "duration", "seconds"))
DETAILS = Column("details", "明细", ("details", "详情"))

# Columns never kept as per-step detail: the row's serial, who the contestant is.
_NOT_DETAIL = {header_name(n) for n in (
    "序号", "no", "no.", "姓名", "考生姓名", "选手姓名", "name", "单位", "工作单位", "所在单位",
    "身份证号", "身份证号码", "性别", "手机号码", "备注")}
_QUESTION = re.compile(r"^(?:第)?(\d{1,3})(?:题)?$|^(?:题|题目|q|question)(\d{1,3})$")
_MINUTE_HEADER = re.compile(r"分钟|\(分\)|min")


@dataclass(frozen=True)
class ResultLine:
    """A good row, ready to write."""

    row: int
    stage_entry_id: int
    points: Decimal
    time_used_seconds: int | None
    details: dict[str, Any] | None


@dataclass(frozen=True)
class Change:
    """A contestant whose stored score this file would change."""

    row: int
    stage_entry_id: int
    exam_number: str | None
    workstation: str | None
    old_points: Decimal | None
    new_points: Decimal
    old_time: int | None
    new_time: int | None
    old_batch_id: int | None

    def as_json(self) -> dict[str, Any]:
        return {"row": self.row, "exam_number": self.exam_number,
                "workstation": self.workstation, "old_points": number_text(self.old_points),
                "new_points": number_text(self.new_points), "old_time_used_seconds": self.old_time,
                "new_time_used_seconds": self.new_time}


@dataclass
class Plan:
    lines: list[ResultLine]
    new: list[ResultLine] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    changed_lines: list[ResultLine] = field(default_factory=list)
    details_only: list[ResultLine] = field(default_factory=list)  # same points and time


def number_text(value: Decimal | None) -> str | None:
    """A number as people write it: 81, 75.5 (never 81.000 or 1E+2)."""
    return None if value is None else format(value.normalize(), "f")


# ---------------------------------------------------------------------------------------------
# Reading cells


def _cell_text(raw: Any) -> str:
    """An identifying cell as text: an Excel number 2025010001.0 is 2025010001."""
    if isinstance(raw, float) and raw.is_integer() and abs(raw) < 1e15:
        raw = int(raw)
    return unicodedata.normalize("NFKC", str(raw)).strip()


def read_points(raw: Any) -> Decimal:
    """A score cell as an exact Decimal, read by ``parse_number``: Excel numbers by their 15
    significant digits (what Excel shows), text as written in plain digits (with or without
    分); scientific notation, NaN, infinities and huge values are refused."""
    return parse_number(raw, unit="分")


_CLOCK = re.compile(r"^(\d+):(\d{1,2})(?::(\d{1,2}))?$")
_WORDS = re.compile(r"^(?:(\d+(?:\.\d+)?)(?:小时|时|h))?(?:(\d+(?:\.\d+)?)(?:分钟|分|min|m|'|′))?"
                    r"(?:(\d+(?:\.\d+)?)(?:秒钟|秒|s|\"|″))?$")


def read_seconds(raw: Any, *, minutes: bool = False) -> int:
    """Time used as whole seconds: a number of seconds (of minutes when the column says 分钟),
    mm:ss or h:mm:ss, 12分30秒 / 1小时2分 / 754秒, or an Excel time or duration cell.
    Negative or unreadable time is refused."""
    if isinstance(raw, bool):
        raise ServiceError(_("The time used %(value)s cannot be read; write seconds (754), "
                             "mm:ss (12:34) or 12分34秒.", value=raw))
    if isinstance(raw, timedelta):
        seconds = Decimal(str(raw.total_seconds()))
    elif isinstance(raw, time):
        seconds = Decimal(raw.hour * 3600 + raw.minute * 60 + raw.second)
    elif isinstance(raw, (int, float, Decimal)):
        try:
            seconds = read_points(raw) * (60 if minutes else 1)
        except ServiceError:
            seconds = None
        if seconds is None:
            raise ServiceError(_("The time used %(value)s cannot be read; write seconds (754), "
                                 "mm:ss (12:34) or 12分34秒.", value=raw))
    else:
        text = re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(raw))).lower()
        negative = text.startswith("-")
        body = text.lstrip("-+")
        clock = _CLOCK.match(body)
        words = _WORDS.match(body) if body else None
        if re.fullmatch(r"\d+(?:\.\d+)?", body):
            seconds = Decimal(body) * (60 if minutes else 1)
        elif clock:
            a, b, c = clock.groups()
            if int(b) >= 60 or (c is not None and int(c) >= 60):
                raise ServiceError(_("The time used %(value)s cannot be read; write seconds "
                                     "(754), mm:ss (12:34) or 12分34秒.", value=raw))
            seconds = Decimal(int(a) * 3600 + int(b) * 60 + int(c)) if c is not None else \
                Decimal(int(a) * 60 + int(b))
        elif words and any(words.groups()):
            h, m, s = (Decimal(g) if g else Decimal(0) for g in words.groups())
            seconds = h * 3600 + m * 60 + s
        else:
            raise ServiceError(_("The time used %(value)s cannot be read; write seconds (754), "
                                 "mm:ss (12:34) or 12分34秒.", value=str(raw)[:40]))
        if negative:
            seconds = -seconds
    if seconds < 0:
        raise ServiceError(_("The time used cannot be negative."))
    if seconds > ID_MAX:
        raise ServiceError(_("This number is too large."))
    if seconds != seconds.to_integral_value():
        raise ServiceError(_("The time used must be whole seconds (%(value)s).", value=raw))
    return int(seconds)


def _plain(value: Any) -> Any:
    """A detail value as JSON keeps it exactly: numbers as decimal text."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return visible_text(value.strip()) if isinstance(value, str) else value
    if isinstance(value, (int, float, Decimal)):
        try:
            return number_text(read_points(value))
        except ServiceError:
            return None
    return str(value)


# ---------------------------------------------------------------------------------------------
# The importers


class ResultImporter(Importer):
    """What theory and simulator files share: the component, the stage's contestants, the
    score and time checks, comparing with stored scores and writing them."""

    partial = False  # a results file is imported only when every row is right
    by_workstation: ClassVar[bool] = False

    def __init__(self, component: Component, actor: User | None = None, *,
                 confirm_changes: bool = False):
        self.component = component
        self.actor = actor
        self.target_id = component.id
        self.confirm_changes = confirm_changes
        stage = component.stage
        # Points are published at the stage's decimals; storage keeps POINTS at most.
        self.decimals = min(stage.decimals, POINTS)

    @classmethod
    def for_target(cls, target_id: int, actor: User | None) -> ResultImporter:
        component = db.session.get(Component, target_id)
        if component is None:
            raise ImportFailed(_("No such component."))
        return cls(component, actor)

    def audit_summary(self, batch: ImportBatch) -> str:
        component = self.component
        return (f"导入{component.stage.track.name}·{component.stage.name}·{component.name}成绩 "
                f"{batch.file_name}：{batch.rows} 行，导入 {batch.imported_rows} 行")

    # -- check -------------------------------------------------------------------------------

    def check(self, table: Table, report: Report, progress: Progress) -> Plan | None:
        component = self.component
        if component.source != ScoreSource.IMPORT:
            raise ImportFailed(_("The scores of %(name)s come from the judges' score sheets, "
                                 "not from a file.", name=component.name), code="not_importable")
        self._check_columns(table)
        places = db.session.execute(
            sa.select(StageEntry.id, Entry.exam_number, StageEntry.workstation_number)
            .join(Entry, Entry.id == StageEntry.entry_id)
            .where(StageEntry.stage_id == component.stage_id)).all()
        self.by_exam = {number: place_id for place_id, number, _w in places if number}
        self.by_station = {station: place_id for place_id, _n, station in places if station}
        numeric: dict[int, list[int]] = {}
        for station, place_id in self.by_station.items():
            if station.isdigit():
                numeric.setdefault(int(station), []).append(place_id)
        self.by_station_number = {n: ids[0] for n, ids in numeric.items() if len(ids) == 1}
        self.numbers = {place_id: (number, station) for place_id, number, station in places}
        self.prepare(table, report)

        total = len(table.rows)
        lines: list[ResultLine] = []
        first_row_of: dict[int, int] = {}
        for index, row in enumerate(table.rows):
            if index % PROGRESS_EVERY == 0:
                progress("check", index, total)
            place_id, column = self._place(row, report)
            if place_id is not None:
                first = first_row_of.setdefault(place_id, row.number)
                if first != row.number:
                    report.error(row, column, _("The same contestant is already in row %(row)d.",
                                                row=first))
                    place_id = None
            points = self._points(row, report)
            seconds = self._time(row, report, table)
            details, marked = self.row_details(row, report)
            if marked is not None:
                if points is None and not table.has("points"):
                    points = self._in_range(row, report, marked, "points")
                elif points is not None and points != marked:
                    report.error(row, "points", _(
                        "The score %(score)s does not agree with the answers, which earn "
                        "%(marked)s by the answer key.", score=number_text(points),
                        marked=number_text(marked)))
                    points = None
            if place_id is None or points is None or report.is_bad(row):
                continue
            lines.append(ResultLine(row.number, place_id, points, seconds, details))
        progress("check", total, total)
        if report.errors:
            report.notice(_("A results file is imported only when every row is right: nothing "
                            "will be imported from this file. Correct the rows below and upload "
                            "it again."))
            report.extra.update({"new": 0, "changed": 0, "unchanged": 0, "changes": [],
                                 "confirmation_required": False})
            return None
        return self._compare(lines, report)

    def _check_columns(self, table: Table) -> None:
        if not table.has("exam_number") and not (self.by_workstation and table.has("workstation")):
            if self.by_workstation:
                raise ImportFailed(_("The file needs an exam number (准考证号) or a workstation "
                                     "number (赛位号) column."), field="file")
            raise ImportFailed(_("The file needs an exam number (准考证号) column."), field="file")

    def prepare(self, table: Table, report: Report) -> None:
        """Look at the whole table before the rows (the theory importer finds its questions)."""

    def row_details(self, row: Row, report: Report) -> tuple[dict[str, Any] | None,
                                                             Decimal | None]:
        """The row's details to keep, and the points its answers earn (None: not marked)."""
        return self._given_details(row, report), None

    def _given_details(self, row: Row, report: Report) -> dict[str, Any] | None:
        raw = row.get("details")
        if raw is None:
            return None
        if not isinstance(raw, dict):
            report.error(row, "details", _("Details must be an object of named values."))
            return None
        hostile = hostile_json(raw)
        if hostile:
            report.error(row, "details", hostile[0]["reason"])
            return None
        return _plain(raw)

    def _place(self, row: Row, report: Report) -> tuple[int | None, str]:
        """The stage entry the row names, and the column that named it."""
        raw_exam = row.get("exam_number")
        raw_station = row.get("workstation") if self.by_workstation else None
        exam = _cell_text(raw_exam) if raw_exam is not None else ""
        station = _cell_text(raw_station) if raw_station is not None else ""
        if not exam and not station:
            if self.by_workstation:
                has_exam = report.table is not None and report.table.has("exam_number")
                report.error(row, "exam_number" if has_exam else "workstation",
                             _("Give the exam number or the workstation number."))
            else:
                report.error(row, "exam_number", _("This field is required."))
            return None, "exam_number"
        by_exam = by_station = None
        if exam:
            by_exam = self.by_exam.get(exam)
            if by_exam is None:
                report.error(row, "exam_number", _(
                    "No contestant with exam number %(value)s in this stage.", value=exam))
                return None, "exam_number"
        if station:
            by_station = self.by_station.get(station)
            if by_station is None and isinstance(raw_station, (int, float)) and \
                    float(raw_station).is_integer():
                by_station = self.by_station_number.get(int(raw_station))
            if by_station is None:
                report.error(row, "workstation", _(
                    "No workstation %(value)s in this stage.", value=station))
                return None, "workstation"
        if by_exam is not None and by_station is not None and by_exam != by_station:
            report.error(row, "workstation", _(
                "Exam number %(exam)s is at workstation %(station)s, not %(given)s.",
                exam=exam, station=self.numbers[by_exam][1] or "-", given=station))
            return None, "workstation"
        if by_exam is not None:
            return by_exam, "exam_number"
        return by_station, "workstation"

    def _points(self, row: Row, report: Report) -> Decimal | None:
        raw = row.get("points")
        if raw is None:
            if report.table is not None and report.table.has("points"):
                report.error(row, "points", _("This field is required."))
            return None
        try:
            value = read_points(raw)
        except ServiceError as error:
            report.error(row, "points", error.message)
            return None
        return self._in_range(row, report, value, "points")

    def _in_range(self, row: Row, report: Report, value: Decimal, key: str) -> Decimal | None:
        maximum = self.component.maximum
        if value < 0:
            report.error(row, key, _("The score cannot be negative (%(value)s).",
                                     value=number_text(value)))
            return None
        if value > maximum:
            report.error(row, key, _("The score %(value)s is above the maximum %(maximum)s of "
                                     "this component.", value=number_text(value),
                                     maximum=number_text(maximum.normalize())))
            return None
        if value.as_tuple().exponent < -self.decimals and \
                value != value.quantize(Decimal(1).scaleb(-self.decimals)):
            report.error(row, key, _("The score %(value)s has more than %(n)d decimals.",
                                     value=number_text(value), n=self.decimals))
            return None
        return value.quantize(Decimal(1).scaleb(-self.decimals)) if self.decimals else \
            value.quantize(Decimal(1))

    def _time(self, row: Row, report: Report, table: Table) -> int | None:
        raw = row.get("time_used")
        if raw is None:
            return None
        minutes = bool(_MINUTE_HEADER.search(table.labels.get("time_used", "").lower()))
        try:
            return read_seconds(raw, minutes=minutes)
        except ServiceError as error:
            report.error(row, "time_used", error.message)
            return None

    def _compare(self, lines: list[ResultLine], report: Report) -> Plan:
        """New, changed and unchanged contestants against the component's stored scores."""
        stored = {score.stage_entry_id: score for score in db.session.scalars(
            sa.select(ComponentScore).where(ComponentScore.component_id == self.component.id))}
        plan = Plan(lines)
        for line in lines:
            score = stored.get(line.stage_entry_id)
            if score is None:
                plan.new.append(line)
            elif score.points != line.points or score.time_used_seconds != line.time_used_seconds:
                number, station = self.numbers[line.stage_entry_id]
                plan.changes.append(Change(line.row, line.stage_entry_id, number, station,
                                           score.points, line.points, score.time_used_seconds,
                                           line.time_used_seconds, score.import_batch_id))
                plan.changed_lines.append(line)
            elif (score.details or None) != (line.details or None):
                plan.details_only.append(line)
        unchanged = len(lines) - len(plan.new) - len(plan.changes)
        report.extra.update({
            "new": len(plan.new), "changed": len(plan.changes), "unchanged": unchanged,
            "changes": [c.as_json() for c in plan.changes],
            "confirmation_required": bool(plan.changes) and not self.confirm_changes})
        report.notice(_("%(new)d contestants get a score, %(changed)d scores change, "
                        "%(same)d stay as they are.", new=len(plan.new),
                        changed=len(plan.changes), same=unchanged))
        if plan.changes:
            report.notice(_("%(n)d contestants already have a different score: importing this "
                            "file replaces them and needs your explicit confirmation.",
                            n=len(plan.changes)))
        missing = len(stored.keys() - {line.stage_entry_id for line in lines})
        if missing:
            report.notice(_("%(n)d contestants with a score are not in this file; their scores "
                            "stay as they are.", n=missing))
        published = db.session.scalar(sa.select(ResultsVersion.number).where(
            ResultsVersion.stage_id == self.component.stage_id,
            ResultsVersion.status == VersionStatus.PUBLISHED)
            .order_by(ResultsVersion.number.desc()).limit(1))
        if published is not None:
            report.notice(_("Results of this stage were published (version %(n)d): they do not "
                            "change; the imported scores go into the next results version.",
                            n=published))
        return plan

    # -- write -------------------------------------------------------------------------------

    def write(self, plan: Plan | None, batch: ImportBatch, progress: Progress) -> int:
        from app.services import stage_flow

        if plan is None:
            return 0
        stage_flow.check(self.component.stage, stage_flow.Step.SCORES_IMPORTED)
        if plan.changes and not self.confirm_changes:
            raise ImportFailed(_("%(n)d contestants already have a different score; confirm the "
                                 "changes to import this file.", n=len(plan.changes)),
                               code="confirmation_required")
        total = len(plan.lines)
        progress("write", 0, total)
        component_id = self.component.id
        insert_rows(ImportedResult.__table__,
                    ("stage_entry_id", "row_number", "points", "time_used_seconds", "details"),
                    [(line.stage_entry_id, line.row, line.points, line.time_used_seconds,
                      line.details) for line in plan.lines],
                    constants={"batch_id": batch.id})
        now = utcnow()
        insert_rows(ComponentScore.__table__,
                    ("stage_entry_id", "points", "time_used_seconds", "details"),
                    [(line.stage_entry_id, line.points, line.time_used_seconds, line.details)
                     for line in plan.new],
                    constants={"component_id": component_id, "judges": 0, "complete": True,
                               "disagreement": False, "disqualified": False,
                               "import_batch_id": batch.id, "updated_at": now})
        for line in plan.changed_lines:
            db.session.execute(sa.update(ComponentScore).where(
                ComponentScore.component_id == component_id,
                ComponentScore.stage_entry_id == line.stage_entry_id).values(
                points=line.points, time_used_seconds=line.time_used_seconds,
                details=line.details, import_batch_id=batch.id, updated_at=now))
        for line in plan.details_only:
            db.session.execute(sa.update(ComponentScore).where(
                ComponentScore.component_id == component_id,
                ComponentScore.stage_entry_id == line.stage_entry_id).values(
                details=line.details, updated_at=now))
        if plan.changes:
            self._record_changes(plan.changes, batch)
        stage_flow.advance(self.component.stage, stage_flow.Step.SCORES_IMPORTED, actor=self.actor)
        progress("write", total, total)
        return total

    def _record_changes(self, changes: list[Change], batch: ImportBatch) -> None:
        """The confirmed changes in the audit log, and the batches they replaced superseded."""
        component = self.component

        def key(change: Change) -> str:
            return change.exam_number or change.workstation or str(change.stage_entry_id)

        audit.record(
            f"import.{self.kind.value}.change", batch,
            f"{component.stage.track.name}·{component.name}：导入 {batch.file_name} 更改 "
            f"{len(changes)} 名选手的成绩（经确认）",
            before={key(c): {"points": number_text(c.old_points), "time_used_seconds": c.old_time,
                             "batch_id": c.old_batch_id} for c in changes},
            after={key(c): {"points": number_text(c.new_points), "time_used_seconds": c.new_time,
                            "batch_id": batch.id} for c in changes},
            reason=_("Confirmed by the importer after the dry run showed the changes."),
            actor=self.actor, stage_id=component.stage_id)
        replaced = {c.old_batch_id for c in changes if c.old_batch_id is not None}
        if replaced:
            db.session.execute(sa.update(ImportBatch).where(
                ImportBatch.id.in_(replaced), ImportBatch.status == ImportStatus.IMPORTED)
                .values(status=ImportStatus.SUPERSEDED))


@register_importer
class TheoryImporter(ResultImporter):
    """An exam system's results: score per exam number, optionally the answers per question."""

    kind = ImportKind.THEORY
    columns = (Column(EXAM_NUMBER.key, EXAM_NUMBER.label, EXAM_NUMBER.synonyms, required=True),
               SCORE, TIME_USED, DETAILS)

    def prepare(self, table: Table, report: Report) -> None:
        mapped = set(table.positions.values())
        self.question_columns: dict[int, tuple[int, str]] = {}  # number → (position, header)
        for position, cell in enumerate(table.header):
            if position in mapped or cell is None or cell == "":
                continue
            if isinstance(cell, float) and cell.is_integer():
                cell = int(cell)
            match = _QUESTION.match(header_name(cell))
            if match:
                number = int(match.group(1) or match.group(2))
                self.question_columns.setdefault(number, (position, str(cell).strip()))
        self.key: dict[int, sc.ExamQuestion] = {}
        questions = self.component.questions
        if self.question_columns and questions:
            try:
                self.key = {q.number: q.rule() for q in questions}
            except sc.ScoringError as error:
                raise ImportFailed(_("The answer key of %(name)s is wrong: %(reason)s",
                                     name=self.component.name, reason=str(error))) from None
            missing = sorted(self.key.keys() - self.question_columns.keys())
            extra = sorted(self.question_columns.keys() - self.key.keys())
            if missing:
                raise ImportFailed(_("The answer key has questions %(numbers)s, but the file "
                                     "has no column for them.",
                                     numbers="、".join(map(str, missing))), field="file")
            if extra:
                raise ImportFailed(_("The file has answers to questions %(numbers)s that the "
                                     "answer key does not have.",
                                     numbers="、".join(map(str, extra))), field="file")
            report.notice(_("The answers were marked with the answer key of %(n)d questions.",
                            n=len(self.key)))
        elif self.question_columns:
            report.notice(_("%(name)s has no answer key: the answers are kept with each score "
                            "but not marked.", name=self.component.name))
        if not table.has("points") and not self.key:
            raise ImportFailed(_("The file needs a score column (成绩), or the answers to every "
                                 "question of the component's answer key."), field="file")

    def row_details(self, row: Row, report: Report) -> tuple[dict[str, Any] | None,
                                                             Decimal | None]:
        details = self._given_details(row, report) or {}
        if not self.question_columns:
            return details or None, None
        answers: dict[str, Any] = {}
        earned: dict[str, str] = {}
        marked = Decimal(0)
        ok = True
        for number, (position, header) in sorted(self.question_columns.items()):
            raw = row.cells[position] if position < len(row.cells) else None
            answer = None if raw is None or raw == "" else _cell_text(raw)
            answers[str(number)] = answer
            question = self.key.get(number)
            if question is None:
                continue
            try:
                points = sc.mark_answer(question, answer)
            except sc.ScoringError as error:
                report.error(row, header, str(error))
                ok = False
                continue
            earned[str(number)] = number_text(points)
            marked += points
        details["answers"] = answers
        if self.key:
            details["question_points"] = earned
            return details, marked if ok else None
        return details, None


@register_importer
class SimulatorImporter(ResultImporter):
    """A digital-twin simulator's export or push: by exam or workstation number, total score,
    time used, and every other column kept as per-step detail."""

    kind = ImportKind.DIGITAL_TWIN
    by_workstation = True
    columns = (EXAM_NUMBER, WORKSTATION,
               Column(SCORE.key, SCORE.label, SCORE.synonyms, required=True), TIME_USED, DETAILS)

    def prepare(self, table: Table, report: Report) -> None:
        mapped = set(table.positions.values())
        self.step_columns = [
            (position, str(cell).strip()) for position, cell in enumerate(table.header)
            if position not in mapped and cell is not None and str(cell).strip()
            and header_name(cell) not in _NOT_DETAIL]

    def row_details(self, row: Row, report: Report) -> tuple[dict[str, Any] | None, None]:
        details = self._given_details(row, report) or {}
        steps = {}
        for position, header in self.step_columns:
            raw = row.cells[position] if position < len(row.cells) else None
            if raw is None or raw == "":
                continue
            if isinstance(raw, str) and text_problem(raw):
                report.error(row, header, text_problem(raw))
                continue
            steps[header] = _plain(raw)
        if steps:
            details["steps"] = {**steps, **details.get("steps", {})} \
                if isinstance(details.get("steps"), dict) else steps
        return details or None, None


# ---------------------------------------------------------------------------------------------
# What the console, the CLI and the API call


def result_importer(component: Component, actor: User | None = None, *,
                    confirm_changes: bool = False) -> ResultImporter:
    """The importer for an imported component: the simulator's for a digital twin, the exam
    system's (by exam number) for theory and every other imported component."""
    if component.source != ScoreSource.IMPORT:
        raise ImportFailed(_("The scores of %(name)s come from the judges' score sheets, not "
                             "from a file.", name=component.name), code="not_importable")
    cls = SimulatorImporter if component.kind == ComponentKind.DIGITAL_TWIN else TheoryImporter
    return cls(component, actor, confirm_changes=confirm_changes)


def needs_confirmation(outcome: Outcome) -> bool:
    """The file was only checked because it would change scores and that was not confirmed."""
    return bool(outcome.dry_run and outcome.report.extra.get("confirmation_required"))


def import_results(importer: ResultImporter, upload: Upload, *, dry_run: bool,
                   actor: User | None, progress: Progress | None = None,
                   batch: ImportBatch | None = None) -> Outcome:
    """Check and (unless ``dry_run``) import a results file. Without the importer's
    ``confirm_changes``, a file that would change stored scores is only checked: the outcome
    is that dry run, and ``needs_confirmation(outcome)`` says why nothing was imported."""
    if dry_run or importer.confirm_changes:
        return run(importer, upload, dry_run=dry_run, actor=actor, progress=progress,
                   batch=batch, keep_file=batch is not None)
    checked = run(importer, upload, dry_run=True, actor=actor, progress=progress, batch=batch,
                  keep_file=batch is not None)
    if checked.already_imported or checked.report.errors or needs_confirmation(checked):
        return checked
    return run(importer, upload, dry_run=False, actor=actor, progress=progress,
               batch=checked.batch)


def import_checked(batch: ImportBatch, actor: User | None, *,
                   confirm_changes: bool) -> Outcome:
    """Import a results file checked in the console (checked again: scores may have moved)."""
    if batch.kind not in RESULT_KINDS:
        raise ImportFailed(_("This kind of file cannot be imported here."), code="not_importable")
    if batch.status != ImportStatus.DRY_RUN:
        raise ImportFailed(_("This upload is not waiting for a decision."))
    component = db.session.get(Component, batch.target_id)
    if component is None:
        raise ImportFailed(_("No such component."))
    if batch.kind in (ImportKind.THEORY, ImportKind.DIGITAL_TWIN):
        importer = result_importer(component, actor, confirm_changes=confirm_changes)
    else:
        from app.services.imports import IMPORTERS

        importer = IMPORTERS[batch.kind](component, actor, confirm_changes=confirm_changes)
    return import_results(importer, stored_upload(batch), dry_run=False, actor=actor,
                          batch=batch)


def component_by_codes(contest_code: str | None, track_code: str, stage_seq: int,
                       component_code: str) -> Component:
    """A component named by its contest, track, stage number and code (the CLI's way)."""
    from app.services.registration_import import track_by_codes

    track = track_by_codes(track_code, contest_code)
    stage = next((s for s in track.stages if s.seq == stage_seq), None)
    if stage is None:
        raise ServiceError(_("No stage %(seq)d in track %(track)s.", seq=stage_seq,
                             track=track_code), field="stage", code="not_found")
    component = next((c for c in stage.components if c.code == component_code), None)
    if component is None:
        raise ServiceError(_("No component %(code)s in that stage.", code=component_code),
                           field="component", code="not_found")
    return component


def result_batches(component: Component, limit: int = 30) -> list[ImportBatch]:
    """The component's results files, newest first."""
    return list(db.session.scalars(sa.select(ImportBatch).where(
        ImportBatch.kind.in_(RESULT_KINDS), ImportBatch.target_id == component.id)
        .order_by(ImportBatch.id.desc()).limit(limit)))


def scored_count(component: Component) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(ComponentScore).where(
        ComponentScore.component_id == component.id)) or 0


PUSH_FILE_NAME = "push"


def push_upload(results: list[dict[str, Any]]) -> Upload:
    """A pushed body as an upload: named "push", its content (and so its SHA-256) the
    canonical JSON of the results (sorted keys, no spaces), so the same push twice is the same
    file."""
    import json

    content = json.dumps(results, ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                         default=str).encode("utf-8")
    return Upload(PUSH_FILE_NAME, content, format="json")


def push_scope(component: Component) -> str:
    """The token scope that lets a simulator push results for this component only."""
    return f"component:{component.id}:push"


def stage_people(component: Component) -> int:
    """How many contestants the component's stage has (the rows a complete file holds)."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(StageEntry).where(
        StageEntry.stage_id == component.stage_id)) or 0
