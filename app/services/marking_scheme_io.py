"""Marking schemes to and from Excel, so chief judges can write them in the tool they use.

The sheet has one row per node in order (criterion → sub-criterion → item), each naming its
parent by code; the columns are those of ``COLUMNS`` with Chinese headers. Import goes through
the one import pipeline (app/services/imports.py) and replaces the whole scheme with
``marking_schemes.replace_scheme``, which checks every node by the same rules as the editor.
A scheme is replaced only when every row is right, and never once the component has scores.
"""
from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

import xlsxwriter
from flask_babel import gettext as _

from app.extensions import db
from app.inputs import clean_text
from app.models import (
    Component,
    DisqualifyScope,
    ImportBatch,
    ImportKind,
    ItemKind,
    MarkingNode,
    User,
)
from app.services import FieldErrors, ServiceError
from app.services import marking_schemes as schemes
from app.services.contests import Problems
from app.services.imports import (
    Column,
    Importer,
    ImportFailed,
    Progress,
    Report,
    Row,
    Table,
    register_importer,
)

GRADES = ("0", "1", "2", "3")
COLUMNS = (
    Column("code", "编码", ("编号", "代码", "项目编码", "序号编码"), required=True),
    Column("parent", "上级编码", ("父级编码", "上级", "所属编码", "上级编号")),
    Column("node", "层级", ("节点类型", "级别", "节点")),
    Column("title", "名称", ("标题", "评分内容", "内容", "项目名称", "评分项名称"), required=True),
    Column("kind", "类型", ("评分类型", "评分方式", "方式", "项目类型")),
    Column("maximum", "满分", ("分值", "配分", "最高分", "满分值")),
    Column("all_or_nothing", "全有或全无", ("全对才得分", "全有全无")),
    Column("deduction_per_occurrence", "每次扣分", ("扣分/次", "每处扣分", "单次扣分")),
    Column("disqualify_scope", "否决范围", ("失格范围", "否决对象")),
    Column("ability", "能力", ("能力标签", "考查能力", "对应能力")),
    *(Column(f"descriptor_{g}", f"评价{g}级", (f"评价{g}", f"{g}级描述", f"{g}分描述"))
      for g in GRADES),
)

# Words written in the sheet (the file format is Chinese whatever the interface language).
NODE_WORDS = {MarkingNode.CRITERION: "评分模块", MarkingNode.SUB_CRITERION: "子模块",
              MarkingNode.ITEM: "评分项"}
KIND_WORDS = {ItemKind.MEASUREMENT: "测量", ItemKind.JUDGEMENT: "评价",
              ItemKind.DEDUCTION: "扣分", ItemKind.DISQUALIFYING: "否决"}
SCOPE_WORDS = {DisqualifyScope.COMPONENT: "本考核模块", DisqualifyScope.ENTRY: "整个参赛资格"}
_NODE_SYNONYMS = {
    MarkingNode.CRITERION: ("模块", "一级指标", "评分标准", "一级"),
    MarkingNode.SUB_CRITERION: ("子标准", "二级指标", "二级"),
    MarkingNode.ITEM: ("项", "评分细则", "细则", "三级指标", "三级"),
}
_KIND_SYNONYMS = {
    ItemKind.MEASUREMENT: ("客观", "测量项"),
    ItemKind.JUDGEMENT: ("主观", "评价项", "评价(0-3)", "评价(0–3)", "评价(0-3级)"),
    ItemKind.DEDUCTION: ("扣分项",),
    ItemKind.DISQUALIFYING: ("失格", "否决项", "一票否决"),
}
_SCOPE_SYNONYMS = {
    DisqualifyScope.COMPONENT: ("本模块", "模块", "本项目", "本考核"),
    DisqualifyScope.ENTRY: ("参赛资格", "整个报名", "全部", "取消参赛资格"),
}
_YES = {"是", "y", "yes", "true", "1", "√", "✓", "对"}
_NO = {"否", "n", "no", "false", "0", "", "×", "不"}


def _words(labels: dict, synonyms: dict) -> dict[str, Any]:
    words = {}
    for member, label in labels.items():
        for word in (label, member.value, *synonyms.get(member, ())):
            words[clean_text(word).lower().replace(" ", "")] = member
    return words


