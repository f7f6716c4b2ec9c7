"""A stage's status follows its work (app/services/stage_flow.py); lists follow corrections:
withdrawn with a reason, drawn up again from the newer version, or kept with a reason; a list
on a superseded version is never finalised undecided. Refused steps leave the database as it
was."""
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import (
    AdvancementList,
    AuditLog,
    ComponentScore,
    Entry,
    EntryStatus,
    ListStatus,
    ResultRow,
    ResultsVersion,
    Stage,
    StageEntry,
    StageStatus,
    Track,
    VersionStatus,
)
from app.services import FieldErrors, ServiceError, accounts, judging, results, stage_flow
from app.services import contests as contest_service
from app.services import stages as stage_service
from tests.results_setup import (
    correct_theory_to_88_24,
    make_top_scorer_98_24,
    recheck_and_publish,
    score_preliminary,
)

pytestmark = pytest.mark.usefixtures("app_ctx")


def organiser():
    return accounts.get_by_username("organiser")


def chem_stage(seq: int) -> Stage:
    return db.session.scalar(sa.select(Stage).join(Track).where(Track.code == "chem",
                                                                Stage.seq == seq))


def fresh_stage() -> Stage:
    contest = contest_service.create_contest({
        "code": "flow-2026", "name": "流程测试", "year": 2026,
        "exam_number_pattern": "{year}{track_no:02d}{seq:04d}"})
    track = contest_service.create_track(contest, {"code": "t", "name": "测试", "number": 1})
    return stage_service.create_stage(track, {"kind": "preliminary", "name": "预赛"})


def snapshot() -> dict:
    """What a refused step must not change: statuses, lists, versions, places, the audit log."""
    count = lambda model: db.session.scalar(sa.select(sa.func.count()).select_from(model))  # noqa: E731
    return {
        "stages": dict(db.session.execute(sa.select(Stage.id, Stage.status)).all()),
        "lists": dict(db.session.execute(
            sa.select(AdvancementList.id, AdvancementList.status)).all()),
        "versions": dict(db.session.execute(
            sa.select(ResultsVersion.id, ResultsVersion.status)).all()),
        "places": count(StageEntry), "audit": count(AuditLog),
    }


def status_moves() -> list[tuple]:
    return [(row.before["status"], row.after["status"], row.after.get("step"))
            for row in db.session.scalars(sa.select(AuditLog).where(
                AuditLog.action == "stage.status").order_by(AuditLog.id))]


@pytest.fixture
def preliminary() -> Stage:
    stage_id, _people = score_preliminary(seed=11)
    return db.session.get(Stage, stage_id)


def on_notice(prelim: Stage) -> AdvancementList:
    version = recheck_and_publish(results.create_version(prelim, actor=organiser()), organiser())
    listing = results.generate_list(version, actor=organiser())
    results.start_notice(listing, actor=organiser())
    return listing


def after_notice(listing: AdvancementList):
    return listing.notice_ends_at + timedelta(minutes=1)


# --- the stage follows its work ----------------------------------------------------------------

def test_by_hand_a_stage_moves_one_step_and_scoring_needs_contestants_and_rules():
    stage = fresh_stage()
    with pytest.raises(ServiceError) as caught:
        stage_flow.change_status(stage, StageStatus.SCORING)
    assert caught.value.code == "bad_transition" and stage.status == StageStatus.DRAFT
    stage_flow.change_status(stage, "registration", actor=organiser())
    with pytest.raises(ServiceError) as caught:
        stage_flow.change_status(stage, StageStatus.SCORING)
    assert caught.value.code == "not_ready"
    assert "考核模块" in caught.value.message and "还没有选手" in caught.value.message
    stage_service.save_components(stage, [{
        "code": "theory", "name": "理论", "kind": "theory", "source": "import",
        "weight": "100", "maximum": "100", "aggregation": "single"}])
    someone = db.session.scalar(sa.select(Entry).where(Entry.status == EntryStatus.APPROVED))
    entry = Entry(contest_id=stage.track.contest_id, track_id=stage.track_id,
                  contestant_id=someone.contestant_id, enterprise_id=someone.enterprise_id,
                  status=EntryStatus.APPROVED)
    db.session.add(entry)
    db.session.flush()
    db.session.add(StageEntry(stage_id=stage.id, entry_id=entry.id))
    db.session.flush()
    stage_flow.change_status(stage, StageStatus.SCORING, actor=organiser())
    assert stage.status == StageStatus.SCORING
    assert status_moves()[-2:] == [("draft", "registration", "open_registration"),
                                   ("registration", "scoring", "start_scoring")]


