"""Excel exports: one function per kind of sheet, listed in EXPORTERS; views only send the file.

Sheets are written by xlsxwriter in constant-memory mode to a temporary file, so a large export
does not hold the workbook in memory. Every sheet has a merged title row, Chinese headers, a
frozen header, column widths and A4 landscape print setup.
"""
from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
import xlsxwriter
from sqlalchemy.orm import joinedload

from app.extensions import db
from app.labels import ENTRY_STATUS
from app.models import Entry, User, mask_id_number
from app.services import audit


@dataclass(frozen=True)
class Column:
    header: str
    width: int
    value: Callable


def mask_phone(phone: str | None) -> str:
    return f"{phone[:3]}****{phone[-4:]}" if phone and len(phone) == 11 else (phone or "")


def write_sheet(title: str, columns: list[Column], rows: Iterable, sheet_name: str) -> Path:
    """Write ``rows`` through ``columns`` into a new .xlsx file and return its path."""
    descriptor, name = tempfile.mkstemp(suffix=".xlsx", prefix="export-")
    os.close(descriptor)
    workbook = xlsxwriter.Workbook(name, {"constant_memory": True})
    sheet = workbook.add_worksheet(sheet_name[:31])
    title_format = workbook.add_format({"bold": True, "font_size": 14, "align": "center",
                                        "valign": "vcenter"})
    header_format = workbook.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1,
                                         "align": "center", "valign": "vcenter",
                                         "text_wrap": True})
    cell_format = workbook.add_format({"border": 1, "valign": "vcenter"})
    sheet.set_landscape()
    sheet.set_paper(9)  # A4
    sheet.fit_to_pages(1, 0)
    sheet.repeat_rows(1)
    for index, column in enumerate(columns):
        sheet.set_column(index, index, column.width)
    sheet.set_row(0, 28)
    sheet.merge_range(0, 0, 0, len(columns) - 1, title, title_format)
    for index, column in enumerate(columns):
        sheet.write_string(1, index, column.header, header_format)
    sheet.freeze_panes(2, 0)
    row_number = 2
    for row in rows:
        for index, column in enumerate(columns):
            value = column.value(row)
            if value is None:
                sheet.write_blank(row_number, index, None, cell_format)
            elif isinstance(value, int | float) and not isinstance(value, bool):
                sheet.write_number(row_number, index, value, cell_format)
            else:
                sheet.write_string(row_number, index, str(value), cell_format)
        row_number += 1
    sheet.autofilter(1, 0, max(row_number - 1, 1), len(columns) - 1)
    workbook.close()
    return Path(name)


def entries_sheet(query: sa.Select, *, title: str, full_ids: bool, actor: User) -> Path:
    """The entries of ``query`` as a registration list. ID numbers and phones are masked unless
    an organiser asked for full ones, which the audit log records."""
    if full_ids:
        audit.record("entry.export_full_ids", None,
                     f"{actor.username} 导出含完整身份证号的报名名单：{title}", actor=actor)
    id_text = (lambda e: e.contestant.id_number) if full_ids else (
        lambda e: mask_id_number(e.contestant.id_number))
    phone_text = (lambda e: e.contestant.phone or "") if full_ids else (
        lambda e: mask_phone(e.contestant.phone))
    columns = [
        Column("准考证号", 13, lambda e: e.exam_number or ""),
        Column("姓名", 10, lambda e: e.contestant.name),
        Column("性别", 6, lambda e: "男" if e.contestant.gender.value == "male" else "女"),
        Column("身份证号", 21, id_text),
        Column("手机号码", 14, phone_text),
        Column("赛道", 16, lambda e: e.track.name),
        Column("单位", 30, lambda e: e.enterprise.name),
        Column("单位类别", 10, lambda e: e.enterprise_category or ""),
        Column("设区市", 9, lambda e: e.city or ""),
        Column("岗位", 22, lambda e: e.post or ""),
        Column("班组", 12, lambda e: e.team_name or ""),
        Column("担任班组长年限", 9, lambda e: float(e.years_as_leader)
               if e.years_as_leader is not None else None),
        Column("技能等级", 10, lambda e: e.skill_level or ""),
        Column("荣誉", 22, lambda e: e.honours or ""),
        Column("状态", 12, lambda e: str(ENTRY_STATUS[e.status])),
        Column("退回原因", 24, lambda e: e.rejection_reason or ""),
    ]
    rows = db.session.scalars(
        query.options(joinedload(Entry.contestant), joinedload(Entry.enterprise),
                      joinedload(Entry.track))
        .order_by(Entry.track_id, Entry.exam_number, Entry.id)
        .execution_options(yield_per=1000))
    return write_sheet(title, columns, rows, "报名名单")


def results_sheet(version, *, reveal_names: bool) -> Path:
    """A results version as published: rank, the contestant (exam number, and name and
    enterprise once revealed), each component's points and percentage, total, the tie-break
    that decided, status and award. Numbers are shown at the stage's decimals, as published."""
    from decimal import Decimal

    from app.models import StageEntry
    from app.services.results import version_table

    table = version_table(version)
    decimals = int(version.settings["decimals"])
    unit = Decimal(1).scaleb(-decimals)
    places = {p.id: p for p in db.session.scalars(
        sa.select(StageEntry).where(StageEntry.id.in_([int(i) for i in table["entry_id"]]))
        .options(joinedload(StageEntry.entry).joinedload(Entry.contestant),
                 joinedload(StageEntry.entry).joinedload(Entry.enterprise)))}

    def shown(value):
        return None if value is None else str(Decimal(value).quantize(unit))

    def cell(key):
        return lambda row: shown(row[key])

    columns = [Column("名次", 6, lambda r: None if r["rank"] is None else int(r["rank"])),
               Column("准考证号", 13, lambda r: places[int(r["entry_id"])].entry.exam_number)]
    if reveal_names:
        columns += [Column("姓名", 10, lambda r: places[int(r["entry_id"])].entry.contestant.name),
                    Column("单位", 30, lambda r: places[int(r["entry_id"])].entry.enterprise.name)]
    for component in version.settings["components"]:
        code = component["code"]
        columns += [Column(f"{component['name']}得分", 10, cell(f"{code}_points")),
                    Column(f"{component['name']}百分比", 10, cell(f"{code}_percent"))]
    columns += [Column("总分", 9, cell("total")),
                Column("同分比较", 10, lambda r: r["tie_break"] or ""),
                Column("状态", 10, lambda r: r["status"]),
                Column("说明", 24, lambda r: r["reason"] or ""),
                Column("奖项", 8, lambda r: r["award"] or "")]
    stage = version.stage
    title = (f"{stage.track.contest.name} {stage.track.name} {stage.name} "
             f"成绩（第{version.number}版）")
    rows = (row for _index, row in table.astype(object).where(table.notna(), None).iterrows())
    return write_sheet(title, columns, rows, "成绩")


EXPORTERS: dict[str, Callable[..., Path]] = {
    "entries": entries_sheet,
    "results": results_sheet,
}