_NODES = _words(NODE_WORDS, _NODE_SYNONYMS)
_KINDS = _words(KIND_WORDS, _KIND_SYNONYMS)
_SCOPES = _words(SCOPE_WORDS, _SCOPE_SYNONYMS)
# replace_scheme's field names → the column that holds them.
_FIELD_COLUMN = {"descriptors": "descriptor_0", **{f"descriptor_{g}": f"descriptor_{g}"
                                                   for g in GRADES}}


def _word(raw: Any) -> str:
    return clean_text(raw).lower().replace(" ", "")


def _cells(row: Row, problems: Problems) -> dict[str, Any]:
    """The row's cells by column key; a cell ``clean_text`` refuses (a control or format
    character) is a problem of its column and read as empty."""
    cells = {}
    for column in COLUMNS:
        raw = row.get(column.key)
        try:
            clean_text(raw)
        except ServiceError as error:
            problems.add(column.key, error.message)
            raw = None
        cells[column.key] = raw
    return cells


def _number(raw: Any) -> Any:
    """A cell for ``contests.decimal``: Excel numbers come as floats and are read by their
    shortest form (2.5, 0.1), which is what the chief judge typed."""
    if isinstance(raw, float) and raw.is_integer():
        return int(raw)
    return raw


@register_importer
class MarkingSchemeImporter(Importer):
    """A whole marking scheme from a sheet, replacing the component's scheme."""

    kind = ImportKind.MARKING_SCHEME
    columns = COLUMNS
    partial = False  # half a scheme is no scheme: every row must be right

    def __init__(self, component: Component, actor: User | None = None):
        self.component = component
        self.actor = actor
        self.target_id = component.id

    @classmethod
    def for_target(cls, target_id: int, actor: User | None) -> MarkingSchemeImporter:
        component = db.session.get(Component, target_id)
        if component is None:
            raise ServiceError(_("No such component."))
        return cls(component, actor)

    def audit_summary(self, batch: ImportBatch) -> str:
        return (f"从 Excel 导入评分标准 {batch.file_name} 至 {self.component.name}："
                f"{batch.imported_rows} 个节点")

    def check(self, table: Table, report: Report, progress: Progress) -> list[dict] | None:
        try:
            schemes.check_editable(self.component)
        except ServiceError as error:
            raise ImportFailed(error.message) from None
        abilities = {}
        for ability in self.component.stage.track.contest.abilities:
            for name in (ability.name, ability.code):
                abilities[_word(name)] = ability.code
        codes_in_file = {_cells(row, Problems()).get("code") for row in table.rows}
        codes_in_file = {clean_text(code) for code in codes_in_file if code is not None}
        rows: list[dict] = []
        kinds: dict[str, MarkingNode | None] = {}
        progress("check", 0, len(table.rows))
        for row in table.rows:
            values, problems = self._values(row, report, abilities)
            parent = values["parent"]
            if parent is not None and parent not in kinds:
                if parent in codes_in_file:
                    problems.add("parent", _("The parent %(code)s must come before this node.",
                                             code=parent))
                else:
                    problems.add("parent", _("There is no node with the code %(code)s.",
                                             code=parent))
            if values["node"] is None:
                # No 层级 column: an item has a kind; else a criterion, or a sub-criterion
                # under one.
                values["node"] = (MarkingNode.ITEM if values["kind"] is not None else
                                  MarkingNode.SUB_CRITERION if parent is not None
                                  else MarkingNode.CRITERION)
            clean = schemes.check_node(self.component, values, problems=problems,
                                       parent_kind=kinds.get(parent) if parent else None,
                                       has_parent=parent is not None)
            if clean["code"]:
                if clean["code"] in kinds:
                    problems.add("code", _("The code %(code)s is already used in this scheme.",
                                           code=clean["code"]))
                kinds.setdefault(clean["code"], clean["node"])
            for field, message in problems.errors.items():
                report.error(row, _FIELD_COLUMN.get(field, field), message)
            rows.append(values)
        progress("check", len(table.rows), len(table.rows))
        if report.errors or not rows:
            if not rows:
                report.notice(_("The sheet has no nodes."))
            else:
                report.notice(_("A marking scheme is replaced only when every row is right; "
                                "correct the rows below and upload the file again."))
            return None
        if self.component.items:
            report.notice(_("Importing replaces the current scheme of %(name)s (%(n)d nodes).",
                            name=self.component.name, n=len(self.component.items)))
        return rows

    def _values(self, row, report: Report, abilities: dict[str, str]
                ) -> tuple[dict[str, Any], Problems]:
        problems = Problems()
        cells = _cells(row, problems)
        values: dict[str, Any] = {
            "code": clean_text(cells.get("code")) or None,
            "parent": clean_text(cells.get("parent")) or None,
            "title": clean_text(cells.get("title")) or None,
            "maximum": _number(cells.get("maximum")),
            "deduction_per_occurrence": _number(cells.get("deduction_per_occurrence")),
            "node": None, "kind": None, "disqualify_scope": None, "ability": None,
        }
        for key, words, label in (("node", _NODES, NODE_WORDS), ("kind", _KINDS, KIND_WORDS),
                                  ("disqualify_scope", _SCOPES, SCOPE_WORDS)):
            raw = cells.get(key)
            if raw is None or not clean_text(raw):
                continue
            member = words.get(_word(raw))
            if member is None:
                problems.add(key, _("%(value)s is not known here; write one of %(words)s.",
                                    value=clean_text(raw), words="、".join(label.values())))
            values[key] = member
        raw = _word(cells.get("all_or_nothing"))
        if raw in _YES:
            values["all_or_nothing"] = True
        elif raw in _NO:
            values["all_or_nothing"] = False
        else:
            problems.add("all_or_nothing", _("Write 是 or 否."))
        ability = clean_text(cells.get("ability"))
        if ability:
            code = abilities.get(_word(ability))
            if code is None:
                problems.add("ability", _("%(value)s is not an ability of this contest.",
                                          value=ability))
            values["ability"] = code
        descriptors = {g: clean_text(cells.get(f"descriptor_{g}")) for g in GRADES}
        values["descriptors"] = {g: text for g, text in descriptors.items() if text} or None
        return values, problems

    def write(self, plan: list[dict] | None, batch: ImportBatch, progress: Progress) -> int:
        if plan is None:
            return 0
        try:
            created = schemes.replace_scheme(self.component, plan, actor=self.actor,
                                             field_prefix=lambda i: f"{i}.")
        except FieldErrors as error:
            raise ImportFailed(error.message) from None
        return len(created)


