"""An online preliminary imported from the union app's exports, keyed by resident ID number.

The app knows people by ID number, name and phone, never by exam number. Three exports, each
through the one import pipeline (app/services/imports.py: provenance, the same file twice adds
nothing, one transaction), each refused as a whole when any row is wrong:

- ``AppParticipantImporter`` (the participant list, into a preliminary stage): a person already
  entered in the track is matched by ID number (name and phone must agree) and joins the stage;
  a person who registered only in the app becomes an entry of the track through the registration
  import's own checks (app/services/registration_import.py) and joins the stage.
- ``LearningImporter`` (into the stage's learning-points component): either points per person,
  or rows per person, day and task (task kind, item, minutes, quiz score), which the stage's
  current learning-points rule (scoring/learning.py) turns into points; each person's points
  keep the rule version they were computed with, and the rows are kept (LearningRecord).
- ``AppTheoryImporter`` (into the stage's theory component): a score per person.

Learning and theory land on the component's scores exactly as a results import does
(app/services/result_import.py: new, changed with confirmation, unchanged), so computing and
publishing results work unchanged. A row is bad when its ID number is unreadable or names no one
in the stage, when its name (or phone, where given) disagrees with that person's, when it repeats
an earlier row (a duplicate) or gives the same person other values (a conflict).
"""
from __future__ import annotations

import contextlib
import re
from collections.abc import Container
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _

from app.extensions import db
from app.inputs import clean_text, parse_number
from app.models import (
    Component,
    ComponentKind,
    ComponentScore,
    Contestant,
    Entry,
    EntryStatus,
    ImportBatch,
    ImportKind,
    ImportStatus,
    LearningRecord,
    LearningRuleVersion,
    ScoreSource,
    Stage,
    StageEntry,
    StageKind,
    User,
    mask_id_number,
    utcnow,
)
from app.services import ServiceError, audit
from app.services.exports import mask_phone
from app.services.imports import (
    Column,
    ImportFailed,
    Progress,
    Report,
    Row,
    Table,
    insert_rows,
    register_importer,
)
from app.services.registration import check_id_number, check_phone
from app.services.registration_import import COLUMNS as REGISTRATION_COLUMNS
from app.services.registration_import import RegistrationImporter, _stored_name
from app.services.result_import import (
    PROGRESS_EVERY,
    SCORE,
    TIME_USED,
    Plan,
    ResultImporter,
    ResultLine,
    number_text,
)
from scoring.errors import ScoringError
from scoring.learning import Activity, LearningRule, learning_points

APP_KINDS = (ImportKind.APP_PARTICIPANTS, ImportKind.APP_LEARNING, ImportKind.APP_THEORY)
_REGISTRATION = {c.key: c for c in REGISTRATION_COLUMNS}
ID_NUMBER = _REGISTRATION["id_number"]
NAME = Column("name", "姓名", _REGISTRATION["name"].synonyms + ("学员姓名", "用户姓名", "真实姓名"),
              required=True)
PHONE = Column("phone", "手机号码", _REGISTRATION["phone"].synonyms + ("注册手机号",))
LEARNING_POINTS = Column("points", "学习积分", ("积分", "总积分", "学习总积分", "累计积分", "points"))
DAY = Column("day", "日期", ("学习日期", "完成日期", "day", "date"))
TASK_KIND = Column("task_kind", "任务类型", ("学习类型", "任务类别", "类型", "task_kind", "kind"))
ITEM = Column("item", "学习内容", ("内容", "内容名称", "任务名称", "课程", "课程名称", "题目", "item"))
MINUTES = Column("minutes", "时长(分钟)", ("学习时长(分钟)", "学习时长", "时长", "分钟", "minutes"))
QUIZ_SCORE = Column("quiz_score", "答题得分", ("测验得分", "答题成绩", "quiz_score"))
THEORY_SCORE = Column(SCORE.key, "理论成绩", ("成绩", *SCORE.synonyms), required=True)

MAX_MINUTES = 24 * 60
_DAY_TEXT = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
                       r"(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?$")


def _preliminary(stage: Stage) -> None:
    if stage.kind != StageKind.PRELIMINARY:
        raise ImportFailed(_("The app's exports are imported into a preliminary stage only."),
                           code="not_importable")


def known_number(raw: Any, known: Container[str]) -> str | None:
    """The one of the ``known`` ID numbers (stored, so checked when they were stored) a text
    cell reads as (as check_id_number reads it), else None: the full check of 10,000 numbers
    takes seconds, and a known one needs none."""
    if not isinstance(raw, str):
        return None
    try:
        number = clean_text(raw).replace(" ", "").upper()
    except ServiceError:
        return None
    return number if number in known else None


