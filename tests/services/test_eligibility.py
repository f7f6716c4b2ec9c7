"""The eligibility pool (资格审核) on the demo's chemical preliminary (252 contestants, quota 60,
at most 5 per enterprise, review pool 100): drawn by rank, ineligible members replaced by the
next by rank, the list drawn from the confirmed only and refused while it cannot be fixed,
递补 from the confirmed, a correction re-drawing the pool with the decisions kept."""
from collections import Counter
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import (
    AdvancementEntryStatus,
    AdvancementList,
    AuditLog,
    ComponentScore,
    PoolMember,
    PoolState,
    ResultRow,
    Stage,
    StageEntry,
)
from app.services import FieldErrors, ServiceError, accounts, eligibility, results
from tests.results_setup import pass_recheck, score_preliminary

pytestmark = pytest.mark.usefixtures("app_ctx")


def organiser():
    return accounts.get_by_username("organiser")


@pytest.fixture
def preliminary() -> Stage:
    stage_id, _people = score_preliminary(seed=11)
    return db.session.get(Stage, stage_id)


def publish(stage: Stage):
    """Compute, re-check and publish a version -- without touching the pool's decisions."""
    version = results.create_version(stage, actor=organiser())
    pass_recheck(version, organiser())
    results.publish(version, actor=organiser())
    return version


def ranked(version) -> list[tuple[int, int]]:
    """(stage entry, rank) of the version's ranked eligible lines in rank order, by hand."""
    table = results.version_table(version)
    table = table[table["rank"].notna() & table["eligible"]]
    return [(int(e), int(r)) for e, r in
            sorted(zip(table["entry_id"], table["rank"], strict=True), key=lambda p: (p[1], p[0]))]


def members(pool, state=None) -> list[PoolMember]:
    query = sa.select(PoolMember).where(PoolMember.pool_id == pool.id,
                                        PoolMember.in_pool.is_(True))
    if state is not None:
        query = query.where(PoolMember.state == state)
    return db.session.scalars(query.order_by(PoolMember.rank, PoolMember.stage_entry_id)).all()


def member_of(pool, entry_id: int) -> PoolMember:
    return db.session.scalar(sa.select(PoolMember).where(PoolMember.pool_id == pool.id,
                                                         PoolMember.stage_entry_id == entry_id))


def top_by_hand(version, m: int) -> list[int]:
    lines = ranked(version)
    last_rank = lines[m - 1][1]
    return [e for e, r in lines if r <= last_rank]


def test_pool_is_drawn_as_the_top_m_by_rank_of_the_published_version(preliminary):
    version = publish(preliminary)
    pool = eligibility.draw(version, actor=organiser())
    drawn = [m.stage_entry_id for m in members(pool)]
    assert drawn == top_by_hand(version, 100)
    assert all(m.state == PoolState.UNDECIDED for m in members(pool))
    counts = eligibility.counts(pool)
    assert (counts.members, counts.confirmed, counts.ineligible) == (len(drawn), 0, 0)
    assert counts.needed > 0  # undecided members hold the list up
    audit = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "pool.draw"))
    assert audit.actor_name == "organiser" and "前100名" in audit.summary


def test_pool_is_drawn_only_from_published_results_and_once(preliminary):
    version = results.create_version(preliminary, actor=organiser())
    with pytest.raises(ServiceError, match="已发布"):
        eligibility.draw(version, actor=organiser())
    pass_recheck(version, organiser())
    results.publish(version, actor=organiser())
    eligibility.draw(version, actor=organiser())
    with pytest.raises(ServiceError):
        eligibility.draw(version, actor=organiser())


def test_each_member_found_ineligible_brings_in_the_next_by_rank(preliminary):
    version = publish(preliminary)
    pool = eligibility.draw(version, actor=organiser())
    fifth = members(pool)[4]
    before = [m.stage_entry_id for m in members(pool)]
    eligibility.decide(pool, [fifth.id], eligible=False, reason="任班组长不满2年",
                       actor=organiser())
    after = [m.stage_entry_id for m in members(pool)]
    lines = ranked(version)
    next_by_rank = lines[len(before)][0]
    assert set(after) - set(before) >= {next_by_rank}
    assert fifth.stage_entry_id in after  # still shown, with the reason
    assert (fifth.state, fifth.reason) == (PoolState.INELIGIBLE, "任班组长不满2年")
    assert fifth.decided_by_id == organiser().id and fifth.decided_at is not None
    assert member_of(pool, next_by_rank).state == PoolState.UNDECIDED
    assert eligibility.counts(pool).ineligible == 1
    audits = db.session.scalars(sa.select(AuditLog.summary).where(
        AuditLog.action.in_(["pool.decide", "pool.join"]))).all()
    assert any("资格不符（任班组长不满2年）" in s for s in audits)
    assert any("递补" in s for s in audits)