def export_scheme(component: Component) -> bytes:
    """The component's scheme in the import layout (title row, Chinese headers, one row per
    node in order), ready to edit and import again."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_numbers": False,
                                        "strings_to_formulas": False, "strings_to_urls": False})
    sheet = book.add_worksheet("评分标准")
    title_format = book.add_format({"bold": True, "font_size": 14, "align": "center"})
    header_format = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1,
                                     "text_wrap": True, "valign": "vcenter"})
    group_format = book.add_format({"bold": True, "bg_color": "#F2F2F2"})
    number_format = book.add_format({"num_format": "0.###"})
    headers = [c.label for c in COLUMNS]
    stage = component.stage
    sheet.merge_range(0, 0, 0, len(headers) - 1,
                      f"{stage.track.contest.name} {stage.track.name} {stage.name} "
                      f"{component.name} 评分标准", title_format)
    sheet.write_row(1, 0, headers, header_format)
    sheet.freeze_panes(2, 0)
    for index, width in enumerate((10, 10, 10, 40, 8, 8, 10, 10, 12, 12, 24, 24, 24, 24)):
        sheet.set_column(index, index, width)
    for offset, node in enumerate(schemes.flat_tree(component), start=2):
        item = node.item
        is_item = item.node == MarkingNode.ITEM
        cells: list[Any] = [
            item.code, item.parent.code if item.parent is not None else "",
            NODE_WORDS[item.node], item.title,
            KIND_WORDS[item.kind] if item.kind else "",
            item.maximum if is_item else None,
            ("是" if item.all_or_nothing else "否") if is_item else "",
            item.deduction_per_occurrence,
            SCOPE_WORDS[item.disqualify_scope] if item.disqualify_scope else "",
            item.ability.name if item.ability else "",
            *((item.descriptors or {}).get(g, "") for g in GRADES),
        ]
        for column, value in enumerate(cells):
            if isinstance(value, Decimal):
                # Excel keeps numbers as doubles; a scheme's points (3 decimals at most) come
                # back exactly through the shortest form the importer reads.
                sheet.write_number(offset, column, float(value), number_format)
            elif value not in (None, ""):
                sheet.write_string(offset, column, str(value),
                                   None if is_item else group_format)
    book.close()
    return buffer.getvalue()


def export_name(component: Component) -> str:
    stage = component.stage
    return f"{stage.track.name}-{stage.name}-{component.name}-评分标准.xlsx"
