"""The eligibility pool (资格审核): the top M of a stage's published results, checked one by one
before the advancement list is drawn up from the confirmed members only.

The pool is drawn from a published version (:func:`draw`); each member is confirmed or found
ineligible with a reason the contestant sees (:func:`decide`), and for each one found
ineligible the next by rank joins. A newer published version re-draws the membership by its
ranks, keeping every decision with the person it was about (:func:`redraw_on_publish`). A
stage without a review pool (or without a quota) never has a pool and advances as before.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import pandas as pd
import sqlalchemy as sa
from flask_babel import gettext as _

import scoring as sc
from app.extensions import db
from app.inputs import clean_text
from app.models import (
    AdvancementList,
    Contestant,
    EligibilityPool,
    Enterprise,
    Entry,
    ListStatus,
    PoolMember,
    PoolState,
    ResultRow,
    ResultsVersion,
    Stage,
    StageEntry,
    User,
    VersionStatus,
    utcnow,
)
from app.services import FieldErrors, ServiceError, audit, stage_flow

SHOWN_BY_NAME = 5  # people named in a blocker before "and N more"


def uses_pool(stage: Stage) -> bool:
    """Whether the stage checks eligibility before advancement (a review pool and a quota)."""
    return bool(stage.review_pool and stage.quota)


def pool_of(stage: Stage) -> EligibilityPool | None:
    return db.session.scalar(sa.select(EligibilityPool).where(EligibilityPool.stage_id == stage.id))


def _members(pool: EligibilityPool) -> dict[int, PoolMember]:
    """Every member the pool ever had (in it now or left out by a re-draw), by stage entry."""
    return {m.stage_entry_id: m for m in db.session.scalars(
        sa.select(PoolMember).where(PoolMember.pool_id == pool.id))}


def _ranked(version: ResultsVersion) -> list[tuple[int, int]]:
    """(stage entry id, rank) of the version's ranked, eligible lines, in rank order (ties by
    stage entry, as the version's table orders them)."""
    row = ResultRow.__table__.c
    return [(int(e), int(r)) for e, r in db.session.execute(
        sa.select(row.stage_entry_id, row.rank).where(
            row.version_id == version.id, row.rank.is_not(None), row.eligible.is_(True))
        .order_by(row.rank, row.stage_entry_id))]


def _people(entry_ids: Iterable[int]) -> dict[int, str]:
    """'exam number name' of stage entries, in one query."""
    ids = list(entry_ids)
    if not ids:
        return {}
    return {place_id: f"{number or ''} {name}".strip() for place_id, number, name in
            db.session.execute(sa.select(StageEntry.id, Entry.exam_number, Contestant.name)
                               .join(Entry, Entry.id == StageEntry.entry_id)
                               .join(Contestant, Contestant.id == Entry.contestant_id)
                               .where(StageEntry.id.in_(ids)))}


def _named(entry_ids: list[int]) -> str:
    names = _people(entry_ids)
    shown = "、".join(names[i] for i in entry_ids[:SHOWN_BY_NAME])
    if len(entry_ids) > SHOWN_BY_NAME:
        shown += _(" and %(n)d more", n=len(entry_ids) - SHOWN_BY_NAME)
    return shown


def _stage_name(stage: Stage) -> str:
    return f"{stage.track.name}·{stage.name}"


def _redraw(pool: EligibilityPool, version: ResultsVersion, now: datetime
            ) -> tuple[list[int], list[int]]:
    """Draw the pool's membership from ``version`` with the decisions taken so far (the rule:
    :func:`scoring.draw_pool`); returns who joined and who left (stage entry ids, by rank)."""
    members = _members(pool)
    ranked = _ranked(version)
    rank_of = dict(ranked)
    ineligible = [i for i, m in members.items() if m.state == PoolState.INELIGIBLE]
    chosen = sc.draw_pool(ranked, pool.size, ineligible)
    before = {i for i, m in members.items() if m.in_pool}
    for entry_id in chosen:
        member = members.get(entry_id)
        if member is None:
            member = PoolMember(pool_id=pool.id, stage_entry_id=entry_id, joined_at=now,
                                state=PoolState.UNDECIDED)
            db.session.add(member)
        elif not member.in_pool:
            member.joined_at = now
        member.in_pool, member.rank = True, rank_of[entry_id]
    now_in = set(chosen)
    for entry_id, member in members.items():
        if entry_id not in now_in:
            member.in_pool, member.rank = False, rank_of.get(entry_id)
    pool.version_id = version.id
    db.session.flush()
    joined = [e for e in chosen if e not in before]
    left = sorted(before - now_in, key=lambda e: (rank_of.get(e) is None, rank_of.get(e, 0), e))
    return joined, left