def test_ineligible_needs_a_reason_and_the_refusal_changes_nothing(preliminary):
    version = publish(preliminary)
    pool = eligibility.draw(version, actor=organiser())
    first = members(pool)[0]
    with pytest.raises(FieldErrors) as caught:
        eligibility.decide(pool, [first.id], eligible=False, reason="  ", actor=organiser())
    assert "reason" in caught.value.errors
    assert first.state == PoolState.UNDECIDED
    assert len(members(pool)) == len(top_by_hand(version, 100))


def test_generating_the_list_is_refused_while_undecided_members_could_change_it(preliminary):
    version = publish(preliminary)
    with pytest.raises(ServiceError, match="尚未划定") as not_drawn:
        results.generate_list(version, actor=organiser())
    assert not_drawn.value.code == "not_ready"
    eligibility.draw(version, actor=organiser())
    audits = db.session.scalar(sa.select(sa.func.count()).select_from(AuditLog))
    with pytest.raises(ServiceError, match="60名可能影响晋级名单的选手尚未审核") as caught:
        results.generate_list(version, actor=organiser())
    assert caught.value.code == "not_ready"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AdvancementList)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditLog)) == audits


def test_undecided_members_who_cannot_change_the_list_do_not_hold_it_up(preliminary):
    version = publish(preliminary)
    pool = eligibility.draw(version, actor=organiser())
    waiting = eligibility.undecided_that_matter(version)
    ids = [member_of(pool, e).id for e in waiting]
    eligibility.decide(pool, ids, eligible=True, actor=organiser())
    assert eligibility.undecided_that_matter(version) == []
    still_undecided = members(pool, PoolState.UNDECIDED)
    assert still_undecided  # the pool's lower ranks, below the cut-off or over the cap
    listing = results.generate_list(version, actor=organiser())
    going = {e.stage_entry_id for e in results.advancers(listing)}
    assert going == set(waiting) and len(going) == 60
    assert not going & {m.stage_entry_id for m in still_undecided}


def test_advancement_is_drawn_from_the_confirmed_only_and_keeps_the_cap(preliminary):
    version = publish(preliminary)
    pool = eligibility.draw(version, actor=organiser())
    would_advance = eligibility.undecided_that_matter(version)
    struck = member_of(pool, would_advance[0])
    eligibility.decide(pool, [struck.id], eligible=False, reason="荣誉材料不实",
                       actor=organiser())
    eligibility.decide(pool, [m.id for m in members(pool, PoolState.UNDECIDED)],
                       eligible=True, actor=organiser())
    listing = results.generate_list(version, actor=organiser())
    going = results.advancers(listing)
    assert len(going) == 60
    assert struck.stage_entry_id not in {e.stage_entry_id for e in going}
    confirmed = {m.stage_entry_id for m in members(pool, PoolState.CONFIRMED)}
    assert {e.stage_entry_id for e in going} <= confirmed
    per_enterprise = Counter(db.session.get(StageEntry, e.stage_entry_id).entry.enterprise_id
                             for e in going)
    assert max(per_enterprise.values()) <= 5
    # everyone on the list outside the pool's confirmed is absent from the list entirely
    listed = {e.stage_entry_id for e in listing.entries}
    assert listed <= confirmed


def test_an_upheld_objection_is_filled_by_the_next_confirmed_member(preliminary):
    version = publish(preliminary)
    pool = eligibility.draw(version, actor=organiser())
    eligibility.decide(pool, [m.id for m in members(pool)], eligible=True, actor=organiser())
    listing = results.generate_list(version, actor=organiser())
    results.start_notice(listing, actor=organiser())
    target = results.advancers(listing)[3]
    def enterprise(e):
        return db.session.get(StageEntry, e.stage_entry_id).entry.enterprise_id

    staying = Counter(enterprise(e) for e in results.advancers(listing) if e is not target)
    candidates = [e for e in listing.entries if e.status in (
        AdvancementEntryStatus.RESERVE, AdvancementEntryStatus.SKIPPED_FOR_CAP)
        and staying[enterprise(e)] < 5]  # the cap still applies to the replacement
    expected = min(candidates, key=lambda e: (e.rank, e.stage_entry_id))
    objection = results.record_objection(listing, target, filed_by="职工甲", contact=None,
                                         text="年限不实", actor=organiser())
    replacement = results.rule_on_objection(objection, upheld=True, ruling="经核实，年限不足",
                                            actor=organiser())
    assert replacement.stage_entry_id == expected.stage_entry_id
    assert member_of(pool, replacement.stage_entry_id).state == PoolState.CONFIRMED


