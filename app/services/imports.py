"""The one import pipeline: every sheet that comes into the system is read, checked, reported on
and written here, the same way for every kind of file.

Registrations use it (app/services/registration_import.py), marking schemes too
(app/services/marking_scheme_io.py), and theory and digital-twin results
(app/services/result_import.py). An importer is a class with a kind, a target, its columns
and two steps; the pipeline does everything else:

    @register_importer
    class TheoryImporter(Importer):
        kind = ImportKind.THEORY
        columns = (Column("exam_number", "准考证号", ("考号", "准考证"), required=True),
                   Column("points", "成绩", ("分数", "得分"), required=True))

        def __init__(self, component, actor=None): ...        # sets self.target_id
        @classmethod
        def for_target(cls, target_id, actor): ...            # rebuild one for a stored batch

        def check(self, table, report, progress):             # reads only, never writes
            for row in table.rows:                            # row.number: as Excel shows it
                raw = row.get("points")                       # the raw cell, None when empty
                report.error(row, "points", _("…reason…"))    # column key → the sheet's label
            return plan                                       # what write() needs

        def write(self, plan, batch, progress) -> int:        # only when not a dry run
            insert_rows(ImportedResult.__table__, ("stage_entry_id", "row_number", "points"),
                        rows, constants={"batch_id": batch.id})  # bulk: COPY on PostgreSQL
            return len(rows)                                  # rows added

    outcome = run(TheoryImporter(component, user), Upload(name, content), dry_run=True,
                  actor=user, progress=lambda phase, done, total: ...)
    outcome.report.summary()  # {"rows", "valid", "imported", "errors": [{"row", "column", "reason"}]}

What ``run`` guarantees for every importer:

- Reading: .xlsx/.xlsm/.xls/.xlsb/.ods through calamine, .csv as UTF-8 (with or without BOM)
  else GB18030. Cells arrive raw: numbers stay numbers (an ID number Excel made into
  3.20102E+17 is a float, so it can be refused with the right reason). A .json file (or an
  ``Upload`` with ``format="json"``, as a pushed body) is a list of objects, one per row, their
  keys the header; a row's number is the object's place in the list (1 = the first).
- The table is found by its header names (each column's label and synonyms, compared after
  NFKC, without spaces, letter case, ``*`` marks and bracketed notes), on the first sheet that
  has one. Rows above it (a merged title, 填报单位) are ignored, and so are blank rows, totals
  (合计/总计/小计), notes (注/备注/说明…, and single-cell rows once notes began or after the
  last data row). Row numbers are the ones Excel shows.
- Provenance: one ImportBatch per run (kind, target, file name, SHA-256, who, when, rows, valid,
  imported, the report). A file already imported into the same target adds nothing and the
  outcome says so (``already_imported``).
- One transaction: the pipeline only flushes; the caller commits, or rolls back on any
  exception (``ImportFailed`` or other) and the database is as it was.
- Progress: ``progress(phase, done, total)`` with phases ``read``, ``check``, ``write``.
- ``error_report(batch.report)`` gives the bad rows as they were, with a 错误原因 column.
- ``partial = False`` on an importer: nothing is written unless every row is right.

Helpers for importers: ``insert_rows`` (bulk insert through the session: COPY on PostgreSQL,
one executemany on SQLite; ids back in order when asked) and ``fetch_matching`` (the existing
rows for many keys at once). The import runs with the cyclic garbage collector paused: a
100,000-row sheet is a million small objects that form no cycles.

A console check of a large file runs in a background thread (``start_background_check``),
which writes its progress on the batch row so every worker process can answer a poll.
"""
from __future__ import annotations

import csv
import gc
import hashlib
import io
import json
import re
import threading
import time as time_module
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import PurePath
from typing import Any, ClassVar

import sqlalchemy as sa
import xlsxwriter
from flask import Flask, current_app
from flask_babel import gettext as _
from python_calamine import CalamineError, CalamineWorkbook

from app.extensions import db
from app.inputs import visible_text
from app.models import ImportBatch, ImportKind, ImportStatus, User, utcnow
from app.page_cache import UNSHOWN_TABLES, written
from app.services import ServiceError, audit

Progress = Callable[[str, int, int], None]

EXCEL_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".xlsb", ".ods"}
CSV_SUFFIXES = {".csv", ".txt"}
JSON_SUFFIXES = {".json"}
# How far down a sheet the header row may be (title, 填报单位, instructions above it).
HEADER_SEARCH_ROWS = 50
REASON_HEADER = "错误原因"


class ImportFailed(ServiceError):
    """The file as a whole cannot be imported (unreadable, no header row, a write failed).
    Nothing was saved; the message says why. Code "unreadable" unless another is given."""

    def __init__(self, message: str, field: str | None = None, code: str = "unreadable"):
        super().__init__(message, field=field, code=code)


def _silent(_phase: str, _done: int, _total: int) -> None:
    return None


# ---------------------------------------------------------------------------------------------
# Columns and header names


def header_name(cell: Any) -> str:
    """A header cell as compared with the declared names: NFKC, no spaces, lower case,
    without required-field stars and trailing colons."""
    text = unicodedata.normalize("NFKC", str(cell)).lower()
    return re.sub(r"\s+", "", text).strip("*:")


