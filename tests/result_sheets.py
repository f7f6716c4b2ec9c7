"""Results files as exam systems and simulators write them (openpyxl, not the calamine reader),
and the chemical advanced stage with contestants and drawn workstation numbers to match."""
from __future__ import annotations

import csv
import io
import json

import openpyxl
import sqlalchemy as sa

from app.extensions import db
from app.models import Component, Entry, Stage, StageEntry, Track
from tests.judging_setup import prepare_practical


def advanced_stage() -> Stage:
    return db.session.scalar(sa.select(Stage).join(Track).where(Track.code == "chem",
                                                                Stage.seq == 2))


def component(code: str) -> Component:
    return next(c for c in advanced_stage().components if c.code == code)


def prepare_advanced(n: int = 6) -> list[tuple[str, str]]:
    """Inside an app context: n contestants in the advanced stage, drawn; their (exam number,
    workstation number) by exam number."""
    prepare_practical(n)
    return places()


def places() -> list[tuple[str, str]]:
    return [tuple(row) for row in db.session.execute(
        sa.select(Entry.exam_number, StageEntry.workstation_number)
        .join(Entry, Entry.id == StageEntry.entry_id)
        .where(StageEntry.stage_id == advanced_stage().id).order_by(Entry.exam_number))]


def xlsx(header: list, rows: list[list], *, title: str | None = "2025年进阶考核 理论考试成绩",
         text_columns: tuple[int, ...] = ()) -> bytes:
    """A workbook: an optional merged title row, the header, the rows (None = empty cell).
    The first data row is Excel row 3 with a title, 2 without."""
    book = openpyxl.Workbook()
    sheet = book.active
    r = 1
    if title:
        sheet.cell(r, 1, title)
        sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(header))
        r += 1
    for c, name in enumerate(header, start=1):
        sheet.cell(r, c, name)
    for values in rows:
        r += 1
        for c, value in enumerate(values, start=1):
            if value is not None:
                cell = sheet.cell(r, c, value)
                if c - 1 in text_columns:
                    cell.number_format = "@"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def csv_bytes(header: list, rows: list[list]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows([["" if v is None else v for v in row] for row in rows])
    return out.getvalue().encode("utf-8-sig")


def json_bytes(records: list[dict]) -> bytes:
    return json.dumps(records, ensure_ascii=False).encode("utf-8")
