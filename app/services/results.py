"""Results and advancement: a stage's scores become an immutable results version, a published
version becomes an advancement list under public notice, and the final list fills the next stage.

Every number comes from scoring/; published rows are never changed — a correction is a new
version, and the difference from the previous one is shown line by line.
"""
from __future__ import annotations

import functools
import gc
import hashlib
import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd
import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload, selectinload

import scoring as sc
from app.display import display_datetime
from app.extensions import db
from app.inputs import clean_text, text_or_problem
from app.models import (
    AdvancementEntry,
    AdvancementEntryStatus,
    AdvancementList,
    Appeal,
    ComponentScore,
    Contestant,
    Enterprise,
    Entry,
    EntryStatus,
    ListStatus,
    Objection,
    RecheckRound,
    ResultComponentScore,
    ResultRow,
    ResultsVersion,
    RulingStatus,
    ScoreSource,
    Stage,
    StageEntry,
    StageEntryStatus,
    Track,
    User,
    VersionStatus,
    utcnow,
)
from app.models.base import POINTS, PUBLISHED
from app.services import FieldErrors, ServiceError, audit, stage_flow

# --- inputs ------------------------------------------------------------------------------------

@dataclass
class StageInputs:
    rule: sc.StageRule
    points: pd.DataFrame  # entry_id, component, points, complete, n_judges, disqualified, dq_reason
    entries: pd.DataFrame  # entry_id, enterprise, approved, disqualified, unranked, time_used
    fingerprint: str


def names_revealed(stage: Stage) -> bool:
    """Names stand next to scores only when every judged component has been decrypted."""
    from app.services.judging import is_decrypted

    return all(is_decrypted(c) for c in stage.components if c.source == ScoreSource.JUDGES)


def readiness(stage: Stage, *, imported: set[int] | None = None) -> list[str]:
    """Why the stage's results cannot be computed yet (empty: they can). ``imported``: the ids
    of the components known to have imported results (:func:`stages_overview` reads them for
    every stage at once), else each imported component is looked up."""
    problems = []
    for component in stage.components:
        if component.source == ScoreSource.JUDGES and component.signed_off_at is None:
            problems.append(_("%(name)s has not been signed off by the chief judge.",
                              name=component.name))
        elif component.source == ScoreSource.IMPORT and not (
                component.id in imported if imported is not None else db.session.scalar(
                    sa.select(ComponentScore.id).where(
                        ComponentScore.component_id == component.id).limit(1))):
            problems.append(_("%(name)s has no imported results yet.", name=component.name))
    if not stage.components:
        problems.append(_("The stage has no components."))
    return problems


def stage_inputs(stage: Stage) -> StageInputs:
    """The stage's rules, component scores and entries, as scoring/ takes them.

    The stored rows are read as integer columns straight into numpy (:func:`_int_columns`):
    exact amounts as the integer units ScaledDecimal stores, each row's flags packed into one
    integer by the database, the rare texts (reasons) by queries of their own. Points become
    Decimals once per distinct value, held as a categorical column.
    """
    from app.services.stages import scoring_rule

    try:
        rule = scoring_rule(stage)
    except sc.ScoringError as error:
        raise ServiceError(str(error)) from None
    components = list(stage.components)
    component_ids = [c.id for c in components]
    width = max(1, len(components))
    score, place, entry = (ComponentScore.__table__.c, StageEntry.__table__.c,
                           Entry.__table__.c)
    in_stage = sa.and_(place.stage_id == stage.id,
                       place.status != StageEntryStatus.WITHDRAWN.value)
    # Per entry: its id and, packed into one integer, its enterprise × 16 + its flags
    # (approved, disqualified, unranked, a note). The entries are joined from the stage's
    # track only (its index: not every entry of every track), as an outer join: an entry of
    # another track, which no stage should hold, comes as -16 + the stage entry's flags and is
    # looked up by itself below, never left out.
    of_entry = (sa.cast(entry.enterprise_id, sa.BigInteger) * 16
                + _flag(entry.status == EntryStatus.APPROVED.value, 8)
                + _flag(entry.unranked, 2))
    of_place = (_flag(place.status == StageEntryStatus.DISQUALIFIED.value, 4)
                + _flag(place.disqualified_reason.is_not(None), 1))
    ids, packed = _int_columns(
        sa.select(place.id, sa.func.coalesce(of_entry, -16) + of_place)
        .join_from(StageEntry.__table__, Entry.__table__,
                   sa.and_(entry.id == place.entry_id, entry.track_id == stage.track_id),
                   isouter=True)
        .where(in_stage))
    strays = np.flatnonzero(packed < 0)
    if len(strays):
        found = dict(db.session.execute(
            sa.select(place.id, of_entry)
            .join_from(StageEntry.__table__, Entry.__table__, entry.id == place.entry_id)
            .where(place.id.in_(ids[strays].tolist()))).all())
        packed[strays] = np.array([found[i] for i in ids[strays].tolist()]) + (packed[strays] & 15)
    enterprise_ids, flags = packed >> 4, packed & 15
    # Per score: its entry, its points and time used (0 when none) and, packed into one
    # integer, ((judges × components + component position) × 32 + a time, complete,
    # disqualified, no points, a reason).
    s_entry, s_units, s_seconds, s_flags = _int_columns(
        sa.select(score.stage_entry_id,
                  sa.func.coalesce(sa.type_coerce(score.points, sa.BigInteger), 0),
                  sa.func.coalesce(score.time_used_seconds, 0),
                  (score.judges * width + sa.case(
                      {cid: k for k, cid in enumerate(component_ids)},
                      value=score.component_id)) * 32
                  + _flag(score.time_used_seconds.is_not(None), 16)
                  + _flag(score.complete, 8) + _flag(score.disqualified, 4)
                  + _flag(score.points.is_(None), 2)
                  + _flag(score.disqualified_reason.is_not(None), 1))
        .where(score.component_id.in_(component_ids)))

    # Entries by id; scores by component (the settings' order), then entry: the canonical
    # order of the fingerprint, mostly the order they are read in already.
    ids, enterprise_ids, flags = _sorted_by(ids, ids, enterprise_ids, flags)
    keep = np.isin(s_entry, ids)  # a withdrawn entry's scores take no part
    s_entry, s_units, s_seconds, s_flags = (s_entry[keep], s_units[keep], s_seconds[keep],
                                            s_flags[keep])
    s_component = (s_flags >> 5) % width
    cell = s_component * (int(ids[-1]) + 1 if len(ids) else 1) + s_entry
    cell, s_entry, s_units, s_seconds, s_flags, s_component = _sorted_by(
        cell, cell, s_entry, s_units, s_seconds, s_flags, s_component)
    dq_reason = np.full(len(s_entry), None, dtype=object)
    with_reason = np.flatnonzero(s_flags & 1)
    if len(with_reason):  # the few reasons, by the scores that have one
        query = sa.select(score.stage_entry_id, score.component_id,
                          score.disqualified_reason).where(
            score.component_id.in_(component_ids), score.disqualified_reason.is_not(None))
        if len(with_reason) <= 1000:
            query = query.where(score.stage_entry_id.in_(
                np.unique(s_entry[with_reason]).tolist()))
        texts = {(e, c): text for e, c, text in db.session.execute(query)}
        for k in with_reason.tolist():
            dq_reason[k] = texts.get((int(s_entry[k]), component_ids[s_component[k]]))
    columns = {
        "entry_id": s_entry, "component": s_component, "points": s_units,
        "points_missing": (s_flags & 2).astype(bool), "complete": (s_flags & 8).astype(bool),
        "n_judges": (s_flags >> 5) // width, "disqualified": (s_flags & 4).astype(bool),
        "dq_reason": dq_reason,
    }
    # Time used per entry: the sum over its components that record one (None: none does).
    with_time = (s_flags & 16).astype(bool)
    slot = np.searchsorted(ids, s_entry[with_time])
    time_used = np.zeros(len(ids), np.int64)
    np.add.at(time_used, slot, s_seconds[with_time])
    timed = np.zeros(len(ids), bool)
    timed[slot] = True
    flag_reason = np.full(len(ids), None, dtype=object)
    with_note = np.flatnonzero(flags & 1)
    if len(with_note):  # the few notes, by the entries that have one
        query = sa.select(place.id, place.disqualified_reason).where(
            in_stage, place.disqualified_reason.is_not(None))
        if len(with_note) <= 1000:
            query = query.where(place.id.in_(ids[with_note].tolist()))
        notes = dict(db.session.execute(query).all())
        flag_reason[with_note] = [notes.get(int(i)) for i in ids[with_note]]
    entry_columns = {
        "entry_id": ids, "enterprise_id": enterprise_ids,
        "approved": (flags & 8).astype(bool), "disqualified": (flags & 4).astype(bool),
        "unranked": (flags & 2).astype(bool), "flag_reason": flag_reason,
        "time_used": time_used, "timed": timed,
    }
    fingerprint = _fingerprint(stage, columns, entry_columns)

    points = pd.DataFrame({
        "entry_id": s_entry,
        "component": pd.Categorical.from_codes(s_component, [c.code for c in components]),
        "points": _decimal_categories(s_units, columns["points_missing"], POINTS),
        "complete": columns["complete"], "n_judges": columns["n_judges"],
        "disqualified": columns["disqualified"],
        "dq_reason": pd.Series(dq_reason, dtype=object)})
    uniq, inverse = np.unique(enterprise_ids, return_inverse=True)
    entries = pd.DataFrame({
        "entry_id": ids,
        "enterprise": pd.Categorical.from_codes(inverse, [f"e{u}" for u in uniq.tolist()]),
        "approved": entry_columns["approved"], "disqualified": entry_columns["disqualified"],
        "unranked": entry_columns["unranked"],
        "flag_reason": pd.Series(flag_reason, dtype=object),
        "time_used": _optional_ints(time_used, timed)})
    return StageInputs(rule, points, entries, fingerprint)