_BRACKETED = re.compile(r"[(\[【〔][^)\]】〕]*[)\]】〕]")


@dataclass(frozen=True)
class Column:
    """A column an importer reads: ``key`` in code, ``label`` (Chinese) in reports and in the
    error report, ``synonyms`` the other names sheets give it, best match first."""

    key: str
    label: str
    synonyms: tuple[str, ...] = ()
    required: bool = False

    @property
    def names(self) -> tuple[str, ...]:
        return (self.label, *self.synonyms)


def _name_index(columns: Sequence[Column]) -> dict[str, tuple[str, int]]:
    """normalised name → (column key, rank of that name among the column's names)."""
    index: dict[str, tuple[str, int]] = {}
    for column in columns:
        for rank, name in enumerate(column.names):
            index.setdefault(header_name(name), (column.key, rank))
    return index


def match_header(cells: Sequence[Any], columns: Sequence[Column]) -> dict[str, int]:
    """Which cell of a candidate header row holds each declared column (key → position).

    A name counts with its bracketed note removed too (身份证号码（18位）); when two cells name
    the same column, the one with the better-ranked name wins (手机号码 over 联系电话).
    """
    index = _name_index(columns)
    found: dict[str, tuple[int, int]] = {}
    for position, cell in enumerate(cells):
        if cell is None or cell == "":
            continue
        name = header_name(cell)
        hit = index.get(name) or index.get(_BRACKETED.sub("", name))
        if hit is None:
            continue
        key, rank = hit
        if key not in found or rank < found[key][1]:
            found[key] = (position, rank)
    return {key: position for key, (position, _rank) in found.items()}


# ---------------------------------------------------------------------------------------------
# The uploaded file, the table found in it, and the report


@dataclass(frozen=True)
class Upload:
    file_name: str
    content: bytes
    # How to read it when the name does not tell (a pushed body is "json"): a suffix without dot.
    format: str | None = None

    def __post_init__(self) -> None:
        # The name is stored and shown: a NUL or a direction mark in it is shown as U+FFFD.
        object.__setattr__(self, "file_name", visible_text(str(self.file_name or "")))

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()

    @property
    def suffix(self) -> str:
        if self.format:
            return "." + self.format.lower().lstrip(".")
        return PurePath(self.file_name).suffix.lower()


class Row:
    """A data row: ``number`` as Excel shows it, ``cells`` raw, ``get(key)`` by column key."""

    __slots__ = ("number", "cells", "_positions")

    def __init__(self, number: int, cells: list, positions: dict[str, int]):
        self.number = number
        self.cells = cells
        self._positions = positions

    def get(self, key: str) -> Any:
        """The raw cell of column ``key``; None when the column is absent or the cell empty."""
        position = self._positions.get(key)
        if position is None or position >= len(self.cells):
            return None
        value = self.cells[position]
        return None if value == "" else value


@dataclass
class Table:
    """The table found in a file: its header (as written), where each column is, the data rows."""

    file_name: str
    sheet_name: str
    header_row: int  # as Excel shows it
    header: list[Any]
    positions: dict[str, int]
    labels: dict[str, str]  # column key → the header text this sheet uses
    rows: list[Row]
    preamble: list[list[Any]] = field(default_factory=list)  # rows above the header

    def has(self, key: str) -> bool:
        return key in self.positions


@dataclass(frozen=True)
class RowError:
    row: int
    column: str
    reason: str


def _json_cell(value: Any) -> Any:
    if isinstance(value, str):
        return visible_text(value)  # a NUL cannot be stored, a direction mark is not shown
    if value is None or isinstance(value, (bool, int)):
        return value
    if isinstance(value, float):
        return value if value == value and value not in (float("inf"), float("-inf")) else None
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(value)
    return str(value)


class Report:
    """What a check found: rows read, bad rows with column and reason, notices; and, once
    written, how many rows were imported. Kept as JSON on the batch."""

    def __init__(self, table: Table | None = None, columns: Sequence[Column] = ()):
        self.table = table
        self._default_labels = {c.key: c.label for c in columns}
        self.rows = len(table.rows) if table else 0
        self.valid = self.rows
        self.imported = 0
        self.importable = 0  # rows an import would write (all or none for some importers)
        self.errors: list[RowError] = []
        self.notices: list[str] = []
        self.extra: dict[str, Any] = {}  # an importer's own part of the stored report
        self._bad: dict[int, list[Any]] = {}

    def label(self, key: str) -> str:
        """The column's header as this sheet writes it, else its declared label."""
        if self.table is not None and key in self.table.labels:
            return self.table.labels[key]
        return self._default_labels.get(key, key)

    def error(self, row: Row, key: str, reason: str) -> None:
        """Row ``row`` is bad: column ``key`` (or a label) and the reason, in the user's words."""
        # The reason may quote the cell: what cannot be stored or shown is shown as U+FFFD.
        self.errors.append(RowError(row.number, visible_text(self.label(key)),
                                    visible_text(str(reason))))
        if row.number not in self._bad:
            self._bad[row.number] = [_json_cell(c) for c in row.cells]

    def notice(self, message: str) -> None:
        self.notices.append(message)

    def is_bad(self, row: Row) -> bool:
        return row.number in self._bad

    def finish(self) -> None:
        self.errors.sort(key=lambda e: e.row)  # stable: a row's errors keep column order
        self.valid = self.rows - len(self._bad)

    def summary(self) -> dict[str, Any]:
        """The report every entry point prints: rows, valid, imported and every bad row."""
        return {"rows": self.rows, "valid": self.valid, "imported": self.imported,
                "errors": [{"row": e.row, "column": e.column, "reason": e.reason}
                           for e in self.errors]}

    def as_json(self) -> dict[str, Any]:
        """The summary plus what the pages and the error report need."""
        table = self.table
        return {
            **self.extra,
            **self.summary(),
            "importable": self.importable,
            "notices": self.notices,
            "sheet": table.sheet_name if table else None,
            "header_row": table.header_row if table else None,
            "header": [_json_cell(c) for c in table.header] if table else [],
            "bad_rows": [[number, cells] for number, cells in sorted(self._bad.items())],
        }

    @classmethod
    def from_json(cls, stored: dict[str, Any]) -> Report:
        report = cls()
        report.rows = stored.get("rows", 0)
        report.valid = stored.get("valid", 0)
        report.imported = stored.get("imported", 0)
        report.importable = stored.get("importable", report.valid)
        report.errors = [RowError(e["row"], e["column"], e["reason"])
                         for e in stored.get("errors", [])]
        report.notices = list(stored.get("notices", []))
        return report


