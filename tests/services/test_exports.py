"""Excel exports opened with another library (openpyxl) and checked cell by cell: the advancement
list as unions publish it, every judge's sheet of a component, a stage's audit log; and a large
audit log written in constant memory."""
import random
import tracemalloc
from datetime import timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import openpyxl
import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import (
    AuditLog,
    Component,
    ComponentScore,
    Entry,
    Stage,
    StageEntry,
    Track,
)
from app.services import accounts, audit, judging, results, score_sheets
from app.services.exports import EXPORTERS
from tests.charts_setup import judged_and_published
from tests.results_setup import recheck_and_publish
from tests.xlsx_checks import assert_sheet_layout

pytestmark = pytest.mark.usefixtures("app_ctx")


def organiser():
    return accounts.get_by_username("organiser")


def opened(path):
    try:
        return openpyxl.load_workbook(path)
    finally:
        path.unlink()


def cells(sheet) -> list[str]:
    return [str(c) for row in sheet.iter_rows(values_only=True) for c in row if c is not None]


@pytest.fixture
def listing_with_a_replacement():
    """The chemical preliminary published, its 60 advancers under notice, one removed after a
    verified objection and replaced (递补)."""
    prelim = db.session.scalar(sa.select(Stage).join(Track).where(Track.code == "chem",
                                                                  Stage.seq == 1))
    rng = random.Random(3)
    for component in prelim.components:
        for place in db.session.scalars(sa.select(StageEntry).where(
                StageEntry.stage_id == prelim.id).order_by(StageEntry.id)):
            db.session.add(ComponentScore(component_id=component.id, stage_entry_id=place.id,
                                          judges=1, points=Decimal(rng.randint(5000, 10000)) / 100))
    db.session.flush()
    version = recheck_and_publish(results.create_version(prelim, actor=organiser()), organiser())
    listing = results.generate_list(version, actor=organiser())
    results.start_notice(listing, actor=organiser())
    target = results.advancers(listing)[4]
    objection = results.record_objection(listing, target, filed_by="某职工", contact=None,
                                         text="年限不实", actor=organiser())
    replacement = results.rule_on_objection(objection, upheld=True, ruling="经核实年限不足",
                                            actor=organiser())
    return listing, target, replacement


def test_advancement_list_is_the_published_format_with_notice_and_no_id_numbers(
        listing_with_a_replacement):
    listing, removed, replacement = listing_with_a_replacement
    book = opened(EXPORTERS["advancement"](listing, actor=organiser()))
    sheet = book.active
    headers = [c.value for c in sheet[2]]
    assert headers == ["序号", "姓名", "性别", "工作单位", "准考证号", "总分", "名次", "备注"]
    assert_sheet_layout(sheet, orientation="portrait", columns=len(headers))
    assert sheet["A1"].value == "2025年江苏省班组长数字能力大赛 化工（生物医药） 预赛 晋级名单（公示）"
    rows = [r for r in sheet.iter_rows(min_row=3, max_row=62, values_only=True)]
    going = results.advancers(listing)
    assert len(going) == 60 and [r[0] for r in rows] == list(range(1, 61))
    by_exam = {r[4]: r for r in rows}
    version_rows = {row.stage_entry_id: row for row in db.session.scalars(
        sa.select(results.ResultRow).where(results.ResultRow.version_id == listing.version_id))}
    for advancer in going:
        entry = advancer.stage_entry.entry
        row = by_exam[entry.exam_number]
        assert row[1] == entry.contestant.name and row[3] == entry.enterprise.name
        assert row[2] == ("男" if entry.contestant.gender.value == "male" else "女")
        assert Decimal(str(row[5])).quantize(Decimal("0.01")) == \
            version_rows[advancer.stage_entry_id].total.quantize(Decimal("0.01"))
        assert row[6] == advancer.rank
    assert sheet.cell(row=3, column=6).number_format == "0.00"
    ranks = [r[6] for r in rows]
    assert ranks == sorted(ranks)  # in rank order
    assert by_exam[replacement.stage_entry.entry.exam_number][7] == "递补"
    assert removed.stage_entry.entry.exam_number not in by_exam
    text = cells(sheet)
    ids = db.session.scalars(sa.select(Entry).where(Entry.track_id == listing.stage.track_id))
    assert not any(e.contestant.id_number in text for e in ids)  # never an ID number
    notes = [sheet.cell(row=r, column=1).value for r in range(64, sheet.max_row + 1)]
    start = listing.notice_starts_at.replace(tzinfo=ZoneInfo("UTC")).astimezone(
        ZoneInfo("Asia/Shanghai"))
    assert any(n and n.startswith(f"公示期：{start.year}年{start.month}月{start.day}日")
               and "（7天）" in n for n in notes)
    assert any(n and "书面形式" in n and "联系方式" in n for n in notes)  # how to object
    # the dated amendment names who was removed and who took the place, as the public page does
    amendment, = [n for n in notes if n and "递补给" in n]
    assert removed.stage_entry.entry.exam_number in amendment.split("递补给")[0]
    assert replacement.stage_entry.entry.exam_number in amendment.split("递补给")[1]
    assert amendment.endswith(results.amendments(listing)[0].text)
    merged = {str(r) for r in sheet.merged_cells.ranges}
    assert "A64:H64" in merged  # each note spans the table's width
    audit = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "list.export"))
    assert audit.stage_id == listing.stage_id and audit.actor_name == "organiser"