def _sorted_by(key: np.ndarray, *columns: np.ndarray) -> list[np.ndarray]:
    """``columns`` in the order of ``key`` (sorted only if they are not already)."""
    if len(key) < 2 or bool((key[1:] >= key[:-1]).all()):
        return list(columns)
    order = np.argsort(key, kind="stable")
    return [column[order] for column in columns]


def _int_columns(statement: sa.Select) -> list[np.ndarray]:
    """The columns of ``statement`` -- integers, none of them NULL -- as int64 arrays in one
    row order (not the statement's: sort afterwards if it matters).

    The database hands the columns over in bulk and numpy reads them in C, so tens of thousands
    of rows make no Python object per value: SQLite joins each column into one text
    (group_concat), PostgreSQL aggregates the rows as binary records into one bytea
    (:func:`_pg_int_columns`). Elsewhere the rows are fetched as usual."""
    width = len(statement.selected_columns)
    connection = db.session.connection()
    dialect = connection.dialect.name
    if dialect == "sqlite":
        source = statement.subquery()
        count, *texts = connection.execute(sa.select(
            sa.func.count(), *[sa.func.group_concat(c) for c in source.c])).one()
        arrays = [np.fromstring(text or "", dtype=np.int64, sep=",") for text in texts]
    elif dialect == "postgresql":
        arrays = _pg_int_columns(connection, statement, width)
        count = len(arrays[0])
    else:  # pragma: no cover - other databases
        rows = connection.execute(statement).all()
        count = len(rows)
        arrays = [np.array(c, dtype=np.int64) for c in _columns(rows, width)]
    if any(len(a) != count for a in arrays):
        raise RuntimeError(f"columns of unequal length read for {count} rows")
    return arrays


def _pg_int_columns(connection: sa.Connection, statement: sa.Select,
                    width: int) -> list[np.ndarray]:
    """PostgreSQL: each row as one binary record -- its integers' own binary forms
    (int4send/int8send: big-endian, 4 bytes for a column of the integer type, which
    PostgreSQL refuses to overflow, 8 for any other) concatenated -- and the records
    aggregated into one bytea (string_agg), read by numpy as a record array. One value to
    build, send and receive instead of one per integer (as arrays were: a length word each):
    a third less time for the 60,000 scores of a 20,000-entry stage. A NULL would drop its
    row from the aggregate: the row count, read alongside, catches it."""
    source = statement.subquery()
    sizes = [4 if _narrow(c.type) else 8 for c in source.c]
    sent = [sa.func.int4send(sa.cast(c, sa.Integer)) if size == 4
            else sa.func.int8send(sa.cast(c, sa.BigInteger))
            for c, size in zip(source.c, sizes, strict=True)]
    record = functools.reduce(lambda left, right: left.op("||")(right), sent)
    query = sa.select(sa.func.count(), sa.func.string_agg(
        sa.type_coerce(record, sa.LargeBinary), sa.cast(sa.literal(b""), sa.LargeBinary)))
    sql = str(query.compile(dialect=connection.dialect,
                            compile_kwargs={"literal_binds": True}))
    with connection.connection.driver_connection.cursor(binary=True) as cursor:
        count, data = cursor.execute(sql).fetchone()
    records = np.frombuffer(data or b"", dtype=[(f"c{k}", f">i{size}")
                                                for k, size in enumerate(sizes)])
    if len(records) != count:
        raise RuntimeError("a NULL in an integer column")
    return [records[f"c{k}"].astype(np.int64) for k in range(width)]


def _narrow(column_type: sa.types.TypeEngine) -> bool:
    """Whether a column or expression is of the (4-byte) integer type."""
    return isinstance(column_type, sa.Integer) and not isinstance(column_type, sa.BigInteger)


def _decimal_categories(units: np.ndarray, missing: np.ndarray, scale: int) -> pd.Categorical:
    """Exact amounts stored as integer units of 10**-scale, as a categorical column of the
    Decimals ScaledDecimal would return (one per distinct value; missing where ``missing``)."""
    uniq, codes = np.unique(units[~missing], return_inverse=True)
    everywhere = np.full(len(units), -1, dtype=np.int64)
    everywhere[~missing] = codes
    values = pd.Index([Decimal(u).scaleb(-scale) for u in uniq.tolist()], dtype=object)
    return pd.Categorical.from_codes(everywhere, dtype=pd.CategoricalDtype(values))


def _columns(rows: Sequence[Sequence], width: int) -> list[tuple]:
    """Fetched rows as ``width`` column tuples (empty ones when there are no rows)."""
    return list(zip(*rows, strict=True)) if rows else [()] * width


def _fetch_columns(statement: sa.Select, width: int) -> list[tuple]:
    """The rows of ``statement`` as ``width`` column tuples. A bulk read makes a few hundred
    thousand short-lived tuples that hold no cycles: the cyclic garbage collector, which
    would walk the whole heap several times meanwhile, is paused (reference counting still
    frees everything)."""
    paused = gc.isenabled()
    gc.disable()
    try:
        return _columns(db.session.execute(statement).all(), width)
    finally:
        if paused:
            gc.enable()


def _flag(condition, value: int) -> sa.ColumnElement:
    """``value`` where ``condition`` holds, else 0: flags packed into one integer in SQL."""
    return sa.case((condition, value), else_=0)


def _nullable_ints(values: Sequence[int | None]) -> tuple[np.ndarray, np.ndarray]:
    """An integer column with NULLs as int64 values (0 where NULL) and the NULL mask."""
    column = np.array(values, dtype=object)
    missing = np.equal(column, None)
    return np.where(missing, 0, column).astype(np.int64), missing


def _decimals(units: np.ndarray, missing: np.ndarray, scale: int) -> np.ndarray:
    """Exact Decimals (None where missing) for integer units of 10**-scale, as ScaledDecimal
    returns them: one Decimal per distinct value."""
    out = np.full(len(units), None, dtype=object)
    if len(units) and not missing.all():
        uniq, inverse = np.unique(units[~missing], return_inverse=True)
        values = np.empty(len(uniq), dtype=object)
        values[:] = [Decimal(u).scaleb(-scale) for u in uniq.tolist()]
        out[~missing] = values[inverse]
    return out


def _optional_ints(values: np.ndarray, present: np.ndarray) -> np.ndarray:
    """As pandas makes a column of ints and Nones: int64 when none is missing, float64 with
    NaN when some are, None throughout when all are."""
    if present.all():
        return values
    if present.any():
        return np.where(present, values, np.nan)
    return np.full(len(values), None, dtype=object)


def _fingerprint(stage: Stage, points: dict[str, np.ndarray],
                 entries: dict[str, np.ndarray]) -> str:
    """SHA-256 of everything a results version is computed from: the settings, then every
    score and entry column, given in a canonical order (scores by component in the settings'
    order, then entry; entries by id) -- integers as little-endian int64, flags as bytes,
    texts as JSON of their positions and values."""
    digest = hashlib.sha256()
    digest.update(b"results-inputs/2\n")
    # The award settings are kept in the version's settings but left out here: they give
    # prizes, not scores, and leaving them out keeps the fingerprints of versions stored
    # before awards had settings (the charts compare them to tell unpublished corrections).
    scored = {k: v for k, v in settings_snapshot(stage).items() if k not in AWARD_SETTINGS}
    digest.update(json.dumps(scored, sort_keys=True, default=str).encode())
    for frame in (points, entries):
        for name in sorted(frame):
            column = frame[name]
            digest.update(f"\n{name}:".encode())
            if column.dtype == object:
                present = np.flatnonzero(np.not_equal(column, None))
                digest.update(json.dumps([present.tolist(), column[present].tolist()],
                                         ensure_ascii=False).encode())
            elif column.dtype == bool:
                digest.update(column.astype(np.uint8).tobytes())
            else:
                digest.update(column.astype("<i8").tobytes())
    return digest.hexdigest()