# ---------------------------------------------------------------------------------------------
# Reading


def _excel_sheets(content: bytes) -> Iterable[tuple[str, list[list[Any]]]]:
    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(content))
        for meta in workbook.sheets_metadata:
            if str(meta.visible).rsplit(".", 1)[-1].lower() != "visible":
                continue
            # skip_empty_area=False keeps empty rows and columns at the top and left, so list
            # positions are Excel's row and column numbers.
            yield meta.name, workbook.get_sheet_by_name(meta.name).to_python(
                skip_empty_area=False)
    except (CalamineError, OSError, ValueError) as error:
        raise ImportFailed(_("The file could not be read as an Excel workbook (%(reason)s).",
                             reason=str(error)[:200]), field="file") from None


def _csv_sheet(content: bytes) -> Iterable[tuple[str, list[list[Any]]]]:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = content.decode(encoding)
        except UnicodeDecodeError:
            continue
        try:
            grid = list(csv.reader(io.StringIO(text, newline=""), dialect=_csv_dialect(text)))
        except csv.Error as error:
            raise ImportFailed(_("The CSV file could not be read (%(reason)s).",
                                 reason=str(error)[:200]), field="file") from None
        # Lines may have fewer fields than the header: give every row the same width, as a
        # workbook's rows have.
        width = max((len(cells) for cells in grid), default=0)
        return [("csv", [cells + [""] * (width - len(cells)) for cells in grid])]
    raise ImportFailed(_("The CSV file is neither UTF-8 nor GB18030 text."), field="file")


def _csv_dialect(text: str) -> type[csv.Dialect]:
    """Comma-separated as Excel saves it; tab- or semicolon-separated files are recognised."""
    head = text[:16384]
    delimiter = max(",\t;", key=lambda d: (head.count(d), d == ","))
    if delimiter == ",":
        return csv.excel
    return type("SeparatedDialect", (csv.excel,), {"delimiter": delimiter})


def _sheets(upload: Upload) -> Iterable[tuple[str, list[list[Any]]]]:
    if not upload.content:
        raise ImportFailed(_("The file is empty."), field="file")
    if upload.suffix in EXCEL_SUFFIXES:
        return _excel_sheets(upload.content)
    if upload.suffix in CSV_SUFFIXES:
        return _csv_sheet(upload.content)
    raise ImportFailed(_("Upload an Excel workbook (.xlsx or .xls) or a .csv file."),
                       field="file")


_TOTALS = ("合计", "总计", "小计")
_NOTES = ("注", "备注", "说明", "填表说明", "填表人", "填报人", "制表人", "审核人", "联系人",
          "填报日期", "填表日期", "填报时间")
_NOTE_STARTS = {n[0] for n in _NOTES} | {t[0] for t in _TOTALS}
_SERIAL_NAMES = {"序号", "no", "no.", "编号序号"}


def _filled(cells: list[Any], skip: int | None) -> list[int]:
    filled = [i for i, c in enumerate(cells)
              if c is not None and c != "" and not (isinstance(c, str) and not c.strip())]
    if skip is not None and skip in filled:
        filled.remove(skip)
    return filled


def _leading_text(cells: list[Any], filled: list[int]) -> str:
    first = cells[filled[0]]
    if not isinstance(first, str) or first.lstrip()[:1] not in _NOTE_STARTS:
        return ""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", first))


def _is_note(text: str, filled_count: int) -> bool:
    if not text:
        return False
    for prefix in _NOTES:
        if text.startswith(prefix):
            rest = text[len(prefix):]
            return filled_count == 1 or rest[:1] in (":", "：", "") or rest[:1].isdigit()
    return False