def id_key(raw: Any, known: Container[str] = ()) -> str:
    """An ID number as stored (check_id_number's reading), or ServiceError."""
    return known_number(raw, known) or check_id_number(raw)[0]


def cross_check(raw_name: Any, raw_phone: Any, stored_name: str, stored_phone: str | None
                ) -> list[tuple[str, str]]:
    """A row's name (required) and phone (when given) against the person its ID number names:
    each disagreement as (column, reason), the phones masked."""
    problems: list[tuple[str, str]] = []
    try:
        name = clean_text(raw_name) if raw_name is not None else ""
    except ServiceError as error:
        name, problems = None, [("name", error.message)]
    if name == "":
        problems.append(("name", _("This field is required.")))
    elif name is not None and name != stored_name:
        problems.append(("name", _(
            "The name %(given)s disagrees with this ID number's person (%(stored)s).",
            given=name, stored=stored_name)))
    if raw_phone is not None:
        try:
            phone = check_phone(raw_phone)
        except ServiceError as error:
            problems.append(("phone", error.message))
        else:
            if stored_phone and phone != stored_phone:
                problems.append(("phone", _(
                    "The phone number %(given)s disagrees with this ID number's person "
                    "(%(stored)s).", given=mask_phone(phone), stored=mask_phone(stored_phone))))
    return problems


# ---------------------------------------------------------------------------------------------
# Who a row names


class PeopleById:
    """The stage's people by ID number; a row is matched on its ID number and cross-checked on
    name and (when the file gives one) phone. Each distinct (ID, name, phone) is checked once:
    a learning export repeats them on every row of a person."""

    def __init__(self, stage_id: int):
        self.people: dict[str, tuple[int, str, str | None, str | None]] = {}
        for place_id, number, name, phone, exam in db.session.execute(
                sa.select(StageEntry.id, Contestant.id_number, Contestant.name, Contestant.phone,
                          Entry.exam_number)
                .join(Entry, Entry.id == StageEntry.entry_id)
                .join(Contestant, Contestant.id == Entry.contestant_id)
                .where(StageEntry.stage_id == stage_id)):
            self.people[number] = (place_id, _stored_name(name), phone, exam)
        self.who = {place_id: (exam or mask_id_number(number), None)
                    for number, (place_id, _n, _p, exam) in self.people.items()}
        self._seen: dict[tuple, tuple[int | None, list[tuple[str, str]]]] = {}

    def place(self, row: Row, report: Report) -> int | None:
        key = (row.get("id_number"), row.get("name"), row.get("phone"))
        try:
            place_id, problems = self._seen[key]
        except KeyError:
            place_id, problems = self._seen[key] = self._match(*key)
        for column, reason in problems:
            report.error(row, column, reason)
        return place_id

    def _match(self, raw_id: Any, raw_name: Any, raw_phone: Any
               ) -> tuple[int | None, list[tuple[str, str]]]:
        if raw_id is None:
            return None, [("id_number", _("This field is required."))]
        try:
            number = id_key(raw_id, self.people)
        except ServiceError as error:
            return None, [("id_number", error.message)]
        person = self.people.get(number)
        if person is None:
            return None, [("id_number", _(
                "No one with ID number %(number)s takes part in this stage; import the "
                "participant list first.", number=mask_id_number(number)))]
        place_id, stored_name, stored_phone, _exam = person
        problems = cross_check(raw_name, raw_phone, stored_name, stored_phone)
        return (None if problems else place_id), problems


# ---------------------------------------------------------------------------------------------
# The participant list


@dataclass
class ParticipantPlan:
    registration: Any  # registration_import.Plan for the people new to the track, or None
    join: list[int]  # entries already in the track that join the stage
    known: int