AWARD_SETTINGS = ("awards", "award_rounding", "award_ties", "award_margin")


def settings_snapshot(stage: Stage) -> dict:
    return {
        "decimals": stage.decimals, "quota": stage.quota,
        "per_enterprise_cap": stage.per_enterprise_cap,
        "cutoff_tie_policy": stage.cutoff_tie_policy.value, "tie_breaks": stage.tie_breaks,
        "awards": list(stage.awards or []), "award_rounding": stage.award_rounding.value,
        "award_ties": stage.award_ties.value,
        "award_margin": str(stage.award_margin) if stage.award_margin is not None else None,
        "components": [{"code": c.code, "name": c.name, "weight": str(c.weight),
                        "maximum": str(c.maximum), "aggregation": c.aggregation.value,
                        "min_percent": str(c.min_percent) if c.min_percent is not None else None}
                       for c in stage.components],
    }


def tie_break_names(version: ResultsVersion) -> dict[str, str]:
    """What a row's tie-break key (the comparison that separated it from the row above) is
    called: the version's components by their names, time used, the entry columns."""
    from app.services.stages import TIE_BREAK_COLUMNS, TIME_KEY

    names = {key: str(label) for key, label in TIE_BREAK_COLUMNS.items()}
    names[TIME_KEY] = _("Time used")
    names.update({c["code"]: c["name"] for c in version.settings.get("components", [])})
    return names


def compute(stage: Stage) -> tuple[pd.DataFrame, StageInputs]:
    """The stage's results table (scoring.compute_results) from its stored scores."""
    inputs = stage_inputs(stage)
    if inputs.entries.empty:
        raise ServiceError(_("The stage has no contestants."))
    try:
        table = sc.compute_results(inputs.rule, inputs.points, inputs.entries)
    except sc.ScoringError as error:
        raise ServiceError(str(error)) from None
    return table, inputs


# --- versions ----------------------------------------------------------------------------------

def create_version(stage: Stage, *, actor: User, reason: str | None = None,
                   appeals: Sequence[Appeal] = ()) -> ResultsVersion:
    """Compute the stage's results and keep them as a new draft version (nothing published).

    ``appeals``: upheld appeals whose corrections this version carries; each is linked to it
    and named in its reason."""
    from app.services import appeals as appeal_service

    stage_flow.check(stage, stage_flow.Step.VERSION_COMPUTED)
    problems = readiness(stage)
    if problems:
        raise ServiceError("；".join(problems), code="conflict")
    if appeals:
        appeal_service.check_for_version(stage, appeals)
        reason = appeal_service.reason_with(appeals, reason)
    table, inputs = compute(stage)
    number = (db.session.scalar(sa.select(sa.func.max(ResultsVersion.number))
                                .where(ResultsVersion.stage_id == stage.id)) or 0) + 1
    previous = latest_published(stage)
    version = ResultsVersion(stage_id=stage.id, number=number, status=VersionStatus.DRAFT,
                             reason=clean_text(reason, multiline=True, field="reason") or None,
                             previous_id=previous.id if previous else None,
                             fingerprint=inputs.fingerprint, settings=settings_snapshot(stage),
                             created_by_id=actor.id)
    db.session.add(version)
    db.session.flush()
    _store_rows(version, stage, table)
    if appeals:
        appeal_service.link(version, appeals, actor=actor)
    audit.record("results.compute", version, f"{stage.track.name}·{stage.name} 成绩第{number}版（草稿）",
                 after={"rows": len(table), "fingerprint": inputs.fingerprint},
                 reason=version.reason, actor=actor, stage_id=stage.id)
    stage_flow.advance(stage, stage_flow.Step.VERSION_COMPUTED, actor=actor)
    return version


def _store_rows(version: ResultsVersion, stage: Stage, table: pd.DataFrame) -> None:
    """The version's rows, then their component points, each in one bulk write (COPY on
    PostgreSQL, one executemany on SQLite); the rows' ids come back from that write in
    order, so nothing is read back. Values are handed over as the database stores them:
    each distinct exact amount is converted once by its column's own type."""
    from app.services.imports import insert_rows

    if table.empty:
        return
    awards = _awards(stage, table)
    # In entry order, the order of the unique index on (version, entry): appended, not
    # scattered (the table's own order is rank order; readers sort by rank anyway).
    table = table.sort_values("entry_id", kind="stable")
    rows = ResultRow.__table__
    entry_ids = table["entry_id"].astype("int64").tolist()
    ids = insert_rows(
        rows,
        ("version_id", "stage_entry_id", "total", "rank", "tie_break", "status", "eligible",
         "reason", "award"),
        list(zip(itertools.repeat(version.id), entry_ids, _stored(table["total"], rows.c.total),
                 _objects(table["rank"]), _objects(table["tie_break"]),
                 _objects(table["status"]), _stored(table["eligible"], rows.c.eligible),
                 _objects(table["reason"]), [awards.get(i) for i in entry_ids])),
        return_ids=True, converted=True)
    # Row by row, each row's components together: the order of the primary key (row,
    # component), which then grows by appending too.
    parts = ResultComponentScore.__table__
    per_component = [
        zip(ids, itertools.repeat(component.id),
            _stored(table[f"{component.code}_points"], parts.c.points),
            _stored(table[f"{component.code}_percent"], parts.c.percent))
        for component in stage.components]
    insert_rows(parts, ("row_id", "component_id", "points", "percent"),
                list(itertools.chain.from_iterable(zip(*per_component, strict=True))),
                converted=True)


def _objects(column: pd.Series) -> list:
    """A column's values as Python objects, None for every missing value (NaN, NA, None)."""
    return column.to_numpy(dtype=object, na_value=None).tolist()


def _stored(column: pd.Series, target: sa.Column) -> list:
    """A column's values as the driver takes them for ``target`` (None for missing): each
    distinct value converted once by the column type's own bind conversion (an exact amount
    with too many decimals is refused there, as in any insert)."""
    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    process = target.type.bind_processor(db.session.connection().dialect)
    converted = np.empty(len(uniques) + 1, dtype=object)  # the last one: None for code -1
    converted[:-1] = [process(value) if process else value for value in uniques.tolist()]
    return converted[codes].tolist()


def _awards(stage: Stage, table: pd.DataFrame) -> dict[int, str]:
    """Prizes by the stage's award settings through scoring.assign_awards: only eligible,
    ranked contestants; tiers by count, by share of them (rounded as the stage says) or as
    the rest through a share; a tie across a prize boundary as the stage's tie rule says."""
    from app.services.stages import award_rule

    if not stage.awards:
        return {}
    try:
        awards = sc.assign_awards(table, award_rule(stage))
    except sc.ScoringError as error:
        raise ServiceError(str(error)) from None
    return {int(entry_id): name for entry_id, name in awards.by_entry.items()}


@dataclass
class StageOverview:
    """A stage's line on the results overview."""

    stage: Stage
    problems: list[str]
    versions: int
    published: int | None  # the number of its latest published version


def stages_overview() -> list[StageOverview]:
    """Every stage with components, in track order: what keeps its results from being computed,
    how many versions it has and its latest published one -- four queries for all stages."""
    stages = db.session.scalars(
        sa.select(Stage).order_by(Stage.track_id, Stage.seq)
        .options(selectinload(Stage.components),
                 joinedload(Stage.track).joinedload(Track.contest))).unique().all()
    imported = set(db.session.scalars(
        sa.select(ComponentScore.component_id).distinct().where(
            ComponentScore.component_id.in_(
                [c.id for s in stages for c in s.components
                 if c.source == ScoreSource.IMPORT]))))
    counts = {stage_id: (n, published) for stage_id, n, published in db.session.execute(
        sa.select(ResultsVersion.stage_id, sa.func.count(),
                  sa.func.max(sa.case((ResultsVersion.status == VersionStatus.PUBLISHED,
                                       ResultsVersion.number))))
        .group_by(ResultsVersion.stage_id))}
    return [StageOverview(stage, readiness(stage, imported=imported),
                          *counts.get(stage.id, (0, None)))
            for stage in stages if stage.components]


