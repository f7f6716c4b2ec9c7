"""Where a contestant stands: published scores, rank and advancement, for the portal and the
public score lookup (成绩查询). Only published results versions and lists under public notice
or final are ever read here."""
from __future__ import annotations

import enum
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, selectinload

from app.extensions import db
from app.models import (
    AdvancementEntry,
    AdvancementEntryStatus,
    AdvancementList,
    Contestant,
    Entry,
    ListStatus,
    PoolMember,
    ResultRow,
    ResultsVersion,
    Stage,
    StageEntry,
    VersionStatus,
)


class Advancement(enum.StrEnum):
    """An entry's advancement as the contestant reads it."""

    NOTICE = "notice"  # 公示中: on the list while it is under public notice
    ADVANCED = "advanced"  # 晋级: on the final list
    REPLACEMENT = "replacement"  # 递补: filled a place freed by an upheld objection
    NOT_ADVANCED = "not_advanced"  # 未晋级


def advancement(listing: AdvancementList | None, mine: AdvancementEntry | None) -> Advancement | None:
    """公示中 while the list is under notice and the person is on it; 晋级 once it is final; 递补
    for one who filled a place freed by an upheld objection (under notice or final); 未晋级 for
    everyone else the published version ranks (removed after an objection, over the enterprise's
    cap, a reserve, below the quota). None while no list is under notice or final."""
    if listing is None or listing.status not in (ListStatus.NOTICE, ListStatus.FINAL):
        return None
    if mine is None or mine.status != AdvancementEntryStatus.ADVANCING:
        return Advancement.NOT_ADVANCED
    if mine.replaces_id is not None:
        return Advancement.REPLACEMENT
    return Advancement.NOTICE if listing.status == ListStatus.NOTICE else Advancement.ADVANCED


def shown(value: Decimal | None, decimals: int) -> Decimal | None:
    """An exact amount at the stage's published decimals, rounded half-up."""
    from decimal import ROUND_HALF_UP

    if value is None:
        return None
    return Decimal(value).quantize(Decimal(1).scaleb(-int(decimals)), rounding=ROUND_HALF_UP)


@dataclass
class ComponentLine:
    name: str
    weight: Decimal
    points: Decimal | None
    percent: Decimal | None


@dataclass
class StageStanding:
    """One stage's published line of one entry, numbers at the stage's decimals."""

    stage: Stage
    version: ResultsVersion
    total: Decimal | None
    rank: int | None
    of: int
    award: str | None
    reason: str | None
    components: list[ComponentLine]
    listing: AdvancementList | None
    advancement: Advancement | None
    # The entry's place in the stage's eligibility pool (资格审核中 / 通过 / 资格不符 with the
    # reason): None when it is not in one.
    eligibility: PoolMember | None = None


def _latest_published(stage_ids: set[int]) -> dict[int, ResultsVersion]:
    """Each stage's latest published results version."""
    if not stage_ids:
        return {}
    newest = (sa.select(ResultsVersion.stage_id, sa.func.max(ResultsVersion.number).label("n"))
              .where(ResultsVersion.stage_id.in_(stage_ids),
                     ResultsVersion.status == VersionStatus.PUBLISHED)
              .group_by(ResultsVersion.stage_id).subquery())
    versions = db.session.scalars(sa.select(ResultsVersion).join(newest, sa.and_(
        ResultsVersion.stage_id == newest.c.stage_id, ResultsVersion.number == newest.c.n)))
    return {v.stage_id: v for v in versions}