def draw(version: ResultsVersion, *, actor: User, now: datetime | None = None) -> EligibilityPool:
    """Draw the stage's eligibility pool from a published version: the top M (the stage's
    review pool) by rank, every member undecided. Audited."""
    stage = version.stage
    if not uses_pool(stage):
        raise ServiceError(_("The stage has no review pool (and quota): its advancement list "
                             "is drawn up without an eligibility check."), field="review_pool",
                           code="conflict")
    if version.status != VersionStatus.PUBLISHED:
        raise ServiceError(_("The eligibility pool is drawn from published results only."),
                           code="conflict")
    stage_flow.check(stage, stage_flow.Step.POOL_DRAWN)
    pool = pool_of(stage)
    if pool is not None:
        raise ServiceError(_("The eligibility pool has already been drawn (from version "
                             "%(n)d); a newer published version re-draws it by itself.",
                             n=pool.version.number), code="conflict")
    now = now or utcnow()
    pool = EligibilityPool(stage_id=stage.id, version_id=version.id, size=stage.review_pool,
                           drawn_by_id=actor.id, drawn_at=now)
    db.session.add(pool)
    db.session.flush()
    joined, _left = _redraw(pool, version, now)
    audit.record("pool.draw", pool, f"{_stage_name(stage)} 资格审核范围：依据成绩第"
                 f"{version.number}版前{pool.size}名，共{len(joined)}人", actor=actor,
                 after={"version": version.number, "size": pool.size, "members": len(joined)},
                 stage_id=stage.id)
    stage_flow.advance(stage, stage_flow.Step.POOL_DRAWN, actor=actor)
    return pool


def redraw_on_publish(version: ResultsVersion, *, actor: User,
                      now: datetime | None = None) -> str | None:
    """A newly published version re-draws the stage's pool, if it has one, by the new ranks;
    decisions stay with their people. Returns (and keeps on the pool, and audits) what
    changed, in words; None when the stage has no pool."""
    pool = pool_of(version.stage)
    if pool is None or pool.version_id == version.id:
        return None
    old = pool.version.number
    joined, left = _redraw(pool, version, now or utcnow())
    if joined or left:
        change = _("Re-drawn from version %(n)d (was version %(old)d): joined %(joined)s; "
                   "left %(left)s.", n=version.number, old=old,
                   joined=_named(joined) if joined else _("no one"),
                   left=_named(left) if left else _("no one"))
    else:
        change = _("Re-drawn from version %(n)d (was version %(old)d): the members are the "
                   "same.", n=version.number, old=old)
    pool.changes = change
    db.session.flush()
    audit.record("pool.redraw", pool, f"{_stage_name(version.stage)} 资格审核范围按成绩第"
                 f"{version.number}版重新划定", after={"joined": joined, "left": left},
                 reason=change, actor=actor, stage_id=version.stage_id)
    return change


def _open_list(stage: Stage) -> AdvancementList | None:
    return db.session.scalar(sa.select(AdvancementList).where(
        AdvancementList.stage_id == stage.id,
        AdvancementList.status.in_([ListStatus.DRAFT, ListStatus.NOTICE, ListStatus.FINAL]))
        .order_by(AdvancementList.id.desc()).limit(1))