def test_judge_sheets_show_each_judges_item_points_and_names_only_once_decrypted():
    stage = db.session.get(Stage, judged_and_published())
    practical = next(c for c in stage.components if c.code == "practical")
    book = opened(EXPORTERS["judge_sheets"](practical, reveal_names=True, actor=organiser()))
    assert len(book.worksheets) == 5  # a sheet per judge who marked, none for the chief
    sheet = book.worksheets[2]
    judge = accounts.get_by_username("judge3")
    assert sheet["A1"].value.endswith(f"评分表（裁判员：{judge.display_name}）")
    headers = [c.value for c in sheet[2]]
    assert headers[:3] == ["赛位号", "准考证号", "姓名"]
    assert headers[3] == "A1 办理动火作业许可证，分析合格（10分）"
    assert headers[-4:] == ["超时（分钟）", "得分", "状态", "失格说明"]
    assert_sheet_layout(sheet, orientation="landscape", columns=len(headers))
    entry = db.session.get(Entry, 1)
    rows = {r[2]: r for r in sheet.iter_rows(min_row=3, max_row=5, values_only=True)}
    mine = dict(zip(headers, rows[entry.contestant.name], strict=True))
    assert mine["准考证号"] == entry.exam_number
    # 2/3 × 15, 1/3 × 20, 2/3 × 20, 10 − 2: as the scoring rules compute them
    assert mine["A3 班组安全交底与分工（15分）"] == 10
    assert mine["B1 受限空间进入程序（20分）"] == 6.67 and mine["B2 现场沟通与监护（20分）"] == 13.33
    assert mine["C1 劳保用品穿戴不规范（每处）（10分）"] == 8 and mine["得分"] == 67
    assert mine["C2 严重违章作业（如未检测即动火）（否决项）"] is None and mine["状态"] == "已提交"
    assert sheet.cell(row=3, column=headers.index("得分") + 1).number_format == "0.00"
    notes = cells(sheet)
    assert any("裁判员签字" in n and "裁判长签字" in n for n in notes)
    assert db.session.scalar(sa.select(AuditLog).where(
        AuditLog.action == "component.export_judge_sheets")).stage_id == stage.id


def test_judge_sheets_before_decryption_show_workstation_numbers_only():
    from tests.charts_setup import FULL_MARKS
    from tests.judging_setup import prepare_practical

    practical = db.session.get(Component, prepare_practical(n=3, seed="blind"))
    judge = accounts.get_by_username("judge3")
    for place in judging.judge_places(judging.assignment_for(practical, judge)):
        sheet = score_sheets.sheet_for(practical, judge, place.workstation_number, create=True)
        score_sheets.save(sheet, FULL_MARKS, {}, 0, version=sheet.version, actor=judge)
    book = opened(EXPORTERS["judge_sheets"](practical, reveal_names=False, actor=judge))
    assert len(book.worksheets) == 1
    sheet = book.active
    assert [c.value for c in sheet[2]][:2] == ["赛位号", "A1 办理动火作业许可证，分析合格（10分）"]
    text = cells(sheet)
    places = db.session.scalars(sa.select(StageEntry).where(
        StageEntry.stage_id == practical.stage_id)).all()
    assert {p.workstation_number for p in places} <= set(text)
    for place in places:
        assert place.entry.contestant.name not in text and place.entry.exam_number not in text
    assert [r[-2] for r in sheet.iter_rows(min_row=3, max_row=5, values_only=True)] == \
        ["草稿"] * 3  # saved, not submitted
    assert not db.session.scalar(sa.select(AuditLog.id).where(
        AuditLog.action == "component.export_judge_sheets"))  # nothing personal to record