def latest_published(stage: Stage) -> ResultsVersion | None:
    return db.session.scalar(sa.select(ResultsVersion).where(
        ResultsVersion.stage_id == stage.id, ResultsVersion.status == VersionStatus.PUBLISHED)
        .order_by(ResultsVersion.number.desc()).limit(1))


def open_recheck(version: ResultsVersion) -> RecheckRound | None:
    return db.session.scalar(sa.select(RecheckRound).where(
        RecheckRound.version_id == version.id, RecheckRound.closed_at.is_(None)).limit(1))


def publish(version: ResultsVersion, *, actor: User, now: datetime | None = None) -> None:
    """Publish a draft version; the previously published one is superseded, never changed.
    ``now`` dates the publication (default: the present; the demo replays 2025)."""
    if version.status != VersionStatus.DRAFT:
        raise ServiceError(_("Only a draft version can be published."), code="conflict")
    from app.services.rechecks import publication_blocker

    stage_flow.check(version.stage, stage_flow.Step.VERSION_PUBLISHED)
    blocker = publication_blocker(version)  # the re-check (复核) before publication
    if blocker:
        raise ServiceError(blocker, code="conflict")
    previous = latest_published(version.stage)
    if previous is not None:
        previous.status = VersionStatus.SUPERSEDED
    version.status = VersionStatus.PUBLISHED
    version.published_at = now or utcnow()
    version.published_by_id = actor.id
    db.session.flush()
    audit.record("results.publish", version, f"{version.stage.track.name}·{version.stage.name} "
                 f"发布成绩第{version.number}版", reason=version.reason, actor=actor,
                 stage_id=version.stage_id)
    stage_flow.advance(version.stage, stage_flow.Step.VERSION_PUBLISHED, actor=actor)
    from app.services import eligibility

    eligibility.redraw_on_publish(version, actor=actor)  # decisions stay with their people


def version_table(version: ResultsVersion) -> pd.DataFrame:
    """A stored version as a results table: one row per stage entry, with component columns,
    in rank order, ties by entry, unranked entries last."""
    return _version_rows(version)


def selection_table(version: ResultsVersion) -> pd.DataFrame:
    """:func:`version_table` as the advancement rules read it, so that the reasons and the
    cut-off note they write are plain Chinese: enterprises by name (the cap counts per
    enterprise, so two of the same name stay apart), totals at the published decimals (they
    were rounded to them when computed, so nothing changes but the trailing zeros)."""
    table = version_table(version)
    ids = sorted({int(code[1:]) for code in table["enterprise"].unique()})
    names = dict(db.session.execute(sa.select(Enterprise.id, Enterprise.name)
                                    .where(Enterprise.id.in_(ids))).all())
    labels: dict[int, str] = {}
    for enterprise_id in ids:
        name = names.get(enterprise_id, "—")
        labels[enterprise_id] = name if name not in labels.values() else \
            f"{name}（{sum(v.startswith(name) for v in labels.values()) + 1}）"
    table["enterprise"] = [labels[int(code[1:])] for code in table["enterprise"]]
    unit = Decimal(1).scaleb(-int(version.settings["decimals"]))
    table["total"] = [None if total is None else total.quantize(unit, ROUND_HALF_UP)
                      for total in table["total"]]
    return table


def version_page(version: ResultsVersion, page: int, per_page: int) -> tuple[pd.DataFrame, int]:
    """Page ``page`` (from 1) of :func:`version_table`, ``per_page`` rows read with LIMIT and
    OFFSET in the same order, and the version's number of rows."""
    count = db.session.scalar(sa.select(sa.func.count()).select_from(ResultRow)
                              .where(ResultRow.version_id == version.id)) or 0
    return _version_rows(version, limit=per_page, offset=(max(1, page) - 1) * per_page), count


_ROW_COLUMNS = ["row_id", "entry_id", "total", "rank", "tie_break", "status", "eligible",
                "reason", "award", "enterprise"]


def _version_rows(version: ResultsVersion, limit: int | None = None,
                  offset: int = 0) -> pd.DataFrame:
    """Rows of a stored version in table order (all of them, or LIMIT/OFFSET), read with Core
    into columns: exact amounts as stored units made Decimals once per distinct value."""
    row, place, entry = ResultRow.__table__.c, StageEntry.__table__.c, Entry.__table__.c
    order = (row.rank.is_(None), row.rank, row.stage_entry_id)
    if limit is None:
        rows_from, chosen = ResultRow.__table__, row.version_id == version.id
    else:  # the page's rows chosen first, on the rows alone, then looked up by id
        page = (sa.select(row.id).where(row.version_id == version.id).order_by(*order)
                .limit(limit).offset(offset).subquery("page"))
        rows_from, chosen = page.join(ResultRow.__table__, row.id == page.c.id), sa.true()
    query = (sa.select(row.id, row.stage_entry_id, sa.type_coerce(row.total, sa.BigInteger),
                       row.rank, row.tie_break, row.status,
                       sa.type_coerce(row.eligible, sa.Integer), row.reason, row.award,
                       entry.enterprise_id)
             .select_from(rows_from.join(StageEntry.__table__, place.id == row.stage_entry_id)
                          .join(Entry.__table__, entry.id == place.entry_id))
             .where(chosen).order_by(*order))
    rows = _fetch_columns(query, len(_ROW_COLUMNS))
    columns = rows
    row_ids = np.array(columns[0], dtype=np.int64)
    total, no_total = _nullable_ints(columns[2])
    rank, unranked = _nullable_ints(columns[3])
    uniq, inverse = np.unique(np.array(columns[9], dtype=np.int64), return_inverse=True)
    table = pd.DataFrame({
        "row_id": row_ids, "entry_id": np.array(columns[1], dtype=np.int64),
        "total": _decimals(total, no_total, PUBLISHED),
        "rank": pd.arrays.IntegerArray(rank, unranked),
        "tie_break": pd.Series(columns[4], dtype=object),
        "status": pd.Series(columns[5], dtype=object),
        "eligible": np.array(columns[6], dtype=bool),
        "reason": pd.Series(columns[7], dtype=object),
        "award": pd.Series(columns[8], dtype=object),
        "enterprise": np.array([f"e{u}" for u in uniq.tolist()], dtype=object)[inverse]})
    codes = [c["code"] for c in version.settings["components"]]
    parts = ResultComponentScore.__table__.c
    query = sa.select(parts.row_id, parts.component_id,
                      sa.type_coerce(parts.points, sa.BigInteger),
                      sa.type_coerce(parts.percent, sa.BigInteger))
    if limit is None:
        query = query.join_from(ResultComponentScore.__table__, ResultRow.__table__,
                                row.id == parts.row_id).where(row.version_id == version.id)
    else:
        query = query.where(parts.row_id.in_(row_ids.tolist()))
    found = _columns(db.session.execute(query).all(), 4)
    id_of = _component_ids(version)
    by_row = np.argsort(row_ids)
    part_rows = np.array(found[0], dtype=np.int64)
    slot = by_row[np.searchsorted(row_ids[by_row], part_rows)] if len(row_ids) else part_rows
    part_components = np.array(found[1], dtype=np.int64)
    points, no_points = _nullable_ints(found[2])
    percent, no_percent = _nullable_ints(found[3])
    for code in codes:
        mine = part_components == id_of.get(code, -1)
        for name, units, missing in (("points", points, no_points),
                                     ("percent", percent, no_percent)):
            values = np.zeros(len(row_ids), np.int64)
            absent = np.ones(len(row_ids), bool)
            values[slot[mine]] = units[mine]
            absent[slot[mine]] = missing[mine]
            table[f"{code}_{name}"] = _decimals(values, absent, PUBLISHED)
    return table


@dataclass
class Difference:
    entry_id: int
    field: str
    before: object
    after: object


def differences(version: ResultsVersion, previous: ResultsVersion | None = None
                ) -> list[Difference]:
    """What changed from the previous version, line by line: totals, ranks, statuses, points."""
    previous = previous or (db.session.get(ResultsVersion, version.previous_id)
                            if version.previous_id else None)
    if previous is None:
        return []
    return _differences(version, previous, _changed_entries(version, previous))


def differences_page(version: ResultsVersion, *, after: int = 0, limit: int = 100
                     ) -> tuple[list[Difference], int | None]:
    """The differences from the previous version of up to ``limit`` changed entries, those
    with entry ids above ``after`` (pages by key, so a page costs the same wherever it is),
    and the ``after`` of the next page (None on the last)."""
    previous = (db.session.get(ResultsVersion, version.previous_id)
                if version.previous_id else None)
    if previous is None:
        return [], None
    changed = _changed_entries(version, previous, after=after, limit=limit + 1)
    following = changed[limit - 1] if len(changed) > limit else None
    return _differences(version, previous, changed[:limit]), following