def decide(pool: EligibilityPool, member_ids: Iterable[int], *, eligible: bool,
           reason: str | None = None, actor: User, now: datetime | None = None,
           only_undecided: bool = False) -> list[PoolMember]:
    """Confirm members of the pool, or find them ineligible with a reason (the contestant
    sees it). For each one found ineligible the next by rank joins the pool, undecided. A
    decision already taken changes only while the stage has no advancement list; with
    ``only_undecided`` (confirming a page at once) decided members are passed over. Each
    decision is audited with who and when. Returns the members decided."""
    stage = pool.stage
    stage_flow.check(stage, stage_flow.Step.POOL_DECIDED)
    ids = [int(i) for i in member_ids]
    members = {m.id: m for m in db.session.scalars(sa.select(PoolMember).where(
        PoolMember.pool_id == pool.id, PoolMember.id.in_(ids), PoolMember.in_pool.is_(True)))}
    if not ids or len(members) != len(set(ids)):
        raise ServiceError(_("Choose members of this eligibility pool."), field="member_id",
                           code="not_found" if ids else "invalid")
    text = clean_text(reason, multiline=True, field="reason") if reason else ""
    if not eligible and not text:
        raise FieldErrors({"reason": _("Say why the contestant is not eligible: the "
                                       "contestant sees the reason.")})
    chosen = [members[i] for i in dict.fromkeys(ids)]
    if only_undecided:
        chosen = [m for m in chosen if m.state == PoolState.UNDECIDED]
    new_state = PoolState.CONFIRMED if eligible else PoolState.INELIGIBLE
    changing = [m for m in chosen if m.state not in (PoolState.UNDECIDED, new_state)]
    listing = _open_list(stage)
    if changing and listing is not None:
        raise ServiceError(_("%(who)s has already been decided on and the advancement list has "
                             "been drawn up: withdraw the list before changing the decision.",
                             who=_named([m.stage_entry_id for m in changing])),
                           code="conflict")
    now = now or utcnow()
    names = _people(m.stage_entry_id for m in chosen)
    decided, reopened = [], False
    for member in chosen:
        if member.state == new_state and (eligible or member.reason == text):
            continue
        before = {"state": member.state.value, "reason": member.reason}
        reopened |= member.state == PoolState.INELIGIBLE
        member.state = new_state
        member.reason = None if eligible else text
        member.decided_by_id, member.decided_at = actor.id, now
        decided.append(member)
        audit.record("pool.decide", member,
                     f"{_stage_name(stage)} 资格审核：{names[member.stage_entry_id]} "
                     + ("资格审核通过" if eligible else f"资格不符（{text}）"),
                     before=before, after={"state": new_state.value, "reason": member.reason},
                     reason=None if eligible else text, actor=actor, stage_id=stage.id)
    db.session.flush()
    if decided and (not eligible or reopened):
        # one found ineligible: the next by rank joins; one no longer ineligible: the last
        # by rank leaves again (the pool counts M who are not found ineligible)
        joined, left = _redraw(pool, pool.version, now)
        if joined or left:
            audit.record("pool.join", pool, f"{_stage_name(stage)} 资格审核范围按名次调整："
                         + (f"递补 {_named(joined)}" if joined else "")
                         + (f"移出 {_named(left)}" if left else ""),
                         after={"joined": joined, "left": left}, actor=actor,
                         stage_id=stage.id)
    if eligible and decided and listing is not None and listing.status == ListStatus.NOTICE:
        from app.services import results

        results.fill_vacancies(listing, actor=actor)
    return decided


def grow_for_vacancy(stage: Stage, *, actor: User) -> list[int]:
    """A place on the list fell vacant and no confirmed member can fill it: when no member is
    left undecided either, the pool grows by one, so the next by rank joins it undecided.
    Confirming a member then fills the place (:func:`app.services.results.fill_vacancies`).
    Returns who joined."""
    pool = pool_of(stage)
    if pool is None or db.session.scalar(sa.select(PoolMember.id).where(
            PoolMember.pool_id == pool.id, PoolMember.in_pool.is_(True),
            PoolMember.state == PoolState.UNDECIDED).limit(1)) is not None:
        return []  # undecided members may still fill the place once confirmed
    pool.size += 1
    joined, _left = _redraw(pool, pool.version, utcnow())
    audit.record("pool.grow", pool, f"{_stage_name(stage)} 资格审核范围扩大为{pool.size}人"
                 + (f"，{_named(joined)}进入" if joined else "，已无可递补的选手"),
                 after={"size": pool.size, "joined": joined}, actor=actor, stage_id=stage.id)
    return joined


def advancement_table(version: ResultsVersion, *, undecided_as_confirmed: bool = False
                      ) -> pd.DataFrame:
    """The version's results table as advancement reads it: on a stage with a pool only its
    confirmed members (and, with ``undecided_as_confirmed``, its undecided ones) are eligible;
    on any other stage the table as it is."""
    from app.services import results

    table = results.selection_table(version)  # enterprises by name, totals as published
    stage = version.stage
    if not uses_pool(stage):
        return table
    pool = pool_of(stage)
    states = [PoolState.CONFIRMED] + ([PoolState.UNDECIDED] if undecided_as_confirmed else [])
    allowed = [] if pool is None else list(db.session.scalars(
        sa.select(PoolMember.stage_entry_id).where(
            PoolMember.pool_id == pool.id, PoolMember.in_pool.is_(True),
            PoolMember.state.in_(states))))
    table["eligible"] = table["eligible"].to_numpy(dtype=bool) & table["entry_id"].isin(allowed)
    return table


def undecided_that_matter(version: ResultsVersion) -> list[int]:
    """The undecided members whose decision can still change the list drawn up from
    ``version`` (stage entry ids, in list order): :func:`scoring.undecided_that_matter`."""
    stage = version.stage
    pool = pool_of(stage)
    if pool is None:
        return []
    table = advancement_table(version, undecided_as_confirmed=True)
    selection = sc.select_advancers(table, stage.quota, stage.per_enterprise_cap,
                                    stage.cutoff_tie_policy.value)
    states = {m.stage_entry_id: m.state.value for m in _members(pool).values() if m.in_pool}
    return [int(e) for e in sc.undecided_that_matter(selection.advanced_ids, states)]


