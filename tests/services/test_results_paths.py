"""The fast reading paths of the results service against the straightforward ones they replace.

``stage_inputs``, ``version_table``/``version_page`` and ``differences``/``differences_page``
read stored rows with Core into numpy columns and compare versions in SQL; the references below
are the plain ORM-row, one-Python-object-per-value versions. On a randomised stage (missing and
incomplete points, disqualified components and places, withdrawn, unranked and not-approved
entries, times for the tie-break, reasons) both must give the same tables and the same lines.
"""
import random
from decimal import Decimal

import pandas as pd
import pytest
import sqlalchemy as sa

import scoring as sc
from app.extensions import db
from app.models import (
    Component,
    ComponentScore,
    Entry,
    EntryStatus,
    ResultComponentScore,
    ResultRow,
    ResultsVersion,
    Stage,
    StageEntry,
    StageEntryStatus,
    Track,
    VersionStatus,
)
from app.services import accounts, results

pytestmark = pytest.mark.usefixtures("app_ctx")


# --- the straightforward references ---------------------------------------------------------

def reference_inputs(stage: Stage) -> tuple[pd.DataFrame, pd.DataFrame]:
    codes = {c.id: c.code for c in stage.components}
    score_rows = db.session.execute(
        sa.select(ComponentScore.stage_entry_id, ComponentScore.component_id,
                  ComponentScore.points, ComponentScore.complete, ComponentScore.judges,
                  ComponentScore.disqualified, ComponentScore.disqualified_reason,
                  ComponentScore.time_used_seconds)
        .where(ComponentScore.component_id.in_(list(codes)))).all()
    points = pd.DataFrame(
        [(r[0], codes[r[1]], r[2], r[3], r[4], r[5], r[6]) for r in score_rows],
        columns=["entry_id", "component", "points", "complete", "n_judges", "disqualified",
                 "dq_reason"])
    time_used: dict[int, int] = {}
    for r in score_rows:
        if r[7] is not None:
            time_used[r[0]] = time_used.get(r[0], 0) + r[7]
    people = db.session.execute(
        sa.select(StageEntry.id, Entry.enterprise_id, Entry.status, StageEntry.status,
                  Entry.unranked, StageEntry.disqualified_reason)
        .join(Entry, Entry.id == StageEntry.entry_id).where(StageEntry.stage_id == stage.id)
        .order_by(StageEntry.id)).all()
    entries = pd.DataFrame({
        "entry_id": [p[0] for p in people],
        "enterprise": [f"e{p[1]}" for p in people],
        "approved": [p[2] == EntryStatus.APPROVED for p in people],
        "disqualified": [p[3] == StageEntryStatus.DISQUALIFIED for p in people],
        "unranked": [bool(p[4]) for p in people],
        "flag_reason": [p[5] for p in people],
        "time_used": [time_used.get(p[0]) for p in people],
    })
    entries = entries[[p[3] != StageEntryStatus.WITHDRAWN for p in people]]
    points = points[points["entry_id"].isin(set(entries["entry_id"]))]
    return points, entries


def reference_table(version: ResultsVersion) -> pd.DataFrame:
    rows = db.session.execute(
        sa.select(ResultRow.id, ResultRow.stage_entry_id, ResultRow.total, ResultRow.rank,
                  ResultRow.tie_break, ResultRow.status, ResultRow.eligible, ResultRow.reason,
                  ResultRow.award, Entry.enterprise_id)
        .join(StageEntry, StageEntry.id == ResultRow.stage_entry_id)
        .join(Entry, Entry.id == StageEntry.entry_id)
        .where(ResultRow.version_id == version.id)).all()
    table = pd.DataFrame(rows, columns=["row_id", "entry_id", "total", "rank", "tie_break",
                                        "status", "eligible", "reason", "award", "enterprise"])
    table["enterprise"] = "e" + table["enterprise"].astype(str)
    table["rank"] = table["rank"].astype("Int64")
    parts = db.session.execute(
        sa.select(ResultComponentScore.row_id, Component.code, ResultComponentScore.points,
                  ResultComponentScore.percent)
        .join(Component, Component.id == ResultComponentScore.component_id)
        .join(ResultRow, ResultRow.id == ResultComponentScore.row_id)
        .where(ResultRow.version_id == version.id)).all()
    by_row: dict[int, dict] = {}
    for row_id, code, points, percent in parts:
        by_row.setdefault(row_id, {})[f"{code}_points"] = points
        by_row[row_id][f"{code}_percent"] = percent
    for code in [c["code"] for c in version.settings["components"]]:
        for suffix in ("points", "percent"):
            key = f"{code}_{suffix}"
            table[key] = [by_row.get(r, {}).get(key) for r in table["row_id"]]
    return table.sort_values(["rank", "entry_id"], na_position="last").reset_index(drop=True)