def _json_table(upload: Upload, columns: Sequence[Column]) -> Table:
    """A JSON list of objects (or {"results": [...]}) as a table: every object is a row, none
    is skipped as a note; the keys, in order of first appearance, are the header."""
    try:
        # Numbers exactly as written (85.5 is Decimal("85.5"), never a binary float).
        records = json.loads(upload.content.decode("utf-8-sig"), parse_float=Decimal)
    except (UnicodeDecodeError, ValueError) as error:
        raise ImportFailed(_("The JSON file could not be read (%(reason)s).",
                             reason=str(error)[:200]), field="file") from None
    if isinstance(records, dict) and isinstance(records.get("results"), list):
        records = records["results"]
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise ImportFailed(_("A JSON file must hold a list of objects, one per row."),
                           field="file")
    header = list(dict.fromkeys(key for record in records for key in record))
    positions = match_header(header, columns)
    missing = [c.label for c in columns if c.required and c.key not in positions]
    if missing:
        raise ImportFailed(_("The JSON objects need the fields %(columns)s.",
                             columns="、".join(missing)), field="file")
    rows = [Row(number, ["" if record.get(key) is None else record[key] for key in header],
                positions) for number, record in enumerate(records, start=1)]
    return Table(file_name=upload.file_name, sheet_name="json", header_row=0, header=header,
                 positions=positions, labels={k: header[p] for k, p in positions.items()},
                 rows=rows)


def read_table(upload: Upload, columns: Sequence[Column]) -> Table:
    """Find the table in ``upload``: the first sheet with a header row naming every required
    column; its data rows without blank, totals and notes rows."""
    if upload.suffix in JSON_SUFFIXES:
        return _json_table(upload, columns)
    required = [c for c in columns if c.required]
    best: tuple[int, str, dict[str, int]] | None = None
    for sheet_name, grid in _sheets(upload):
        for index, cells in enumerate(grid[:HEADER_SEARCH_ROWS]):
            positions = match_header(cells, columns)
            if not positions:
                continue
            if all(c.key in positions for c in required):
                return _table(upload, sheet_name, grid, index, positions, columns)
            if best is None or len(positions) > len(best[2]):
                best = (index + 1, sheet_name, positions)
    if best is not None and len(best[2]) >= 2:
        row, sheet_name, positions = best
        missing = "、".join(c.label for c in required if c.key not in positions)
        raise ImportFailed(_("Row %(row)d of sheet %(sheet)s looks like the header, but these "
                             "columns are missing: %(columns)s.", row=row, sheet=sheet_name,
                             columns=missing), field="file")
    names = "、".join(c.label for c in required)
    raise ImportFailed(_("No header row found: the sheet needs columns named %(columns)s.",
                         columns=names), field="file")


def _plain_data_row(cells: list[Any]) -> bool:
    """The common case, decided cheaply: three or more filled cells, the first not a word
    that starts a totals or notes row."""
    if len(cells) - cells.count("") < 3:
        return False
    for cell in cells:
        if cell != "":
            return not (isinstance(cell, str) and cell.lstrip()[:1] in _NOTE_STARTS)
    return False


