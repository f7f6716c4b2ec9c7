"""What-if preview on the demo preliminary with hand-computed ranks (tests/whatif_setup.py):
a weight change flips two known contestants, a quota change adds or removes known places, the
cut-off tie policy lets a known contestant in; nothing is written; bad settings are refused by
the configuration's own checks; applying goes through the audited services."""
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import (
    AuditLog,
    ComponentScore,
    CutoffTiePolicy,
    ResultRow,
    ResultsVersion,
    StageEntry,
)
from app.services import FieldErrors, ServiceError, accounts, results, whatif
from tests.whatif_setup import build_ladder, preliminary

pytestmark = pytest.mark.usefixtures("app_ctx")


@pytest.fixture
def ladder():
    return build_ladder()


def organiser():
    return accounts.get_by_username("organiser")


def test_a_weight_change_swaps_exactly_the_two_known_contestants(ladder):
    preview = whatif.preview(ladder.stage, weights={"learning": "30", "theory": "70"})
    assert [(c.entry_id, c.rank_before, c.rank_after) for c in preview.changes] == [
        (ladder.a, 2, 1), (ladder.b, 1, 2)]
    a, b = preview.changes
    # totals by hand: A 0.4×70 + 0.6×90 = 82 → 0.3×70 + 0.7×90 = 84; B 84 → 83
    assert (a.total_before, a.total_after) == (Decimal("82.00"), Decimal("84.00"))
    assert (b.total_before, b.total_after) == (Decimal("84.00"), Decimal("83.00"))
    assert (a.moved, b.moved) == ("up", "down")
    assert a.standing_before == a.standing_after == whatif.ADVANCING
    assert (preview.moved_up, preview.moved_down, preview.newly_in, preview.newly_out) == (
        1, 1, 0, 0)
    assert preview.entries == 159 and preview.advancing_before == preview.advancing_after == 60
    assert preview.changed_settings == ["weights.learning", "weights.theory"]
    assert preview.proposed.weights == {"learning": 30, "theory": 70}
    assert preview.current.weights == {"learning": 40, "theory": 60}


def test_the_current_settings_change_nothing(ladder):
    preview = whatif.preview(ladder.stage)
    assert preview.changes == [] and preview.changed_settings == []
    assert preview.note_before == preview.note_after
    assert "已按并列比较规则区分" in preview.note_before


def test_a_larger_quota_adds_the_next_two_and_a_smaller_removes_the_last_two(ladder):
    more = whatif.preview(ladder.stage, quota=62)
    assert [(c.entry_id, c.advancement) for c in more.changes] == [
        (ladder.y, "in"), (ladder.order[61], "in")]
    assert all(c.rank_before == c.rank_after for c in more.changes)
    assert (more.newly_in, more.newly_out, more.moved_up, more.moved_down) == (2, 0, 0, 0)
    assert more.advancing_after == 62 and "名额62人" in more.note_after

    fewer = whatif.preview(ladder.stage, quota=58)
    assert [(c.entry_id, c.advancement, c.standing_after) for c in fewer.changes] == [
        (ladder.order[58], "out", whatif.RESERVE), (ladder.x, "out", whatif.RESERVE)]
    assert fewer.newly_out == 2 and fewer.advancing_after == 58


def test_everyone_tied_at_the_cut_off_advances_under_the_other_policy(ladder):
    preview = whatif.preview(ladder.stage, cutoff_tie_policy="include_all")
    assert [(c.entry_id, c.rank_before, c.rank_after, c.standing_before, c.standing_after)
            for c in preview.changes] == [
        (ladder.y, 61, 61, whatif.RESERVE, whatif.ADVANCING)]
    assert preview.changes[0].total_before == Decimal("65.10")
    assert "名额线总分65.10有并列，已按并列比较规则区分" in preview.note_before
    assert "按并列全部晋级规则晋级61人" in preview.note_after
    assert preview.changed_settings == ["cutoff_tie_policy"]


def test_a_tighter_cap_sends_later_contestants_up_the_list(ladder):
    preview = whatif.preview(ladder.stage, per_enterprise_cap=1)
    # one per enterprise: the first 27 on the ladder (one of each enterprise) advance, nobody else
    advancing_after = {c.entry_id for c in preview.changes if c.standing_after == "advancing"}
    assert preview.advancing_after == 27 and not advancing_after
    out = {c.entry_id for c in preview.changes if c.advancement == "out"}
    assert out == set(ladder.order[27:60])
    assert all(c.standing_after == whatif.SKIPPED_FOR_CAP for c in preview.changes)
    assert "不足" in preview.note_after