@dataclass
class DifferenceLine:
    who: str
    field: str
    before: str
    after: str


def differences_in_words(version: ResultsVersion, changes: list[Difference], *,
                         reveal: bool) -> list[DifferenceLine]:
    """Differences as people read them: the contestant by exam number and name (by
    workstation or exam number before names are revealed), the field by its Chinese name
    (总分, 名次, a component's 得分 or 百分比), numbers at the published decimals, statuses by
    their labels."""
    from app.display import fixed_decimals
    from app.labels import RESULT_STATUS

    places = {p.id: p for p in db.session.scalars(
        sa.select(StageEntry).where(StageEntry.id.in_({c.entry_id for c in changes})))}
    decimals = int(version.settings["decimals"])
    fields = {"total": _("Total score"), "rank": _("Rank"), "status": _("Status"),
              "award": _("Award")}
    for component in version.settings["components"]:
        fields[f"{component['code']}_points"] = _("%(name)s points", name=component["name"])
        fields[f"{component['code']}_percent"] = _("%(name)s percentage",
                                                   name=component["name"])

    def shown(field: str, value) -> str:
        if value is None:
            return "—"
        if field == "status":
            return str(RESULT_STATUS.get(value, value))
        if field == "rank":
            return str(value)
        if isinstance(value, Decimal | int | float) and not isinstance(value, bool):
            text = fixed_decimals(value, decimals)
            return f"{text}%" if field.endswith("_percent") else text
        return str(value)

    def who(entry_id: int) -> str:
        place = places.get(entry_id)
        if place is None:
            return "—"
        entry = place.entry
        if reveal:
            return f"{entry.exam_number or '—'} {entry.contestant.name}"
        return place.workstation_number or entry.exam_number or "—"

    return [DifferenceLine(who(c.entry_id), str(fields.get(c.field, c.field)),
                           shown(c.field, c.before), shown(c.field, c.after)) for c in changes]


def _changed_entries(version: ResultsVersion, previous: ResultsVersion, *, after: int = 0,
                     limit: int | None = None) -> list[int]:
    """Entry ids, ascending, whose line differs between the two versions, compared in SQL:
    total, rank, status, award, or any component's points or percentage; entries in one
    version only count too. With ``limit``, the first ones above ``after`` (the unique index
    on version and entry is walked in order and the walk stops there)."""
    now, before = ResultRow.__table__.alias("now"), ResultRow.__table__.alias("before")
    now_part = ResultComponentScore.__table__.alias("now_part")
    before_part = ResultComponentScore.__table__.alias("before_part")
    parts_differ = (
        sa.exists().select_from(now_part.outerjoin(before_part, sa.and_(
            before_part.c.row_id == before.c.id,
            before_part.c.component_id == now_part.c.component_id)))
        .where(now_part.c.row_id == now.c.id,
               sa.or_(now_part.c.points.is_distinct_from(before_part.c.points),
                      now_part.c.percent.is_distinct_from(before_part.c.percent)))
        .correlate(now, before))
    # Changed: no line of the previous version for the same entry with the same values and
    # the same component points: one lookup in the unique index per line, in entry order, up
    # to the page's end. (OFFSET keeps PostgreSQL from turning the test into a join that
    # starts by walking another index over every version: a page would cost a whole table.)
    same = (
        sa.select(sa.literal(1)).where(
            before.c.version_id == previous.id, before.c.stage_entry_id == now.c.stage_entry_id,
            now.c.total.is_not_distinct_from(before.c.total),
            now.c.rank.is_not_distinct_from(before.c.rank), now.c.status == before.c.status,
            now.c.award.is_not_distinct_from(before.c.award), ~parts_differ)
        .correlate(now).limit(1).offset(0).exists())
    changed = (
        sa.select(now.c.stage_entry_id)
        .where(now.c.version_id == version.id, now.c.stage_entry_id > after, ~same)
        .order_by(now.c.stage_entry_id))
    later = ResultRow.__table__.alias("later")
    gone = (
        sa.select(before.c.stage_entry_id)
        .where(before.c.version_id == previous.id, before.c.stage_entry_id > after,
               ~sa.exists().where(later.c.version_id == version.id,
                                  later.c.stage_entry_id == before.c.stage_entry_id))
        .order_by(before.c.stage_entry_id))
    if limit is None:
        return sorted(set(db.session.scalars(changed)) | set(db.session.scalars(gone)))
    found = list(db.session.scalars(changed.limit(limit)))
    if len(found) == limit:  # entries gone after the page's last one are for later pages
        gone = gone.where(before.c.stage_entry_id <= found[-1])
    return sorted(set(found) | set(db.session.scalars(gone.limit(limit))))[:limit]


def _differences(version: ResultsVersion, previous: ResultsVersion,
                 entry_ids: list[int]) -> list[Difference]:
    """The differing fields of ``entry_ids``, by entry then field: total, rank, status, award,
    then each component of ``version`` (points, percentage) in its order."""
    if not entry_ids:
        return []
    ids_of = _component_ids(version)
    components = [(c["code"], ids_of.get(c["code"])) for c in version.settings["components"]]
    lines = _lines([version, previous], entry_ids)
    now, before = lines[version.id], lines[previous.id]
    changes = []
    for entry_id in entry_ids:
        a, b = before.get(entry_id), now.get(entry_id)
        for field, key in (("total", 0), ("rank", 1), ("status", 2), ("award", 3)):
            old, new = a[key] if a else None, b[key] if b else None
            if old != new:
                changes.append(Difference(entry_id, field, old, new))
        for code, component_id in components:
            old_parts = a[4].get(component_id, (None, None)) if a else (None, None)
            new_parts = b[4].get(component_id, (None, None)) if b else (None, None)
            for suffix, old, new in zip(("points", "percent"), old_parts, new_parts,
                                        strict=True):
                if old != new:
                    changes.append(Difference(entry_id, f"{code}_{suffix}", old, new))
    return changes


def _lines(versions: Sequence[ResultsVersion], entry_ids: list[int]
           ) -> dict[int, dict[int, tuple]]:
    """version id → entry id → (total, rank, status, award, {component id: (points,
    percent)}) of the versions' rows for ``entry_ids`` (a few: by id; many: the whole
    versions, filtered here), every row with its component points in one query."""
    row, part = ResultRow.__table__.c, ResultComponentScore.__table__.c
    query = (sa.select(row.version_id, row.stage_entry_id, row.total, row.rank, row.status,
                       row.award, part.component_id, part.points, part.percent)
             .join_from(ResultRow.__table__, ResultComponentScore.__table__,
                        part.row_id == row.id, isouter=True)
             .where(row.version_id.in_([v.id for v in versions])))
    if len(entry_ids) <= 500:
        query = query.where(row.stage_entry_id.in_(entry_ids))
    wanted = set(entry_ids)
    lines: dict[int, dict[int, tuple]] = {v.id: {} for v in versions}
    for version_id, entry_id, total, rank, status, award, component_id, points, percent in (
            db.session.execute(query)):
        if entry_id in wanted:
            line = lines[version_id].get(entry_id)
            if line is None:
                line = lines[version_id][entry_id] = (total, rank, status, award, {})
            if component_id is not None:
                line[4][component_id] = (points, percent)
    return lines


def _component_ids(version: ResultsVersion) -> dict[str, int]:
    """The ids of the version's stage's components by code (the stage's components, loaded
    once per session; names_revealed and the pages read them too)."""
    return {c.code: c.id for c in version.stage.components}


# --- advancement -------------------------------------------------------------------------------