@register_importer
class AppParticipantImporter(RegistrationImporter):
    """The app's participant list into a preliminary stage: known people join the stage, people
    who registered only in the app become entries (the registration import's checks) and join."""

    kind = ImportKind.APP_PARTICIPANTS
    partial = False

    def __init__(self, stage: Stage, actor: User | None = None):
        super().__init__(stage.track, actor)
        self.stage = stage
        self.track_id = stage.track_id
        self.target_id = stage.id

    @classmethod
    def for_target(cls, target_id: int, actor: User | None) -> AppParticipantImporter:
        stage = db.session.get(Stage, target_id)
        if stage is None:
            raise ImportFailed(_("No such stage."))
        return cls(stage, actor)

    def audit_summary(self, batch: ImportBatch) -> str:
        return (f"导入APP参赛名单 {batch.file_name} 至{self.track.name}·{self.stage.name}："
                f"{batch.rows} 行，导入 {batch.imported_rows} 行")

    def check(self, table: Table, report: Report, progress: Progress) -> ParticipantPlan | None:
        _preliminary(self.stage)
        closed = stage_flow_refusal(self.stage)  # a final stage takes no one any more
        if closed:
            raise ImportFailed(closed, code="bad_transition")
        entered: dict[str, tuple[int, EntryStatus, str, str | None]] = {}
        for entry_id, status, number, name, phone in db.session.execute(
                sa.select(Entry.id, Entry.status, Contestant.id_number, Contestant.name,
                          Contestant.phone)
                .join(Contestant, Contestant.id == Entry.contestant_id)
                .where(Entry.track_id == self.track_id)):
            entered[number] = (entry_id, status, _stored_name(name), phone)
        placed = set(db.session.scalars(sa.select(StageEntry.entry_id).where(
            StageEntry.stage_id == self.stage.id)))
        new_rows: list[Row] = []
        join: list[int] = []
        first_row_of: dict[str, int] = {}
        known = 0
        for row in table.rows:
            number = known_number(row.get("id_number"), entered)
            if number is None:
                new_rows.append(row)  # the registration checks name what is wrong
                continue
            first = first_row_of.setdefault(number, row.number)
            if first != row.number:
                report.error(row, "id_number", _("The same ID number is already in row %(row)d.",
                                                 row=first))
                continue
            entry_id, status, stored_name, stored_phone = entered[number]
            ok = True
            if status not in (EntryStatus.SUBMITTED, EntryStatus.ENDORSED, EntryStatus.APPROVED):
                from app.labels import ENTRY_STATUS

                report.error(row, "id_number", _(
                    "This person's entry in the track is %(status)s and cannot take part.",
                    status=ENTRY_STATUS[status]))
                ok = False
            for column, reason in cross_check(row.get("name"), row.get("phone"), stored_name,
                                              stored_phone):
                report.error(row, column, reason)
                ok = False
            if ok:
                known += 1
                if entry_id not in placed:
                    placed.add(entry_id)
                    join.append(entry_id)
        registration = None
        if new_rows:
            # The people new to the track: every check of a registration sheet, on their rows.
            registration = RegistrationImporter.check(self, replace(table, rows=new_rows),
                                                      report, progress)
        if report.errors:
            report.notice(_("The participant list is imported only when every row is right: "
                            "nothing will be imported from this file. Correct the rows below "
                            "and upload it again."))
            return None
        new = len(registration.rows) if registration else 0
        report.extra.update({"new_entries": new, "known": known, "join": len(join)})
        report.notice(_("%(new)d people registered only in the app and become entries of the "
                        "track; %(known)d are already entered, %(join)d of whom join this "
                        "stage now.", new=new, known=known, join=len(join)))
        return ParticipantPlan(registration, join, known)

    def write(self, plan: ParticipantPlan | None, batch: ImportBatch, progress: Progress) -> int:
        if plan is None:
            return 0
        new = RegistrationImporter.write(self, plan.registration, batch, progress) \
            if plan.registration is not None and plan.registration.rows else 0
        now = utcnow()
        db.session.execute(sa.insert(StageEntry).from_select(
            ["stage_id", "entry_id", "created_at"],
            sa.select(sa.literal(self.stage.id), Entry.id, sa.literal(now))
            .where(Entry.import_batch_id == batch.id)))
        insert_rows(StageEntry.__table__, ("entry_id",), [(e,) for e in plan.join],
                    constants={"stage_id": self.stage.id, "created_at": now})
        return new + plan.known


# ---------------------------------------------------------------------------------------------
# Learning and theory results by ID number


