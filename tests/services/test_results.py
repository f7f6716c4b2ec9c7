"""Results versions and advancement on the demo contest: preliminary results → 60 advancers
with at most 5 per enterprise → public notice → an objection upheld → replacement → final list →
the advanced stage's entries; a correction as a new version with its differences."""
from collections import Counter
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import (
    AdvancementEntryStatus,
    Component,
    ComponentScore,
    Entry,
    ListStatus,
    ResultRow,
    Stage,
    StageEntry,
    Track,
    VersionStatus,
)
from app.services import FieldErrors, ServiceError, accounts, results
from tests.results_setup import recheck_and_publish, score_preliminary

pytestmark = pytest.mark.usefixtures("app_ctx")


def organiser():
    return accounts.get_by_username("organiser")


def stage(seq: int) -> Stage:
    return db.session.scalar(sa.select(Stage).join(Track).where(Track.code == "chem",
                                                                Stage.seq == seq))


@pytest.fixture
def preliminary() -> Stage:
    """The chemical preliminary with learning points and theory scores for everyone (as the
    exam system's and learning platform's imports would store them)."""
    stage_id, _people = score_preliminary(seed=7)
    return db.session.get(Stage, stage_id)


def published(prelim):
    version = results.create_version(prelim, actor=organiser())
    return recheck_and_publish(version, organiser())


def test_results_need_every_component_scored():
    with pytest.raises(ServiceError) as caught:
        results.create_version(stage(1), actor=organiser())
    assert "尚无导入成绩" in caught.value.message or "imported" in caught.value.message


def test_a_version_ranks_every_contestant_from_the_published_rounding(preliminary):
    version = results.create_version(preliminary, actor=organiser())
    table = results.version_table(version)
    n = db.session.scalar(sa.select(sa.func.count()).select_from(StageEntry)
                          .where(StageEntry.stage_id == preliminary.id))
    assert len(table) == n and version.status == VersionStatus.DRAFT
    first = table.iloc[0]
    # total = 0.40 × learning % + 0.60 × theory %, half-up at 2 decimals, by hand:
    expected = (Decimal("0.40") * first["learning_percent"]
                + Decimal("0.60") * first["theory_percent"]).quantize(Decimal("0.01"))
    assert first["total"] == expected and first["rank"] == 1
    totals = table["total"].tolist()
    assert totals == sorted(totals, reverse=True)
    assert len(version.fingerprint) == 64


def test_nothing_is_public_until_published(preliminary):
    entry = db.session.get(Entry, 1)
    results.create_version(preliminary, actor=organiser())
    assert results.published_results_for(entry) == []
    version = db.session.scalar(sa.select(results.ResultsVersion))
    recheck_and_publish(version, organiser())
    mine = results.published_results_for(entry)
    assert len(mine) == 1 and mine[0]["row"].total is not None


def test_full_flow_to_the_advanced_stage(preliminary):
    version = published(preliminary)
    listing = results.generate_list(version, actor=organiser())
    going = results.advancers(listing)
    assert len(going) == 60
    per_enterprise = Counter(db.session.get(StageEntry, e.stage_entry_id).entry.enterprise_id
                             for e in going)
    assert max(per_enterprise.values()) <= 5
    skipped = [e for e in listing.entries if e.status == AdvancementEntryStatus.SKIPPED_FOR_CAP]
    assert skipped and all("5" in e.reason for e in skipped)

    results.start_notice(listing, actor=organiser())
    assert listing.status == ListStatus.NOTICE
    assert listing.notice_ends_at - listing.notice_starts_at == timedelta(days=7)
    target = going[10]
    with pytest.raises(FieldErrors):
        results.record_objection(listing, target, filed_by=" ", contact=None, text="",
                                 actor=organiser())
    objection = results.record_objection(listing, target, filed_by="某单位职工",
                                         contact="13900000000", text="担任班组长年限不实",
                                         actor=organiser())
    with pytest.raises(ServiceError, match="异议"):
        results.finalise(listing, actor=organiser(),
                         now=listing.notice_ends_at + timedelta(seconds=1))
    replacement = results.rule_on_objection(objection, upheld=True, ruling="经核实，年限不足2年",
                                            actor=organiser())
    assert target.status == AdvancementEntryStatus.REMOVED
    assert replacement is not None and replacement.replaces_id == target.id
    going = results.advancers(listing)
    assert len(going) == 60 and target not in going
    def enterprise(row):
        return db.session.get(StageEntry, row.stage_entry_id).entry.enterprise_id

    per_enterprise = Counter(enterprise(e) for e in going)
    passed_over = [e for e in listing.entries if e.rank is not None and e.rank < replacement.rank
                   and e.status in (AdvancementEntryStatus.RESERVE,
                                    AdvancementEntryStatus.SKIPPED_FOR_CAP)]
    # Everyone ranked above the replacement who stayed out belongs to an enterprise at the cap.
    assert all(per_enterprise[enterprise(e)] == 5 for e in passed_over)
    assert max(Counter(db.session.get(StageEntry, e.stage_entry_id).entry.enterprise_id
                       for e in going).values()) <= 5

    with pytest.raises(ServiceError, match="公示"):
        results.finalise(listing, actor=organiser())  # the notice is still running
    moved = results.finalise(listing, actor=organiser(),
                             now=listing.notice_ends_at + timedelta(seconds=1))
    assert moved == 60 and listing.status == ListStatus.FINAL
    advanced = db.session.scalars(sa.select(StageEntry).where(
        StageEntry.stage_id == stage(2).id)).all()
    assert len(advanced) == 60 and all(p.advanced_from_id for p in advanced)
    assert target.stage_entry.entry_id not in {p.entry_id for p in advanced}


def test_a_correction_is_a_new_version_and_shows_what_changed(preliminary):
    first = published(preliminary)
    place_id = results.version_table(first).iloc[-1]["entry_id"]
    theory = next(c for c in preliminary.components if c.code == "theory")
    score = db.session.scalar(sa.select(ComponentScore).where(
        ComponentScore.component_id == theory.id, ComponentScore.stage_entry_id == int(place_id)))
    score.points = Decimal("100.00")  # an upheld appeal's ruling
    db.session.flush()
    second = results.create_version(preliminary, actor=organiser(), reason="申诉成立，理论成绩更正")
    assert second.previous_id == first.id and second.fingerprint != first.fingerprint
    changes = results.differences(second)
    changed_fields = {c.field for c in changes if c.entry_id == int(place_id)}
    assert {"theory_points", "theory_percent", "total", "rank"} <= changed_fields
    recheck_and_publish(second, organiser())
    assert first.status == VersionStatus.SUPERSEDED
    before = db.session.scalar(sa.select(ResultRow).where(
        ResultRow.version_id == first.id, ResultRow.stage_entry_id == int(place_id)))
    assert before.total != Decimal("100.00")  # the published first version never changed
    with pytest.raises(ServiceError):
        results.publish(first, actor=organiser())


def test_lists_come_only_from_published_results(preliminary):
    version = results.create_version(preliminary, actor=organiser())
    with pytest.raises(ServiceError):
        results.generate_list(version, actor=organiser())


def test_component_points_are_stored_per_row(preliminary):
    version = published(preliminary)
    table = results.version_table(version)
    assert table["learning_points"].notna().all() and table["theory_percent"].notna().all()
    assert isinstance(table.iloc[0]["theory_points"], Decimal)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Component)) > 0