def generate_list(version: ResultsVersion, *, actor: User) -> AdvancementList:
    """The advancement list of a published version: top N of the eligible, at most K per
    enterprise (skipped entries keep the reason), the cut-off rule of the stage."""
    stage = version.stage
    if version.status != VersionStatus.PUBLISHED:
        raise ServiceError(_("Advancement lists are made from published results only."),
                           code="conflict")
    if not stage.quota:
        raise ServiceError(_("The stage has no advancement quota."), field="quota")
    stage_flow.check(stage, stage_flow.Step.LIST_GENERATED)
    current = db.session.scalar(sa.select(AdvancementList).where(
        AdvancementList.stage_id == stage.id,
        AdvancementList.status.in_([ListStatus.DRAFT, ListStatus.NOTICE, ListStatus.FINAL]))
        .limit(1))
    if current is not None:
        raise ServiceError(_("This stage already has an advancement list (%(state)s, from "
                             "version %(n)d); withdraw it first.",
                             state=_list_state(current), n=current.version.number),
                           code="conflict")
    withdrawn = db.session.scalar(sa.select(AdvancementList).where(
        AdvancementList.stage_id == stage.id, AdvancementList.status == ListStatus.WITHDRAWN)
        .order_by(AdvancementList.id.desc()).limit(1))
    from app.services import eligibility

    blockers = eligibility.list_blockers(version)
    if blockers:
        raise ServiceError("；".join(blockers), code="not_ready")
    table = eligibility.advancement_table(version)  # on a pool stage: its confirmed only
    advancement = sc.select_advancers(table, stage.quota, stage.per_enterprise_cap,
                                      stage.cutoff_tie_policy.value)
    listing = AdvancementList(stage_id=stage.id, version_id=version.id, status=ListStatus.DRAFT,
                              quota=stage.quota, per_enterprise_cap=stage.per_enterprise_cap,
                              cutoff_tie_policy=stage.cutoff_tie_policy.value,
                              cutoff_note=advancement.note, created_by_id=actor.id,
                              replaces_list_id=withdrawn.id if withdrawn is not None else None)
    db.session.add(listing)
    db.session.flush()
    position = 0
    for row in advancement.table.itertuples(index=False):
        if row.advanced:
            status, reason = AdvancementEntryStatus.ADVANCING, row.reason
        elif row.skipped_for_cap:
            status, reason = AdvancementEntryStatus.SKIPPED_FOR_CAP, row.reason
        elif row.eligible:
            status, reason = AdvancementEntryStatus.RESERVE, None
        else:
            continue
        position += 1
        db.session.add(AdvancementEntry(list_id=listing.id, stage_entry_id=int(row.entry_id),
                                        position=position,
                                        rank=None if pd.isna(row.rank) else int(row.rank),
                                        status=status, reason=reason))
    db.session.flush()
    audit.record("list.generate", listing, f"{stage.track.name}·{stage.name} 晋级名单（"
                 f"依据成绩第{version.number}版，{len(advancement.advanced_ids)}人）"
                 + (f"，取代已撤回的名单（{display_datetime(withdrawn.withdrawn_at)}撤回）"
                    if withdrawn is not None else ""),
                 after={"note": advancement.note}, actor=actor, stage_id=stage.id)
    stage_flow.advance(stage, stage_flow.Step.LIST_GENERATED, actor=actor)
    return listing


def advancers(listing: AdvancementList) -> list[AdvancementEntry]:
    return [e for e in listing.entries if e.status == AdvancementEntryStatus.ADVANCING]


@dataclass(frozen=True)
class NoticeLine:
    """One name on a public notice: exam number, person and enterprise, never an ID number;
    ``replacement`` when the place came by 递补."""

    exam_number: str | None
    name: str
    enterprise: str
    replacement: bool


@dataclass(frozen=True)
class Notice:
    listing: AdvancementList
    lines: list[NoticeLine]
    removed: int


def notice(list_id: int) -> Notice | None:
    """A list as the public sees it (``public_lists``; None otherwise): its advancers in list
    order with exam number, name and enterprise, and how many were removed on objections. Two
    queries whatever the list's length -- the list with its stage, track and contest, then the
    names -- because a province's contestants open it at once on publication day."""
    listing = db.session.scalar(
        public_lists().where(AdvancementList.id == list_id)
        .options(joinedload(AdvancementList.stage).joinedload(Stage.track)
                 .joinedload(Track.contest)))
    if listing is None:
        return None
    rows = db.session.execute(
        sa.select(AdvancementEntry.status, Entry.exam_number, Contestant.name, Enterprise.name,
                  AdvancementEntry.replaces_id)
        .join(StageEntry, StageEntry.id == AdvancementEntry.stage_entry_id)
        .join(Entry, Entry.id == StageEntry.entry_id)
        .join(Contestant, Contestant.id == Entry.contestant_id)
        .join(Enterprise, Enterprise.id == Entry.enterprise_id)
        .where(AdvancementEntry.list_id == listing.id, AdvancementEntry.status.in_(
            [AdvancementEntryStatus.ADVANCING, AdvancementEntryStatus.REMOVED]))
        .order_by(AdvancementEntry.position)).all()
    return Notice(listing, [NoticeLine(number, name, enterprise, replaces is not None)
                            for status, number, name, enterprise, replaces in rows
                            if status == AdvancementEntryStatus.ADVANCING],
                  sum(1 for status, *_rest in rows if status == AdvancementEntryStatus.REMOVED))


def start_notice(listing: AdvancementList, *, actor: User, now: datetime | None = None) -> None:
    """Publish the list for public notice (公示) for the stage's notice days, from ``now``
    (default: the present)."""
    if listing.status != ListStatus.DRAFT:
        raise ServiceError(_("Only a draft list goes to public notice."), code="conflict")
    stage_flow.check(listing.stage, stage_flow.Step.LIST_ON_NOTICE)
    newer = undecided_newer_version(listing)
    if newer is not None:
        raise ServiceError(_("Version %(n)d of the results has been published since this list "
                             "was drawn up from version %(old)d: withdraw it and draw up a new "
                             "one.", n=newer.number, old=listing.version.number),
                           code="conflict")
    now = now or utcnow()
    listing.status = ListStatus.NOTICE
    listing.notice_starts_at = now
    listing.notice_ends_at = now + timedelta(days=listing.stage.notice_days)
    db.session.flush()
    audit.record("list.notice", listing,
                 f"晋级名单公示至 {display_datetime(listing.notice_ends_at)}",
                 actor=actor, stage_id=listing.stage_id)
    stage_flow.advance(listing.stage, stage_flow.Step.LIST_ON_NOTICE, actor=actor)


def record_objection(listing: AdvancementList, target: AdvancementEntry, *, filed_by: str,
                     contact: str | None, text: str, actor: User,
                     now: datetime | None = None) -> Objection:
    if listing.status != ListStatus.NOTICE:
        raise ServiceError(_("Objections are taken only during public notice."), code="conflict")
    errors = {}
    filed_by, refused_by = text_or_problem(filed_by)
    contact, refused_contact = text_or_problem(contact)
    text, refused_text = text_or_problem(text, multiline=True)
    for field, refused in (("filed_by_name", refused_by), ("contact", refused_contact),
                           ("text", refused_text)):
        if refused:
            errors[field] = refused
    if not filed_by and not refused_by:
        errors["filed_by_name"] = _("Who raised the objection?")
    if not text and not refused_text:
        errors["text"] = _("What is the objection?")
    if target.list_id != listing.id or target.status != AdvancementEntryStatus.ADVANCING:
        errors["advancement_entry_id"] = _("Objections concern a contestant on the list.")
    if errors:
        raise FieldErrors(errors)
    objection = Objection(list_id=listing.id, advancement_entry_id=target.id,
                          filed_by_name=filed_by, contact=contact or None,
                          text=text, recorded_by_id=actor.id, filed_at=now or utcnow())
    db.session.add(objection)
    db.session.flush()
    audit.record("objection.record", objection, f"公示异议：{filed_by}", after={"text": text},
                 actor=actor, stage_id=listing.stage_id)
    return objection


def rule_on_objection(objection: Objection, *, upheld: bool, ruling: str,
                      actor: User, now: datetime | None = None) -> AdvancementEntry | None:
    """Rule on an objection. A verified one removes the advancer; the next eligible by rank
    takes the place (递补), within the per-enterprise cap. Returns the replacement, if any."""
    if objection.status != RulingStatus.OPEN:
        raise ServiceError(_("This objection has already been ruled on."), code="conflict")
    ruling = clean_text(ruling, multiline=True, field="ruling")
    if not ruling:
        raise FieldErrors({"ruling": _("A ruling needs its reason.")})
    listing = db.session.get(AdvancementList, objection.list_id)
    objection.status = RulingStatus.UPHELD if upheld else RulingStatus.DISMISSED
    now = now or utcnow()
    objection.ruling, objection.ruled_by_id, objection.ruled_at = ruling, actor.id, now
    replacement = None
    objection_target = db.session.get(AdvancementEntry, objection.advancement_entry_id)
    if upheld:
        target = objection_target
        target.status = AdvancementEntryStatus.REMOVED
        target.removed_at = now
        target.reason = ruling
        replacement = _replace(listing, target)
    db.session.flush()
    audit.record("objection.rule", objection,
                 f"异议{'成立' if upheld else '不成立'}" + (
                     f"，取消 {person(objection_target.stage_entry_id)} 晋级资格" if upheld else "")
                 + (f"，递补 {person(replacement.stage_entry_id)}" if replacement else ""),
                 reason=ruling, actor=actor, stage_id=listing.stage_id)
    if upheld and replacement is None:
        from app.services import eligibility

        # No confirmed member of the pool can take the place: the pool grows by the next
        # by rank, whose confirmation fills it (fill_vacancies).
        eligibility.grow_for_vacancy(listing.stage, actor=actor)
    return replacement


