"""Benchmark of the online preliminary from the union app: 10,000 participants, their learning
rows for seven days (about 20 each, about 200,000 rows) and their theory results, imported and
reconciled by ID number on a fresh database, against a floor measured in the same run.

Run from the repository root:  .venv/bin/python bench/preliminary.py  [--people N] [--skip-pg]

The three exports are written once with xlsxwriter into temporary files, as the app exports
them: ID numbers as text, names, phones; the learning rows with date, task kind (阅读 / 视频 /
答题), item, minutes and quiz score, with short views and repeats of an item on a day.

For each database (a fresh SQLite file; a new schema in the PostgreSQL database of
bench/_common.postgres_url(), when there is one), migrated, with the demo contest loaded:
- import (timed): the participant list (10,000 new entries through the registration checks),
  the learning rows (matched by ID number, cross-checked on name and phone, turned into points
  by the stage's learning-points rule, the rows kept), the theory results; each through
  ``import_results``/``imports.run`` in one pass (changes confirmed), then committed. Reconciled: every
  person has a learning score and a theory score, every row is stored.
- floor (timed, best of --repeat, rolled back): reading the same three files with calamine
  plus one bulk insert of the same rows (participants as contestants, learning rows as
  learning records, theory rows as imported results) through the same bulk path.
Peak memory is the process's resident high-water mark during the import. The last line is one
JSON object: the worst database's figures at the top level, each database's under its name.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import sys
import tempfile
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:] = [_ROOT] + [p for p in sys.path
                         if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]

import sqlalchemy as sa  # noqa: E402
import xlsxwriter  # noqa: E402
from stdnum.cn import ric  # noqa: E402

from bench._common import peak_rss_mb, reset_peak_rss, rss_mb  # noqa: E402

TARGET_SECONDS = 20.0
TARGET_RATIO = 3.0
SCHEMA = "bench_preliminary"
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华建国志海燕红梅小龙俊峰"
ENTERPRISES = [f"{city}化工（集团）有限公司{i:02d}" for i, city in
               enumerate(("南京", "无锡", "徐州", "常州", "苏州", "南通", "扬州", "镇江") * 5)]
RULE = {"kinds": [
    {"name": "阅读", "minutes_per_step": "5", "points_per_step": "1", "daily_cap": "6"},
    {"name": "视频", "minutes_per_step": "10", "points_per_step": "1", "daily_cap": "5"},
    {"name": "答题", "full_marks": "100", "points_on_full_marks": "3",
     "points_per_attempt": "1"}], "min_minutes": "2", "daily_cap": "10", "total_cap": "100"}
DAYS = [date(2025, 7, d) for d in range(1, 8)]


def people(n: int, rng: random.Random) -> list[tuple[str, str, str, str, str, int]]:
    """(ID number, name, gender, phone, enterprise, years) for n distinct people."""
    out, taken = [], set()
    while len(out) < n:
        born = date(1970, 1, 1) + timedelta(days=rng.randrange(0, 30 * 365))
        seq = rng.randrange(0, 1000)
        body = f"320102{born:%Y%m%d}{seq:03d}"
        number = body + ric.calc_check_digit(body + "0")
        if number in taken:
            continue
        taken.add(number)
        name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
        out.append((number, name, "男" if seq % 2 else "女", f"13{rng.randrange(10 ** 9):09d}",
                    rng.choice(ENTERPRISES), rng.choice((2, 3, 5, 8, 12))))
    return out


def write_files(tmp: Path, n: int, seed: int = 7) -> tuple[Path, Path, Path, int]:
    """The three exports; returns their paths and the number of learning rows."""
    rng = random.Random(seed)
    crowd = people(n, rng)
    paths = tmp / "参赛名单.xlsx", tmp / "学习记录.xlsx", tmp / "理论成绩.xlsx"

    def book(path: Path, title: str, header: list[str]):
        workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True,
                                                   "strings_to_numbers": False})
        sheet = workbook.add_worksheet("导出")
        sheet.write_string(0, 0, title)
        sheet.write_row(1, 0, header)
        return workbook, sheet

    workbook, sheet = book(paths[0], "江苏工会App 参赛名单", [
        "序号", "姓名", "性别", "身份证号码", "手机号码", "工作单位", "担任班组长年限"])
    for i, (number, name, gender, phone, enterprise, years) in enumerate(crowd):
        sheet.write_row(i + 2, 0, [i + 1, name, gender, number, phone, enterprise, years])
    workbook.close()

    workbook, sheet = book(paths[1], "江苏工会App 学习记录", [
        "序号", "身份证号码", "姓名", "手机号", "日期", "任务类型", "学习内容", "时长(分钟)", "答题得分"])
    r = 2
    for number, name, _g, phone, _e, _y in crowd:
        count = rng.randrange(17, 24)
        written: set[tuple] = set()  # an export lists each activity once: no row twice
        while len(written) < count:
            day = rng.choice(DAYS).isoformat()
            roll = rng.random()
            if roll < 0.5:
                row = [day, "阅读", f"文章{rng.randrange(60)}", rng.choice((1, 3, 5, 8, 12, 15)), None]
            elif roll < 0.8:
                row = [day, "视频", f"视频{rng.randrange(30)}", rng.choice((4, 10, 20, 35)), None]
            else:
                row = [day, "答题", f"每日一练{rng.randrange(7)}", None,
                       rng.choice((60, 80, 100, 100))]
            if tuple(row) in written:
                continue
            written.add(tuple(row))
            sheet.write_row(r, 0, [r - 1, number, name, phone])
            for c, value in enumerate(row, start=4):
                if value is not None:
                    sheet.write(r, c, value)
            r += 1
    workbook.close()
    learning_rows = r - 2

    workbook, sheet = book(paths[2], "江苏工会App 理论考试成绩", [
        "序号", "身份证号码", "姓名", "手机号码", "理论成绩", "用时(秒)"])
    for i, (number, name, _g, phone, _e, _y) in enumerate(crowd):
        sheet.write_row(i + 2, 0, [i + 1, number, name, phone, rng.randrange(40, 101),
                                   rng.randrange(600, 3600)])
    workbook.close()
    return (*paths, learning_rows)


# ---------------------------------------------------------------------------------------------


def _sqlite_url(tmp: Path) -> str:
    path = tmp / "bench-preliminary.db"
    path.unlink(missing_ok=True)
    return f"sqlite:///{path}"


def _pg_engine_url(base: str) -> str:
    return "postgresql+psycopg://" + base[len("postgresql://"):] \
        if base.startswith("postgresql://") else base


def _postgres_url(base: str) -> str:
    base = _pg_engine_url(base)
    engine = sa.create_engine(base)
    with engine.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE'))
        conn.execute(sa.text(f'CREATE SCHEMA "{SCHEMA}"'))
    engine.dispose()
    separator = "&" if "?" in base else "?"
    return f"{base}{separator}options={quote(f'-csearch_path={SCHEMA}')}"


def _drop_postgres_schema(base: str) -> None:
    engine = sa.create_engine(_pg_engine_url(base))
    with engine.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE'))
    engine.dispose()


def _ready_app(url: str):
    from flask_migrate import upgrade

    from app import create_app
    from app.extensions import db
    from app.services.demo import load_demo

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench"})
    with app.app_context():
        upgrade()
        load_demo(living=False)
        db.session.commit()
    return app


def _prelim_stage():
    """The demo's chemical preliminary: a learning-points and a theory component, imported."""
    from app.extensions import db
    from app.models import Stage, Track

    return db.session.scalar(sa.select(Stage).join(Track).where(Track.code == "chem",
                                                                Stage.seq == 1))


