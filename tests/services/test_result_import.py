"""Theory and digital-twin results through the import pipeline: matching, every bad-row kind,
all or nothing, dry run, idempotent re-import, changes only with confirmation, provenance."""
from __future__ import annotations

from decimal import Decimal as D

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import (
    AuditLog,
    ComponentScore,
    ExamQuestion,
    ImportedResult,
    ImportKind,
    ImportStatus,
    QuestionKind,
)
from app.services import ServiceError, accounts, imports, results
from app.services.result_import import (
    SimulatorImporter,
    TheoryImporter,
    import_results,
    needs_confirmation,
    push_upload,
    read_seconds,
    result_importer,
)
from tests.result_sheets import (
    advanced_stage,
    component,
    csv_bytes,
    json_bytes,
    prepare_advanced,
    xlsx,
)

pytestmark = pytest.mark.usefixtures("app_ctx")

THEORY_HEADER = ["序号", "准考证号", "姓名", "成绩"]


@pytest.fixture
def people():
    return prepare_advanced(6)


def organiser():
    return accounts.get_by_username("organiser")


def theory_sheet(people, scores, **kwargs) -> bytes:
    return xlsx(THEORY_HEADER, [[i + 1, exam, f"选手{i}", score]
                                for i, ((exam, _ws), score) in enumerate(zip(people, scores, strict=True))],
                **kwargs)


def import_theory(content: bytes, *, name="理论成绩.xlsx", dry_run=False, confirm=False):
    importer = result_importer(component("theory"), organiser(), confirm_changes=confirm)
    return import_results(importer, imports.Upload(name, content), dry_run=dry_run,
                          actor=organiser())


def import_twin(content: bytes, *, name="孪生成绩.xlsx", dry_run=False, confirm=False, **kw):
    importer = result_importer(component("twin"), organiser(), confirm_changes=confirm)
    return import_results(importer, imports.Upload(name, content, **kw), dry_run=dry_run,
                          actor=organiser())


def errors(outcome) -> list[tuple[int, str]]:
    return [(e.row, e.column) for e in outcome.report.errors]


def scores(code: str) -> dict[str, tuple]:
    rows = db.session.execute(
        sa.select(ComponentScore.stage_entry_id, ComponentScore.points,
                  ComponentScore.time_used_seconds, ComponentScore.details,
                  ComponentScore.import_batch_id)
        .where(ComponentScore.component_id == component(code).id)).all()
    from app.models import Entry, StageEntry
    exam = dict(db.session.execute(sa.select(StageEntry.id, Entry.exam_number).join(
        Entry, Entry.id == StageEntry.entry_id)).all())
    return {exam[r[0]]: tuple(r[1:]) for r in rows}


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


# ---------------------------------------------------------------------------------------------
# Theory


def test_theory_scores_are_imported_by_exam_number_with_provenance(people):
    content = theory_sheet(people, [85.5, 90, "77.25", 60, 100, 0])
    outcome = import_theory(content)
    assert not outcome.report.errors and outcome.report.imported == 6
    batch = outcome.batch
    assert (batch.kind, batch.status, batch.file_name, batch.rows) == (
        ImportKind.THEORY, ImportStatus.IMPORTED, "理论成绩.xlsx", 6)
    assert batch.sha256 == imports.Upload("x", content).sha256 and batch.user_id == organiser().id
    stored = scores("theory")
    assert stored[people[0][0]][0] == D("85.5") and stored[people[2][0]][0] == D("77.25")
    assert all(s[3] == batch.id for s in stored.values())
    kept = db.session.execute(sa.select(ImportedResult.row_number, ImportedResult.points)
                              .where(ImportedResult.batch_id == batch.id)
                              .order_by(ImportedResult.row_number)).all()
    assert [r[0] for r in kept] == [3, 4, 5, 6, 7, 8] and kept[0][1] == D("85.5")
    assert db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "import.theory"))


