"""A theory exam's answer key to and from Excel: one row per question (题号, 题型, 标准答案, 分值,
部分得分, 能力). Import goes through the one import pipeline (app/services/imports.py) and
replaces the whole key, only when every row is right and only while the component has no
scores: once answers have been marked, a key changes through the exam quality page, which
re-marks them and makes a new results version (app/services/exam_quality.py)."""
from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
import xlsxwriter
from flask_babel import gettext as _

import scoring as sc
from app.extensions import db
from app.models import (
    Component,
    ComponentKind,
    ComponentScore,
    ExamQuestion,
    ImportBatch,
    ImportKind,
    QuestionKind,
    User,
)
from app.services import ServiceError, audit
from app.services.contests import Problems, decimal
from app.services.imports import (
    Column,
    Importer,
    ImportFailed,
    Progress,
    Report,
    Table,
    register_importer,
)
from app.services.registration import clean_text

COLUMNS = (
    Column("number", "题号", ("题目编号", "序号", "试题编号"), required=True),
    Column("kind", "题型", ("题目类型", "类型", "试题类型")),
    Column("answer_key", "标准答案", ("答案", "正确答案", "参考答案"), required=True),
    Column("points", "分值", ("分数", "满分", "配分"), required=True),
    Column("partial_credit", "部分得分", ("少选得分", "漏选得分", "部分分")),
    Column("ability", "能力", ("能力标签", "考查能力", "对应能力")),
)

KIND_WORDS = {QuestionKind.SINGLE_CHOICE: "单选", QuestionKind.MULTIPLE_CHOICE: "多选",
              QuestionKind.TRUE_FALSE: "判断", QuestionKind.OTHER: "填空"}
_KIND_SYNONYMS = {
    QuestionKind.SINGLE_CHOICE: ("单选题", "单项选择", "单项选择题", "单"),
    QuestionKind.MULTIPLE_CHOICE: ("多选题", "多项选择", "多项选择题", "多"),
    QuestionKind.TRUE_FALSE: ("判断题", "是非题", "对错"),
    QuestionKind.OTHER: ("填空题", "其他", "简答"),
}


def _word(raw: Any) -> str:
    return clean_text(raw).lower().replace(" ", "")


_KINDS = {_word(w): kind for kind, label in KIND_WORDS.items()
          for w in (label, kind.value, *_KIND_SYNONYMS[kind])}


def check_replaceable(component: Component) -> None:
    """A key is loaded whole only into a theory component that has no scores yet."""
    if component.kind != ComponentKind.THEORY:
        raise ServiceError(_("Only a theory exam has an answer key."), code="conflict")
    if db.session.scalar(sa.select(ComponentScore.id).where(
            ComponentScore.component_id == component.id).limit(1)):
        raise ServiceError(_("%(name)s already has scores: correct a question's key on the exam "
                             "quality page, which re-marks the answers and makes a new results "
                             "version.", name=component.name), code="conflict")