def test_the_preliminary_moves_with_its_work_to_final_and_fills_the_advanced_stage(preliminary):
    advanced = chem_stage(2)
    assert (preliminary.status, advanced.status) == (StageStatus.SCORING, StageStatus.DRAFT)
    version = results.create_version(preliminary, actor=organiser())
    assert preliminary.status == StageStatus.REVIEW  # computed: the re-check comes next
    recheck_and_publish(version, organiser())
    assert preliminary.status == StageStatus.PROVISIONAL
    listing = results.generate_list(version, actor=organiser())
    assert preliminary.status == StageStatus.PROVISIONAL  # a draft list changes nothing public
    results.start_notice(listing, actor=organiser())
    assert preliminary.status == StageStatus.NOTICE
    results.finalise(listing, actor=organiser(), now=after_notice(listing))
    assert preliminary.status == StageStatus.FINAL
    assert advanced.status == StageStatus.REGISTRATION  # its 60 contestants have arrived
    judging.draw(advanced, seed="flow", actor=organiser())
    assert advanced.status == StageStatus.SCORING
    moves = [m for m in status_moves()]
    assert moves[-6:] == [
        ("scoring", "review", "version_computed"),
        ("review", "provisional", "version_published"),
        ("provisional", "notice", "list_on_notice"),
        ("notice", "final", "list_final"),
        ("draft", "registration", "entries_arrived"),
        ("registration", "scoring", "draw")]
    summary = db.session.scalar(sa.select(AuditLog.summary).where(
        AuditLog.action == "stage.status").order_by(AuditLog.id.desc()).limit(1))
    assert summary == "赛段 化工（生物医药）·进阶考核：报名中 → 评分中（抽签）"


def test_out_of_order_moves_are_refused_with_the_reason_and_change_nothing(preliminary):
    before = snapshot()
    with pytest.raises(ServiceError) as caught:
        stage_flow.change_status(preliminary, StageStatus.FINAL, actor=organiser())
    assert "评分中" in caught.value.message and "已定稿" in caught.value.message
    with pytest.raises(ServiceError) as caught:  # backwards
        stage_flow.change_status(preliminary, StageStatus.REGISTRATION, actor=organiser())
    assert caught.value.code == "bad_transition"
    assert snapshot() == before


def test_a_final_stage_refuses_new_versions_and_imports_and_nothing_is_written(preliminary):
    listing = on_notice(preliminary)
    results.finalise(listing, actor=organiser(), now=after_notice(listing))
    db.session.flush()
    before = snapshot()
    with pytest.raises(ServiceError) as caught:
        results.create_version(preliminary, actor=organiser())
    assert "已定稿" in caught.value.message and "计算成绩版本" in caught.value.message
    with pytest.raises(ServiceError):
        results.withdraw_list(listing, reason="想撤回", actor=organiser())
    assert snapshot() == before


# --- lists follow corrections ------------------------------------------------------------------

def row_of(version: ResultsVersion, place: StageEntry) -> ResultRow:
    return db.session.scalar(sa.select(ResultRow).where(ResultRow.version_id == version.id,
                                                        ResultRow.stage_entry_id == place.id))


def test_a_list_on_a_superseded_version_is_flagged_and_never_finalised_undecided(preliminary):
    place = make_top_scorer_98_24(preliminary)
    listing = on_notice(preliminary)
    assert row_of(listing.version, place).total == Decimal("98.24")
    assert row_of(listing.version, place).rank == 1
    assert results.undecided_newer_version(listing) is None
    correct_theory_to_88_24(place)
    second = recheck_and_publish(results.create_version(preliminary, actor=organiser(),
                                                        reason="理论成绩更正"), organiser())
    assert row_of(second, place).total == Decimal("92.24") and row_of(second, place).rank > 1
    assert results.undecided_newer_version(listing) == second
    assert preliminary.status == StageStatus.NOTICE  # the list is still on notice
    db.session.flush()
    before = snapshot()
    with pytest.raises(ServiceError) as caught:
        results.finalise(listing, actor=organiser(), now=after_notice(listing))
    assert "第1版" in caught.value.message and "第2版" in caught.value.message
    with pytest.raises(ServiceError) as caught:  # nor a second list beside it
        results.generate_list(second, actor=organiser())
    assert "撤回" in caught.value.message
    assert snapshot() == before  # nothing entered the advanced stage, nothing moved