def list_blockers(version: ResultsVersion, waiting: list[int] | None = None) -> list[str]:
    """Why an advancement list cannot be drawn up from ``version`` yet because of the
    eligibility check (empty: it can, or the stage has no pool). ``waiting``: the
    :func:`undecided_that_matter` of the version, when the caller has them already."""
    stage = version.stage
    if not uses_pool(stage):
        return []
    pool = pool_of(stage)
    if pool is None:
        return [_("The eligibility pool (top %(m)d) has not been drawn yet: draw it on the "
                  "eligibility page, then decide on its members.", m=stage.review_pool)]
    if pool.version_id != version.id:
        return [_("The eligibility pool was drawn from version %(old)d, not from version "
                  "%(n)d.", old=pool.version.number, n=version.number)]
    if waiting is None:
        waiting = undecided_that_matter(version)
    if waiting:
        return [_("%(n)d members of the eligibility pool who could still change the list are "
                  "undecided: %(who)s. Confirm them or find them ineligible first.",
                  n=len(waiting), who=_named(waiting))]
    return []


@dataclass
class Counts:
    members: int
    confirmed: int
    ineligible: int
    undecided: int
    needed: int  # undecided members whose decision can still change the list


def counts(pool: EligibilityPool, waiting: list[int] | None = None) -> Counts:
    by_state = dict(db.session.execute(
        sa.select(PoolMember.state, sa.func.count()).where(
            PoolMember.pool_id == pool.id, PoolMember.in_pool.is_(True))
        .group_by(PoolMember.state)).all())
    confirmed = by_state.get(PoolState.CONFIRMED, 0)
    ineligible = by_state.get(PoolState.INELIGIBLE, 0)
    undecided = by_state.get(PoolState.UNDECIDED, 0)
    if not undecided:
        needed = 0
    else:
        needed = len(undecided_that_matter(pool.version) if waiting is None else waiting)
    return Counts(confirmed + ineligible + undecided, confirmed, ineligible, undecided, needed)


@dataclass
class MemberLine:
    member_id: int
    rank: int | None
    exam_number: str
    name: str
    enterprise: str
    total: object  # Decimal or None, as published
    state: PoolState
    reason: str | None
    decided_at: datetime | None
    decided_by: str | None
    matters: bool  # undecided and able to change the list


def member_lines(pool: EligibilityPool, *, state: str | None = None, query: str | None = None,
                 waiting: list[int] | None = None) -> list[MemberLine]:
    """The pool's members in rank order, with what the page shows; filtered by state and by
    exam number, name or enterprise (a part of one)."""
    row = ResultRow.__table__.c
    statement = (
        sa.select(PoolMember, Entry.exam_number, Contestant.name, Enterprise.name, row.total,
                  User.display_name)
        .join(StageEntry, StageEntry.id == PoolMember.stage_entry_id)
        .join(Entry, Entry.id == StageEntry.entry_id)
        .join(Contestant, Contestant.id == Entry.contestant_id)
        .outerjoin(Enterprise, Enterprise.id == Entry.enterprise_id)
        .outerjoin(ResultRow.__table__, sa.and_(row.version_id == pool.version_id,
                                                row.stage_entry_id == PoolMember.stage_entry_id))
        .outerjoin(User, User.id == PoolMember.decided_by_id)
        .where(PoolMember.pool_id == pool.id, PoolMember.in_pool.is_(True))
        .order_by(PoolMember.rank, PoolMember.stage_entry_id))
    if state in {s.value for s in PoolState}:
        statement = statement.where(PoolMember.state == PoolState(state))
    if query:
        like = f"%{query}%"
        statement = statement.where(sa.or_(Entry.exam_number.like(like),
                                           Contestant.name.like(like),
                                           Enterprise.name.like(like)))
    matter = set(undecided_that_matter(pool.version) if waiting is None else waiting)
    return [MemberLine(m.id, m.rank, number or "", name, enterprise or "", total, m.state,
                       m.reason, m.decided_at, by, m.stage_entry_id in matter)
            for m, number, name, enterprise, total, by in db.session.execute(statement)]


def standing(place: StageEntry) -> PoolMember | None:
    """A contestant's place in their stage's eligibility pool (None: not in one)."""
    pool = pool_of(place.stage)
    if pool is None:
        return None
    return db.session.scalar(sa.select(PoolMember).where(
        PoolMember.pool_id == pool.id, PoolMember.stage_entry_id == place.id,
        PoolMember.in_pool.is_(True)))


def standings(places: Iterable[StageEntry]) -> dict[int, PoolMember]:
    """Pool members by stage entry id, for many stage entries at once."""
    ids = [p.id for p in places]
    if not ids:
        return {}
    return {m.stage_entry_id: m for m in db.session.scalars(sa.select(PoolMember).where(
        PoolMember.stage_entry_id.in_(ids), PoolMember.in_pool.is_(True)))}