def test_no_quota_compares_ranks_only(ladder):
    preview = whatif.preview(ladder.stage, quota=None, weights={"learning": 30, "theory": 70})
    assert preview.note_after is None and preview.advancing_after is None
    # no list without a quota: the 60 advancing now are out; only A and B change rank
    assert {c.entry_id for c in preview.changes} == set(ladder.order[:60])
    assert all(c.advancement == "out" and c.standing_after is None for c in preview.changes)
    assert {c.entry_id for c in preview.changes if c.moved} == {ladder.a, ladder.b}
    assert preview.newly_out == 60 and preview.newly_in == 0


def _counts():
    tables = ["results_versions", "result_rows", "result_component_scores", "advancement_lists",
              "advancement_entries", "objections", "component_scores", "audit_log", "components",
              "stages"]
    return {t: db.session.scalar(sa.text(f"SELECT count(*) FROM {t}")) for t in tables}


def test_a_preview_writes_nothing(ladder):
    version = results.create_version(ladder.stage, actor=organiser())
    before, settings = _counts(), results.settings_snapshot(ladder.stage)
    whatif.preview(ladder.stage, weights={"learning": "30", "theory": "70"}, quota=20,
                   per_enterprise_cap=2, cutoff_tie_policy="include_all")
    db.session.flush()
    assert _counts() == before and results.settings_snapshot(ladder.stage) == settings
    assert not db.session.dirty and not db.session.new
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ResultRow)
                             .where(ResultRow.version_id == version.id)) == 159


@pytest.mark.parametrize(("values", "field", "message"), [
    ({"weights": {"learning": "45", "theory": "50"}}, "weight_total",
     "权重合计必须为100%，当前为95%（线上学习积分45%＋线上理论考试50%）。"),
    ({"weights": {"learning": "-5", "theory": "105"}}, "weights.learning", "权重须大于0%"),
    ({"weights": {"nope": "10"}}, "weights.nope", "没有"),
    ({"weights": {"learning": "abc"}}, "weights.learning", "数"),
    ({"quota": 0}, "quota", "晋级名额"),
    ({"quota": "x"}, "quota", "整数"),
    ({"per_enterprise_cap": -1}, "per_enterprise_cap", "单位"),
    ({"cutoff_tie_policy": "coin"}, "cutoff_tie_policy", "选择"),
])
def test_bad_settings_are_refused_field_by_field_in_chinese(ladder, values, field, message):
    with pytest.raises(FieldErrors) as caught:
        whatif.preview(ladder.stage, **values)
    assert message in caught.value.errors[field], caught.value.errors


def test_a_stage_not_ready_cannot_be_previewed():
    with pytest.raises(ServiceError) as caught:
        whatif.preview(preliminary(), quota=10)
    assert caught.value.code == "conflict"


def test_applying_goes_through_the_audited_configuration_services(ladder):
    stage = ladder.stage
    settings = whatif.proposed_settings(stage, quota=62, cutoff_tie_policy="include_all")
    changed = whatif.apply(stage, settings, actor=organiser())
    assert changed == ["quota", "cutoff_tie_policy"]
    assert stage.quota == 62 and stage.cutoff_tie_policy == CutoffTiePolicy.INCLUDE_ALL
    record = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "stage.update")
                               .order_by(AuditLog.id.desc()).limit(1))
    assert record.after == {"quota": 62, "cutoff_tie_policy": "include_all"}
    assert record.before == {"quota": 60, "cutoff_tie_policy": "break"}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ResultsVersion)) == 0


def test_weights_of_scored_components_are_previewed_but_not_applied(ladder):
    stage = ladder.stage
    settings = whatif.proposed_settings(stage, weights={"learning": "50", "theory": "50"},
                                        quota=61)
    audits = db.session.scalar(sa.select(sa.func.count()).select_from(AuditLog))
    with pytest.raises(FieldErrors) as caught:
        whatif.apply(stage, settings, actor=organiser())
    assert "已有成绩" in caught.value.errors["weights.learning"]
    assert stage.quota == 60  # nothing applied when any part is refused
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditLog)) == audits


def test_weights_apply_while_no_scores_exist():
    stage = preliminary()
    settings = whatif.proposed_settings(stage, weights={"learning": "30", "theory": "70"})
    assert whatif.apply(stage, settings, actor=organiser()) == ["weights.learning",
                                                                "weights.theory"]
    assert [c.weight for c in stage.components] == [30, 70]
    assert db.session.scalar(sa.select(AuditLog.action).order_by(AuditLog.id.desc())
                             .limit(1)) == "stage.components"
    assert not db.session.scalar(sa.select(ComponentScore.id).limit(1))
    assert db.session.scalar(sa.select(sa.func.count()).select_from(StageEntry)) > 0
