"""The online preliminary from the union app's exports, keyed by ID number: learning records
turned into points by the stage's versioned rule, theory results, the participant list; every
error named by row and column; all or nothing; the same file twice changes nothing."""
from __future__ import annotations

from decimal import Decimal as D

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import (
    AuditLog,
    ComponentScore,
    Contestant,
    Entry,
    EntryStatus,
    ImportBatch,
    LearningRecord,
    LearningRuleVersion,
    StageEntry,
)
from app.services import ServiceError, accounts, imports
from app.services.imports import ImportFailed
from app.services.preliminary_import import (
    AppParticipantImporter,
    AppTheoryImporter,
    LearningImporter,
    learning_lines,
    save_rule,
)
from app.services.result_import import import_results
from tests.preliminary_sheets import (
    LEARNING_HEADER,
    RULE,
    new_id_number,
    prelim_component,
    prelim_stage,
    stage_people,
    xlsx,
)

pytestmark = pytest.mark.usefixtures("app_ctx")


def organiser():
    return accounts.get_by_username("organiser")


@pytest.fixture
def people():
    return stage_people(3)


def import_learning(content: bytes, *, name="学习记录.xlsx", confirm=False, dry_run=False):
    importer = LearningImporter(prelim_component("learning"), organiser(),
                                confirm_changes=confirm)
    return import_results(importer, imports.Upload(name, content), dry_run=dry_run,
                          actor=organiser())


def import_theory(content: bytes, *, name="理论成绩.xlsx", confirm=False):
    importer = AppTheoryImporter(prelim_component("theory"), organiser(), confirm_changes=confirm)
    return import_results(importer, imports.Upload(name, content), dry_run=False,
                          actor=organiser())


def errors(outcome) -> list[tuple[int, str]]:
    return [(e.row, e.column) for e in outcome.report.errors]


def points(code: str) -> dict[int, D]:
    return dict(db.session.execute(
        sa.select(ComponentScore.stage_entry_id, ComponentScore.points)
        .where(ComponentScore.component_id == prelim_component(code).id)).all())


def points_of(code: str, id_number: str) -> tuple[D, dict | None]:
    return db.session.execute(
        sa.select(ComponentScore.points, ComponentScore.details)
        .join(StageEntry, StageEntry.id == ComponentScore.stage_entry_id)
        .join(Entry, Entry.id == StageEntry.entry_id)
        .join(Contestant, Contestant.id == Entry.contestant_id)
        .where(ComponentScore.component_id == prelim_component(code).id,
               Contestant.id_number == id_number)).one()


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def learning_rows(people) -> list[list]:
    """Person 0 (worked in docs/scoring.md): day 1 reading A 12 and 20 min (counted once: 20 →
    4), B 1.5 min (short: 0), C 9 → 1, D 15 → 3: reading 8 capped at 6; video 35 → 3; quiz 100
    → 3; 12 capped at 10 for the day. Day 2: video 35 → 3, quiz 80 then 100 (best: 3) → 6.
    Total 16. Person 1: one quiz below full marks → 1."""
    (id0, name0, phone0), (id1, name1, _p1) = people[0], people[1]
    rows = [
        [id0, name0, phone0, "2025-07-01", "阅读", "安全生产法", 12, None],
        [id0, name0, phone0, "2025-07-01", "阅读", "安全生产法", 20, None],
        [id0, name0, phone0, "2025-07-01", "阅读", "班组管理", 1.5, None],
        [id0, name0, phone0, "2025-07-01", "阅读", "危化品", 9, None],
        [id0, name0, phone0, "2025-07-01", "阅读", "动火作业", 15, None],
        [id0, name0, phone0, "2025-07-01", "视频", "受限空间", 35, None],
        [id0, name0, phone0, "2025-07-01", "答题", "每日一练", None, 100],
        [id0, name0, phone0, "2025/7/2", "视频", "受限空间", 35, None],
        [id0, name0, phone0, "2025/7/2", "答题", "每日一练", None, 80],
        [id0, name0, phone0, "2025/7/2", "答题", "每日一练", None, 100],
        [id1, name1, None, "2025-07-03", "答题", "每日一练", None, 60],
    ]
    return [[i + 1, *r] for i, r in enumerate(rows)]