def _table(upload: Upload, sheet_name: str, grid: list[list[Any]], header_index: int,
           positions: dict[str, int], columns: Sequence[Column]) -> Table:
    header = grid[header_index]
    serial = next((i for i, c in enumerate(header) if isinstance(c, str)
                   and header_name(c) in _SERIAL_NAMES), None)
    labels = {key: re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(header[pos])))
              for key, pos in positions.items()}
    mapped = set(positions.values())
    rows: list[Row] = []
    trailing_single: int | None = None  # where a run of single-cell rows began in ``rows``
    in_notes = False  # notes began under the data
    for index in range(header_index + 1, len(grid)):
        cells = grid[index]
        if not in_notes and _plain_data_row(cells):
            rows.append(Row(index + 1, cells, positions))
            trailing_single = None
            continue
        filled = _filled(cells, serial)
        if not filled:
            continue
        text = _leading_text(cells, filled)
        if text.startswith(_TOTALS):
            continue
        if _is_note(text, len(filled)):
            in_notes = in_notes or bool(rows)  # a note right under the header is no end
            continue
        if in_notes:
            # Under the notes, only a row that fills most columns is data (signature lines,
            # 单位（盖章）/日期, are not).
            in_columns = sum(1 for i in filled if i in mapped)
            if in_columns < max(2, (len(mapped) + 1) // 2):
                continue
        if len(filled) == 1:
            if trailing_single is None:
                trailing_single = len(rows)
        else:
            trailing_single = None
        rows.append(Row(index + 1, cells, positions))
    if trailing_single is not None:
        # Single-cell rows after the last data row are notes under the table.
        rows = rows[:trailing_single]
    return Table(file_name=upload.file_name, sheet_name=sheet_name,
                 header_row=header_index + 1, header=list(header), positions=positions,
                 labels=labels, rows=rows, preamble=grid[:header_index])


# ---------------------------------------------------------------------------------------------
# Importers and running them


class Importer:
    """The part of an import that knows its kind of file; see the module docstring."""

    kind: ClassVar[ImportKind]
    columns: ClassVar[tuple[Column, ...]]
    # True: the good rows are imported and the bad ones reported; False: nothing is imported
    # unless every row is right (a marking scheme).
    partial: ClassVar[bool] = True
    target_id: int

    @classmethod
    def for_target(cls, target_id: int, actor: User | None) -> Importer:
        raise NotImplementedError

    def check(self, table: Table, report: Report, progress: Progress) -> Any:
        raise NotImplementedError

    def write(self, plan: Any, batch: ImportBatch, progress: Progress) -> int:
        raise NotImplementedError

    def audit_summary(self, batch: ImportBatch) -> str:
        return f"导入 {batch.kind.value} 文件 {batch.file_name}：{batch.imported_rows} 行"


IMPORTERS: dict[ImportKind, type[Importer]] = {}


def register_importer(cls: type[Importer]) -> type[Importer]:
    """Class decorator: the importer that rebuilds from a stored batch of its kind."""
    IMPORTERS[cls.kind] = cls
    return cls


def importer_for(batch: ImportBatch, actor: User | None) -> Importer:
    cls = IMPORTERS.get(batch.kind)
    if cls is None:
        raise ImportFailed(_("This kind of file cannot be imported here."), code="not_importable")
    return cls.for_target(batch.target_id, actor)


@dataclass
class Outcome:
    batch: ImportBatch
    report: Report
    already_imported: bool = False
    dry_run: bool = False
    pending: bool = False  # staged: the check runs in the background


def previous_import(kind: ImportKind, target_id: int, sha256: str) -> ImportBatch | None:
    """The batch that already imported this very file into this target, if any."""
    return db.session.scalar(
        sa.select(ImportBatch).where(ImportBatch.kind == kind, ImportBatch.target_id == target_id,
                                     ImportBatch.sha256 == sha256,
                                     ImportBatch.status == ImportStatus.IMPORTED)
        .order_by(ImportBatch.id).limit(1))


def _already(previous: ImportBatch) -> Report:
    from app.display import display_datetime

    report = Report.from_json(previous.report or {})
    report.imported = 0
    report.notices = [_("This file was already imported into the same target on %(when)s "
                        "(batch %(id)d); nothing was added.",
                        when=display_datetime(previous.created_at), id=previous.id)]
    return report


def run(importer: Importer, upload: Upload, *, dry_run: bool, actor: User | None = None,
        progress: Progress | None = None, batch: ImportBatch | None = None,
        keep_file: bool = False) -> Outcome:
    """Read, check and (unless ``dry_run``) write ``upload`` through ``importer``.

    ``batch`` continues a stored batch (a console dry run being checked or confirmed) instead
    of adding a new one; ``keep_file`` keeps the file on a dry-run batch so it can be imported
    later without uploading it again. Flushes only: the caller commits or rolls back.
    """
    progress = progress or _silent
    with _no_cyclic_gc():
        return _run(importer, upload, dry_run=dry_run, actor=actor, progress=progress,
                    batch=batch, keep_file=keep_file)


@contextmanager
def _no_cyclic_gc():
    """A sheet becomes hundreds of thousands of small lists and tuples, all alive until the
    end; the cyclic collector would walk them again and again (a third of the time) and
    find nothing, since none of them form cycles. Reference counting still frees them."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _run(importer: Importer, upload: Upload, *, dry_run: bool, actor: User | None,
         progress: Progress, batch: ImportBatch | None, keep_file: bool) -> Outcome:
    previous = previous_import(importer.kind, importer.target_id, upload.sha256)
    if previous is not None:
        if batch is not None and batch.id != previous.id:
            batch.status = ImportStatus.REJECTED
            batch.content = None
            batch.report = {**(batch.report or {}), **_already(previous).as_json()}
        return Outcome(previous, _already(previous), already_imported=True, dry_run=dry_run)

    progress("read", 0, 1)
    table = read_table(upload, importer.columns)
    progress("read", 1, 1)
    report = Report(table, importer.columns)
    plan = importer.check(table, report, progress)
    report.finish()
    report.importable = report.valid if importer.partial or not report.errors else 0
    progress("check", report.rows, report.rows)

    if batch is None:
        batch = ImportBatch(kind=importer.kind, target_id=importer.target_id,
                            file_name=upload.file_name[:255], sha256=upload.sha256,
                            status=ImportStatus.CHECKING,
                            user_id=actor.id if actor is not None else None)
        db.session.add(batch)
    batch.rows, batch.valid_rows = report.rows, report.valid
    batch.progress = None
    if dry_run:
        batch.status = ImportStatus.DRY_RUN
        batch.content = upload.content if keep_file else None
        batch.report = report.as_json()
        db.session.flush()
        return Outcome(batch, report, dry_run=True)

    batch.status = ImportStatus.IMPORTED
    batch.content = None
    db.session.flush()  # the batch's id, for the rows that refer to it
    # Bulk writes reach the driver directly (COPY, executemany): its errors come unwrapped.
    driver_error = db.session.connection().dialect.loaded_dbapi.Error
    try:
        imported = importer.write(plan, batch, progress) if report.importable else 0
        report.imported = imported
        batch.imported_rows = imported
        batch.report = report.as_json()
        db.session.flush()
    except (sa.exc.SQLAlchemyError, driver_error) as error:
        current_app.logger.exception("import of %s failed", upload.file_name)
        raise ImportFailed(_("The import failed and nothing was saved (%(reason)s). "
                             "Please try again.", reason=type(error).__name__)) from error
    audit.record(f"import.{importer.kind.value}", batch, importer.audit_summary(batch),
                 after={"file": batch.file_name, "sha256": batch.sha256, "rows": report.rows,
                        "valid": report.valid, "imported": imported,
                        "target_id": importer.target_id},
                 actor=actor)
    progress("write", imported, imported)
    return Outcome(batch, report)


# ---------------------------------------------------------------------------------------------
# Bulk writing


def insert_rows(table: sa.Table, names: Sequence[str], rows: Iterable[Sequence[Any]], *,
                constants: dict[str, Any] | None = None, return_ids: bool = False,
                converted: bool = False) -> list[int]:
    """Insert ``rows`` (value sequences in the order of ``names``, plus the same ``constants``
    in every row) into ``table`` in bulk, in the session's transaction; with ``return_ids``
    the new ids, in the order of ``rows``.

    Values go through the column types' own conversions, as in any SQLAlchemy insert, then
    straight to the driver: COPY on PostgreSQL (ids drawn from the table's sequence first),
    one executemany on SQLite (ids read back as the top ids: SQLite has one writer at a time
    and gives each new row the next id), SQLAlchemy's executemany elsewhere. ``converted``:
    the caller has already converted every value (and put no ``constants`` aside), so the
    rows go to the driver as they are.
    """
    constants = constants or {}
    connection = db.session.connection()
    dialect = connection.dialect
    if converted:
        if constants:
            raise ValueError("converted rows carry their constants themselves")
        prepared = rows if isinstance(rows, list) else list(rows)
    else:
        prepared = _prepared(table, list(names), rows, constants, dialect)
    columns = [*names, *constants]
    if not prepared:
        return []
    if table.name not in UNSHOWN_TABLES:
        written(connection)  # the driver's COPY or executemany passes SQLAlchemy by
    if dialect.name == "postgresql":
        return _copy(connection, table, columns, prepared, return_ids)
    if dialect.name == "sqlite":
        return _sqlite_executemany(connection, table, columns, prepared, return_ids)
    statement = sa.insert(table)
    if return_ids:
        statement = statement.returning(table.c.id, sort_by_parameter_order=True)
    result = connection.execute(statement, [
        dict(zip(columns, row, strict=True))
        for row in (prepared if converted else _unprocessed(table, names, rows, constants))])
    return list(result.scalars()) if return_ids else []


def _unprocessed(table, names, rows, constants):  # pragma: no cover - other databases
    return [(*row, *constants.values()) for row in rows]


def _processor(column_type: sa.types.TypeEngine, dialect: sa.Dialect):
    """The column type's bind processor; JSON as text, which COPY and executemany both take
    (psycopg would otherwise be handed a dict it adapts only in a bound statement)."""
    if isinstance(column_type, sa.JSON):
        serialise = getattr(dialect, "_json_serializer", None) or json.dumps
        return lambda value: serialise(value)
    return column_type.bind_processor(dialect)


def _prepared(table: sa.Table, names: list[str], rows: Iterable[Sequence[Any]],
              constants: dict[str, Any], dialect: sa.Dialect) -> list[list[Any]]:
    """Rows as the driver wants them: each value through its column type's bind processor
    (once per distinct value: imported columns repeat a lot), the constants appended."""
    processors = [_processor(table.c[name].type, dialect) for name in names]
    tail = []
    for name, value in constants.items():
        processor = _processor(table.c[name].type, dialect)
        tail.append(processor(value) if processor is not None and value is not None else value)
    active = [(i, processor, {}) for i, processor in enumerate(processors)
              if processor is not None]
    prepared = []
    for row in rows:
        row = list(row)
        for i, processor, cache in active:
            value = row[i]
            if value is None:
                continue
            try:
                row[i] = cache[value]
            except KeyError:
                row[i] = cache[value] = processor(value)
            except TypeError:  # unhashable (a JSON value): convert it every time
                row[i] = processor(value)
        row.extend(tail)
        prepared.append(row)
    return prepared


def _copy(connection: sa.Connection, table: sa.Table, columns: list[str],
          rows: list[list[Any]], return_ids: bool) -> list[int]:
    ids: list[int] = []
    if return_ids:
        sequence = connection.scalar(sa.select(sa.func.pg_get_serial_sequence(
            table.name, "id")))
        ids = connection.scalars(sa.text(
            "SELECT nextval(:sequence) FROM generate_series(1, :n)"),
            {"sequence": sequence, "n": len(rows)}).all()  # one fetch, not one per id
        columns = ["id", *columns]
    preparer = connection.dialect.identifier_preparer
    statement = "COPY {} ({}) FROM STDIN".format(
        preparer.format_table(table), ", ".join(preparer.quote(n) for n in columns))
    with connection.connection.driver_connection.cursor() as cursor, \
            cursor.copy(statement) as copy:
        if return_ids:
            for row_id, row in zip(ids, rows, strict=True):
                copy.write_row([row_id, *row])
        else:
            for row in rows:
                copy.write_row(row)
    return ids


def _sqlite_executemany(connection: sa.Connection, table: sa.Table, columns: list[str],
                        rows: list[list[Any]], return_ids: bool) -> list[int]:
    preparer = connection.dialect.identifier_preparer
    statement = "INSERT INTO {} ({}) VALUES ({})".format(
        preparer.format_table(table), ", ".join(preparer.quote(n) for n in columns),
        ", ".join("?" * len(columns)))
    cursor = connection.connection.driver_connection.cursor()
    try:
        cursor.executemany(statement, rows)
    finally:
        cursor.close()
    if not return_ids:
        return []
    # This transaction holds SQLite's only write lock from its first insert to its commit,
    # and SQLite numbers new rows max(id) + 1 in order: ours are the top len(rows) ids.
    top = connection.scalar(sa.select(sa.func.max(table.c.id)))
    first = top - len(rows) + 1
    count = connection.scalar(sa.select(sa.func.count()).select_from(table).where(
        table.c.id.between(first, top)))
    if count != len(rows):
        raise ImportFailed(_("The new rows could not be numbered; nothing was saved."))
    return list(range(first, top + 1))


def fetch_matching(statement: sa.Select, column: sa.ColumnElement, values: Iterable[Any],
                   chunk: int = 2000) -> list[sa.Row]:
    """The rows of ``statement`` whose ``column`` (its first selected column) is one of
    ``values``. Many values against few rows: one query, filtered here; otherwise IN lists
    of ``chunk`` values (a size every database takes)."""
    wanted = set(values)
    if not wanted:
        return []
    available = db.session.scalar(sa.select(sa.func.count()).select_from(statement.subquery()))
    if available <= 4 * len(wanted):
        return [row for row in db.session.execute(statement) if row[0] in wanted]
    ordered = sorted(wanted)
    found: list[sa.Row] = []
    for start in range(0, len(ordered), chunk):
        found.extend(db.session.execute(statement.where(column.in_(ordered[start:start + chunk]))))
    return found


# ---------------------------------------------------------------------------------------------
# The error report


def error_report(stored: dict[str, Any]) -> bytes:
    """The bad rows as they were, under the sheet's own header, with a 错误原因 column naming
    each bad column and its reason: the enterprise corrects this file and sends it back."""
    header = list(stored.get("header") or [])
    reasons: dict[int, list[str]] = {}
    for error in stored.get("errors", []):
        reasons.setdefault(error["row"], []).append(f"{error['column']}：{error['reason']}")
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_numbers": False,
                                            "strings_to_formulas": False,
                                            "strings_to_urls": False})
    sheet = workbook.add_worksheet("错误行")
    bold = workbook.add_format({"bold": True, "bg_color": "#FCE4D6", "border": 1,
                                "text_wrap": True, "valign": "vcenter"})
    text = workbook.add_format({"num_format": "@"})
    reason_format = workbook.add_format({"font_color": "#C00000", "text_wrap": True})
    width = max([len(header)] + [len(cells) for _n, cells in stored.get("bad_rows", [])])
    header = header + [""] * (width - len(header))
    sheet.write_row(0, 0, [("" if h is None else h) for h in header] + [REASON_HEADER], bold)
    # Text format, so retyped ID and phone numbers stay text in Excel.
    sheet.set_column(0, max(width - 1, 0), 16, text)
    sheet.set_column(width, width, 60, reason_format)
    sheet.freeze_panes(1, 0)
    for offset, (number, cells) in enumerate(stored.get("bad_rows", []), start=1):
        cells = list(cells) + [""] * (width - len(cells))
        for column, value in enumerate(cells):
            if value is None or value == "":
                continue
            if isinstance(value, str):
                sheet.write_string(offset, column, value)
            elif isinstance(value, bool):
                sheet.write_boolean(offset, column, value)
            else:
                sheet.write_number(offset, column, value)
        sheet.write_string(offset, width, "；".join(reasons.get(number, [])), reason_format)
    workbook.close()
    return buffer.getvalue()


def error_report_name(batch: ImportBatch) -> str:
    stem = PurePath(batch.file_name).stem or "import"
    return f"{stem}-错误行.xlsx"


# ---------------------------------------------------------------------------------------------
# Console uploads: store, check in the background, confirm, cancel

STALE_AFTER = timedelta(minutes=10)


def stage_upload(kind: ImportKind, target_id: int, upload: Upload,
                 actor: User | None) -> ImportBatch:
    """Keep an uploaded file on a new batch whose check runs later (in the background)."""
    if not upload.content:
        raise ImportFailed(_("The file is empty."), field="file")
    batch = ImportBatch(kind=kind, target_id=target_id, file_name=upload.file_name[:255],
                        sha256=upload.sha256, status=ImportStatus.CHECKING, content=upload.content,
                        user_id=actor.id if actor is not None else None,
                        progress={"phase": "queued", "done": 0, "total": 0,
                                  "at": utcnow().isoformat()})
    db.session.add(batch)
    db.session.flush()
    return batch


def console_check(importer: Importer, upload: Upload, actor: User | None, *,
                  in_background: bool) -> Outcome:
    """A console upload's dry run, keeping the file for the organiser's decision: run now, or
    (a large file) staged for ``start_background_check``. A file already imported into the
    same target gives that import's outcome instead."""
    _forget_old_uploads()
    previous = previous_import(importer.kind, importer.target_id, upload.sha256)
    if previous is not None:
        return Outcome(previous, _already(previous), already_imported=True, dry_run=True)
    if in_background:
        batch = stage_upload(importer.kind, importer.target_id, upload, actor)
        return Outcome(batch, Report(), dry_run=True, pending=True)
    return run(importer, upload, dry_run=True, actor=actor, keep_file=True)


UPLOADS_KEPT = timedelta(days=7)


def _forget_old_uploads() -> None:
    """Files checked but never imported nor cancelled are not kept for ever (they hold ID
    numbers); their reports stay."""
    db.session.execute(sa.update(ImportBatch).where(
        ImportBatch.content.is_not(None), ImportBatch.created_at < utcnow() - UPLOADS_KEPT,
        ImportBatch.status.in_([ImportStatus.DRY_RUN, ImportStatus.CHECKING]))
        .values(content=None))


def stored_upload(batch: ImportBatch) -> Upload:
    if not batch.content:
        raise ImportFailed(_("The uploaded file is no longer kept; upload it again."))
    return Upload(batch.file_name, batch.content)


def check_stored(batch: ImportBatch, actor: User | None,
                 progress: Progress | None = None) -> Outcome:
    """The dry run of a staged upload; the file stays on the batch for the import."""
    return run(importer_for(batch, actor), stored_upload(batch), dry_run=True, actor=actor,
               progress=progress, batch=batch, keep_file=True)


def import_stored(batch: ImportBatch, actor: User | None) -> Outcome:
    """Import the good rows of a checked upload (checked again: the database may have moved)."""
    if batch.status != ImportStatus.DRY_RUN:
        raise ImportFailed(_("This upload is not waiting for a decision."))
    return run(importer_for(batch, actor), stored_upload(batch), dry_run=False, actor=actor,
               batch=batch)


def cancel_stored(batch: ImportBatch, actor: User | None) -> None:
    """The organiser imports nothing: forget the file, keep the record."""
    if batch.status not in (ImportStatus.DRY_RUN, ImportStatus.CHECKING, ImportStatus.FAILED):
        raise ImportFailed(_("This upload is not waiting for a decision."))
    batch.status = ImportStatus.REJECTED
    batch.content = None
    batch.progress = None
    db.session.flush()
    audit.record(f"import.{batch.kind.value}.cancel", batch,
                 f"放弃导入文件 {batch.file_name}", actor=actor)


def progress_state(batch: ImportBatch) -> dict[str, Any]:
    """What a progress poll answers: status, phase, done, total, percent."""
    state = dict(batch.progress or {})
    status = batch.status
    if status == ImportStatus.CHECKING:
        at = state.get("at")
        if at and utcnow() - datetime.fromisoformat(at) > STALE_AFTER:
            status = ImportStatus.FAILED  # the worker that ran the check has gone
    done, total = int(state.get("done") or 0), int(state.get("total") or 0)
    percent = 100 if status != ImportStatus.CHECKING else (
        min(99, done * 100 // total) if total else 0)
    return {"status": status.value, "phase": state.get("phase"), "done": done, "total": total,
            "percent": percent}


def _background_check(app: Flask, batch_id: int) -> None:
    """The thread body: check the staged batch, reporting progress on its row.

    It runs outside any request, so it owns its transactions (app/transaction.py says who
    else does). A dry run writes nothing but the batch itself, so committing each progress
    update here commits nothing else.
    """
    with app.app_context():
        batch = None
        for _attempt in range(50):  # the request that staged it may not have committed yet
            batch = db.session.get(ImportBatch, batch_id)
            if batch is not None:
                break
            db.session.rollback()
            time_module.sleep(0.1)
        if batch is None or batch.status != ImportStatus.CHECKING:
            return
        actor = db.session.get(User, batch.user_id) if batch.user_id else None
        last = [0.0]

        def report_progress(phase: str, done: int, total: int) -> None:
            now = utcnow()
            if phase == "check" and done not in (0, total) and \
                    (now.timestamp() - last[0]) < 0.5:
                return
            last[0] = now.timestamp()
            try:
                db.session.execute(sa.update(ImportBatch).where(ImportBatch.id == batch_id)
                                   .values(progress={"phase": phase, "done": done,
                                                     "total": total, "at": now.isoformat()}))
                db.session.commit()
            except sa.exc.OperationalError:
                # Another worker holds SQLite's write lock (an import): progress is only
                # informative, the check goes on and the next update will get through.
                db.session.rollback()

        try:
            check_stored(batch, actor, progress=report_progress)
            db.session.commit()
        except Exception as error:  # the thread must record every failure on the batch
            db.session.rollback()
            message = error.message if isinstance(error, ServiceError) else _(
                "The check stopped unexpectedly; please upload the file again.")
            if not isinstance(error, ServiceError):
                app.logger.exception("background check of batch %s failed", batch_id)
            db.session.execute(sa.update(ImportBatch).where(ImportBatch.id == batch_id).values(
                status=ImportStatus.FAILED, content=None, progress=None,
                report={"failure": message}))
            db.session.commit()
        finally:
            db.session.remove()


def start_background_check(app: Flask, batch_id: int) -> threading.Thread:
    """Check a staged batch in a thread of this worker process (the page polls its row)."""
    thread = threading.Thread(target=_background_check, args=(app, batch_id),
                              name=f"import-check-{batch_id}", daemon=True)
    thread.start()
    return thread
