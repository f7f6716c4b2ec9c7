"""Re-check (复核) before publication on the demo's chemical preliminary (252 contestants): the
sample is the top 10 plus 15% of the rest drawn from a recorded seed; an error rate above 5%
demands a full re-check; a version is published only after a passed re-check with no wrong
score."""
import random
from decimal import Decimal

import pytest
import sqlalchemy as sa

import scoring as sc
from app.extensions import db
from app.models import (
    AuditLog,
    ComponentScore,
    RecheckKind,
    RecheckOutcome,
    Stage,
    StageEntry,
    Track,
    VersionStatus,
)
from app.services import FieldErrors, ServiceError, accounts, rechecks, results
from tests.results_setup import pass_recheck

pytestmark = pytest.mark.usefixtures("app_ctx")


def organiser():
    return accounts.get_by_username("organiser")


@pytest.fixture
def version():
    """A draft results version of the chemical preliminary, every score stored."""
    prelim = db.session.scalar(sa.select(Stage).join(Track).where(Track.code == "chem",
                                                                  Stage.seq == 1))
    rng = random.Random(3)
    places = db.session.scalars(sa.select(StageEntry).where(StageEntry.stage_id == prelim.id)
                                .order_by(StageEntry.id)).all()
    for component in prelim.components:
        for place in places:
            db.session.add(ComponentScore(component_id=component.id, stage_entry_id=place.id,
                                          judges=1, points=Decimal(rng.randint(5000, 10000)) / 100))
    db.session.flush()
    return results.create_version(prelim, actor=organiser(), reason="首次计算")


def audit_actions(prefix="recheck."):
    return [a for a in db.session.scalars(sa.select(AuditLog.action).where(
        AuditLog.action.like(f"{prefix}%")).order_by(AuditLog.id))]


def test_the_sample_is_the_top_ten_and_fifteen_percent_of_the_rest_from_the_seed(version):
    table = results.version_table(version)
    round_ = rechecks.open_round(version, actor=organiser())
    drawn = [i.stage_entry_id for i in rechecks.items(round_)]
    top = set(table.loc[table["rank"] <= 10, "entry_id"].astype(int))
    assert len(top) >= 10 and top <= set(drawn)  # every one of the top 10, ties included
    rest = len(table) - len(top)
    assert len(drawn) == len(top) + -(-rest * 15 // 100)  # ceil(15% of the rest)
    assert round_.seed.isdigit() and round_.top == 10 and round_.fraction == Decimal("0.15")
    # Anyone holding the seed redraws the same entries, by the scoring rule itself.
    again = sc.recheck_sample(table[["entry_id", "rank"]], top=10, fraction=Decimal("0.15"),
                              seed=int(round_.seed))
    assert [int(i) for i in again.entry_ids] == drawn == rechecks.redraw(round_)
    # The seed comes from secrets: another version's draw has another seed.
    other = results.create_version(version.stage, actor=organiser())
    assert rechecks.open_round(other, actor=organiser()).seed != round_.seed
    logged = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "recheck.open")
                               .order_by(AuditLog.id).limit(1))
    assert logged.after["seed"] == round_.seed and logged.after["top_ids"]


def test_the_same_seed_draws_the_same_sample_and_another_seed_another(version):
    table = results.version_table(version)[["entry_id", "rank"]]
    first = rechecks.open_round(version, actor=organiser(), seed=20250601)
    drawn = [i.stage_entry_id for i in rechecks.items(first)]
    assert drawn == [int(i) for i in sc.recheck_sample(table, seed=20250601).entry_ids]
    assert drawn != [int(i) for i in sc.recheck_sample(table, seed=20250602).entry_ids]


def test_a_version_is_sampled_once_and_only_while_a_draft(version):
    rechecks.open_round(version, actor=organiser(), seed=5)
    with pytest.raises(ServiceError, match="只抽样一次|sampled only once"):
        rechecks.open_round(version, actor=organiser(), seed=6)  # no shopping for a seed


def test_publication_waits_for_a_closed_re_check(version):
    with pytest.raises(ServiceError, match="尚未复核|not been re-checked"):
        results.publish(version, actor=organiser())
    round_ = rechecks.open_round(version, actor=organiser(), seed=11)
    with pytest.raises(ServiceError, match="复核尚未完成|still open"):
        results.publish(version, actor=organiser())
    entries = rechecks.items(round_)
    rechecks.mark_correct(round_, [i.id for i in entries[:-1]], actor=organiser())
    with pytest.raises(ServiceError, match="1"):
        rechecks.close(round_, actor=organiser())  # one entry still to check
    rechecks.record(entries[-1], outcome="correct", note=None, actor=organiser())
    verdict, full = rechecks.close(round_, actor=organiser())
    assert full is None and not verdict.full_recheck_required and round_.error_rate == 0
    results.publish(version, actor=organiser())
    assert version.status == VersionStatus.PUBLISHED
    assert audit_actions() == ["recheck.open", "recheck.items", "recheck.item", "recheck.close"]
    with pytest.raises(ServiceError):
        rechecks.open_round(version, actor=organiser())  # published: no re-check any more