def test_every_bad_row_is_named_and_nothing_is_imported(people):
    (e1, _), (e2, _), (e3, _), (e4, _), (e5, _), (e6, _) = people
    rows = [[1, e1, "甲", 80], [2, "2099999999", "乙", 80], [3, e1, "丙", 70],
            [4, e2, "丁", 100.5], [5, e3, "戊", -1], [6, e4, "己", "85.125"],
            [7, e5, "庚", "八十"], [8, None, "辛", 60], [9, e6, "壬", None]]
    outcome = import_theory(xlsx(THEORY_HEADER, rows))
    assert errors(outcome) == [(4, "准考证号"), (5, "准考证号"), (6, "成绩"), (7, "成绩"),
                               (8, "成绩"), (9, "成绩"), (10, "准考证号"), (11, "成绩")]
    reasons = [e.reason for e in outcome.report.errors]
    assert "2099999999" in reasons[0] and "第3行" in reasons[1]
    assert "100" in reasons[2] and "负" in reasons[3] and "2" in reasons[4]
    assert outcome.report.imported == 0 and outcome.report.importable == 0
    assert outcome.dry_run and outcome.batch.status == ImportStatus.DRY_RUN
    assert any("不会导入" in n or "不导入" in n for n in outcome.report.notices)
    assert count(ComponentScore) == 0 and count(ImportedResult) == 0


def test_the_dry_run_writes_no_score(people):
    outcome = import_theory(theory_sheet(people, [80] * 6), dry_run=True)
    assert outcome.dry_run and outcome.report.valid == 6 and outcome.report.imported == 0
    assert outcome.report.extra["new"] == 6
    assert count(ComponentScore) == 0 and count(ImportedResult) == 0
    assert results.readiness(advanced_stage())  # still waiting for imports


def test_importing_the_same_file_again_changes_nothing(people):
    content = theory_sheet(people, [80, 81, 82, 83, 84, 85])
    first = import_theory(content)
    again = import_theory(content, name="理论成绩（再次）.xlsx")
    assert again.already_imported and again.batch.id == first.batch.id
    assert again.report.imported == 0
    assert count(ImportedResult) == 6 and count(ComponentScore) == 6


def test_a_different_file_shows_the_changes_and_needs_confirmation(people):
    first = import_theory(theory_sheet(people, [80, 81, 82, 83, 84, 85]))
    changed = theory_sheet(people, [80, 91, 82, 83, 84, 75.5], title="更正后")
    check = import_theory(changed, dry_run=True)
    assert check.report.extra["changed"] == 2 and check.report.extra["unchanged"] == 4
    assert [(c["exam_number"], c["old_points"], c["new_points"])
            for c in check.report.extra["changes"]] == [
        (people[1][0], "81", "91"), (people[5][0], "85", "75.5")]

    refused = import_theory(changed)
    assert needs_confirmation(refused) and refused.report.imported == 0
    assert scores("theory")[people[1][0]][0] == D("81")

    done = import_theory(changed, confirm=True)
    assert done.report.imported == 6 and not done.dry_run
    stored = scores("theory")
    assert stored[people[1][0]][0] == D("91") and stored[people[5][0]][0] == D("75.5")
    assert stored[people[1][0]][3] == done.batch.id and stored[people[0][0]][3] == first.batch.id
    audit = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "import.theory.change"))
    assert audit.before[people[1][0]]["points"] == "81"
    assert audit.after[people[1][0]]["points"] == "91"
    db.session.refresh(first.batch)
    assert first.batch.status == ImportStatus.SUPERSEDED
    # The first file is no longer what is stored: importing it again is a change too.
    assert needs_confirmation(import_theory(theory_sheet(people, [80, 81, 82, 83, 84, 85])))


def test_the_generic_confirm_never_replaces_scores_without_confirmation(people):
    import_theory(theory_sheet(people, [80] * 6))
    checked = imports.console_check(TheoryImporter(component("theory"), organiser()),
                                    imports.Upload("b.xlsx", theory_sheet(people, [70] * 6)),
                                    organiser(), in_background=False)
    with pytest.raises(ServiceError, match="确认"):
        imports.import_stored(checked.batch, organiser())


def _key(theory):
    db.session.add_all([
        ExamQuestion(component=theory, number=1, kind=QuestionKind.SINGLE_CHOICE,
                     answer_key="B", points=D("40")),
        ExamQuestion(component=theory, number=2, kind=QuestionKind.MULTIPLE_CHOICE,
                     answer_key="ACD", points=D("40"), partial_credit=D("20")),
        ExamQuestion(component=theory, number=3, kind=QuestionKind.TRUE_FALSE,
                     answer_key="对", points=D("20"))])
    db.session.flush()


