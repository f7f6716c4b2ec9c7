"""Marking schemes to Excel and back through the import pipeline."""
from __future__ import annotations

import io
from decimal import Decimal

import openpyxl
import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import AuditLog, Component, ImportStatus
from app.services import imports
from app.services import marking_schemes as schemes
from app.services.marking_scheme_io import COLUMNS, MarkingSchemeImporter, export_scheme

pytestmark = pytest.mark.usefixtures("app_ctx")

PRACTICAL, TWIN = 4, 5  # the demo's chemical advanced stage: a scheme, and none yet
HEADERS = [c.label for c in COLUMNS]


def component(component_id: int) -> Component:
    return db.session.get(Component, component_id)


def workbook(rows: list[list], title: str | None = "实操评分标准") -> bytes:
    book = openpyxl.Workbook()
    ws = book.active
    if title:
        ws.append([title])
    ws.append(HEADERS)
    for row in rows:
        ws.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def run(content: bytes, target: int = TWIN, dry_run: bool = False):
    return imports.run(MarkingSchemeImporter(component(target)),
                       imports.Upload("评分标准.xlsx", content), dry_run=dry_run)


def comparable(component_id: int) -> list[dict]:
    return schemes.scheme_rows(component(component_id))


def test_export_writes_the_scheme_in_order_with_chinese_headers(db_session):
    book = openpyxl.load_workbook(io.BytesIO(export_scheme(component(PRACTICAL))))
    ws = book.active
    rows = [[cell.value for cell in row] for row in ws.iter_rows()]
    assert "评分标准" in rows[0][0]
    assert rows[1] == HEADERS
    nodes = schemes.flat_tree(component(PRACTICAL))
    assert [r[0] for r in rows[2:]] == [n.item.code for n in nodes]
    first_item = next(n.item for n in nodes if n.item.node.value == "item")
    row = next(r for r in rows[2:] if r[0] == first_item.code)
    assert row[2] == "评分项" and row[5] == float(first_item.maximum)
    assert row[4] in {"测量", "评价", "扣分", "否决"}


def test_an_exported_scheme_imports_into_another_component_unchanged(db_session):
    content = export_scheme(component(PRACTICAL))
    dry = run(content, dry_run=True)
    assert dry.report.errors == [] and component(TWIN).items == []
    outcome = run(content)
    assert outcome.report.errors == []
    assert outcome.report.imported == len(component(PRACTICAL).items)
    assert comparable(TWIN) == comparable(PRACTICAL)
    assert outcome.batch.status == ImportStatus.IMPORTED
    actions = db.session.scalars(sa.select(AuditLog.action).where(
        AuditLog.object_id.in_([TWIN, outcome.batch.id]))).all()
    assert "scheme.replace" in actions and "import.marking_scheme" in actions


def test_a_scheme_without_the_level_column_is_inferred_and_numbers_are_exact(db_session):
    rows = [["A", None, None, "安全作业", None, None],
            ["A1", "A", None, "作业前检查", "测量", 2.5],
            ["A2", "A", None, "作业票填写", "评价", 0.1, None, None, None, "职业素养",
             "未填写", "填写不全", "基本完整", "完整规范"],
            ["A3", "A", None, "违规动火", "否决", 0, None, None, "整个参赛资格"]]
    outcome = run(workbook(rows))
    assert outcome.report.errors == []
    items = {i.code: i for i in component(TWIN).items}
    assert items["A"].node.value == "criterion" and items["A1"].node.value == "item"
    assert items["A1"].maximum == Decimal("2.5") and items["A2"].maximum == Decimal("0.1")
    assert items["A2"].ability.name == "职业素养"
    assert items["A2"].descriptors == {"0": "未填写", "1": "填写不全", "2": "基本完整",
                                       "3": "完整规范"}
    assert items["A3"].disqualify_scope.value == "entry"


def test_every_bad_row_is_reported_and_nothing_is_replaced(db_session):
    before = comparable(PRACTICAL)
    rows = [["B", None, "评分模块", "操作"],
            ["B1", "B", "评分项", "检查", "测量", 5],
            ["B1", "B", "评分项", "重复编码", "测量", 5],       # row 5: the code again
            ["B2", "X", "评分项", "无上级", "测量", 5],          # row 6: no such parent
            ["B3", "B", "评分项", "类型不明", "打分", 5],        # row 7: unknown kind
            ["B4", "B", "评分项", "负分", "测量", -1],           # row 8: maximum below 0
            ["B5", "B", "评分项", "能力不明", "测量", 5, None, None, None, "唱歌"],  # row 9
            ["B6", "C", "评分项", "上级在后", "测量", 5],        # row 10: parent comes later
            ["C", None, "评分模块", "后来的模块"]]
    outcome = run(workbook(rows), target=PRACTICAL)
    found = [(e.row, e.column) for e in outcome.report.errors]
    assert found == [(5, "编码"), (6, "上级编码"), (7, "类型"), (8, "满分"), (9, "能力"),
                     (10, "上级编码")]
    reasons = {e.row: e.reason for e in outcome.report.errors}
    assert "B1" in reasons[5] and "X" in reasons[6] and "打分" in reasons[7]
    assert "唱歌" in reasons[9] and "C" in reasons[10]
    assert outcome.report.imported == 0 and outcome.report.importable == 0
    assert comparable(PRACTICAL) == before
    assert any("每一行都正确" in n for n in outcome.report.notices)


def test_a_scheme_with_scores_is_never_replaced(db_session, monkeypatch):
    monkeypatch.setattr(schemes, "has_scores", lambda _component: True)
    with pytest.raises(imports.ImportFailed) as refused:
        run(export_scheme(component(PRACTICAL)), target=PRACTICAL, dry_run=True)
    assert "评分标准" in refused.value.message