def test_corrected_needs_a_note_and_blocks_publication_until_a_new_version(version):
    round_ = rechecks.open_round(version, actor=organiser(), seed=12)
    entries = rechecks.items(round_)
    with pytest.raises(FieldErrors) as caught:
        rechecks.record(entries[0], outcome="corrected", note="  ", actor=organiser())
    assert set(caught.value.errors) == {"note"}
    with pytest.raises(FieldErrors):
        rechecks.record(entries[0], outcome="maybe", note=None, actor=organiser())
    rechecks.record(entries[0], outcome="corrected", note="理论成绩录入时少计2分",
                    actor=organiser())
    rechecks.mark_correct(round_, [i.id for i in entries[1:]], actor=organiser())
    verdict, full = rechecks.close(round_, actor=organiser())
    assert verdict.errors == 1 and not verdict.full_recheck_required and full is None
    with pytest.raises(ServiceError, match="新版本|new version"):
        results.publish(version, actor=organiser())  # one score is known to be wrong
    logged = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "recheck.item"))
    assert logged.reason == "理论成绩录入时少计2分" and logged.after["outcome"] == "corrected"
    # The organiser corrects the score and computes a new version, which is re-checked itself.
    fixed = results.create_version(version.stage, actor=organiser(), reason="复核更正")
    with pytest.raises(ServiceError):
        results.publish(fixed, actor=organiser())
    pass_recheck(fixed, organiser(), seed=13)
    results.publish(fixed, actor=organiser())
    assert fixed.status == VersionStatus.PUBLISHED


def test_an_error_rate_above_the_threshold_demands_a_full_re_check(version):
    round_ = rechecks.open_round(version, actor=organiser(), seed=21)
    entries = rechecks.items(round_)
    n = len(entries)
    wrong = n * 5 // 100 + 1  # just above 5%
    assert Decimal(wrong) / n > Decimal("0.05")
    for item in entries[:wrong]:
        rechecks.record(item, outcome="corrected", note="加权计算有误", actor=organiser())
    rechecks.mark_correct(round_, [i.id for i in entries[wrong:]], actor=organiser())
    assert rechecks.progress(round_, version.stage).verdict.full_recheck_required
    verdict, full = rechecks.close(round_, actor=organiser())
    assert verdict.full_recheck_required and "须全部复核" in verdict.message
    assert full is not None and full.kind == RecheckKind.FULL and rechecks.demanded_full(round_)
    everyone = db.session.scalar(sa.select(sa.func.count()).select_from(StageEntry)
                                 .where(StageEntry.stage_id == version.stage_id))
    full_items = rechecks.items(full)
    assert len(full_items) == everyone
    # The sample's marks carry over; the rest waits for checking.
    by_entry = {i.stage_entry_id: i for i in full_items}
    assert all(by_entry[i.stage_entry_id].outcome == i.outcome for i in entries)
    assert sum(i.outcome == RecheckOutcome.PENDING for i in full_items) == everyone - n
    with pytest.raises(ServiceError, match="复核尚未完成|still open"):
        results.publish(version, actor=organiser())  # blocked while the full round is open
    rechecks.mark_correct(full, [i.id for i in full_items], actor=organiser())
    verdict, again = rechecks.close(full, actor=organiser())
    assert again is None and verdict.errors == wrong  # a full round never demands another
    with pytest.raises(ServiceError, match="新版本|new version"):
        results.publish(version, actor=organiser())
    assert audit_actions()[-3:] == ["recheck.full", "recheck.items", "recheck.close"]


def test_exactly_at_the_threshold_is_not_a_full_re_check(version):
    version.stage.recheck_top, version.stage.recheck_fraction = 20, Decimal(0)
    round_ = rechecks.open_round(version, actor=organiser(), seed=31)
    entries = rechecks.items(round_)
    assert len(entries) == 20  # the top 20 only: 1 error is exactly 5%
    rechecks.record(entries[0], outcome="corrected", note="合计错误", actor=organiser())
    rechecks.mark_correct(round_, [i.id for i in entries[1:]], actor=organiser())
    verdict, full = rechecks.close(round_, actor=organiser())
    assert verdict.error_rate == Decimal("0.05") and not verdict.full_recheck_required
    assert full is None and not rechecks.demanded_full(round_)


def test_a_closed_round_takes_no_more_marks(version):
    round_ = pass_recheck(version, organiser(), seed=41)
    item = rechecks.items(round_)[0]
    with pytest.raises(ServiceError, match="已结束|closed"):
        rechecks.record(item, outcome="corrected", note="迟到的更正", actor=organiser())
    with pytest.raises(ServiceError):
        rechecks.close(round_, actor=organiser())


def test_a_stage_configured_without_re_check_publishes_directly(version):
    version.stage.recheck_top = 0
    version.stage.recheck_fraction = Decimal(0)
    assert not rechecks.required(version.stage)
    with pytest.raises(ServiceError):
        rechecks.open_round(version, actor=organiser())
    results.publish(version, actor=organiser())
    assert version.status == VersionStatus.PUBLISHED