def vacancies(listing: AdvancementList) -> list[AdvancementEntry]:
    """Advancers removed after an upheld objection whose place nobody has taken yet."""
    taken = {e.replaces_id for e in listing.entries if e.replaces_id is not None}
    return [e for e in listing.entries
            if e.status == AdvancementEntryStatus.REMOVED and e.id not in taken]


def fill_vacancies(listing: AdvancementList, *, actor: User) -> list[AdvancementEntry]:
    """Fill the places left empty after upheld objections (e.g. once the eligibility pool
    has grown and its new member is confirmed): the next eligible by rank, within the cap,
    takes each (递补). Audited; returns the replacements."""
    if listing.status != ListStatus.NOTICE:
        return []
    filled = []
    for removed in vacancies(listing):
        replacement = _replace(listing, removed)
        if replacement is None:
            break
        db.session.flush()
        filled.append(replacement)
        audit.record("list.fill", listing, f"递补 {person(replacement.stage_entry_id)}（替补被"
                     f"取消晋级的 {person(removed.stage_entry_id)}）", actor=actor,
                     stage_id=listing.stage_id)
    return filled


def _reselect(listing: AdvancementList, also_removed: Sequence[int] = ()
              ) -> tuple[set[int], list[int]]:
    """The list's advancers selected again without the removed entries (and
    ``also_removed``): who is in, and who is new compared with the current advancers."""
    from app.services import eligibility

    version = db.session.get(ResultsVersion, listing.version_id)
    table = eligibility.advancement_table(version)  # on a pool stage: its confirmed only
    gone = [e.stage_entry_id for e in listing.entries
            if e.status == AdvancementEntryStatus.REMOVED] + list(also_removed)
    advancement = sc.select_advancers(table, listing.quota, listing.per_enterprise_cap,
                                      listing.cutoff_tie_policy, removed=gone)
    current = {e.stage_entry_id for e in advancers(listing)}
    return (set(advancement.advanced_ids),
            [int(i) for i in advancement.advanced_ids if i not in current])


def replacement_preview(target: AdvancementEntry) -> list[int]:
    """Who would take the place of ``target`` (stage entry ids) if an objection against it were
    upheld now; nothing is written."""
    _now_in, newcomers = _reselect(target.list, [target.stage_entry_id])
    return newcomers


def _replace(listing: AdvancementList, removed: AdvancementEntry) -> AdvancementEntry | None:
    now_in, newcomers = _reselect(listing)
    by_entry = {e.stage_entry_id: e for e in listing.entries}
    replacement = None
    for entry_id in newcomers:
        row = by_entry.get(int(entry_id))
        if row is None:
            row = AdvancementEntry(list_id=listing.id, stage_entry_id=int(entry_id),
                                   position=len(listing.entries) + 1,
                                   status=AdvancementEntryStatus.RESERVE)
            listing.entries.append(row)  # e.g. a member of the pool confirmed since
        row.status = AdvancementEntryStatus.ADVANCING
        row.replaces_id = removed.id
        row.reason = _("Replaces a removed advancer (递补).")
        replacement = replacement or row
    for entry in advancers(listing):
        if entry.stage_entry_id not in now_in and entry is not removed:
            entry.status = AdvancementEntryStatus.RESERVE  # e.g. a tie no longer at the cut-off
    return replacement


def finalise(listing: AdvancementList, *, actor: User, now=None) -> int:
    """After the notice period, with no open objection, the list is final and its advancers
    become the entries of the next stage."""
    now = now or utcnow()
    if listing.status != ListStatus.NOTICE:
        raise ServiceError(_("Only a list under public notice can be finalised."), code="conflict")
    blockers = finalise_blockers(listing, now=now)
    if blockers:
        raise ServiceError("；".join(blockers), code="conflict")
    stage = listing.stage
    stage_flow.check(stage, stage_flow.Step.LIST_FINAL)
    next_stage = following_stage(stage)
    if next_stage is not None:
        stage_flow.check(next_stage, stage_flow.Step.ENTRIES_ARRIVED)
    listing.status = ListStatus.FINAL
    listing.finalised_at, listing.finalised_by_id = now, actor.id
    moved = 0
    if next_stage is not None:
        for row in advancers(listing):
            place = db.session.get(StageEntry, row.stage_entry_id)
            exists = db.session.scalar(sa.select(StageEntry.id).where(
                StageEntry.stage_id == next_stage.id, StageEntry.entry_id == place.entry_id))
            if exists is None:
                db.session.add(StageEntry(stage_id=next_stage.id, entry_id=place.entry_id,
                                          advanced_from_id=row.id))
                moved += 1
    db.session.flush()
    audit.record("list.finalise", listing, f"{stage.track.name}·{stage.name} 晋级名单定稿，"
                 f"{moved}人进入{next_stage.name if next_stage else '—'}", actor=actor,
                 stage_id=stage.id)
    stage_flow.advance(stage, stage_flow.Step.LIST_FINAL, actor=actor)
    if next_stage is not None:
        stage_flow.advance(next_stage, stage_flow.Step.ENTRIES_ARRIVED, actor=actor)
    return moved


def following_stage(stage: Stage) -> Stage | None:
    """The next stage of the track, which a final list fills."""
    return db.session.scalar(sa.select(Stage).where(Stage.track_id == stage.track_id,
                                                    Stage.seq > stage.seq)
                             .order_by(Stage.seq).limit(1))


def _list_state(listing: AdvancementList) -> str:
    from app.labels import LIST_STATUS

    return str(LIST_STATUS[listing.status])


def newer_version(listing: AdvancementList) -> ResultsVersion | None:
    """The published version that has superseded the one the list was drawn up from (None
    while the list's own version is the stage's published one)."""
    if listing.version.status != VersionStatus.SUPERSEDED:
        return None
    return latest_published(listing.stage)


def undecided_newer_version(listing: AdvancementList) -> ResultsVersion | None:
    """The newer published version the organiser has not yet decided about for this list: a
    list kept for one version is flagged again when a still newer one is published. A final
    or withdrawn list needs no decision."""
    if listing.status not in (ListStatus.DRAFT, ListStatus.NOTICE):
        return None
    newer = newer_version(listing)
    if newer is None or listing.kept_for_version_id == newer.id:
        return None
    return newer


def finalise_blockers(listing: AdvancementList, now=None) -> list[str]:
    """What stands between a list under notice and its finalisation: the notice still
    running, open objections, a newer published version not yet decided about."""
    now = now or utcnow()
    blockers = []
    if listing.notice_ends_at and now < listing.notice_ends_at:
        blockers.append(_("The public notice runs until %(when)s.",
                          when=display_datetime(listing.notice_ends_at)))
    open_ = stage_flow.open_objections(listing)
    if open_:
        blockers.append(_("%(n)d objections are still open.", n=open_))
    newer = undecided_newer_version(listing)
    if newer is not None:
        blockers.append(_(
            "The list was drawn up from version %(old)d, but version %(n)d has been published "
            "since: withdraw the list and draw up a new one, or confirm keeping it with a "
            "reason.", old=listing.version.number, n=newer.number))
    return blockers


def withdraw_list(listing: AdvancementList, *, reason: str, actor: User) -> None:
    """Withdraw a draft list or one under public notice, with the reason: the public page says
    it was withdrawn, when and why; a new list may then be drawn up from the latest published
    version. A final list is never withdrawn (its advancers are already in the next stage)."""
    if listing.status not in (ListStatus.DRAFT, ListStatus.NOTICE):
        raise ServiceError(_("Only a draft list or one under public notice can be withdrawn; "
                             "this one is %(state)s.", state=_list_state(listing)),
                           code="conflict")
    reason = (reason or "").strip()
    if not reason:
        raise FieldErrors({"reason": _("Say why the list is withdrawn: the public notice "
                                       "shows it.")})
    stage = listing.stage
    stage_flow.check(stage, stage_flow.Step.LIST_WITHDRAWN)
    before = listing.status
    listing.status = ListStatus.WITHDRAWN
    listing.withdrawn_at, listing.withdrawn_by_id = utcnow(), actor.id
    listing.withdrawal_reason = reason
    db.session.flush()
    audit.record("list.withdraw", listing,
                 f"{stage.track.name}·{stage.name} 晋级名单（依据成绩第{listing.version.number}版，"
                 f"{len(advancers(listing))}人）撤回", before={"status": before.value},
                 after={"status": ListStatus.WITHDRAWN.value}, reason=reason, actor=actor,
                 stage_id=stage.id)
    stage_flow.advance(stage, stage_flow.Step.LIST_WITHDRAWN, actor=actor, reason=reason)