def test_answers_are_marked_by_the_key_and_must_agree_with_the_score(people):
    _key(component("theory"))
    header = ["准考证号", "成绩", "第1题", "第2题", "第3题"]
    rows = [[people[0][0], 100, "B", "ACD", "√"], [people[1][0], 60, "B", "AC", "×"],
            [people[2][0], 80, "C", "ACD", "对"]]  # earns 60, not 80
    outcome = import_theory(xlsx(header, rows, title=None))
    assert errors(outcome) == [(4, "成绩")]
    assert "60" in outcome.report.errors[0].reason
    rows[2][1] = 60
    outcome = import_theory(xlsx(header, rows, title=None))
    assert not outcome.report.errors
    details = scores("theory")[people[1][0]][2]
    assert details["answers"] == {"1": "B", "2": "AC", "3": "×"}
    assert details["question_points"] == {"1": "40", "2": "20", "3": "0"}


def test_without_a_score_column_the_marked_answers_are_the_score(people):
    _key(component("theory"))
    header = ["考号", "Q1", "Q2", "Q3"]
    outcome = import_theory(xlsx(header, [[people[0][0], "b", "a、d", "错"],
                                          [people[1][0], "B", "ACDE", "?"]], title=None))
    assert errors(outcome) == [(3, "Q3")]
    outcome = import_theory(xlsx(header, [[people[0][0], "b", "a、d", "错"]], title=None))
    assert scores("theory")[people[0][0]][0] == D("60")


def test_answers_must_cover_the_whole_key(people):
    _key(component("theory"))
    with pytest.raises(imports.ImportFailed, match="3"):
        import_theory(xlsx(["准考证号", "第1题", "第2题"], [[people[0][0], "B", "A"]]))


def test_answers_without_a_key_are_kept_unmarked(people):
    outcome = import_theory(xlsx(["准考证号", "成绩", "1", "2"],
                                 [[people[0][0], 55, "A", "BC"]], title=None))
    assert not outcome.report.errors
    assert scores("theory")[people[0][0]][2] == {"answers": {"1": "A", "2": "BC"}}


def test_a_judged_component_takes_no_file(people):
    with pytest.raises(ServiceError, match="评分表"):
        result_importer(component("practical"))


# ---------------------------------------------------------------------------------------------
# Digital twin


TWIN_HEADER = ["序号", "赛位号", "准考证号", "姓名", "总分", "用时", "步骤1 开车准备", "步骤2 升温升压",
               "应急处置"]


def test_the_simulator_export_is_matched_by_workstation_or_exam_number(people):
    (e1, w1), (e2, w2), (e3, w3), (e4, _w4), *_ = people
    rows = [[1, w1, None, "甲", 88.5, "12:30", 30, 28.5, 30],
            [2, int(w2), None, "乙", 70, "12分5秒", 20, 20, 30],  # 002 typed as the number 2
            [3, None, e3, "丙", 91, 754, 31, 30, 30],
            [4, w3 if w3 != people[3][1] else w1, e4, "丁", 80, "1:02:03", 1, 2, 3]]
    outcome = import_twin(xlsx(TWIN_HEADER, rows, title="数字孪生基础能力比赛成绩"))
    assert errors(outcome) == [(6, "赛位号")]  # e4's workstation is another one
    rows[3][1] = None
    outcome = import_twin(xlsx(TWIN_HEADER, rows, title="数字孪生基础能力比赛成绩"))
    assert not outcome.report.errors and outcome.batch.kind == ImportKind.DIGITAL_TWIN
    stored = scores("twin")
    assert stored[e1][:2] == (D("88.5"), 750) and stored[e2][1] == 725
    assert stored[e3][1] == 754 and stored[e4][1] == 3723
    assert stored[e1][2] == {"steps": {"步骤1 开车准备": "30", "步骤2 升温升压": "28.5",
                                       "应急处置": "30"}}
    assert "甲" not in str(stored[e1][2])  # names are not details