@pytest.fixture
def rule():
    return save_rule(prelim_stage(), RULE, organiser(), note="2025年预赛规则")


def test_learning_rows_become_points_by_the_rule_with_caps_short_views_and_repeats(people, rule):
    outcome = import_learning(xlsx(LEARNING_HEADER, learning_rows(people)))
    assert outcome.report.errors == []
    assert outcome.batch.imported_rows == 2
    total0, details0 = points_of("learning", people[0][0])
    assert total0 == D("16.00")
    assert details0["rule_version"] == 1
    assert details0["days"] == {"2025-07-01": "10", "2025-07-02": "6"}
    assert (details0["short_views"], details0["repeats"]) == (1, 2)
    assert points_of("learning", people[1][0])[0] == D("1.00")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(LearningRecord).where(
        LearningRecord.batch_id == outcome.batch.id)) == 11


def test_learning_points_keep_the_rule_version_they_were_computed_with(people, rule):
    import_learning(xlsx(LEARNING_HEADER, learning_rows(people)))
    newer = dict(RULE, daily_cap="8")
    second = save_rule(prelim_stage(), newer, organiser(), note="每日上限改为8")
    assert second.version == 2
    assert rule.rule["daily_cap"] == "10"  # the first version never changes
    shown = {line.masked_id: line for line in learning_lines(prelim_component("learning"))}
    assert {line.rule_version for line in shown.values()} == {1}
    # Another export (one more row) is computed with version 2: day 1 is capped at 8.
    rows = learning_rows(people) + [[12, people[1][0], people[1][1], None, "2025-07-04", "阅读",
                                     "新内容", 5, None]]
    outcome = import_learning(xlsx(LEARNING_HEADER, rows), name="学习记录-第二版.xlsx",
                              confirm=True)
    assert outcome.report.errors == []
    total0, details0 = points_of("learning", people[0][0])
    assert (total0, details0["rule_version"]) == (D("14.00"), 2)
    audit = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "learning_rule.save")
                              .order_by(AuditLog.id.desc()).limit(1))
    assert audit.before["daily_cap"] == "10" and audit.after["daily_cap"] == "8"


def test_saving_the_same_rule_again_adds_no_version(rule):
    again = save_rule(prelim_stage(), RULE, organiser())
    assert again.id == rule.id
    assert count(LearningRuleVersion) == 1


def test_a_rule_with_a_kind_that_counts_neither_time_nor_a_quiz_is_refused():
    bad = {"kinds": [{"name": "阅读", "points_per_step": "1"}], "min_minutes": "1"}
    with pytest.raises(ServiceError, match="二者选一"):
        save_rule(prelim_stage(), bad, organiser())


def test_learning_rows_need_a_rule_first(people):
    with pytest.raises(ImportFailed, match="rule|规则"):
        import_learning(xlsx(LEARNING_HEADER, learning_rows(people)))


def test_points_per_person_are_taken_as_the_app_gives_them(people):
    header = ["身份证号", "姓名", "学习积分"]
    outcome = import_learning(xlsx(header, [[p[0], p[1], v] for p, v in
                                            zip(people, (38.5, 40, 12), strict=True)]))
    assert outcome.report.errors == []
    assert points_of("learning", people[0][0]) == (D("38.50"), None)
    assert [line.rule_version for line in learning_lines(prelim_component("learning"))] == \
        [None, None, None]


