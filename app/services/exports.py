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
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa
import xlsxwriter
from sqlalchemy.orm import joinedload

from app.extensions import db
from app.labels import ENTRY_STATUS, RESULT_STATUS
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
            if value is None or value == "":
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
    that decided, status (named as on the results pages) and award. Numbers are shown at the
    stage's decimals, as published.

    One query streams the rows in table order (rank, then entry; unranked last), each with its
    components' points joined in and its exact amounts as the integer units they are stored in;
    nothing but the row being written is held in memory."""
    from operator import itemgetter

    from app.models import (
        Component,
        Contestant,
        Enterprise,
        ResultComponentScore,
        ResultRow,
        StageEntry,
    )
    from app.models.base import PUBLISHED
    from app.services import results as results_service

    decimals = int(version.settings["decimals"])
    unit = Decimal(1).scaleb(-decimals)
    step, scale = 10 ** (PUBLISHED - decimals), 10 ** PUBLISHED

    def shown(units):
        if units is None:
            return None
        if units % step == 0:  # on the published decimals, as every computed amount is
            return units / scale  # the same float as float(Decimal) of the amount, cheaper
        return Decimal(units).scaleb(-PUBLISHED).quantize(unit)

    def text(index):
        return lambda row: row[index] or ""

    def number(index):
        return lambda row: shown(row[index])

    status_labels = {str(code): str(label) for code, label in RESULT_STATUS.items()}
    tie_breaks = results_service.tie_break_names(version)

    def tie_break_text(index):  # the key that decided, by its name
        return lambda row: tie_breaks.get(row[index], row[index]) if row[index] else ""

    def status_text(index):  # the results pages' labels, each translated once
        return lambda row: status_labels.get(row[index], row[index])

    row, place, entry = ResultRow.__table__.c, StageEntry.__table__.c, Entry.__table__.c
    rows_from = (ResultRow.__table__.join(StageEntry.__table__, place.id == row.stage_entry_id)
                 .join(Entry.__table__, entry.id == place.entry_id))
    selected = [row.rank, entry.exam_number]
    if reveal_names:
        person, firm = Contestant.__table__.c, Enterprise.__table__.c
        rows_from = (rows_from.join(Contestant.__table__, person.id == entry.contestant_id)
                     .join(Enterprise.__table__, firm.id == entry.enterprise_id))
        selected += [person.name, firm.name]
    ids_of = dict(db.session.execute(sa.select(Component.code, Component.id).where(
        Component.stage_id == version.stage_id)).all())
    published = number_format(decimals)
    columns = [Column("名次", 6, itemgetter(0)), Column("准考证号", 13, itemgetter(1))]
    if reveal_names:
        columns += [Column("姓名", 10, itemgetter(2)), Column("单位", 30, itemgetter(3))]
    for component in version.settings["components"]:
        part = ResultComponentScore.__table__.alias(f"part_{len(selected)}")
        rows_from = rows_from.outerjoin(part, sa.and_(
            part.c.row_id == row.id, part.c.component_id == ids_of.get(component["code"])))
        columns += [Column(f"{component['name']}得分", 10, number(len(selected)), published),
                    Column(f"{component['name']}百分比", 10, number(len(selected) + 1),
                           published)]
        selected += [sa.type_coerce(part.c.points, sa.BigInteger),
                     sa.type_coerce(part.c.percent, sa.BigInteger)]
    columns += [Column("总分", 9, number(len(selected)), published),
                Column("同分比较", 10, tie_break_text(len(selected) + 1)),
                Column("状态", 12, status_text(len(selected) + 2)),
                Column("说明", 24, text(len(selected) + 3)),
                Column("奖项", 8, text(len(selected) + 4))]
    selected += [sa.type_coerce(row.total, sa.BigInteger), row.tie_break, row.status,
                 row.reason, row.award]
    rows = db.session.execute(
        sa.select(*selected).select_from(rows_from).where(row.version_id == version.id)
        .order_by(row.rank.is_(None), row.rank, row.stage_entry_id)
        .execution_options(yield_per=2000))
    stage = version.stage
    title = (f"{stage.track.contest.name} {stage.track.name} {stage.name} "
             f"成绩（第{version.number}版）")
    return write_sheet(title, columns, rows, "成绩")


def _display_time(value: datetime | None) -> datetime | None:
    """A stored (naive UTC) time in the display time zone, naive, as Excel keeps times."""
    from zoneinfo import ZoneInfo

    from flask import current_app

    if value is None:
        return None
    zone = ZoneInfo(current_app.config.get("BABEL_DEFAULT_TIMEZONE", "Asia/Shanghai"))
    return value.replace(tzinfo=UTC).astimezone(zone).replace(tzinfo=None)


def _chinese_date(value: datetime | None) -> str:
    shown = _display_time(value)
    return f"{shown.year}年{shown.month}月{shown.day}日" if shown else ""


def _gender(contestant) -> str:
    return "男" if contestant.gender.value == "male" else "女"


def advancement_sheet(listing, *, actor: User) -> Path:
    """An advancement list as unions publish it (公示名单): 序号, name, gender, enterprise, exam
    number, total and rank of the version it came from, a remark (递补 for a replacement); under
    it the notice period and how to object. Never an ID number. A4 portrait."""
    from app.models import (
        AdvancementEntry,
        AdvancementEntryStatus,
        ListStatus,
        ResultRow,
        StageEntry,
    )

    stage = listing.stage
    version = listing.version_id
    decimals = int(stage.decimals)
    state = {ListStatus.NOTICE: "（公示）", ListStatus.DRAFT: "（草稿）",
             ListStatus.WITHDRAWN: "（已撤回）"}.get(listing.status, "")
    title = f"{stage.track.contest.name} {stage.track.name} {stage.name} 晋级名单{state}"
    audit.record("list.export", listing, f"{actor.username} 导出晋级名单：{title}",
                 actor=actor, stage_id=stage.id)
    query = (sa.select(AdvancementEntry, ResultRow.total)
             .outerjoin(ResultRow, sa.and_(ResultRow.version_id == version,
                                           ResultRow.stage_entry_id
                                           == AdvancementEntry.stage_entry_id))
             .where(AdvancementEntry.list_id == listing.id,
                    AdvancementEntry.status == AdvancementEntryStatus.ADVANCING)
             .options(joinedload(AdvancementEntry.stage_entry).joinedload(StageEntry.entry)
                      .joinedload(Entry.contestant),
                      joinedload(AdvancementEntry.stage_entry).joinedload(StageEntry.entry)
                      .joinedload(Entry.enterprise))
             .order_by(AdvancementEntry.rank.is_(None), AdvancementEntry.rank,
                       AdvancementEntry.position)
             .execution_options(yield_per=500))

    def rows():
        for number, (row, total) in enumerate(db.session.execute(query), start=1):
            yield number, row, total

    def remark(item) -> str:
        _number, row, _total = item
        if row.replaces_id is not None:
            return "递补"
        return row.reason or ""

    columns = [
        Column("序号", 6, lambda r: r[0]),
        Column("姓名", 10, lambda r: r[1].stage_entry.entry.contestant.name),
        Column("性别", 6, lambda r: _gender(r[1].stage_entry.entry.contestant)),
        Column("工作单位", 34, lambda r: r[1].stage_entry.entry.enterprise.name, wrap=True),
        Column("准考证号", 13, lambda r: r[1].stage_entry.entry.exam_number or ""),
        Column("总分", 9, lambda r: None if r[2] is None
               else Decimal(r[2]).quantize(Decimal(1).scaleb(-decimals)),
               number_format(decimals)),
        Column("名次", 6, lambda r: r[1].rank),
        Column("备注", 16, remark, wrap=True),
    ]
    from app.display import display_datetime
    from app.services.results import amendments, undecided_newer_version

    notes = []
    if listing.status == ListStatus.WITHDRAWN:
        notes.append(f"本名单已于{display_datetime(listing.withdrawn_at)}（北京时间）撤回。"
                     f"原因：{listing.withdrawal_reason or ''}")
    newer = undecided_newer_version(listing)
    if newer is not None:
        notes.append(f"本名单依据成绩第{listing.version.number}版生成，其后已发布更正后的成绩第"
                     f"{newer.number}版，组委会正在复核本名单。")
    if listing.notice_starts_at and listing.notice_ends_at:
        notes.append(f"公示期：{_chinese_date(listing.notice_starts_at)}至"
                     f"{_chinese_date(listing.notice_ends_at)}（{stage.notice_days}天）。")
    else:
        notes.append(f"公示期：自名单发布之日起{stage.notice_days}天。")
    notes.append("公示期间，对名单中的选手有异议的，可在公示期内以书面形式向大赛组委会反映，"
                 "并注明本人姓名和联系方式；组委会将登记并核实处理。经核实异议成立的，取消其晋级"
                 "资格，并按名次依次递补（同一单位晋级人数不超过上限）。")
    changes = amendments(listing)
    if changes:
        notes.append("变更说明：")
        notes.extend(f"{display_datetime(a.when)}　{a.text}" for a in changes)
    if stage.track.contest.organiser:
        notes.append(f"{stage.track.contest.organiser}　{stage.track.name}赛道组委会　"
                     f"{_chinese_date(listing.notice_starts_at or listing.created_at)}")
    return write_sheet(title, columns, rows(), "晋级名单", portrait=True, notes=notes)


def _sheet_name(index: int, name: str) -> str:
    """A worksheet name Excel accepts: at most 31 characters, none of []:*?/\\, unique by index."""
    clean = "".join("_" if c in "[]:*?/\\" else c for c in name)
    return f"{index}-{clean}"[:31]


def judge_sheets(component, *, reveal_names: bool, actor: User) -> Path:
    """A judged component's marks, one worksheet per judge for the judge and the chief judge to
    sign: each workstation's points per marking item (as the scoring rules compute them from the
    judge's marks), minutes over time, the sheet's points and status. Exam numbers and names
    only once the component has been decrypted; until then workstation numbers only."""
    from sqlalchemy.orm import selectinload

    from app.models import JudgeAssignment, PanelRole, ScoreSheet, SheetStatus, StageEntry
    from app.services import score_sheets

    stage = component.stage
    decimals = int(stage.decimals)
    published = number_format(decimals)
    items = score_sheets.marking_items(component)
    judges = [a.user for a in db.session.scalars(
        sa.select(JudgeAssignment).where(JudgeAssignment.component_id == component.id)
        .options(joinedload(JudgeAssignment.user))
        .order_by(JudgeAssignment.panel_role == PanelRole.CHIEF_JUDGE, JudgeAssignment.id))]
    marked = set(db.session.scalars(sa.select(ScoreSheet.judge_id).distinct()
                                    .where(ScoreSheet.component_id == component.id)))
    judges = [j for j in judges if j.id in marked]
    if reveal_names:
        audit.record("component.export_judge_sheets", component,
                     f"{actor.username} 导出含姓名的裁判评分表：{component.name}", actor=actor,
                     stage_id=stage.id)
    status_text = {SheetStatus.SUBMITTED: "已提交", SheetStatus.DRAFT: "草稿",
                   SheetStatus.RETURNED: "已退回"}

    def rows(judge):
        query = (sa.select(ScoreSheet).join(StageEntry)
                 .where(ScoreSheet.component_id == component.id, ScoreSheet.judge_id == judge.id)
                 .options(selectinload(ScoreSheet.marks),
                          joinedload(ScoreSheet.stage_entry).joinedload(StageEntry.entry)
                          .joinedload(Entry.contestant))
                 .order_by(StageEntry.workstation_number, ScoreSheet.id)
                 .execution_options(yield_per=200))
        for sheet in db.session.scalars(query):
            yield sheet, score_sheets.state(sheet, component)

    def item_points(code):
        return lambda r: r[1].item_points.get(code)

    columns = [Column("赛位号", 8, lambda r: r[0].stage_entry.workstation_number or "")]
    if reveal_names:
        columns += [Column("准考证号", 13, lambda r: r[0].stage_entry.entry.exam_number or ""),
                    Column("姓名", 10, lambda r: r[0].stage_entry.entry.contestant.name)]
    for item in items:
        if item.kind is not None and item.kind.value == "disqualifying":
            columns.append(Column(f"{item.code} {item.title}（否决项）", 12,
                                  lambda r, code=item.code: "否决" if r[1].values.get(code)
                                  else "", wrap=True))
            continue
        columns.append(Column(f"{item.code} {item.title}（{_plain(item.maximum)}分）", 12,
                              item_points(item.code), published))
    if component.time_limit_minutes:
        columns.append(Column("超时（分钟）", 8, lambda r: r[1].overrun_minutes))
    columns += [Column("得分", 9, lambda r: r[1].points if r[1].complete else None, published),
                Column("状态", 8, lambda r: status_text.get(r[0].status, "")),
                Column("失格说明", 18, lambda r: r[1].dq_reason or "", wrap=True)]
    notes = ["评分项得分按评分标准计算：测量项为所给分数，评价项为（等级÷3）×满分，扣分项为满分减去"
             "扣分（扣完为止）；得分含超时扣分。",
             "裁判员签字：＿＿＿＿＿＿＿＿　　裁判长签字：＿＿＿＿＿＿＿＿　　"
             "日期：＿＿＿＿年＿＿月＿＿日"]
    heading = f"{stage.track.contest.name} {stage.track.name} {stage.name} {component.name}"
    if not judges:
        return write_sheet(f"{heading} 评分表", columns, [], "评分表", notes=["尚无裁判评分。"])
    return write_workbook(
        Sheet(f"{heading} 评分表（裁判员：{judge.display_name}）", columns, rows(judge),
              _sheet_name(n, judge.display_name), notes=notes)
        for n, judge in enumerate(judges, start=1))


def _plain(value: Decimal | None) -> str:
    if value is None:
        return "0"
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _changes_text(before, after) -> str:
    """A before/after pair as readable lines (字段：旧值 → 新值), cut to what a cell holds."""
    text = "\n".join(audit.readable_changes(before, after))
    return text if len(text) <= 32000 else text[:32000] + "…"


def stage_audit_sheet(stage, *, actor: User) -> Path:
    """Every audit row of a stage in the order recorded: time (display time zone), who, the
    action and its object by name, summary, the changes as readable lines, reason. Streamed from the database in
    chunks, so a stage with hundreds of thousands of saved marks exports in constant memory."""
    from app.models import AuditLog

    audit.record("audit.export", stage, f"{actor.username} 导出赛段审计日志：{stage.track.name}·"
                 f"{stage.name}", actor=actor, stage_id=stage.id)
    db.session.flush()  # the export lists its own record too
    # Plain rows, not ORM objects: nothing piles up in the session's identity map.
    query = (sa.select(AuditLog.id, AuditLog.at, AuditLog.actor_name, AuditLog.action,
                       AuditLog.object_type, AuditLog.object_id, AuditLog.summary,
                       AuditLog.before, AuditLog.after, AuditLog.reason, AuditLog.ip)
             .where(AuditLog.stage_id == stage.id).order_by(AuditLog.id)
             .execution_options(yield_per=1000))
    columns = [
        Column("序号", 8, lambda a: a.id),
        Column("时间", 19, lambda a: _display_time(a.at), "yyyy-mm-dd hh:mm:ss"),
        Column("操作人", 12, lambda a: a.actor_name),
        Column("操作", 22, lambda a: audit.action_name(a.action)),
        Column("对象", 12, lambda a: audit.object_name(a.object_type)),
        Column("摘要", 40, lambda a: a.summary, wrap=True),
        Column("修改内容", 48, lambda a: _changes_text(a.before, a.after), wrap=True),
        Column("原因", 24, lambda a: a.reason or "", wrap=True),
        Column("IP地址", 15, lambda a: a.ip or ""),
    ]
    title = f"{stage.track.contest.name} {stage.track.name} {stage.name} 审计日志"
    return write_sheet(title, columns, db.session.connection().execute(query), "审计日志")


def accounts_sheets(query: sa.Select, *, title: str, actor: User) -> Path:
    """The contestants' accounts as unions hand them out: one worksheet per enterprise (for its
    contact), each approved entry of ``query`` by exam number with its username and, until the
    person's first sign-in, the initial password; phones masked, never an ID number. Audited:
    the sheet carries passwords."""
    from itertools import groupby

    from flask import url_for

    from app.services.contestant_accounts import account_lines

    lines = account_lines(query)
    audit.record("accounts.export", None,
                 f"{actor.username} 导出选手账号清单（含初始密码）：{title}，{len(lines)} 人",
                 actor=actor)

    def password(line) -> str:
        if line.user is None:
            return "尚未创建账号"
        return line.initial_password or "已登录，密码由本人设置"

    columns = [
        Column("序号", 6, lambda r: r[0]),
        Column("准考证号", 13, lambda r: r[1].entry.exam_number),
        Column("姓名", 10, lambda r: r[1].entry.contestant.name),
        Column("赛道", 16, lambda r: r[1].entry.track.name),
        Column("手机号码", 14, lambda r: mask_phone(r[1].entry.contestant.phone)),
        Column("登录账号", 14, lambda r: r[1].user.username if r[1].user else ""),
        Column("初始密码", 22, lambda r: password(r[1])),
        Column("领取人签字", 14, lambda r: ""),
    ]
    notes = [f"登录地址：{url_for('auth.login', _external=True)}。首次登录须修改初始密码，修改后初始"
             "密码失效，本清单上的初始密码也不再显示。",
             "初始密码仅供本人使用，请逐人发放、签字领取，不得公开张贴或转发。"]
    sheets = [Sheet(f"{title}（{enterprise}）", columns, list(enumerate(group, start=1)),
                    _sheet_name(n, enterprise), portrait=True, notes=notes)
              for n, (enterprise, group) in enumerate(
                  groupby(lines, key=lambda line: line.entry.enterprise.name), start=1)]
    if not sheets:
        return write_sheet(title, columns, [], "选手账号", portrait=True,
                           notes=["没有已审核的报名。"])
    return write_workbook(sheets)


def signin_sheets(stage, *, sitting=None, actor: User) -> Path:
    """The sign-in sheets (签到表) of a stage's sittings, one worksheet each: 序号 (the seat at a
    theory sitting), exam number, name, enterprise, a column to sign; the sitting's venue and
    time above the signatures of the invigilators. Never an ID number or a workstation number."""
    from app.services.tickets import signin_sheets as sheets_of

    audit.record("stage.export_signin", stage,
                 f"{actor.username} 导出签到表：{stage.track.name}·{stage.name}"
                 + (f"·{sitting.name}" if sitting else ""), actor=actor, stage_id=stage.id)
    columns = [
        Column("序号", 6, lambda r: r[0]),
        Column("准考证号", 13, lambda r: r[1].entry.exam_number or ""),
        Column("姓名", 10, lambda r: r[1].entry.contestant.name),
        Column("工作单位", 30, lambda r: r[1].entry.enterprise.name, wrap=True),
        Column("签到时间", 10, lambda r: ""),
        Column("本人签名", 16, lambda r: ""),
    ]
    heading = f"{stage.track.contest.name} {stage.track.name} {stage.name}"
    out = []
    for n, sheet in enumerate(sheets_of(stage, sitting=sitting), start=1):
        place = sheet.sitting
        name = place.name if place else "未分配场次"
        where = (f"考场：{place.venue or ''} {place.room or ''}；时间：{_chinese_time(place.starts_at)}"
                 if place else "以上人员尚未分配场次。")
        out.append(Sheet(f"{heading} {name} 签到表", columns, list(enumerate(sheet.people, 1)),
                         _sheet_name(n, name), portrait=True,
                         notes=[where, f"应到 {len(sheet.people)} 人，实到＿＿＿人。　"
                                "监考（检录）人员签字：＿＿＿＿＿＿＿＿"]))
    if not out:
        return write_sheet(f"{heading} 签到表", columns, [], "签到表", portrait=True,
                           notes=["本赛段尚无选手。"])
    return write_workbook(out)


def _chinese_time(value: datetime | None) -> str:
    shown = _display_time(value)
    return (f"{shown.year}年{shown.month}月{shown.day}日 {shown:%H:%M}" if shown else "另行通知")


def winners_sheet(version, *, actor: User) -> Path:
    """The winners' list (获奖名单) of a published version as unions publish it: the title
    names the contest, track and stage; 序号 (counted within each award), 奖项, 准考证号, 姓名,
    单位, 成绩 (the published total at the stage's decimals) and 名次; grouped by award, best
    first, each group in rank order. Under it, how many took each award of how many ranked,
    and the organiser with the date. Never an ID number. A4 portrait; audited."""
    from itertools import groupby

    from app.models import Contestant, Enterprise, ResultRow, StageEntry

    stage = version.stage
    decimals = int(version.settings.get("decimals", stage.decimals))
    unit = Decimal(1).scaleb(-decimals)
    title = f"{stage.track.contest.name} {stage.track.name} {stage.name} 获奖名单"
    audit.record("awards.export", version, f"{actor.username} 导出获奖名单：{title}（成绩第"
                 f"{version.number}版）", actor=actor, stage_id=stage.id)
    order = [a.get("name") for a in version.settings.get("awards") or stage.awards or []]
    lines = db.session.execute(
        sa.select(ResultRow.award, ResultRow.rank, ResultRow.total, Entry.exam_number,
                  Contestant.name, Enterprise.name)
        .join(StageEntry, StageEntry.id == ResultRow.stage_entry_id)
        .join(Entry, Entry.id == StageEntry.entry_id)
        .join(Contestant, Contestant.id == Entry.contestant_id)
        .join(Enterprise, Enterprise.id == Entry.enterprise_id)
        .where(ResultRow.version_id == version.id, ResultRow.award.is_not(None))
        .order_by(ResultRow.rank, Entry.exam_number)).all()
    place = {name: index for index, name in enumerate(order)}
    lines.sort(key=lambda line: (place.get(line[0], len(place)), line[1] or 0, line[3] or ""))
    rows, counts = [], []
    for award, group in groupby(lines, key=lambda line: line[0]):
        group = list(group)
        counts.append(f"{award}{len(group)}人")
        rows.extend((n, line) for n, line in enumerate(group, start=1))
    ranked = db.session.scalar(sa.select(sa.func.count()).select_from(ResultRow).where(
        ResultRow.version_id == version.id, ResultRow.rank.is_not(None),
        ResultRow.eligible.is_(True)))
    columns = [
        Column("序号", 6, lambda r: r[0]),
        Column("奖项", 10, lambda r: r[1][0]),
        Column("准考证号", 13, lambda r: r[1][3] or ""),
        Column("姓名", 10, lambda r: r[1][4]),
        Column("单位", 34, lambda r: r[1][5], wrap=True),
        Column("成绩", 9, lambda r: None if r[1][2] is None else r[1][2].quantize(unit),
               number_format(decimals)),
        Column("名次", 6, lambda r: r[1][1]),
    ]
    notes = [f"依据成绩第{version.number}版（{_chinese_date(version.published_at)}发布）。"
             f"参评（有名次的合格选手）{ranked}人；" + ("、".join(counts) if counts else "无获奖者")
             + "。"]
    if stage.track.contest.organiser:
        notes.append(f"{stage.track.contest.organiser}　{stage.track.name}赛道组委会　"
                     f"{_chinese_date(version.published_at)}")
    return write_sheet(title, columns, rows, "获奖名单", portrait=True, notes=notes)


EXPORTERS: dict[str, Callable[..., Path]] = {
    "entries": entries_sheet,
    "results": results_sheet,
    "advancement": advancement_sheet,
    "judge_sheets": judge_sheets,
    "stage_audit": stage_audit_sheet,
    "accounts": accounts_sheets,
    "signin": signin_sheets,
    "winners": winners_sheet,
}