def test_simulator_row_errors_name_row_and_column(people):
    (e1, w1), (e2, w2), (e3, _), (e4, _), *_ = people
    header = ["赛位号", "准考证号", "总分", "用时"]
    rows = [["999", None, 80, 60], [w1, None, 80, "-5"], [w2, None, 80, "很久"],
            [None, None, 80, 60], [None, e3, 80, "12:75"], [None, e4, 80, 1.5],
            [w1, None, 70, 60]]
    outcome = import_twin(xlsx(header, rows, title=None))
    assert errors(outcome) == [(2, "赛位号"), (3, "用时"), (4, "用时"), (5, "准考证号"),
                               (6, "用时"), (7, "用时"), (8, "赛位号")]
    assert "负" in outcome.report.errors[1].reason
    assert count(ComponentScore) == 0


def test_the_simulator_csv_and_json_exports_go_through_the_same_checks(people):
    (e1, w1), (e2, w2), *_ = people
    outcome = import_twin(csv_bytes(["工位号", "得分", "用时(分钟)"], [[w1, "66.5", "12.5"]]),
                          name="twin.csv")
    assert not outcome.report.errors and scores("twin")[e1][:2] == (D("66.5"), 750)
    records = [{"workstation": w2, "score": 70.25, "time_used_seconds": 600,
                "details": {"steps": {"s1": 10.5}, "version": "3.2"}},
               {"exam_number": e1, "score": 101}]
    outcome = import_twin(json_bytes(records), name="export.json")
    assert errors(outcome) == [(2, "score")]  # the second object: above the maximum
    records[1]["score"] = 66.5
    records[1]["time_used_seconds"] = 750
    outcome = import_twin(json_bytes(records), name="export.json")
    assert not outcome.report.errors
    assert scores("twin")[e2][:3] == (D("70.25"), 600, {"steps": {"s1": "10.5"}, "version": "3.2"})


def test_a_push_is_canonical_json_so_the_same_results_are_the_same_file():
    a = push_upload([{"workstation": "001", "points": "80", "time_used_seconds": 5}])
    b = push_upload([{"time_used_seconds": 5, "points": "80", "workstation": "001"}])
    assert a.sha256 == b.sha256 and a.file_name == "push" and a.suffix == ".json"


@pytest.mark.parametrize(("raw", "seconds"), [
    (754, 754), (754.0, 754), ("754", 754), ("754秒", 754), ("12:34", 754), ("0:12:34", 754),
    ("12分34秒", 754), ("12分", 720), ("1小时2分3秒", 3723), ("12'34\"", 754), (" 12 : 34 ", 754),
    (D("754"), 754)])
def test_time_used_is_read_in_the_forms_simulators_write(raw, seconds):
    assert read_seconds(raw) == seconds


@pytest.mark.parametrize("raw", ["-1", -1, "-0:30", "abc", "12:60", "1.5", True, "12分30"])
def test_negative_or_unreadable_time_is_refused(raw):
    with pytest.raises(ServiceError):
        read_seconds(raw)


def test_minutes_when_the_column_says_so():
    assert read_seconds(12.5, minutes=True) == 750 and read_seconds("12", minutes=True) == 720


# ---------------------------------------------------------------------------------------------
# Results read what the imports store


def test_after_theory_and_twin_imports_the_stage_waits_only_for_the_practical(people):
    stage = advanced_stage()
    assert any("理论" in p for p in results.readiness(stage))
    import_theory(theory_sheet(people, [80, 81, 82, 83, 84, 85]))
    import_twin(xlsx(["赛位号", "总分", "用时"], [[ws, 70 + i, 600 + i]
                                                for i, (_e, ws) in enumerate(people)]))
    problems = results.readiness(stage)
    assert not any("理论" in p or "孪生" in p for p in problems)
    assert any("实操" in p for p in problems)
    assert {SimulatorImporter, TheoryImporter} == {type(result_importer(component(c)))
                                                  for c in ("twin", "theory")}


def test_a_published_stage_still_takes_corrections_for_its_next_version(people):
    from app.models import ResultsVersion, VersionStatus

    db.session.add(ResultsVersion(stage_id=advanced_stage().id, number=1, fingerprint="0" * 64,
                                  settings={}, status=VersionStatus.PUBLISHED))
    db.session.flush()
    outcome = import_theory(theory_sheet(people, [80] * 6), dry_run=True)
    assert any("已发布（第1版）" in n for n in outcome.report.notices)
    assert outcome.report.importable == 6
