"""Benchmark of the registration import: a 100,000-row sheet (1% bad rows) checked and imported
into SQLite and into PostgreSQL, against a floor measured in the same run.

Run from the repository root:  .venv/bin/python bench/import.py  [--rows N] [--skip-pg]

The sheet is written once with xlsxwriter as enterprises send it: a merged title row, a
填报单位 row, the header, IDs as text, phones and years as numbers, enterprise names with full-
and half-width brackets and stray spaces, a 合计 row and notes. About 1% of the rows are bad in
the ways real sheets are (an ID Excel made a number, a wrong check digit, a short phone, too few
years, gender against the ID, a person twice, a missing name).

For each database: a fresh database (SQLite file; a new schema in the PostgreSQL database of
BENCH_PG_URL), migrated, with the demo contest loaded. Then, timed:
- floor: read the sheet with the fastest reader at hand (python-calamine) plus one bulk insert
  of the same rows (one table, the database's fastest bulk path: executemany on SQLite, COPY on
  PostgreSQL), rolled back; best of --repeat;
- dry run: the whole check, nothing written; best of --repeat;
- import: read, check and write contestants, entries and their history, committed; best of
  --repeat, each into a fresh database.
Peak memory is the process's resident high-water mark (VmHWM), reset just before each timed
import (bench/_common.py). The last line printed is one JSON object: at its top level the worst
of the two databases for each figure (the floor is that of the worse ratio), then each
database's own figures under its name.
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
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import quote

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:] = [_ROOT] + [p for p in sys.path
                         if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]

import sqlalchemy as sa  # noqa: E402
import xlsxwriter  # noqa: E402
from stdnum.cn import ric  # noqa: E402

from bench._common import best_of, peak_rss_mb, reset_peak_rss, rss_mb  # noqa: E402

TARGET_SECONDS = 10.0
TARGET_PEAK_MB = 1024.0
TARGET_RATIO = 3.0
TARGET_DRY_RUN_SECONDS = 6.0

HEADER = ["序号", "姓名", "性别", "身份证号码", "手机号码", "工作单位", "单位类别", "设区市",
          "岗位", "班组名称", "担任班组长年限", "技能等级", "荣誉"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国志强海燕红梅小龙俊峰"
CITIES = ["南京市", "无锡市", "徐州市", "常州市", "苏州市", "南通市", "连云港市", "淮安市",
          "盐城市", "扬州市", "镇江市", "泰州市", "宿迁市"]
PREFECTURES = ["3201", "3202", "3203", "3204", "3205", "3206", "3207", "3208", "3209", "3210",
               "3211", "3212", "3213"]
POSTS = ["操作工", "班长", "技术员", "维修工", "质检员", "调度员", "仪表工", "电工"]
LEVELS = ["初级工", "中级工", "高级工", "技师", "高级技师"]
HONOURS = ["", "", "", "", "省五一劳动奖章", "市级技术能手", "公司优秀班组长"]


def _region_codes() -> dict[tuple[str, int], str]:
    """A county code per prefecture and birth year that existed then (stdnum's GB/T 2260)."""
    codes = {}
    for prefecture in PREFECTURES:
        for year in range(1965, 2006):
            for county in range(1, 100):
                body = f"{prefecture}{county:02d}{year}0101001"
                try:
                    ric.validate(body + ric.calc_check_digit(body + "0"))
                except Exception:  # noqa: BLE001  (stdnum raises KeyError for non-counties)
                    continue
                codes[prefecture, year] = f"{prefecture}{county:02d}"
                break
    return codes


def _enterprises(n: int, rng: random.Random) -> list[str]:
    kinds = ["化工", "石化", "生物医药", "制药", "新材料", "精细化工"]
    names = []
    for i in range(n):
        city = rng.choice(CITIES).removesuffix("市")
        names.append(f"{city}{kinds[i % len(kinds)]}（集团）有限公司{i:03d}")
    return names


def _variant(name: str, rng: random.Random) -> str:
    """How clerks type the same enterprise: half-width brackets, stray or full-width spaces."""
    roll = rng.random()
    if roll < 0.15:
        return name.replace("（", "(").replace("）", ")")
    if roll < 0.22:
        return " " + name.replace("有限", "有限 ") + " "
    if roll < 0.25:
        return name.replace("（", "\u3000（")
    return name


def write_sheet(path: Path, rows: int, seed: int = 11) -> int:
    """Write the benchmark sheet; returns the number of deliberately bad rows."""
    rng = random.Random(seed)
    codes = _region_codes()
    enterprises = _enterprises(300, rng)
    book = xlsxwriter.Workbook(str(path), {"constant_memory": True,
                                            "strings_to_numbers": False})
    sheet = book.add_worksheet("报名表")
    text = book.add_format({"num_format": "@"})
    sheet.merge_range(0, 0, 0, len(HEADER) - 1,
                      "2025年江苏省班组长数字能力大赛 化工（生物医药）赛道 报名汇总表")
    sheet.write_row(1, 0, ["填报单位（盖章）：江苏省机冶石化工会", "", "", "", "", "", "", "",
                           "", "", "填报日期：2025年3月1日"])
    sheet.write_row(2, 0, HEADER)
    taken: set[str] = set()
    bad = 0
    previous_id = None
    for i in range(rows):
        male = rng.random() < 0.7
        born = date(1966, 1, 1) + timedelta(days=rng.randrange(0, 38 * 365))
        prefecture = rng.choice([p for p in PREFECTURES if (p, born.year) in codes])
        while True:
            seq = rng.randrange(0, 100) * 10 + rng.choice((1, 3, 5, 7, 9) if male
                                                          else (0, 2, 4, 6, 8))
            body = f"{codes[prefecture, born.year]}{born:%Y%m%d}{seq:03d}"
            number = body + ric.calc_check_digit(body + "0")
            if number not in taken:
                taken.add(number)
                break
        if number.endswith("X") and rng.random() < 0.5:
            number = number[:-1] + "x"  # lowercase x, as typed
        name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
        values = [i + 1, name, "男" if male else "女", number, float(f"13{rng.randrange(10**9):09d}"),
                  _variant(rng.choice(enterprises), rng), rng.choice(["化工", "生物医药"]),
                  rng.choice(CITIES), rng.choice(POSTS), f"{rng.choice(POSTS)}{rng.randrange(1, 20)}班组",
                  float(rng.choice((2, 3, 4, 5, 6, 8, 10, 12, 15))), rng.choice(LEVELS),
                  rng.choice(HONOURS)]
        if rng.random() < 0.01:
            bad += 1
            kind = rng.randrange(7)
            if kind == 0:
                values[3] = float(number[:17])  # Excel made it a number: 3.20102E+16
            elif kind == 1:
                values[3] = number[:17] + ("0" if number[17] != "0" else "1")  # check digit
            elif kind == 2:
                values[4] = float(rng.randrange(10**6, 10**7))  # short phone
            elif kind == 3:
                values[10] = 1.0  # too few years
            elif kind == 4:
                values[2] = "女" if male else "男"  # gender against the ID
            elif kind == 5 and previous_id is not None:
                values[3] = previous_id  # the person of the row before, again
            else:
                values[1] = ""  # no name
        previous_id = number
        for column, value in enumerate(values):
            if value == "":
                continue
            if column == 3 and isinstance(value, str):
                sheet.write_string(i + 3, column, value, text)
            elif isinstance(value, str):
                sheet.write_string(i + 3, column, value)
            else:
                sheet.write_number(i + 3, column, value)
    sheet.write_row(rows + 3, 0, ["合计", "", f"{rows}人"])
    sheet.merge_range(rows + 4, 0, rows + 4, len(HEADER) - 1,
                      "注：1. 身份证号码请设置为文本格式；2. 担任班组长年限须满2年。")
    sheet.write(rows + 5, 0, "联系人：王某某  联系电话：025-12345678")
    book.close()
    return bad


# ---------------------------------------------------------------------------------------------


def _sqlite_url(tmp: Path) -> str:
    path = tmp / "bench-import.db"
    path.unlink(missing_ok=True)
    return f"sqlite:///{path}"


def _postgres_url(base: str) -> str:
    if base.startswith("postgresql://"):
        base = "postgresql+psycopg://" + base[len("postgresql://"):]
    schema = "bench_import"
    engine = sa.create_engine(base)
    with engine.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    separator = "&" if "?" in base else "?"
    return f"{base}{separator}options={quote(f'-csearch_path={schema}')}"


def _drop_postgres_schema(base: str) -> None:
    if base.startswith("postgresql://"):
        base = "postgresql+psycopg://" + base[len("postgresql://"):]
    engine = sa.create_engine(base)
    with engine.begin() as conn:
        conn.execute(sa.text('DROP SCHEMA IF EXISTS "bench_import" CASCADE'))
    engine.dispose()


def _floors(path: Path, app) -> tuple[float, float]:
    """Read the sheet with calamine, then one bulk insert of its rows into the same database.

    Two figures: the rows inserted as entries, the table a registration row becomes (with its
    foreign keys, which PostgreSQL checks row by row; the contestants they refer to are made
    first, untimed), and as contestants, a table without such checks. Both rolled back.
    """
    from decimal import Decimal

    from python_calamine import CalamineWorkbook

    from app.extensions import db
    from app.models import Contestant, Entry, EntrySource, EntryStatus, Gender
    from app.services.imports import insert_rows
    from app.services.registration_import import track_by_codes

    def read() -> list[list]:
        grid = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python(
            skip_empty_area=False)
        return grid[3:-3]

    def people(grid: list[list]) -> list[tuple]:
        seen: set[str] = set()
        rows = []
        for r in grid:  # one row per ID number: the table's ID numbers are unique
            number = str(r[3])[:18]
            if number not in seen:
                seen.add(number)
                rows.append((r[1] or "-", Gender.MALE, number, date(1985, 1, 1), None))
        return rows

    timings: dict[str, float] = {}

    def as_contestants() -> None:
        with app.app_context():
            start = time.perf_counter()
            insert_rows(Contestant.__table__, ("name", "gender", "id_number", "birth_date",
                                               "phone"), people(read()),
                        constants={"created_at": date(2025, 1, 1)})
            timings["contestants"] = min(timings.get("contestants", 1e9),
                                         time.perf_counter() - start)
            db.session.rollback()

    def as_entries() -> None:
        with app.app_context():
            track = track_by_codes("chem")
            grid = read()
            ids = insert_rows(Contestant.__table__, ("name", "gender", "id_number",
                                                     "birth_date", "phone"), people(grid),
                              constants={"created_at": date(2025, 1, 1)}, return_ids=True)
            enterprise_id = db.session.execute(sa.text("SELECT min(id) FROM enterprises")).scalar()
            db.session.flush()
            gc.collect()
            start = time.perf_counter()
            grid = read()
            rows = [(person, enterprise_id, Decimal(int(r[10] or 0)), r[6], r[7], r[8], r[9],
                     r[11], r[12] or None) for person, r in zip(ids, grid, strict=False)]
            insert_rows(Entry.__table__, ("contestant_id", "enterprise_id", "years_as_leader",
                                          "enterprise_category", "city", "post", "team_name",
                                          "skill_level", "honours"), rows,
                        constants={"contest_id": track.contest_id, "track_id": track.id,
                                   "front_line": True, "unranked": False,
                                   "status": EntryStatus.ENDORSED,
                                   "source": EntrySource.IMPORT, "created_at": date(2025, 1, 1),
                                   "updated_at": date(2025, 1, 1)})
            timings["entries"] = min(timings.get("entries", 1e9), time.perf_counter() - start)
            db.session.rollback()

    for _ in range(ARGS.repeat):
        as_contestants()
        as_entries()
    return timings["entries"], timings["contestants"]


def _ready_app(fresh_url: Callable[[], str]):
    """An app on a new, migrated database with the demo contest."""
    from flask_migrate import upgrade

    from app import create_app
    from app.extensions import db
    from app.services.demo import load_demo

    app = create_app({"SQLALCHEMY_DATABASE_URI": fresh_url(), "SECRET_KEY": "bench"})
    with app.app_context():
        upgrade()
        load_demo(living=False)
        db.session.commit()
    return app


def measure(label: str, fresh_url: Callable[[], str], path: Path) -> dict:
    """Floors and dry run (best of --repeat), then the import (best of --repeat, each into a
    fresh database, committed)."""
    from app.extensions import db
    from app.models import Entry
    from app.services import imports
    from app.services.registration_import import RegistrationImporter, track_by_codes

    upload = imports.Upload(path.name, path.read_bytes())
    app = _ready_app(fresh_url)
    floor, floor_plain = _floors(path, app)

    def dry_run():
        with app.app_context():
            outcome = imports.run(RegistrationImporter(track_by_codes("chem")), upload,
                                  dry_run=True)
            db.session.rollback()
            return outcome.report.summary()

    dry_seconds, dry_report = best_of(dry_run, repeat=ARGS.repeat)

    seconds, peak, rss_before, report = float("inf"), 0.0, 0.0, {}
    for attempt in range(ARGS.repeat):
        if attempt:
            with app.app_context():
                db.engine.dispose()
            app = _ready_app(fresh_url)
        gc.collect()
        rss_before = max(rss_before, rss_mb())
        reset_peak_rss()
        start = time.perf_counter()
        with app.app_context():
            outcome = imports.run(RegistrationImporter(track_by_codes("chem")), upload,
                                  dry_run=False)
            db.session.commit()
            report = outcome.report.summary()
            batch_id = outcome.batch.id
        seconds = min(seconds, time.perf_counter() - start)
        peak = max(peak, peak_rss_mb())
        with app.app_context():
            stored = db.session.scalar(sa.select(sa.func.count()).select_from(Entry).where(
                Entry.import_batch_id == batch_id))
        assert stored == report["imported"], (stored, report["imported"])
    with app.app_context():
        db.engine.dispose()
    figures = {
        "seconds": round(seconds, 3), "peak_mb": round(peak, 1),
        "rss_before_mb": round(rss_before, 1), "floor_seconds": round(floor, 3),
        "ratio": round(seconds / floor, 2), "floor_plain_seconds": round(floor_plain, 3),
        "ratio_plain": round(seconds / floor_plain, 2), "dry_run_seconds": round(dry_seconds, 3),
        "rows": report["rows"], "valid": report["valid"], "imported": report["imported"],
        "bad_rows": report["rows"] - report["valid"], "dry_run_valid": dry_report["valid"],
    }
    print(f"{label:10} import {seconds:6.2f} s  peak {peak:7.1f} MB  floor {floor:5.2f} s  "
          f"ratio {seconds / floor:4.2f}  (plain floor {floor_plain:5.2f} s, ratio "
          f"{seconds / floor_plain:4.2f})  dry run {dry_seconds:5.2f} s  "
          f"rows {report['rows']}  valid {report['valid']}  imported {report['imported']}",
          flush=True)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--skip-pg", action="store_true")
    global ARGS
    ARGS = parser.parse_args()
    from bench._common import postgres_url

    pg_base, how = (None, "--skip-pg") if ARGS.skip_pg else postgres_url()
    print(f"postgresql: {how}" if pg_base else f"postgresql SKIPPED: {how}", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-import-") as tmp_name:
        tmp = Path(tmp_name)
        path = tmp / "报名表-10万行.xlsx"
        start = time.perf_counter()
        bad = write_sheet(path, ARGS.rows)
        print(f"sheet: {ARGS.rows} rows ({bad} made bad), {path.stat().st_size / 1e6:.1f} MB, "
              f"written in {time.perf_counter() - start:.1f} s", flush=True)
        results = {"sqlite": measure("sqlite", lambda: _sqlite_url(tmp), path)}
        if pg_base:
            try:
                results["postgresql"] = measure("postgresql", lambda: _postgres_url(pg_base),
                                                path)
            finally:
                _drop_postgres_schema(pg_base)
    worst = max(results.values(), key=lambda r: r["ratio"])
    slowest = max(results.values(), key=lambda r: r["seconds"])
    summary = {
        "bench": "registration_import",
        "rows": ARGS.rows,
        "seconds": slowest["seconds"],
        "peak_mb": max(r["peak_mb"] for r in results.values()),
        "floor_seconds": worst["floor_seconds"],
        "ratio": worst["ratio"],
        "dry_run_seconds": max(r["dry_run_seconds"] for r in results.values()),
        "targets": {"seconds": TARGET_SECONDS, "peak_mb": TARGET_PEAK_MB,
                    "ratio": TARGET_RATIO, "dry_run_seconds": TARGET_DRY_RUN_SECONDS},
        **results,
    }
    summary["met"] = (summary["seconds"] <= TARGET_SECONDS
                      and summary["peak_mb"] <= TARGET_PEAK_MB
                      and summary["ratio"] <= TARGET_RATIO
                      and summary["dry_run_seconds"] <= TARGET_DRY_RUN_SECONDS)
    print(json.dumps(summary, ensure_ascii=False))


ARGS: argparse.Namespace

if __name__ == "__main__":
    main()