def keep_list(listing: AdvancementList, *, reason: str, actor: User) -> None:
    """The organiser keeps a list although a newer version has been published since it was
    drawn up (e.g. the correction changes no one's advancement), with the reason: the flag
    goes for that version, and the amendments of the public notice record the decision."""
    newer = undecided_newer_version(listing)
    if newer is None:
        raise ServiceError(_("No newer published version awaits a decision about this list."),
                           code="conflict")
    reason = (reason or "").strip()
    if not reason:
        raise FieldErrors({"reason": _("Say why the list is kept: the public notice shows "
                                       "it.")})
    listing.kept_for_version_id, listing.kept_reason = newer.id, reason
    listing.kept_by_id, listing.kept_at = actor.id, utcnow()
    db.session.flush()
    stage = listing.stage
    audit.record("list.keep", listing,
                 f"{stage.track.name}·{stage.name} 晋级名单（依据成绩第{listing.version.number}版）"
                 f"在第{newer.number}版发布后维持不变", after={"version": newer.number},
                 reason=reason, actor=actor, stage_id=stage.id)


@dataclass
class Person:
    """A contestant as lists show one: exam number, name, enterprise."""

    exam_number: str
    name: str
    enterprise: str

    def __str__(self) -> str:
        return f"{self.exam_number} {self.name}（{self.enterprise}）".strip()


def person(place_id: int) -> Person:
    place = db.session.get(StageEntry, place_id)
    entry = place.entry
    return Person(entry.exam_number or "", entry.contestant.name,
                  entry.enterprise.name if entry.enterprise else "")


@dataclass
class Amendment:
    """A dated change of a published list, as the public notice and its export state it."""

    when: object  # naive UTC datetime
    text: str


def amendments(listing: AdvancementList) -> list[Amendment]:
    """Every change of the list since it was drawn up, dated, in order: whom it replaces (a
    list drawn up in place of a withdrawn one: who entered and who left), each advancer
    removed after a verified objection and who took the place (递补) and why, a decision to
    keep the list after a newer version, and its withdrawal. The public notice and the
    export show exactly these lines. A few queries whatever the list's length: only the rows
    that changed are read, and the people they name in one query."""
    out: list[Amendment] = []
    changed = db.session.scalars(sa.select(AdvancementEntry).where(
        AdvancementEntry.list_id == listing.id,
        sa.or_(AdvancementEntry.status == AdvancementEntryStatus.REMOVED,
               AdvancementEntry.replaces_id.is_not(None)))
        .order_by(AdvancementEntry.position, AdvancementEntry.id)).all()
    removed = [e for e in changed if e.status == AdvancementEntryStatus.REMOVED]
    old = before = now_in = None
    if listing.replaces_list_id is not None:
        old = db.session.get(AdvancementList, listing.replaces_list_id)
        before, now_in = _as_drawn_up(old), _as_drawn_up(listing)
    named = _people({e.stage_entry_id for e in changed} | (before or set()) | (now_in or set()))
    if old is not None:
        joined = "、".join(str(named[i]) for i in sorted(now_in - before)) or _("no one")
        left = "、".join(str(named[i]) for i in sorted(before - now_in)) or _("no one")
        out.append(Amendment(listing.created_at, _(
            "This list replaces the list withdrawn on %(when)s (%(reason)s); drawn up from "
            "version %(n)d of the results. Newly on the list: %(joined)s. No longer on it: "
            "%(left)s.", when=display_datetime(old.withdrawn_at),
            reason=old.withdrawal_reason or "", n=listing.version.number, joined=joined,
            left=left)))
    for entry in sorted(removed, key=lambda e: (e.removed_at or listing.created_at, e.id)):
        successors = [e for e in changed if e.replaces_id == entry.id]
        taken_by = ("、".join(str(named[e.stage_entry_id]) for e in successors)
                    or _("no eligible contestant"))
        out.append(Amendment(entry.removed_at or listing.created_at, _(
            "%(removed)s removed after a verified objection (%(why)s); the place passes to "
            "%(by)s (递补).", removed=named[entry.stage_entry_id], why=entry.reason or "",
            by=taken_by)))
    if listing.kept_for_version_id is not None:
        kept = db.session.get(ResultsVersion, listing.kept_for_version_id)
        out.append(Amendment(listing.kept_at, _(
            "Version %(n)d of the results was published after this list was drawn up from "
            "version %(old)d; the organising committee keeps the list: %(reason)s",
            n=kept.number, old=listing.version.number, reason=listing.kept_reason or "")))
    if listing.status == ListStatus.WITHDRAWN:
        out.append(Amendment(listing.withdrawn_at, _(
            "The list was withdrawn: %(reason)s", reason=listing.withdrawal_reason or "")))
    out.sort(key=lambda a: a.when or listing.created_at)
    return out


def _people(place_ids: set[int]) -> dict[int, Person]:
    """``person`` for many stage entries in one query."""
    if not place_ids:
        return {}
    rows = db.session.execute(
        sa.select(StageEntry.id, Entry.exam_number, Contestant.name, Enterprise.name)
        .join(Entry, Entry.id == StageEntry.entry_id)
        .join(Contestant, Contestant.id == Entry.contestant_id)
        .outerjoin(Enterprise, Enterprise.id == Entry.enterprise_id)
        .where(StageEntry.id.in_(sorted(place_ids))))
    return {place: Person(number or "", name, enterprise or "")
            for place, number, name, enterprise in rows}


def _as_drawn_up(listing: AdvancementList) -> set[int]:
    """The list's advancers as it was drawn up: later replacements (递补) out, advancers
    removed since in."""
    return set(db.session.scalars(sa.select(AdvancementEntry.stage_entry_id).where(
        AdvancementEntry.list_id == listing.id, AdvancementEntry.replaces_id.is_(None),
        AdvancementEntry.status.in_([AdvancementEntryStatus.ADVANCING,
                                     AdvancementEntryStatus.REMOVED]))))


def public_lists() -> sa.Select:
    """Lists the public may read: under notice, final, or withdrawn after they were put on
    notice (the page then says when and why)."""
    return sa.select(AdvancementList).where(sa.or_(
        AdvancementList.status.in_([ListStatus.NOTICE, ListStatus.FINAL]),
        sa.and_(AdvancementList.status == ListStatus.WITHDRAWN,
                AdvancementList.notice_starts_at.is_not(None))))


def replacement_list(listing: AdvancementList) -> AdvancementList | None:
    """The list drawn up in place of this withdrawn one, if any."""
    return db.session.scalar(sa.select(AdvancementList).where(
        AdvancementList.replaces_list_id == listing.id).order_by(AdvancementList.id).limit(1))


def published_results_for(entry: Entry) -> list[dict]:
    """A contestant's published results: per stage, the latest published version's row, with
    its component points, the number ranked and the entry's standing on the version's list.
    A fixed number of queries per stage (never one per line of the version or the list)."""
    out = []
    places = db.session.scalars(
        sa.select(StageEntry).where(StageEntry.entry_id == entry.id)
        .options(joinedload(StageEntry.stage).selectinload(Stage.components))
        .join(Stage, Stage.id == StageEntry.stage_id).order_by(Stage.seq)).all()
    for place in places:
        version = latest_published(place.stage)
        if version is None:
            continue
        row = db.session.scalar(
            sa.select(ResultRow).where(ResultRow.version_id == version.id,
                                       ResultRow.stage_entry_id == place.id)
            .options(selectinload(ResultRow.components)))
        if row is None:
            continue
        count = db.session.scalar(sa.select(sa.func.count()).select_from(ResultRow)
                                  .where(ResultRow.version_id == version.id))
        listing = db.session.scalar(sa.select(AdvancementList).where(
            AdvancementList.version_id == version.id,
            AdvancementList.status.in_([ListStatus.NOTICE, ListStatus.FINAL])))
        standing = None
        if listing is not None:
            standing = db.session.scalar(sa.select(AdvancementEntry.status).where(
                AdvancementEntry.list_id == listing.id,
                AdvancementEntry.stage_entry_id == place.id))
        out.append({"stage": place.stage, "version": version, "row": row, "of": count,
                    "list": listing, "standing": standing,
                    "components": {c.component_id: c for c in row.components}})
    return out