@register_importer
class AnswerKeyImporter(Importer):
    """A whole answer key from a sheet, replacing the component's key."""

    kind = ImportKind.ANSWER_KEY
    columns = COLUMNS
    partial = False  # half a key marks nobody right

    def __init__(self, component: Component, actor: User | None = None):
        self.component = component
        self.actor = actor
        self.target_id = component.id

    @classmethod
    def for_target(cls, target_id: int, actor: User | None) -> AnswerKeyImporter:
        component = db.session.get(Component, target_id)
        if component is None:
            raise ServiceError(_("No such component."))
        return cls(component, actor)

    def audit_summary(self, batch: ImportBatch) -> str:
        return (f"从 Excel 导入标准答案 {batch.file_name} 至 {self.component.name}："
                f"{batch.imported_rows} 题")

    def check(self, table: Table, report: Report, progress: Progress) -> list[dict] | None:
        try:
            check_replaceable(self.component)
        except ServiceError as error:
            raise ImportFailed(error.message) from None
        abilities = {}
        for ability in self.component.stage.track.contest.abilities:
            for name in (ability.name, ability.code):
                abilities[_word(name)] = ability.id
        plan: list[dict] = []
        seen: set[int] = set()
        progress("check", 0, len(table.rows))
        for row in table.rows:
            problems = Problems()
            values = {name: row.get(name) for name in ("number", "points", "partial_credit")}
            for name in ("number", "points", "partial_credit"):
                if isinstance(values[name], float) and values[name].is_integer():
                    values[name] = int(values[name])
            number = decimal(values, "number", problems, places=0, required=True)
            if number is not None and not 1 <= number <= 10_000:
                problems.add("number", _("Write a question number from 1 to 10000."))
                number = None
            if number is not None and int(number) in seen:
                problems.add("number", _("Question %(n)s appears twice.", n=int(number)))
            points = decimal(values, "points", problems, places=3, required=True)
            partial = decimal(values, "partial_credit", problems, places=3)
            raw_kind = clean_text(row.get("kind"))
            kind = _KINDS.get(_word(raw_kind)) if raw_kind else QuestionKind.SINGLE_CHOICE
            if kind is None:
                problems.add("kind", _("%(value)s is not known here; write one of %(words)s.",
                                       value=raw_kind, words="、".join(KIND_WORDS.values())))
            key = clean_text(row.get("answer_key"))
            ability_id = None
            ability = clean_text(row.get("ability"))
            if ability:
                ability_id = abilities.get(_word(ability))
                if ability_id is None:
                    problems.add("ability", _("%(value)s is not an ability of this contest.",
                                              value=ability))
            if not problems and number is not None and kind is not None:
                try:  # the scoring engine's own checks: points, partial credit, the key
                    sc.ExamQuestion(int(number), kind.value, key, points, partial)
                except sc.ScoringError as error:
                    problems.add("partial_credit" if "部分得分" in str(error) else
                                 "points" if "分值" in str(error) else "answer_key", str(error))
            for field, message in problems.errors.items():
                report.error(row, field, message)
            if number is not None:
                seen.add(int(number))
            plan.append({"number": int(number) if number is not None else None, "kind": kind,
                         "answer_key": key, "points": points,
                         "partial_credit": partial or None, "ability_id": ability_id})
        progress("check", len(table.rows), len(table.rows))
        if report.errors or not plan:
            report.notice(_("The sheet has no questions.") if not plan else
                          _("An answer key is replaced only when every row is right; correct "
                            "the rows below and upload the file again."))
            return None
        if self.component.questions:
            report.notice(_("Importing replaces the current answer key of %(name)s "
                            "(%(n)d questions).", name=self.component.name,
                            n=len(self.component.questions)))
        return plan

    def write(self, plan: list[dict] | None, batch: ImportBatch, progress: Progress) -> int:
        if plan is None:
            return 0
        try:
            check_replaceable(self.component)
        except ServiceError as error:
            raise ImportFailed(error.message) from None
        before = len(self.component.questions)
        self.component.questions.clear()
        db.session.flush()
        for values in sorted(plan, key=lambda v: v["number"]):
            self.component.questions.append(ExamQuestion(**values))
        db.session.flush()
        audit.record("exam.key_import", self.component,
                     f"{self.component.name} 标准答案：{before} 题 → {len(plan)} 题",
                     before={"questions": before}, after={"questions": len(plan)},
                     actor=self.actor, stage_id=self.component.stage_id)
        return len(plan)


def export_key(component: Component) -> bytes:
    """The component's answer key in the import layout (an empty key is the template)."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_numbers": False,
                                        "strings_to_formulas": False, "strings_to_urls": False})
    sheet = book.add_worksheet("标准答案")
    title = book.add_format({"bold": True, "font_size": 14, "align": "center"})
    header = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    number_format = book.add_format({"num_format": "0.###"})
    stage = component.stage
    headers = [c.label for c in COLUMNS]
    sheet.merge_range(0, 0, 0, len(headers) - 1,
                      f"{stage.track.name} {stage.name} {component.name} 标准答案", title)
    sheet.write_row(1, 0, headers, header)
    sheet.freeze_panes(2, 0)
    for index, width in enumerate((8, 8, 14, 8, 10, 14)):
        sheet.set_column(index, index, width)
    for offset, question in enumerate(component.questions, start=2):
        sheet.write_number(offset, 0, question.number)
        sheet.write_string(offset, 1, KIND_WORDS[question.kind])
        sheet.write_string(offset, 2, question.answer_key)
        sheet.write_number(offset, 3, float(question.points), number_format)
        if question.partial_credit:
            sheet.write_number(offset, 4, float(question.partial_credit), number_format)
        if question.ability is not None:
            sheet.write_string(offset, 5, question.ability.name)
    book.close()
    return buffer.getvalue()


def export_name(component: Component) -> str:
    stage = component.stage
    return f"{stage.track.name}-{stage.name}-{component.name}-标准答案.xlsx"


def points_total(component: Component) -> Decimal:
    return sum((q.points for q in component.questions), Decimal(0))
