"""The union app's exports as the app writes them (xlsxwriter, not the calamine reader the app
uses), and the chemical track's preliminary of the demo to import them into."""
from __future__ import annotations

import io

import sqlalchemy as sa
import xlsxwriter
from stdnum.cn import ric

from app.extensions import db
from app.models import Component, Contestant, Entry, Stage, StageEntry, Track

LEARNING_HEADER = ["序号", "身份证号码", "姓名", "手机号", "日期", "任务类型", "学习内容", "时长(分钟)",
                   "答题得分"]
RULE = {"kinds": [
    {"name": "阅读", "minutes_per_step": "5", "points_per_step": "1", "daily_cap": "6"},
    {"name": "视频", "minutes_per_step": "10", "points_per_step": "1", "daily_cap": "5"},
    {"name": "答题", "full_marks": "100", "points_on_full_marks": "3", "points_per_attempt": "1"}],
    "min_minutes": "2", "daily_cap": "10"}


def prelim_stage() -> Stage:
    return db.session.scalar(sa.select(Stage).join(Track).where(Track.code == "chem",
                                                                Stage.seq == 1))


def prelim_component(code: str) -> Component:
    return next(c for c in prelim_stage().components if c.code == code)


def stage_people(n: int) -> list[tuple[str, str, str | None]]:
    """(ID number, name, phone) of the first n people of the preliminary, by ID number."""
    return [tuple(r) for r in db.session.execute(
        sa.select(Contestant.id_number, Contestant.name, Contestant.phone)
        .join(Entry, Entry.contestant_id == Contestant.id)
        .join(StageEntry, StageEntry.entry_id == Entry.id)
        .where(StageEntry.stage_id == prelim_stage().id)
        .order_by(Contestant.id_number).limit(n))]


def new_id_number(seq: int, born: str = "19850301") -> str:
    body = f"320102{born}{seq:03d}"
    return body + ric.calc_check_digit(body + "0")


def xlsx(header: list, rows: list[list], *, title: str | None = "江苏工会App 导出") -> bytes:
    """A workbook: a title row (so the first data row is Excel row 3), the header, the rows;
    ID numbers and phones as text, as the app writes them; None = an empty cell."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_numbers": False})
    sheet = book.add_worksheet("导出")
    r = 0
    if title:
        sheet.write_string(0, 0, title)
        r = 1
    sheet.write_row(r, 0, header)
    for values in rows:
        r += 1
        for c, value in enumerate(values):
            if value is None:
                continue
            if isinstance(value, str):
                sheet.write_string(r, c, value)
            else:
                sheet.write(r, c, value)
    book.close()
    return buffer.getvalue()