def reference_differences(version: ResultsVersion, previous: ResultsVersion) -> list[tuple]:
    now = reference_table(version).set_index("entry_id")
    before = reference_table(previous).set_index("entry_id")
    fields = ["total", "rank", "status", "award"] + [c for c in now.columns
                                                       if c.endswith(("_points", "_percent"))]
    changes = []
    for entry_id in sorted(set(now.index) | set(before.index)):
        for field in fields:
            a = before.at[entry_id, field] if entry_id in before.index and field in before else None
            b = now.at[entry_id, field] if entry_id in now.index and field in now else None
            a, b = (None if x is None or x is pd.NA or (isinstance(x, float) and pd.isna(x))
                    else x for x in (a, b))
            if a != b:
                changes.append((int(entry_id), field, a, b))
    return changes


def plain(frame: pd.DataFrame) -> list[dict]:
    """Rows as dicts of plain values, every kind of missing value as None."""
    return [{k: (None if v is None or v is pd.NA or (isinstance(v, float) and pd.isna(v))
                 else v) for k, v in row.items()}
            for row in frame.astype(object).to_dict("records")]


# --- a randomised stage -----------------------------------------------------------------------

def organiser():
    return accounts.get_by_username("organiser")


def randomised_stage(seed: int) -> Stage:
    """The chemical preliminary with every kind of stored score and entry the results read."""
    stage = db.session.scalar(sa.select(Stage).join(Track).where(Track.code == "chem",
                                                                 Stage.seq == 1))
    stage.recheck_top, stage.recheck_fraction = 0, Decimal("0")  # publish without a re-check
    rng = random.Random(seed)
    places = db.session.scalars(sa.select(StageEntry).where(StageEntry.stage_id == stage.id)
                                .order_by(StageEntry.id)).all()
    for place in places:
        roll = rng.random()
        if roll < 0.05:
            place.status = StageEntryStatus.WITHDRAWN
        elif roll < 0.08:
            place.status = StageEntryStatus.DISQUALIFIED
            place.disqualified_reason = rng.choice([None, "替考"])
        roll = rng.random()
        if roll < 0.04:
            place.entry.unranked = True
        elif roll < 0.07:
            place.entry.status = EntryStatus.ENDORSED
    for component in stage.components:
        for place in places:
            roll = rng.random()
            if roll < 0.03:
                continue  # no score stored at all
            dq = roll > 0.97
            db.session.add(ComponentScore(
                component_id=component.id, stage_entry_id=place.id,
                judges=rng.choice([1, 2, 3]), complete=roll > 0.06,
                points=None if 0.03 <= roll < 0.05 else (
                    Decimal(rng.choice([8000, 8000, 7550, 10000, rng.randint(0, 10000)])) / 100),
                disqualified=dq, disqualified_reason="作弊" if dq and rng.random() < 0.7 else None,
                time_used_seconds=rng.choice([None, 1800, 2400, rng.randint(600, 3600)])))
    stage.awards = [{"name": "一等奖", "count": 3}, {"name": "二等奖", "count": 5}]
    stage.tie_breaks = [{"key": "theory", "direction": "desc"},
                        {"key": "time", "direction": "asc"}]
    db.session.flush()
    return stage


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_stage_inputs_give_the_same_results_as_the_straightforward_reading(seed):
    stage = randomised_stage(seed)
    inputs = results.stage_inputs(stage)
    points, entries = reference_inputs(stage)
    order = {c.code: k for k, c in enumerate(stage.components)}

    def canonical(frame):  # scores by component in the stage's order, then entry
        return sorted(plain(frame), key=lambda row: (order[row["component"]], row["entry_id"]))

    assert canonical(inputs.points) == canonical(points)
    assert plain(inputs.points) == canonical(inputs.points)  # given in that order
    assert plain(inputs.entries) == plain(entries.reset_index(drop=True))
    fast = sc.compute_results(inputs.rule, inputs.points, inputs.entries)
    slow = sc.compute_results(inputs.rule, points, entries)
    assert plain(fast) == plain(slow)
    assert {"ok", "incomplete", "disqualified", "unranked", "not_approved"} <= set(fast["status"])
    assert inputs.entries["time_used"].notna().any() and fast["tie_break"].notna().any()


