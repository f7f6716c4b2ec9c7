"""Excel exports: one function per kind of sheet, listed in EXPORTERS; views only send the file.

Sheets are written by xlsxwriter in constant-memory mode to a temporary file, row by row from
queries read in chunks, so a large export does not hold the workbook (or its rows) in memory.
Every sheet has a merged title row, Chinese headers, a frozen header, column widths, numbers as
numbers at the published decimals, and A4 print setup (fit to width, the header row repeated on
every page, page numbers in the footer).
"""
from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
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
    num_format: str | None = None  # e.g. "0.00": a number shown at the published decimals
    wrap: bool = False  # long text wraps inside the column instead of running over


@dataclass
class Sheet:
    """One worksheet: a merged title, the header row, ``rows`` through ``columns``, then
    ``notes`` (one merged line each: a notice's period, how to object, signature lines)."""

    title: str
    columns: list[Column]
    rows: Iterable
    name: str
    portrait: bool = False
    notes: Sequence[str] = field(default_factory=tuple)


def number_format(decimals: int) -> str:
    """Excel's format for a number shown with ``decimals`` places (0 → "0", 2 → "0.00")."""
    return "0." + "0" * decimals if decimals else "0"


def mask_phone(phone: str | None) -> str:
    return f"{phone[:3]}****{phone[-4:]}" if phone and len(phone) == 11 else (phone or "")


def write_sheet(title: str, columns: list[Column], rows: Iterable, sheet_name: str, *,
                portrait: bool = False, notes: Sequence[str] = ()) -> Path:
    """Write ``rows`` through ``columns`` into a new .xlsx file and return its path."""
    return write_workbook([Sheet(title, columns, rows, sheet_name, portrait, notes)])


def write_workbook(sheets: Iterable[Sheet]) -> Path:
    """Write each sheet, in order, into one new .xlsx file (constant memory) and return its path."""
    descriptor, name = tempfile.mkstemp(suffix=".xlsx", prefix="export-")
    os.close(descriptor)
    workbook = xlsxwriter.Workbook(name, {"constant_memory": True})
    formats = _Formats(workbook)
    for sheet in sheets:
        _write_worksheet(workbook, formats, sheet)
    workbook.close()
    return Path(name)


class _Formats:
    """The workbook's cell formats, made once (xlsxwriter keeps every format it is given)."""

    def __init__(self, workbook: xlsxwriter.Workbook):
        self.workbook = workbook
        self.title = workbook.add_format({"bold": True, "font_size": 14, "align": "center",
                                          "valign": "vcenter", "text_wrap": True})
        self.header = workbook.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1,
                                           "align": "center", "valign": "vcenter",
                                           "text_wrap": True})
        self.note = workbook.add_format({"valign": "top", "text_wrap": True})
        self._cells: dict[tuple, object] = {}

    def cell(self, column: Column, kind: str = "text"):
        key = (column.num_format, column.wrap, kind)
        if key not in self._cells:
            spec = {"border": 1, "valign": "vcenter"}
            if kind == "number" and column.num_format:
                spec["num_format"] = column.num_format
            if kind == "datetime":
                spec["num_format"] = column.num_format or "yyyy-mm-dd hh:mm:ss"
            if column.wrap:
                spec["text_wrap"] = True
            self._cells[key] = self.workbook.add_format(spec)
        return self._cells[key]


def _write_worksheet(workbook: xlsxwriter.Workbook, formats: _Formats, spec: Sheet) -> None:
    columns = spec.columns
    sheet = workbook.add_worksheet(spec.name[:31])
    if spec.portrait:
        sheet.set_portrait()
    else:
        sheet.set_landscape()
    sheet.set_paper(9)  # A4
    sheet.fit_to_pages(1, 0)  # every column on the page's width, as many pages down as needed
    sheet.center_horizontally()
    sheet.repeat_rows(1)
    sheet.set_footer("&C第 &P 页，共 &N 页")
    for index, column in enumerate(columns):
        sheet.set_column(index, index, column.width)
    sheet.set_row(0, 28)
    sheet.merge_range(0, 0, 0, len(columns) - 1, spec.title, formats.title)
    for index, column in enumerate(columns):
        sheet.write_string(1, index, column.header, formats.header)
    sheet.freeze_panes(2, 0)
    text = [formats.cell(c) for c in columns]
    numbers = [formats.cell(c, "number") for c in columns]
    row_number = 2
    for row in spec.rows:
        for index, column in enumerate(columns):
            value = column.value(row)
            if value is None:
                sheet.write_blank(row_number, index, None, text[index])
            elif isinstance(value, int | float | Decimal) and not isinstance(value, bool):
                sheet.write_number(row_number, index, float(value), numbers[index])
            elif isinstance(value, datetime):
                sheet.write_datetime(row_number, index, value, formats.cell(column, "datetime"))
            else:
                sheet.write_string(row_number, index, str(value), text[index])
        row_number += 1
    sheet.autofilter(1, 0, max(row_number - 1, 1), len(columns) - 1)
    for note in spec.notes:
        row_number += 1  # a blank line before each note
        per_line = max(10, sum(c.width for c in columns) // 2)  # a Chinese character is 2 wide
        sheet.set_row(row_number, 16 * max(1, -(-len(note) // per_line)))
        sheet.merge_range(row_number, 0, row_number, len(columns) - 1, note, formats.note)


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
        return None if value is None else Decimal(value).quantize(unit)

    def cell(key):
        return lambda row: shown(row[key])

    published = number_format(decimals)

    columns = [Column("名次", 6, lambda r: None if r["rank"] is None else int(r["rank"])),
               Column("准考证号", 13, lambda r: places[int(r["entry_id"])].entry.exam_number)]
    if reveal_names:
        columns += [Column("姓名", 10, lambda r: places[int(r["entry_id"])].entry.contestant.name),
                    Column("单位", 30, lambda r: places[int(r["entry_id"])].entry.enterprise.name)]
    for component in version.settings["components"]:
        code = component["code"]
        columns += [Column(f"{component['name']}得分", 10, cell(f"{code}_points"), published),
                    Column(f"{component['name']}百分比", 10, cell(f"{code}_percent"), published)]
    columns += [Column("总分", 9, cell("total"), published),
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