class ByIdImporter(ResultImporter):
    """A results file of the app: rows name people by ID number, cross-checked on name and
    phone; the rest (comparing with stored scores, confirming changes, writing) is the results
    import's."""

    component_kind: ComponentKind

    def _start(self, table: Table) -> PeopleById:
        component = self.component
        _preliminary(component.stage)
        if component.kind != self.component_kind:
            raise ImportFailed(self.wrong_component(), code="not_importable")
        if component.source != ScoreSource.IMPORT:
            raise ImportFailed(_("The scores of %(name)s come from the judges' score sheets, "
                                 "not from a file.", name=component.name), code="not_importable")
        people = PeopleById(component.stage_id)
        self.numbers = people.who
        return people

    def wrong_component(self) -> str:
        raise NotImplementedError

    def _refused(self, report: Report) -> None:
        report.notice(_("A results file is imported only when every row is right: nothing "
                        "will be imported from this file. Correct the rows below and upload "
                        "it again."))
        report.extra.update({"new": 0, "changed": 0, "unchanged": 0, "changes": [],
                             "confirmation_required": False})

    def _per_person(self, table: Table, report: Report, progress: Progress,
                    people: PeopleById) -> list[ResultLine]:
        """One row per person with a score: duplicates and conflicts named by row."""
        lines: list[ResultLine] = []
        read: dict[Any, Decimal] = {}
        first: dict[int, tuple[int, Decimal | None, int | None]] = {}
        total = len(table.rows)
        for index, row in enumerate(table.rows):
            if index % PROGRESS_EVERY == 0:
                progress("check", index, total)
            place_id = people.place(row, report)
            points = self._points_once(row, report, read)
            seconds = self._time(row, report, table)
            if place_id is None:
                continue
            if place_id in first:
                earlier, earlier_points, earlier_seconds = first[place_id]
                if (earlier_points, earlier_seconds) == (points, seconds):
                    report.error(row, "id_number", _(
                        "This row repeats row %(row)d (a duplicate).", row=earlier))
                else:
                    report.error(row, "points", _(
                        "This person is already in row %(row)d with %(points)s; the two rows "
                        "conflict.", row=earlier, points=number_text(earlier_points) or "-"))
                continue
            first[place_id] = (row.number, points, seconds)
            if points is None or report.is_bad(row):
                continue
            lines.append(ResultLine(row.number, place_id, points, seconds, None))
        progress("check", total, total)
        return lines


    def _points_once(self, row: Row, report: Report, read: dict[Any, Decimal]
                     ) -> Decimal | None:
        """The row's score, each distinct good cell value read once (a bad one is read, and
        reported, on every row that has it)."""
        raw = row.get("points")
        try:
            return read[raw]
        except (KeyError, TypeError):
            pass
        points = self._points(row, report)
        if points is not None and raw is not None:
            with contextlib.suppress(TypeError):  # an unhashable cell is read on every row
                read[raw] = points
        return points


@register_importer
class AppTheoryImporter(ByIdImporter):
    """The app's theory results: a score (and optionally the time used) per ID number."""

    kind = ImportKind.APP_THEORY
    component_kind = ComponentKind.THEORY
    columns = (ID_NUMBER, NAME, PHONE, THEORY_SCORE, TIME_USED)

    def wrong_component(self) -> str:
        return _("The app's theory results go into a theory component.")

    def audit_summary(self, batch: ImportBatch) -> str:
        c = self.component
        return (f"导入APP理论成绩 {batch.file_name} 至{c.stage.track.name}·{c.stage.name}·"
                f"{c.name}：{batch.rows} 行，导入 {batch.imported_rows} 行")

    def check(self, table: Table, report: Report, progress: Progress) -> Plan | None:
        people = self._start(table)
        lines = self._per_person(table, report, progress, people)
        if report.errors:
            self._refused(report)
            return None
        return self._compare(lines, report)


@dataclass
class LearningPlan(Plan):
    records: list[tuple] = field(default_factory=list)