def test_an_entry_of_another_track_placed_in_the_stage_is_read_all_the_same():
    """The entries are joined from the stage's track; one of another track (no stage should
    hold one) is looked up by itself, with its enterprise and flags, never left out."""
    stage = randomised_stage(5)
    stray = db.session.scalar(sa.select(Entry).where(Entry.track_id != stage.track_id)
                              .order_by(Entry.id).limit(1))
    stray.status, stray.unranked = EntryStatus.APPROVED, True
    place = StageEntry(stage_id=stage.id, entry_id=stray.id,
                       status=StageEntryStatus.DISQUALIFIED, disqualified_reason="替考")
    db.session.add(place)
    db.session.flush()
    inputs = results.stage_inputs(stage)
    _points, entries = reference_inputs(stage)
    assert plain(inputs.entries) == plain(entries.reset_index(drop=True))
    mine = inputs.entries[inputs.entries["entry_id"] == place.id].iloc[0]
    assert (mine["enterprise"], mine["approved"], mine["unranked"], mine["disqualified"],
            mine["flag_reason"]) == (f"e{stray.enterprise_id}", True, True, True, "替考")


def test_the_fingerprint_covers_every_input():
    stage = randomised_stage(4)
    first = results.stage_inputs(stage).fingerprint
    assert results.stage_inputs(stage).fingerprint == first  # nothing changed, same inputs
    seen = {first}
    score = db.session.scalar(sa.select(ComponentScore).where(
        ComponentScore.points.is_not(None), ComponentScore.disqualified.is_(False))
        .order_by(ComponentScore.id).limit(1))
    place = db.session.scalar(sa.select(StageEntry).where(
        StageEntry.stage_id == stage.id, StageEntry.status == StageEntryStatus.ACTIVE)
        .order_by(StageEntry.id).limit(1))
    for change in (lambda: setattr(score, "points", score.points + Decimal("0.01")),
                   lambda: setattr(score, "complete", not score.complete),
                   lambda: setattr(score, "judges", score.judges + 1),
                   lambda: setattr(score, "disqualified_reason", "另一原因"),
                   lambda: setattr(score, "time_used_seconds", 999),
                   lambda: setattr(place.entry, "unranked", not place.entry.unranked),
                   lambda: setattr(place, "disqualified_reason", "核实"),
                   lambda: setattr(place, "status", StageEntryStatus.WITHDRAWN),
                   lambda: (setattr(stage.components[0], "weight", Decimal("41")),
                            setattr(stage.components[1], "weight", Decimal("59")))):
        change()
        db.session.flush()
        fingerprint = results.stage_inputs(stage).fingerprint
        assert fingerprint not in seen
        seen.add(fingerprint)