def test_stage_audit_log_lists_every_record_of_the_stage_in_display_time():
    stage = db.session.get(Stage, judged_and_published())
    expected = db.session.scalars(sa.select(AuditLog).where(AuditLog.stage_id == stage.id)
                                  .order_by(AuditLog.id)).all()
    book = opened(EXPORTERS["stage_audit"](stage, actor=organiser()))
    sheet = book.active
    headers = [c.value for c in sheet[2]]
    assert headers == ["序号", "时间", "操作人", "操作", "对象", "摘要", "修改内容", "原因", "IP地址"]
    assert_sheet_layout(sheet, orientation="landscape", columns=len(headers))
    rows = list(sheet.iter_rows(min_row=3, values_only=True))
    assert [r[0] for r in rows][:-1] == [a.id for a in expected]
    assert rows[-1][3] == "导出审计日志"  # the export records itself, by the action's name
    assert {r[0] for r in rows}.isdisjoint(set(db.session.scalars(sa.select(AuditLog.id).where(
        AuditLog.stage_id.is_distinct_from(stage.id)))))
    for row, record in zip(rows, expected, strict=False):
        local = record.at + timedelta(hours=8)  # Asia/Shanghai, the display time zone
        assert abs((row[1] - local).total_seconds()) < 0.01
        assert row[2] == record.actor_name and row[3] == audit.action_name(record.action)
        assert row[5] == record.summary and (row[7] or None) == record.reason
    assert sheet.cell(row=3, column=2).number_format == "yyyy-mm-dd hh:mm:ss"
    saved = next(r for r, a in zip(rows, expected, strict=False) if a.action == "mark.save")
    assert saved[2].startswith("judge") and saved[3] == "保存评分" and saved[4] == "评分表"
    assert "A1：— → 10" in saved[6].splitlines()  # field: old → new, not JSON


def _audit_rows(stage_id: int, n: int) -> None:
    db.session.execute(sa.insert(AuditLog), [
        {"actor_name": "judge3", "action": "mark.save", "object_type": "ScoreSheet",
         "object_id": i, "stage_id": stage_id, "summary": f"实操考试 赛位{i:03d} 评分（8项）",
         "before": {"A1": None, "A2": None}, "after": {"A1": "10", "A2": str(i % 15)},
         "reason": None} for i in range(n)])
    db.session.flush()


def _peak_export_bytes(stage) -> int:
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        path = EXPORTERS["stage_audit"](stage, actor=organiser())
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    book = openpyxl.load_workbook(path, read_only=True)
    rows = book.active.max_row
    book.close()
    path.unlink()
    return peak, rows


def test_a_large_audit_log_is_written_in_constant_memory():
    """Four times the rows must not need more memory: rows are read from the database in chunks
    of 1,000 and xlsxwriter (constant_memory) writes each row out as the next begins."""
    warm_up, small, large = (db.session.scalar(sa.select(Stage).join(Track).where(
        Track.code == code, Stage.seq == 1)) for code in ("textile", "steel", "machinery"))
    _audit_rows(warm_up.id, 1000)
    _audit_rows(small.id, 2000)
    _audit_rows(large.id, 8000)
    _peak_export_bytes(warm_up)  # imports, compiled queries: what the first export loads once
    small_peak, small_rows = _peak_export_bytes(small)
    large_peak, large_rows = _peak_export_bytes(large)
    assert large_rows - small_rows == 6000
    # Holding 6,000 more rows (over 1 KB each as Python objects) would add several MB;
    # streaming adds next to nothing.
    assert large_peak < small_peak + 1_000_000, (small_peak, large_peak)