@register_importer
class LearningImporter(ByIdImporter):
    """The app's learning export: points per person, or rows per person, day and task turned
    into points by the stage's current learning-points rule (its version kept with each
    person's points, the rows kept as LearningRecords)."""

    kind = ImportKind.APP_LEARNING
    component_kind = ComponentKind.LEARNING_POINTS
    columns = (ID_NUMBER, NAME, PHONE, LEARNING_POINTS, DAY, TASK_KIND, ITEM, MINUTES,
               QUIZ_SCORE)

    def wrong_component(self) -> str:
        return _("The app's learning records go into a learning-points component.")

    def audit_summary(self, batch: ImportBatch) -> str:
        c = self.component
        return (f"导入APP学习记录 {batch.file_name} 至{c.stage.track.name}·{c.stage.name}·"
                f"{c.name}：{batch.rows} 行，导入 {batch.imported_rows} 行")

    def check(self, table: Table, report: Report, progress: Progress) -> Plan | None:
        people = self._start(table)
        if not table.has("day"):
            if not table.has("points"):
                raise ImportFailed(_("The file needs either a points column (学习积分) or the "
                                     "learning rows: date (日期), task kind (任务类型), item "
                                     "(学习内容), minutes (时长(分钟)) and quiz score (答题得分)."),
                                   field="file")
            lines = self._per_person(table, report, progress, people)
            if report.errors:
                self._refused(report)
                return None
            report.notice(_("The file gives each person's points: they are taken as the app "
                            "computed them, without the stage's learning-points rule."))
            return self._compare(lines, report)
        for key in ("task_kind", "item"):
            if not table.has(key):
                raise ImportFailed(_("Learning rows need the column %(column)s.",
                                     column={"task_kind": TASK_KIND.label,
                                             "item": ITEM.label}[key]), field="file")
        version = current_rule(self.component.stage)
        if version is None:
            raise ImportFailed(_("Set the stage's learning-points rule before importing learning "
                                 "rows."), code="not_ready")
        rule = rule_of(version, self.component)
        return self._rows(table, report, progress, people, rule, version.version)

    def _rows(self, table: Table, report: Report, progress: Progress, people: PeopleById,
              rule: LearningRule, version: int) -> Plan | None:
        """Every learning row checked; each person's rows turned into points by ``rule``.

        An export repeats the same few thousand (date, task, item, minutes, score) over
        200,000 rows, and each person's ID, name and phone on all of theirs: each distinct
        one is read and checked once, and its verdict (the values, or the errors) replayed."""
        activities: dict[int, list[Activity]] = {}
        first_row: dict[int, int] = {}
        seen: dict[tuple, int] = {}
        records: list[tuple] = []
        verdicts: dict[tuple, tuple[Activity | None, list[tuple[str, str]]]] = {}
        positions = [table.positions.get(key) for key in
                     ("day", "task_kind", "item", "minutes", "quiz_score")]
        total = len(table.rows)
        for index, row in enumerate(table.rows):
            if index % PROGRESS_EVERY == 0:
                progress("check", index, total)
            place_id = people.place(row, report)
            cells = row.cells
            raw = tuple(None if p is None or p >= len(cells) or cells[p] == "" else cells[p]
                        for p in positions)
            try:
                activity, problems = verdicts[raw]
            except KeyError:
                activity, problems = verdicts[raw] = self._activity(raw, rule)
            for column, reason in problems:
                report.error(row, column, reason)
            if place_id is None or activity is None:
                continue
            key = (place_id, activity)
            earlier = seen.setdefault(key, row.number)
            if earlier != row.number:
                report.error(row, "id_number", _(
                    "This row repeats row %(row)d (a duplicate).", row=earlier))
                continue
            if place_id not in first_row:
                first_row[place_id] = row.number
                activities[place_id] = []
            activities[place_id].append(activity)
            records.append((place_id, row.number, activity.day, activity.kind, activity.item,
                            activity.minutes, activity.score))
        progress("check", total, total)
        if report.errors:
            self._refused(report)
            return None
        lines = []
        for place_id, rows in activities.items():
            earned = learning_points(rule, rows)
            lines.append(ResultLine(first_row[place_id], place_id, earned.points, None,
                                    {"rule_version": version, **earned.as_json()}))
        report.notice(_("Learning points computed with version %(version)d of the stage's "
                        "learning-points rule from %(rows)d rows of %(people)d people.",
                        version=version, rows=len(records), people=len(lines)))
        plan = self._compare(lines, report)
        return LearningPlan(**vars(plan), records=records)

    def _activity(self, raw: tuple, rule: LearningRule
                  ) -> tuple[Activity | None, list[tuple[str, str]]]:
        """One learning row's date, task kind, item, minutes and quiz score read and checked:
        the activity, or the errors (column, reason)."""
        raw_day, raw_kind, raw_item, raw_minutes, raw_score = raw
        problems: list[tuple[str, str]] = []

        def required() -> str:
            return _("This field is required.")

        day = None
        if raw_day is None:
            problems.append(("day", required()))
        else:
            try:
                day = read_day(raw_day, self.component.stage)
            except ServiceError as error:
                problems.append(("day", error.message))

        def text(key: str, value: Any, limit: int) -> str | None:
            if value is None:
                problems.append((key, required()))
                return None
            try:
                value = clean_text(value)
            except ServiceError as error:
                problems.append((key, error.message))
                return None
            if not value:
                problems.append((key, required()))
                return None
            if len(value) > limit:
                problems.append((key, _("At most %(n)s characters.") % {"n": limit}))
                return None
            return value

        kind_name = text("task_kind", raw_kind, 40)
        kind = rule.by_name.get(kind_name) if kind_name else None
        if kind_name and kind is None:
            problems.append(("task_kind", _(
                "The task kind %(kind)s is not in the stage's learning-points rule "
                "(%(kinds)s).", kind=kind_name, kinds="、".join(rule.by_name))))
        item = text("item", raw_item, 200)

        def number(key: str, value: Any, maximum: Decimal, places: int) -> Decimal | None:
            if value is None:
                return None
            try:
                return parse_number(value, places=places, minimum=0, maximum=maximum,
                                    field=key)
            except ServiceError as error:
                problems.append((key, error.message))
                return None

        minutes = number("minutes", raw_minutes, Decimal(MAX_MINUTES), 2)
        score = number("quiz_score", raw_score, kind.full_marks if kind is not None and
                       kind.full_marks is not None else Decimal(10 ** 6), 3)
        if kind is not None:
            if kind.by_time and raw_minutes is None:
                problems.append(("minutes", _("A %(kind)s row needs its minutes.",
                                              kind=kind.name)))
            if not kind.by_time and raw_score is None:
                problems.append(("quiz_score", _("A %(kind)s row needs its quiz score.",
                                                 kind=kind.name)))
        if problems:
            return None, problems
        return Activity(day, kind_name, item, minutes, score), problems

    def write(self, plan: Plan | None, batch: ImportBatch, progress: Progress) -> int:
        written = super().write(plan, batch, progress)
        if isinstance(plan, LearningPlan) and plan.records:
            insert_rows(LearningRecord.__table__,
                        ("stage_entry_id", "row_number", "day", "task_kind", "item", "minutes",
                         "quiz_score"), plan.records, constants={"batch_id": batch.id})
        return written