def standings(entries: list[Entry], *, with_components: bool = False) -> dict[int, list[StageStanding]]:
    """For each entry, its published line in every stage it sat, in stage order: total, rank
    among the version's ranked lines, award, and advancement on the list made from that version
    (when it is under notice or final). A few queries for any number of entries."""
    if not entries:
        return {}
    places = db.session.scalars(
        sa.select(StageEntry).where(StageEntry.entry_id.in_([e.id for e in entries]))
        .options(joinedload(StageEntry.stage).selectinload(Stage.components))).all()
    versions = _latest_published({p.stage_id for p in places})
    places = [p for p in places if p.stage_id in versions]
    if not places:
        return {e.id: [] for e in entries}
    version_ids = [v.id for v in versions.values()]
    query = sa.select(ResultRow).where(
        ResultRow.version_id.in_(version_ids),
        ResultRow.stage_entry_id.in_([p.id for p in places]))
    if with_components:
        query = query.options(selectinload(ResultRow.components))
    rows = {(r.version_id, r.stage_entry_id): r for r in db.session.scalars(query)}
    ranked = dict(db.session.execute(
        sa.select(ResultRow.version_id, sa.func.count()).where(
            ResultRow.version_id.in_(version_ids), ResultRow.rank.is_not(None))
        .group_by(ResultRow.version_id)).all())
    lists = {item.version_id: item for item in db.session.scalars(
        sa.select(AdvancementList).where(
            AdvancementList.version_id.in_(version_ids),
            AdvancementList.status.in_([ListStatus.NOTICE, ListStatus.FINAL]))
        .order_by(AdvancementList.id))}
    on_lists = {(a.list_id, a.stage_entry_id): a for a in db.session.scalars(
        sa.select(AdvancementEntry).where(
            AdvancementEntry.list_id.in_([item.id for item in lists.values()]),
            AdvancementEntry.stage_entry_id.in_([p.id for p in places])))} if lists else {}
    pooled = {m.stage_entry_id: m for m in db.session.scalars(sa.select(PoolMember).where(
        PoolMember.stage_entry_id.in_([p.id for p in places]), PoolMember.in_pool.is_(True)))}
    out: dict[int, list[StageStanding]] = {e.id: [] for e in entries}
    for place in sorted(places, key=lambda p: p.stage.seq):
        version = versions[place.stage_id]
        row = rows.get((version.id, place.id))
        if row is None:
            continue
        decimals = int(place.stage.decimals)
        listing = lists.get(version.id)
        mine = on_lists.get((listing.id, place.id)) if listing is not None else None
        lines = []
        if with_components:
            parts = {c.component_id: c for c in row.components}
            for component in place.stage.components:
                part = parts.get(component.id)
                lines.append(ComponentLine(
                    component.name, component.weight,
                    shown(part.points, decimals) if part else None,
                    shown(part.percent, decimals) if part else None))
        out[place.entry_id].append(StageStanding(
            stage=place.stage, version=version, total=shown(row.total, decimals), rank=row.rank,
            of=ranked.get(version.id, 0), award=row.award, reason=row.reason, components=lines,
            listing=listing, advancement=advancement(listing, mine),
            eligibility=pooled.get(place.id)))
    return out


def latest(entries: list[Entry]) -> dict[int, StageStanding | None]:
    """Each entry's published line in the latest stage it has one, or None."""
    return {entry_id: (lines[-1] if lines else None)
            for entry_id, lines in standings(entries).items()}


def look_up(exam_number: str, id_number: str) -> list[tuple[Entry, list[StageStanding]]]:
    """The public score lookup: the entries with this exam number whose person has this ID
    number, each with its published lines (components, total, rank, advancement) only.
    Nothing when the two do not belong together."""
    exam_number = (exam_number or "").strip().upper()
    id_number = (id_number or "").strip().replace(" ", "").upper()
    if not exam_number or not id_number:
        return []
    entries = db.session.scalars(
        sa.select(Entry).join(Contestant, Entry.contestant_id == Contestant.id)
        .where(Entry.exam_number == exam_number, Contestant.id_number == id_number)
        .options(joinedload(Entry.contestant), joinedload(Entry.track),
                 joinedload(Entry.contest), joinedload(Entry.enterprise))
        .order_by(Entry.contest_id.desc())).unique().all()
    found = standings(entries, with_components=True)
    return [(entry, found[entry.id]) for entry in entries]