def test_with_no_confirmed_member_left_the_pool_grows_and_the_confirmation_fills_the_place(
        preliminary):
    preliminary.review_pool, preliminary.per_enterprise_cap = 60, None
    version = publish(preliminary)
    pool = eligibility.draw(version, actor=organiser())
    eligibility.decide(pool, [m.id for m in members(pool)], eligible=True, actor=organiser())
    listing = results.generate_list(version, actor=organiser())
    assert len(results.advancers(listing)) == 60
    results.start_notice(listing, actor=organiser())
    target = results.advancers(listing)[0]
    objection = results.record_objection(listing, target, filed_by="职工乙", contact=None,
                                         text="材料不实", actor=organiser())
    replacement = results.rule_on_objection(objection, upheld=True, ruling="异议成立",
                                            actor=organiser())
    assert replacement is None
    assert len(results.advancers(listing)) == 59
    lines = ranked(version)
    joined = member_of(pool, lines[60][0])  # the 61st by rank joined the pool, undecided
    assert joined.in_pool and joined.state == PoolState.UNDECIDED and pool.size == 61
    eligibility.decide(pool, [joined.id], eligible=True, actor=organiser())
    going = results.advancers(listing)
    assert len(going) == 60 and joined.stage_entry_id in {e.stage_entry_id for e in going}
    filled = next(e for e in going if e.stage_entry_id == joined.stage_entry_id)
    assert filled.replaces_id == target.id
    assert any(joined.stage_entry.entry.exam_number in a.text
               for a in results.amendments(listing))


def test_a_correction_keeps_the_decisions_and_redraws_the_pool_by_the_new_ranks(preliminary):
    first = publish(preliminary)
    pool = eligibility.draw(first, actor=organiser())
    drawn = members(pool)
    struck, kept = drawn[0], drawn[1]
    eligibility.decide(pool, [struck.id], eligible=False, reason="年龄超过60岁", actor=organiser())
    eligibility.decide(pool, [kept.id], eligible=True, actor=organiser())
    drawn = members(pool)  # the 101st by rank joined for the one found ineligible
    outsider = next(e for e, _r in reversed(ranked(first)))  # the last by rank
    for score in db.session.scalars(sa.select(ComponentScore).where(
            ComponentScore.stage_entry_id == outsider)):
        score.points = Decimal("100")
    db.session.flush()
    second = publish(preliminary)
    assert pool.version_id == second.id
    newcomer = member_of(pool, outsider)
    assert newcomer.in_pool and newcomer.rank == 1 and newcomer.state == PoolState.UNDECIDED
    assert (struck.state, struck.reason) == (PoolState.INELIGIBLE, "年龄超过60岁")
    assert kept.state == PoolState.CONFIRMED
    left = [m for m in drawn if not m.in_pool]
    assert left  # someone at the bottom of the pool dropped out for the newcomer
    assert newcomer.stage_entry.entry.exam_number in pool.changes
    assert all(m.stage_entry.entry.exam_number in pool.changes for m in left[:5])
    assert [m.stage_entry_id for m in members(pool)] == [
        e for e in sc_draw(second, pool.size, {struck.stage_entry_id})]


def sc_draw(version, size, ineligible):
    import scoring as sc

    return sc.draw_pool(ranked(version), size, ineligible)


def test_a_stage_without_a_review_pool_lists_as_before(preliminary):
    preliminary.review_pool = None
    version = publish(preliminary)
    with pytest.raises(ServiceError):
        eligibility.draw(version, actor=organiser())
    listing = results.generate_list(version, actor=organiser())
    assert len(results.advancers(listing)) == 60
    assert eligibility.pool_of(preliminary) is None


def test_decisions_change_only_before_the_list_is_drawn_up(preliminary):
    version = publish(preliminary)
    pool = eligibility.draw(version, actor=organiser())
    eligibility.decide(pool, [m.id for m in members(pool)], eligible=True, actor=organiser())
    listing = results.generate_list(version, actor=organiser())
    member = member_of(pool, results.advancers(listing)[0].stage_entry_id)
    with pytest.raises(ServiceError, match="撤回") as caught:
        eligibility.decide(pool, [member.id], eligible=False, reason="材料不实",
                           actor=organiser())
    assert caught.value.code == "conflict" and member.state == PoolState.CONFIRMED


def test_published_totals_are_shown_with_each_member(preliminary):
    version = publish(preliminary)
    pool = eligibility.draw(version, actor=organiser())
    lines = eligibility.member_lines(pool)
    row = db.session.scalar(sa.select(ResultRow).where(
        ResultRow.version_id == version.id, ResultRow.stage_entry_id == members(pool)[0]
        .stage_entry_id))
    assert lines[0].total == row.total and lines[0].rank == row.rank
    assert eligibility.member_lines(pool, state="confirmed") == []


def test_a_member_no_longer_found_ineligible_lets_the_last_joiner_leave_again(preliminary):
    version = publish(preliminary)
    pool = eligibility.draw(version, actor=organiser())
    drawn = [m.stage_entry_id for m in members(pool)]
    second = members(pool)[1]
    eligibility.decide(pool, [second.id], eligible=False, reason="材料待补", actor=organiser())
    assert len(members(pool)) > len(drawn)
    eligibility.decide(pool, [second.id], eligible=True, actor=organiser())
    assert [m.stage_entry_id for m in members(pool)] == drawn
    assert (second.state, second.reason) == (PoolState.CONFIRMED, None)