def read_day(raw: Any, stage: Stage) -> date:
    """A learning row's date: an Excel date cell, or text 2025-07-01 / 2025/7/1 / 2025年7月1日
    (a time after it is ignored); inside the stage's dates when the stage has them."""
    if isinstance(raw, datetime):
        day = raw.date()
    elif isinstance(raw, date):
        day = raw
    else:
        match = _DAY_TEXT.match(clean_text(str(raw)))
        try:
            day = date(*map(int, match.groups())) if match else None
        except ValueError:
            day = None
        if day is None:
            raise ServiceError(_("The date %(value)s cannot be read; write it as 2025-07-01.",
                                 value=str(raw)[:40]), field="day")
    if (stage.starts_on and day < stage.starts_on) or (stage.ends_on and day > stage.ends_on):
        raise ServiceError(_("The date %(day)s is outside the stage's dates.",
                             day=day.isoformat()), field="day")
    return day


# ---------------------------------------------------------------------------------------------
# The learning-points rule, versioned with the stage


def current_rule(stage: Stage) -> LearningRuleVersion | None:
    """The stage's learning-points rule in force: its latest version."""
    return db.session.scalar(sa.select(LearningRuleVersion)
                             .where(LearningRuleVersion.stage_id == stage.id)
                             .order_by(LearningRuleVersion.version.desc()).limit(1))


def rule_versions(stage: Stage) -> list[LearningRuleVersion]:
    return list(db.session.scalars(sa.select(LearningRuleVersion)
                                   .where(LearningRuleVersion.stage_id == stage.id)
                                   .order_by(LearningRuleVersion.version.desc())))


def learning_component(stage: Stage) -> Component | None:
    return next((c for c in stage.components if c.kind == ComponentKind.LEARNING_POINTS), None)


def rule_of(version: LearningRuleVersion, component: Component | None) -> LearningRule:
    """A stored version as the rule scoring/learning.py applies: capped at the learning
    component's maximum, rounded to the stage's decimals."""
    stage_decimals = min(version_stage(version).decimals, 3)
    return LearningRule.from_json(version.rule,
                                  total_cap=component.maximum if component is not None else None,
                                  decimals=stage_decimals)


def version_stage(version: LearningRuleVersion) -> Stage:
    return db.session.get(Stage, version.stage_id)


def save_rule(stage: Stage, rule: dict[str, Any], actor: User | None,
              note: str | None = None) -> LearningRuleVersion:
    """A new version of the stage's learning-points rule (earlier versions stay as they were,
    and points keep the version they were computed with); audited with before and after. The
    same rule as the one in force adds nothing."""
    if stage.kind != StageKind.PRELIMINARY:
        raise ServiceError(_("Only a preliminary stage has a learning-points rule."),
                           code="invalid")
    component = learning_component(stage)
    try:
        checked = LearningRule.from_json(rule, decimals=min(stage.decimals, 3))
    except ScoringError as error:
        raise ServiceError(error.message, field="rule") from None
    stored = checked.as_json()
    if component is not None and checked.total_cap is not None \
            and checked.total_cap > component.maximum:
        raise ServiceError(_("The total cap cannot be above the maximum of %(name)s (%(max)s).",
                             name=component.name, max=number_text(component.maximum)),
                           field="total_cap")
    held = current_rule(stage)
    if held is not None and held.rule == stored:
        return held
    version = LearningRuleVersion(stage_id=stage.id, version=(held.version if held else 0) + 1,
                                  rule=stored, note=note or None,
                                  created_by_id=actor.id if actor is not None else None)
    db.session.add(version)
    db.session.flush()
    audit.record("learning_rule.save", version,
                 f"{stage.track.name}·{stage.name}：学习积分规则第 {version.version} 版",
                 before=held.rule if held is not None else None, after=stored, reason=note,
                 actor=actor, stage_id=stage.id)
    return version