def _import_all(app, paths) -> dict:
    """The three exports through the services, as the console imports them; committed."""
    from app.extensions import db
    from app.services import accounts, imports
    from app.services import preliminary_import as prelim
    from app.services.result_import import import_results
    with app.app_context():
        actor = accounts.get_by_username("organiser")
        stage = _prelim_stage()
        prelim.save_rule(stage, RULE, actor, note="bench")
        reports = {}
        for export, path in zip(("app_participants", "app_learning", "app_theory"), paths,
                                strict=True):
            importer = prelim.app_importer(stage, export, actor)
            # One pass (read, check, write), as an import with its changes confirmed runs; the
            # console's check-then-import reads the file twice.
            importer.confirm_changes = True
            upload = imports.Upload(path.name, path.read_bytes())
            if export == "app_participants":
                outcome = imports.run(importer, upload, dry_run=False, actor=actor)
            else:
                outcome = import_results(importer, upload, dry_run=False, actor=actor)
            assert not outcome.report.errors, outcome.report.errors[:5]
            reports[export] = (outcome.report.rows, outcome.batch.imported_rows)
        db.session.commit()
    return reports


def _reconcile(app, n: int, learning_rows: int) -> None:
    """Every participant is in the stage with a learning and a theory score; every learning
    row is stored."""
    from app.extensions import db
    from app.models import ComponentScore, LearningRecord
    with app.app_context():
        for component in _prelim_stage().components:
            code = component.code
            scored = db.session.scalar(sa.select(sa.func.count()).select_from(ComponentScore)
                                       .where(ComponentScore.component_id == component.id))
            assert scored == n, (code, scored, n)
        stored = db.session.scalar(sa.select(sa.func.count()).select_from(LearningRecord))
        assert stored == learning_rows, (stored, learning_rows)