def test_withdrawing_and_drawing_up_again_follows_the_correction(preliminary):
    place = make_top_scorer_98_24(preliminary)
    listing = on_notice(preliminary)
    correct_theory_to_88_24(place)
    second = recheck_and_publish(results.create_version(preliminary, actor=organiser(),
                                                        reason="理论成绩更正"), organiser())
    with pytest.raises(FieldErrors) as caught:
        results.withdraw_list(listing, reason="  ", actor=organiser())
    assert "reason" in caught.value.errors and listing.status == ListStatus.NOTICE
    results.withdraw_list(listing, reason="理论成绩更正，名单依第2版重新生成", actor=organiser())
    assert listing.status == ListStatus.WITHDRAWN and listing.withdrawn_at is not None
    assert preliminary.status == StageStatus.PROVISIONAL  # no list on notice any more
    withdrawn = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "list.withdraw"))
    assert withdrawn.reason == "理论成绩更正，名单依第2版重新生成"
    with pytest.raises(ServiceError):  # the old version is superseded: no list from it
        results.generate_list(listing.version, actor=organiser())
    fresh = results.generate_list(second, actor=organiser())
    assert fresh.replaces_list_id == listing.id and fresh.version_id == second.id
    mine = next(e for e in fresh.entries if e.stage_entry_id == place.id)
    assert mine.rank == row_of(second, place).rank > 1
    (regenerated,) = results.amendments(fresh)
    assert "理论成绩更正，名单依第2版重新生成" in regenerated.text
    assert "第2版" in regenerated.text
    assert results.amendments(listing)[-1].text == "名单撤回：理论成绩更正，名单依第2版重新生成"
    results.start_notice(fresh, actor=organiser())
    assert preliminary.status == StageStatus.NOTICE
    # an objection upheld on the new list is an amendment of its own: the regeneration's still
    # compares the lists as they were drawn up
    both = next(e for e in results.advancers(fresh)
                if e.stage_entry_id in {a.stage_entry_id for a in results.advancers(listing)})
    objection = results.record_objection(fresh, both, filed_by="职工甲", contact=None,
                                         text="年限不实", actor=organiser())
    results.rule_on_objection(objection, upheld=True, ruling="经核实年限不足", actor=organiser())
    regenerated_again, replaced = results.amendments(fresh)
    assert regenerated_again.text == regenerated.text
    assert results.person(both.stage_entry_id).exam_number in replaced.text
    results.finalise(fresh, actor=organiser(), now=after_notice(fresh))
    assert preliminary.status == StageStatus.FINAL


def test_keeping_a_list_needs_a_reason_and_a_still_newer_version_asks_again(preliminary):
    listing = on_notice(preliminary)
    with pytest.raises(ServiceError):  # nothing to decide yet
        results.keep_list(listing, reason="无影响", actor=organiser())
    scores = db.session.scalars(sa.select(ComponentScore).join(StageEntry).where(
        StageEntry.stage_id == preliminary.id).order_by(ComponentScore.id).limit(1)).all()
    scores[0].points = Decimal("50.01")
    db.session.flush()
    second = recheck_and_publish(results.create_version(preliminary, actor=organiser()),
                                 organiser())
    with pytest.raises(FieldErrors):
        results.keep_list(listing, reason="", actor=organiser())
    results.keep_list(listing, reason="更正不影响晋级人员", actor=organiser())
    assert results.undecided_newer_version(listing) is None
    assert "更正不影响晋级人员" in results.amendments(listing)[-1].text
    assert listing.kept_for_version_id == second.id
    scores[0].points = Decimal("50.02")
    db.session.flush()
    third = recheck_and_publish(results.create_version(preliminary, actor=organiser()),
                                organiser())
    assert results.undecided_newer_version(listing) == third  # flagged again
    results.keep_list(listing, reason="仍不影响晋级人员", actor=organiser())
    results.finalise(listing, actor=organiser(), now=after_notice(listing))
    assert listing.status == ListStatus.FINAL and preliminary.status == StageStatus.FINAL


def test_an_upheld_objection_is_a_dated_amendment_naming_both_people(preliminary):
    listing = on_notice(preliminary)
    target = results.advancers(listing)[3]
    preview = results.replacement_preview(target)
    objection = results.record_objection(listing, target, filed_by="职工甲", contact=None,
                                         text="年限不实", actor=organiser())
    replacement = results.rule_on_objection(objection, upheld=True, ruling="经核实年限不足",
                                            actor=organiser())
    assert [replacement.stage_entry_id] == preview
    (amendment,) = results.amendments(listing)
    removed, taken = results.person(target.stage_entry_id), results.person(
        replacement.stage_entry_id)
    assert amendment.text == (f"{removed}经核实异议成立，取消晋级资格（经核实年限不足）；"
                              f"名额递补给{taken}。")
    assert amendment.when == target.removed_at


def test_the_stage_outlook_names_the_next_step_and_what_blocks_it(preliminary):
    view = stage_flow.outlook(preliminary)
    assert view.next_status == StageStatus.REVIEW and view.blockers == []
    version = results.create_version(preliminary, actor=organiser())
    view = stage_flow.outlook(preliminary)
    assert view.status == StageStatus.REVIEW and view.next_status == StageStatus.PROVISIONAL
    assert any("第1版" in b and "复核" in b for b in view.blockers)
    recheck_and_publish(version, organiser())
    view = stage_flow.outlook(preliminary)
    assert view.blockers == ["尚未依据已发布的成绩版本生成晋级名单。"]
    listing = results.generate_list(version, actor=organiser())
    results.start_notice(listing, actor=organiser())
    view = stage_flow.outlook(preliminary)
    assert view.next_status == StageStatus.FINAL and any("公示期至" in b for b in view.blockers)
    assert [s for s, state in view.steps if state == "done"] == [
        StageStatus.DRAFT, StageStatus.REGISTRATION, StageStatus.SCORING, StageStatus.REVIEW,
        StageStatus.PROVISIONAL]
    assert version.status == VersionStatus.PUBLISHED