# ---------------------------------------------------------------------------------------------
# What the pages show


@dataclass(frozen=True)
class LearningLine:
    """A person's learning points as the page shows them."""

    exam_number: str | None
    name: str
    masked_id: str
    points: str
    rule_version: int | None  # None: points as the app gave them
    days: int


def learning_lines(component: Component, limit: int = 200) -> list[LearningLine]:
    """The component's stored points with the rule version each was computed with."""
    rows = db.session.execute(
        sa.select(Entry.exam_number, Contestant.name, Contestant.id_number,
                  ComponentScore.points, ComponentScore.details)
        .join(StageEntry, StageEntry.id == ComponentScore.stage_entry_id)
        .join(Entry, Entry.id == StageEntry.entry_id)
        .join(Contestant, Contestant.id == Entry.contestant_id)
        .where(ComponentScore.component_id == component.id)
        .order_by(ComponentScore.points.desc(), Contestant.id_number).limit(limit))
    lines = []
    for exam, name, number, points, details in rows:
        details = details or {}
        lines.append(LearningLine(exam, name, mask_id_number(number),
                                  number_text(points) or "-", details.get("rule_version"),
                                  len(details.get("days") or {})))
    return lines


def app_batches(stage: Stage, limit: int = 30) -> list[ImportBatch]:
    """The app's files imported or checked for this stage, newest first."""
    targets = [c.id for c in stage.components]
    return list(db.session.scalars(sa.select(ImportBatch).where(sa.or_(
        sa.and_(ImportBatch.kind == ImportKind.APP_PARTICIPANTS, ImportBatch.target_id == stage.id),
        sa.and_(ImportBatch.kind.in_((ImportKind.APP_LEARNING, ImportKind.APP_THEORY)),
                ImportBatch.target_id.in_(targets or [0]))))
        .where(ImportBatch.status != ImportStatus.CHECKING)
        .order_by(ImportBatch.id.desc()).limit(limit)))


def app_importer(stage: Stage, export: str, actor: User | None):
    """The importer for one of the app's exports into ``stage``: the participant list into
    the stage, learning into its learning-points component, theory into its theory one."""
    if export == ImportKind.APP_PARTICIPANTS.value:
        return AppParticipantImporter(stage, actor)
    kind = {ImportKind.APP_LEARNING.value: ComponentKind.LEARNING_POINTS,
            ImportKind.APP_THEORY.value: ComponentKind.THEORY}.get(export)
    if kind is None:
        raise ServiceError(_("Choose which export of the app this file is."), field="export")
    component = next((c for c in stage.components
                      if c.kind == kind and c.source == ScoreSource.IMPORT), None)
    if component is None:
        raise ServiceError(_("The stage has no imported %(kind)s component.",
                             kind=_("learning-points") if kind == ComponentKind.LEARNING_POINTS
                             else _("theory")), field="export", code="not_found")
    cls = LearningImporter if kind == ComponentKind.LEARNING_POINTS else AppTheoryImporter
    return cls(component, actor)


# ---------------------------------------------------------------------------------------------
# Points again under the rule in force


@dataclass(frozen=True)
class Recount:
    """A person whose points were computed with another version than the one in force."""

    stage_entry_id: int
    who: str  # exam number (or masked ID number) and name
    old_points: Decimal
    new_points: Decimal
    old_version: int
    details: dict[str, Any]