def _floor(app, paths) -> tuple[float, float]:
    """Read the three files with calamine, then insert the same rows in bulk (participants as
    contestants, learning rows as learning records, theory rows as imported results) through
    the same bulk path, rolled back. Runs after the import, so the rows have real stage
    entries and a batch to refer to."""
    from python_calamine import CalamineWorkbook

    from app.extensions import db
    from app.models import Contestant, Gender, ImportBatch, ImportedResult, LearningRecord
    from app.services.imports import insert_rows

    with app.app_context():
        place = db.session.scalar(sa.text("SELECT min(id) FROM stage_entries"))
        batch = db.session.scalar(sa.select(sa.func.min(ImportBatch.id)))
        gc.collect()
        start, cpu_start = time.perf_counter(), time.process_time()
        grids = [CalamineWorkbook.from_path(str(p)).get_sheet_by_index(0).to_python(
            skip_empty_area=False)[2:] for p in paths]
        insert_rows(Contestant.__table__, ("name", "gender", "id_number", "birth_date", "phone"),
                    [(r[1], Gender.MALE, "F" + str(r[3])[1:], date(1985, 1, 1), str(r[4]))
                     for r in grids[0]], constants={"created_at": date(2025, 1, 1)})
        insert_rows(LearningRecord.__table__,
                    ("stage_entry_id", "row_number", "day", "task_kind", "item", "minutes",
                     "quiz_score"),
                    [(place, i, date.fromisoformat(r[4]), r[5], r[6],
                      Decimal(int(r[7])) if r[7] != "" else None,
                      Decimal(int(r[8])) if r[8] != "" else None)
                     for i, r in enumerate(grids[1])], constants={"batch_id": batch})
        insert_rows(ImportedResult.__table__, ("stage_entry_id", "row_number", "points",
                                               "time_used_seconds"),
                    [(place, i, Decimal(int(r[4])), int(r[5])) for i, r in enumerate(grids[2])],
                    constants={"batch_id": batch})
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
        db.session.rollback()
    return seconds, cpu


def measure(label: str, url_for_run, paths, n: int, learning_rows: int) -> dict:
    app = _ready_app(url_for_run())
    gc.collect()
    rss_before = rss_mb()
    reset_peak_rss()
    start, cpu_start = time.perf_counter(), time.process_time()
    reports = _import_all(app, paths)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    peak = peak_rss_mb()
    _reconcile(app, n, learning_rows)
    floors = [_floor(app, paths) for _ in range(ARGS.repeat)]
    floor, floor_cpu = min(f[0] for f in floors), min(f[1] for f in floors)
    with app.app_context():
        from app.extensions import db

        db.engine.dispose()
    figures = {"seconds": round(seconds, 3), "peak_mb": round(peak, 1),
               "rss_before_mb": round(rss_before, 1), "floor_seconds": round(floor, 3),
               "ratio": round(seconds / floor, 2),
               # CPU time of this process (the database server's own work on PostgreSQL not
               # included): a figure a loaded machine inflates less than wall time.
               "cpu_seconds": round(cpu, 3), "floor_cpu_seconds": round(floor_cpu, 3),
               "load_average": round(os.getloadavg()[0], 1),
               "rows": {k: {"rows": r, "imported": i} for k, (r, i) in reports.items()}}
    print(f"{label:10} import {seconds:6.2f} s  peak {peak:7.1f} MB  floor {floor:5.2f} s  "
          f"ratio {seconds / floor:4.2f}  (cpu {cpu:5.2f} s, floor cpu {floor_cpu:5.2f} s, "
          f"load {os.getloadavg()[0]:.1f})  rows {reports}", flush=True)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--skip-pg", action="store_true")
    global ARGS
    ARGS = parser.parse_args()
    from bench._common import postgres_url

    pg_base, how = (None, "--skip-pg") if ARGS.skip_pg else postgres_url()
    print(f"postgresql: {how}" if pg_base else f"postgresql SKIPPED: {how}", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-preliminary-") as tmp_name:
        tmp = Path(tmp_name)
        start = time.perf_counter()
        *paths, learning_rows = write_files(tmp, ARGS.people)
        print(f"files: {ARGS.people} people, {learning_rows} learning rows, written in "
              f"{time.perf_counter() - start:.1f} s", flush=True)
        results = {"sqlite": measure("sqlite", lambda: _sqlite_url(tmp), paths, ARGS.people,
                                     learning_rows)}
        if pg_base:
            try:
                results["postgresql"] = measure("postgresql", lambda: _postgres_url(pg_base),
                                                paths, ARGS.people, learning_rows)
            finally:
                _drop_postgres_schema(pg_base)
    worst = max(results.values(), key=lambda r: r["ratio"])
    slowest = max(results.values(), key=lambda r: r["seconds"])
    summary = {"bench": "preliminary_app_import", "people": ARGS.people,
               "rows": learning_rows + 2 * ARGS.people, "learning_rows": learning_rows,
               "seconds": slowest["seconds"],
               "peak_mb": max(r["peak_mb"] for r in results.values()),
               "floor_seconds": worst["floor_seconds"], "ratio": worst["ratio"],
               "targets": {"seconds": TARGET_SECONDS, "ratio": TARGET_RATIO}, **results}
    summary["met"] = summary["seconds"] <= TARGET_SECONDS and summary["ratio"] <= TARGET_RATIO
    print(json.dumps(summary, ensure_ascii=False))


ARGS: argparse.Namespace

if __name__ == "__main__":
    main()