def test_version_table_and_its_pages_read_what_was_stored():
    stage = randomised_stage(5)
    version = results.create_version(stage, actor=organiser())
    table = results.version_table(version)
    reference = reference_table(version)
    assert plain(table) == plain(reference)
    assert isinstance(table.at[0, "total"], Decimal) and str(table.at[0, "total"]) == str(
        reference.at[0, "total"])  # the same Decimals, exponent and all
    # What was computed is what was stored: the version's rows are the computed table's.
    computed, _inputs = results.compute(stage)
    def lines(frame):
        return {row["entry_id"]: (row["total"], row["rank"], row["status"])
                for row in plain(frame[["entry_id", "total", "rank", "status"]])}

    assert lines(table) == lines(computed)

    ranked = table["rank"].notna()
    assert ranked.iloc[:ranked.sum()].all() and not ranked.iloc[ranked.sum():].any()
    order = list(zip(table["rank"].fillna(10**9), table["entry_id"], strict=True))
    assert order == sorted(order)  # by rank, ties by entry, unranked last

    for per_page in (7, 50, len(table), len(table) + 3):
        pages, count = [], None
        for page in range(1, -(-len(table) // per_page) + 1):
            rows, count = results.version_page(version, page, per_page)
            assert len(rows) == min(per_page, len(table) - (page - 1) * per_page)
            pages.append(rows)
        assert count == len(table)
        assert plain(pd.concat(pages, ignore_index=True)) == plain(table)
    beyond, count = results.version_page(version, 1000, 50)
    assert beyond.empty and count == len(table)
    assert list(beyond.columns) == list(table.columns)


def test_differences_match_the_straightforward_comparison():
    stage = randomised_stage(6)
    first = results.create_version(stage, actor=organiser())
    results.publish(first, actor=organiser())
    rng = random.Random(6)
    scores = db.session.scalars(sa.select(ComponentScore).join(Component).where(
        Component.stage_id == stage.id, ComponentScore.points.is_not(None))
        .order_by(ComponentScore.id)).all()
    for score in rng.sample(scores, 12):
        score.points = min(Decimal("100"), score.points + Decimal("3.50"))
    places = db.session.scalars(sa.select(StageEntry).where(
        StageEntry.stage_id == stage.id, StageEntry.status == StageEntryStatus.ACTIVE)
        .order_by(StageEntry.id)).all()
    places[0].status = StageEntryStatus.WITHDRAWN  # in the first version only
    places[1].status = StageEntryStatus.DISQUALIFIED
    db.session.flush()
    second = results.create_version(stage, actor=organiser(), reason="更正")
    assert second.previous_id == first.id and second.status == VersionStatus.DRAFT

    expected = reference_differences(second, first)
    got = [(d.entry_id, d.field, d.before, d.after) for d in results.differences(second)]
    assert got == expected
    assert {"total", "rank", "status"} <= {field for _e, field, _b, _a in got}
    assert any(e == places[0].id and a is None for e, _f, _b, a in got)  # gone from version 2

    for limit in (1, 5, 40):
        walked, after, pages = [], 0, 0
        while True:
            lines, following = results.differences_page(second, after=after, limit=limit)
            pages += 1
            assert len({d.entry_id for d in lines}) <= limit
            walked += [(d.entry_id, d.field, d.before, d.after) for d in lines]
            if following is None:
                break
            assert following == lines[-1].entry_id
            after = following
        assert walked == expected
        assert pages == max(1, -(-len({e for e, *_rest in expected}) // limit))
    assert results.differences(first) == [] and results.differences_page(first) == ([], None)


@pytest.mark.parametrize("reveal", [True, False])
def test_the_export_holds_the_version_cell_by_cell(reveal):
    """The streamed export against the version read back: every cell of every row."""
    import openpyxl

    from app.labels import RESULT_STATUS
    from app.services.exports import EXPORTERS

    stage = randomised_stage(7)
    version = results.create_version(stage, actor=organiser())
    table = results.version_table(version)
    people = {p.id: p for p in db.session.scalars(sa.select(StageEntry).where(
        StageEntry.stage_id == stage.id))}
    cent = Decimal("0.01")
    status = {str(code): str(label) for code, label in RESULT_STATUS.items()}

    def number(value):
        return None if value is None else float(value.quantize(cent))

    expected = []
    for row in plain(table):
        entry = people[row["entry_id"]].entry
        line = [None if row["rank"] is None else float(row["rank"]), entry.exam_number]
        if reveal:
            line += [entry.contestant.name, entry.enterprise.name]
        for component in version.settings["components"]:
            line += [number(row[f"{component['code']}_points"]),
                     number(row[f"{component['code']}_percent"])]
        line += [number(row["total"]),  # the deciding comparison by its name (用时, a component)
                 results.tie_break_names(version).get(row["tie_break"], row["tie_break"])
                 if row["tie_break"] else None, status[row["status"]],
                 row["reason"], row["award"]]
        expected.append(line)
    path = EXPORTERS["results"](version, reveal_names=reveal)
    book = openpyxl.load_workbook(path, read_only=True)
    try:
        got = [[float(v) if isinstance(v, int | float) else (v if v != "" else None)
                for v in row] for row in book.active.iter_rows(min_row=3, values_only=True)]
    finally:
        book.close()
        path.unlink()
    assert got == expected
    assert any(line[0] is None for line in got) and any(line[-1] for line in got)
    assert any(v is None for line in got for v in line[4 if reveal else 2:-5])  # no points


def test_integer_columns_are_read_whole_and_a_null_is_refused():
    """The bulk integer reader: a column of the integer type and a wider one (values beyond
    32 bits, negative ones), in one row order; a NULL is never dropped silently."""

    def rows(*pairs):
        return sa.union_all(*[
            sa.select(sa.literal(a, sa.Integer).label("a"), sa.literal(b, sa.BigInteger).label("b"))
            for a, b in pairs]).subquery()

    values = rows((1, 2**40 + 3), (-7, -(2**35)), (2**31 - 1, 0))
    small, big = results._int_columns(sa.select(values.c.a, values.c.b))
    assert sorted(zip(small.tolist(), big.tolist(), strict=True)) == [
        (-7, -(2**35)), (1, 2**40 + 3), (2**31 - 1, 0)]
    assert small.dtype == big.dtype == "int64"
    empty = sa.select(values.c.a, values.c.b).where(sa.false())
    assert [len(c) for c in results._int_columns(empty)] == [0, 0]
    with_null = rows((1, 2), (3, None))
    with pytest.raises(RuntimeError):
        results._int_columns(sa.select(with_null.c.a, with_null.c.b))