def learning_recounts(stage: Stage) -> tuple[LearningRuleVersion | None, list[Recount]]:
    """Each person whose learning points came from learning rows under an older version of the
    stage's rule, with the points the version in force gives the same rows: the rows of the
    latest imported file that held that person."""
    component = learning_component(stage)
    version = current_rule(stage)
    if component is None or version is None:
        return version, []
    rule = rule_of(version, component)
    stale = {place_id: (points, details) for place_id, points, details in db.session.execute(
        sa.select(ComponentScore.stage_entry_id, ComponentScore.points, ComponentScore.details)
        .where(ComponentScore.component_id == component.id))
        if details and details.get("rule_version") not in (None, version.version)}
    if not stale:
        return version, []
    batches = sa.select(ImportBatch.id).where(
        ImportBatch.kind == ImportKind.APP_LEARNING, ImportBatch.target_id == component.id,
        ImportBatch.status.in_((ImportStatus.IMPORTED, ImportStatus.SUPERSEDED)))
    rows: dict[int, tuple[int, list[Activity]]] = {}
    for place_id, batch_id, day, kind, item, minutes, score in db.session.execute(
            sa.select(LearningRecord.stage_entry_id, LearningRecord.batch_id, LearningRecord.day,
                      LearningRecord.task_kind, LearningRecord.item, LearningRecord.minutes,
                      LearningRecord.quiz_score)
            .where(LearningRecord.batch_id.in_(batches))
            .order_by(LearningRecord.batch_id.desc(), LearningRecord.row_number)):
        if place_id not in stale:
            continue
        held = rows.setdefault(place_id, (batch_id, []))
        if held[0] == batch_id:
            held[1].append(Activity(day, kind, item, minutes, score))
    who = PeopleById(stage.id)
    names = {place_id: name for place_id, name, _p, _e in who.people.values()}
    recounts = []
    for place_id, (_batch, activities) in rows.items():
        try:
            earned = learning_points(rule, activities)
        except ScoringError as error:
            raise ServiceError(_("The rule in force cannot count the stored learning rows: "
                                 "%(reason)s", reason=error.message), code="conflict") from None
        old_points, old_details = stale[place_id]
        recounts.append(Recount(place_id, f"{who.who[place_id][0]} {names[place_id]}",
                                old_points, earned.points, old_details["rule_version"],
                                {"rule_version": version.version, **earned.as_json()}))
    recounts.sort(key=lambda r: r.who)
    return version, recounts


def stale_learning_count(stage: Stage) -> int:
    """How many people's learning points were computed with another version than the one in
    force (the page offers to count them again)."""
    component, version = learning_component(stage), current_rule(stage)
    if component is None or version is None:
        return 0
    return sum(1 for (details,) in db.session.execute(
        sa.select(ComponentScore.details).where(ComponentScore.component_id == component.id))
        if details and details.get("rule_version") not in (None, version.version))


def recount_confirmation(stage: Stage):
    """What counting the learning points again under the rule in force will do."""
    from app.services.confirmations import Confirmation, _stamp

    version, recounts = learning_recounts(stage)
    changed = [r for r in recounts if r.new_points != r.old_points]
    lines = [_("%(n)d people's learning points were computed with an earlier version of the "
               "rule; they are counted again from their stored learning rows with version "
               "%(version)d.", n=len(recounts), version=version.version if version else 0)]
    lines += [_("%(who)s: %(old)s (version %(v)d) → %(new)s", who=r.who,
                old=number_text(r.old_points), v=r.old_version, new=number_text(r.new_points))
              for r in changed[:20]]
    if len(changed) > 20:
        lines.append(_(" (and %(more)d more)", more=len(changed) - 20))
    lines.append(_("Published results do not change; the new points go into the next results "
                   "version."))
    blocked = not recounts or bool(stage_flow_refusal(stage))
    return Confirmation(_("Count the learning points again?"), lines,
                        _("Yes, count them again"),
                        _stamp("learning-recount", stage.id, version.id if version else None,
                               [(r.stage_entry_id, str(r.new_points)) for r in recounts]),
                        blocked)


def stage_flow_refusal(stage: Stage) -> str | None:
    from app.services import stage_flow

    return stage_flow.refusal(stage, stage_flow.Step.SCORES_IMPORTED)


def recount_learning(stage: Stage, actor: User | None) -> int:
    """Count again, under the rule in force, the learning points of every person whose points
    an earlier version computed (from their stored rows); audited with each person's points and
    version before and after. Returns how many people were counted again."""
    from app.services import stage_flow

    version, recounts = learning_recounts(stage)
    if not recounts:
        raise ServiceError(_("Every person's learning points already follow the rule in force."),
                           code="conflict")
    stage_flow.check(stage, stage_flow.Step.SCORES_IMPORTED)
    component = learning_component(stage)
    now = utcnow()
    for r in recounts:
        db.session.execute(sa.update(ComponentScore).where(
            ComponentScore.component_id == component.id,
            ComponentScore.stage_entry_id == r.stage_entry_id).values(
            points=r.new_points, details=r.details, updated_at=now))
    audit.record(
        "learning.recount", version,
        f"{stage.track.name}·{stage.name}：按学习积分规则第 {version.version} 版重新计算 "
        f"{len(recounts)} 人的学习积分",
        before={r.who: {"points": number_text(r.old_points), "rule_version": r.old_version}
                for r in recounts},
        after={r.who: {"points": number_text(r.new_points), "rule_version": version.version}
               for r in recounts},
        reason=_("The learning-points rule changed (version %(n)d).", n=version.version),
        actor=actor, stage_id=stage.id)
    db.session.flush()
    return len(recounts)