def test_each_bad_row_is_named_by_row_and_column_and_nothing_is_imported(people, rule):
    (id0, name0, phone0), (id1, _n1, _p1) = people[0], people[1]
    stranger = new_id_number(11)
    rows = [
        [1, id0, name0, phone0, "2025-07-01", "阅读", "A", 10, None],
        [2, stranger, "陌生人", None, "2025-07-01", "阅读", "A", 10, None],  # unmatched ID
        [3, id1, "张冒名", None, "2025-07-01", "阅读", "A", 10, None],  # name disagrees
        [4, id0, name0, "13900000000", "2025-07-01", "阅读", "B", 10, None],  # phone disagrees
        [5, id0, name0, phone0, "2025-07-01", "阅读", "A", 10, None],  # duplicate of row 3
        [6, id0, name0, phone0, "2025-07-01", "直播", "L", 10, None],  # unknown task kind
        [7, id0, name0, phone0, "2025-08-30", "阅读", "C", 10, None],  # outside the stage
        [8, id0, name0, phone0, "2025-07-01", "答题", "Q", None, 120],  # above full marks
    ]
    before = (points("learning"), count(LearningRecord))
    outcome = import_learning(xlsx(LEARNING_HEADER, rows))
    assert errors(outcome) == [(4, "身份证号码"), (5, "姓名"), (6, "手机号"), (7, "身份证号码"),
                               (8, "任务类型"), (9, "日期"), (10, "答题得分")]
    reasons = {e.row: e.reason for e in outcome.report.errors}
    assert stranger[-4:] in reasons[4] and stranger not in reasons[4]  # masked
    assert reasons[5] == f"姓名“张冒名”与该身份证号登记的姓名（{people[1][1]}）不一致。"
    assert reasons[7] == "本行与第3行完全相同（重复行）。"
    assert "不在本阶段的学习积分规则中" in reasons[8] and "不在本阶段的日期范围内" in reasons[9]
    assert (points("learning"), count(LearningRecord)) == before
    assert outcome.batch.imported_rows == 0


def test_a_person_twice_in_a_theory_file_is_a_duplicate_or_a_conflict(people):
    header = ["身份证号", "姓名", "成绩"]
    rows = [[people[0][0], people[0][1], 80], [people[1][0], people[1][1], 70],
            [people[0][0], people[0][1], 80], [people[1][0], people[1][1], 75]]
    before = points("theory")
    outcome = import_theory(xlsx(header, rows))
    assert errors(outcome) == [(5, "身份证号"), (6, "成绩")]
    assert points("theory") == before


def test_theory_results_by_id_number_land_on_the_theory_component(people):
    header = ["身份证号", "姓名", "手机号码", "理论成绩"]
    rows = [[p[0], p[1], p[2], s] for p, s in zip(people, (88, 91.5, 60), strict=True)]
    outcome = import_theory(xlsx(header, rows))
    assert outcome.report.errors == []
    assert points_of("theory", people[1][0])[0] == D("91.50")


def test_the_same_file_imported_again_changes_nothing_and_says_so(people, rule):
    content = xlsx(LEARNING_HEADER, learning_rows(people))
    first = import_learning(content)
    stored = (points("learning"), count(LearningRecord), count(ImportBatch))
    again = import_learning(content, name="再次导入.xlsx")
    assert again.already_imported
    assert any("已于" in n and "未添加任何数据" in n for n in again.report.notices)
    assert (points("learning"), count(LearningRecord), count(ImportBatch)) == stored
    assert again.batch.id == first.batch.id


def test_an_app_import_is_audited(people, rule):
    outcome = import_learning(xlsx(LEARNING_HEADER, learning_rows(people)))
    row = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "import.app_learning",
                                                      AuditLog.object_id == outcome.batch.id))
    assert row is not None and "学习记录" in row.summary


# -- the participant list ----------------------------------------------------------------------

PARTICIPANT_HEADER = ["序号", "姓名", "性别", "身份证号码", "手机号码", "工作单位", "担任班组长年限"]


def import_participants(content: bytes, name="参赛名单.xlsx"):
    return imports.run(AppParticipantImporter(prelim_stage(), organiser()),
                       imports.Upload(name, content), dry_run=False, actor=organiser())


def test_people_registered_only_in_the_app_become_entries_and_join_the_stage(people):
    newcomer = new_id_number(21)  # odd 17th digit: a man
    rows = [[1, people[0][1], "", people[0][0], people[0][2], "金陵石化公司", 5],
            [2, "周新来", "男", newcomer, "13812345678", "南京化工（集团）有限公司", 4]]
    outcome = import_participants(xlsx(PARTICIPANT_HEADER, rows))
    assert outcome.report.errors == []
    entry = db.session.scalar(sa.select(Entry).join(Contestant)
                              .where(Contestant.id_number == newcomer))
    assert entry.status == EntryStatus.ENDORSED and entry.track_id == prelim_stage().track_id
    assert db.session.scalar(sa.select(StageEntry.id).where(
        StageEntry.entry_id == entry.id, StageEntry.stage_id == prelim_stage().id)) is not None
    assert outcome.report.extra["new_entries"] == 1 and outcome.report.extra["known"] == 1


def test_a_participant_list_with_one_bad_row_imports_nobody(people):
    rows = [[1, "周新来", "男", new_id_number(21), "13812345678", "南京化工有限公司", 4],
            [2, "吴年少", "男", new_id_number(23), "13812345679", "南京化工有限公司", 1],
            [3, "李冒名", "", people[0][0], people[0][2], "金陵石化公司", 5]]
    entries = count(Entry)
    outcome = import_participants(xlsx(PARTICIPANT_HEADER, rows))
    assert errors(outcome) == [(4, "担任班组长年限"), (5, "姓名")]
    assert count(Entry) == entries


def test_counting_again_applies_the_rule_in_force_to_the_stored_rows_and_is_audited(people, rule):
    from app.services.preliminary_import import learning_recounts, recount_learning

    import_learning(xlsx(LEARNING_HEADER, learning_rows(people)))
    save_rule(prelim_stage(), dict(RULE, daily_cap="8"), organiser(), note="每日上限改为8")
    _version, recounts = learning_recounts(prelim_stage())
    assert sorted((str(r.old_points), str(r.new_points), r.old_version) for r in recounts) == \
        [("1.000", "1.00", 1), ("16.000", "14.00", 1)]  # day 1: 10 → 8 under version 2
    assert recount_learning(prelim_stage(), organiser()) == 2
    total0, details0 = points_of("learning", people[0][0])
    assert (total0, details0["rule_version"], details0["days"]["2025-07-01"]) == \
        (D("14.00"), 2, "8")
    row = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "learning.recount"))
    assert {v["points"] for v in row.before.values()} == {"16", "1"}
    assert {v["rule_version"] for v in row.after.values()} == {2}
    with pytest.raises(ServiceError):  # nothing left to count again
        recount_learning(prelim_stage(), organiser())


def test_a_known_participant_whose_phone_disagrees_is_named_with_the_phones_masked(people):
    rows = [[1, people[0][1], "", people[0][0], "13700000000", "金陵石化公司", 5]]
    outcome = import_participants(xlsx(PARTICIPANT_HEADER, rows))
    assert errors(outcome) == [(3, "手机号码")]
    reason = outcome.report.errors[0].reason
    assert "13700000000" not in reason and people[0][2] not in reason and "不一致" in reason


def test_a_final_preliminary_takes_no_participant_list(people):
    from app.models import StageStatus

    prelim_stage().status = StageStatus.FINAL
    rows = [[1, "周新来", "男", new_id_number(21), "13812345678", "南京化工有限公司", 4]]
    entries = count(Entry)
    with pytest.raises(ImportFailed, match="预赛"):
        import_participants(xlsx(PARTICIPANT_HEADER, rows))
    assert count(Entry) == entries
