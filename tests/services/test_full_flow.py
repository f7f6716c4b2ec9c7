"""The whole contest on the demo's chemical track, as the issue lays it out: preliminary results
→ advancement of 60 with the cap of 5 → public notice → an objection upheld → replacement →
final list → the advanced stage with its three components (theory imported from the exam
system's workbook, the practical marked by five judges on their sheets and signed off by the
chief judge, the digital twin imported from the simulator's export) → results → top 10.

Every step goes through the services the console and the API call; the files are written with
openpyxl, a different library from the one that reads them."""
import random
from collections import Counter
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import (
    AdvancementEntryStatus,
    Entry,
    ListStatus,
    PanelRole,
    ScoreSheet,
    StageEntry,
)
from app.services import accounts, imports, judging, results, score_sheets
from app.services.result_import import import_results, result_importer
from tests.result_sheets import component, places, xlsx
from tests.results_setup import recheck_and_publish
from tests.services.test_results import organiser, preliminary, published, stage  # noqa: F401

pytestmark = pytest.mark.usefixtures("app_ctx")

CENT = Decimal("0.01")


def half_up(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def through_notice_to_the_final_list(prelim):
    """Preliminary results to the final list, with one advancer removed on an objection."""
    listing = results.generate_list(published(prelim), actor=organiser())
    going = results.advancers(listing)
    assert len(going) == 60
    enterprises = Counter(e.stage_entry.entry.enterprise_id for e in going)
    assert max(enterprises.values()) <= 5
    results.start_notice(listing, actor=organiser())
    target = going[7]
    objection = results.record_objection(listing, target, filed_by="某单位职工", contact=None,
                                         text="参赛资格不符", actor=organiser())
    replacement = results.rule_on_objection(objection, upheld=True, ruling="经核实资格不符",
                                            actor=organiser())
    assert replacement is not None and replacement.replaces_id == target.id
    moved = results.finalise(listing, actor=organiser(),
                             now=listing.notice_ends_at + timedelta(minutes=1))
    assert moved == 60 and listing.status == ListStatus.FINAL
    return target, replacement


def import_theory_and_twin(rng: random.Random) -> tuple[dict, dict]:
    """Both imported components for every contestant of the advanced stage; their points by
    exam number."""
    people = places()
    theory = {exam: Decimal(rng.randint(4000, 10000)) / 100 for exam, _ws in people}
    twin = {exam: Decimal(rng.randint(300, 1000)) / 10 for exam, _ws in people}
    theory_file = xlsx(["序号", "准考证号", "姓名", "成绩"],
                       [[i + 1, exam, f"选手{i}", float(theory[exam])]
                        for i, (exam, _ws) in enumerate(people)])
    twin_file = xlsx(["序号", "赛位号", "准考证号", "姓名", "总分", "用时"],
                     [[i + 1, ws, exam, f"选手{i}", float(twin[exam]), f"{20 + i % 30}:00"]
                      for i, (exam, ws) in enumerate(people)], title="数字孪生基础能力比赛成绩")
    for code, name, content in (("theory", "理论成绩.xlsx", theory_file),
                                ("twin", "孪生成绩.xlsx", twin_file)):
        outcome = import_results(result_importer(component(code), organiser()),
                                 imports.Upload(name, content), dry_run=False, actor=organiser())
        assert not outcome.report.errors, outcome.report.errors
        assert outcome.report.imported == len(people)
    return theory, twin


def mark_the_practical(rng: random.Random) -> None:
    """Each judge on the panel marks and submits every workstation on their list (judges
    never get their own enterprise's contestants); the chief judge signs off; the organiser
    decrypts with a witness."""
    practical = component("practical")
    level = {}
    for assignment in judging.panel(practical):
        if assignment.panel_role != PanelRole.JUDGE:
            continue
        judge = assignment.user
        for place in judging.judge_places(assignment):
            base = level.setdefault(place.id, rng.random())

            def score(top: int, base: float = base) -> str:
                return str(max(0, min(top, round(top * base + rng.choice((-1, 0, 0, 1))))))

            marks = {"A1": "10" if base > 0.25 else "0", "A2": score(15), "A3": score(3),
                     "B1": score(3), "B2": score(3), "B3": score(10),
                     "C1": str(rng.choice((0, 0, 1, 2))), "C2": "0"}
            sheet = score_sheets.sheet_for(practical, judge, place.workstation_number, create=True)
            score_sheets.save(sheet, marks, {}, "0", version=sheet.version, actor=judge)
            score_sheets.submit(sheet, version=sheet.version, actor=judge)
    chief = accounts.get_by_username("chief")
    assert judging.sign_off(practical, actor=chief, acknowledged_flags=True) == len(level)
    judging.decrypt(practical, witness="监督组 王某", actor=organiser())


def practical_points(place_id: int) -> Decimal:
    """The practical by hand: the mean of the judges' points, dropping the highest and the
    lowest when five or more judges marked (the rule's default trim)."""
    points = sorted(db.session.scalars(sa.select(ScoreSheet.points).where(
        ScoreSheet.component_id == component("practical").id,
        ScoreSheet.stage_entry_id == place_id)))
    kept = points[1:-1] if len(points) >= 5 else points
    return half_up(sum(kept, Decimal(0)) / len(kept))


def test_the_whole_contest_from_preliminary_results_to_the_top_ten(preliminary):  # noqa: F811
    target, replacement = through_notice_to_the_final_list(preliminary)
    advanced = stage(2)
    in_stage = db.session.scalars(sa.select(StageEntry).where(
        StageEntry.stage_id == advanced.id)).all()
    assert len(in_stage) == 60
    entries = {p.entry_id for p in in_stage}
    assert replacement.stage_entry.entry_id in entries
    assert target.stage_entry.entry_id not in entries

    judging.draw(advanced, seed="full-flow", actor=organiser())
    rng = random.Random(2025)
    theory, twin = import_theory_and_twin(rng)
    mark_the_practical(rng)
    assert results.readiness(advanced) == []

    version = recheck_and_publish(results.create_version(advanced, actor=organiser()),
                                  organiser())
    table = results.version_table(version)
    assert len(table) == 60 and table["rank"].notna().all()
    assert list(table["rank"]) == sorted(table["rank"])
    exam = dict(db.session.execute(sa.select(StageEntry.id, Entry.exam_number).join(
        Entry, Entry.id == StageEntry.entry_id).where(StageEntry.stage_id == advanced.id)).all())
    # Every total by hand: 30% theory + 35% practical + 35% twin, each a percentage of 100
    # points, the weighted sum rounded half-up once.
    for row in table.itertuples(index=False):
        by_hand = half_up(Decimal("0.30") * theory[exam[row.entry_id]]
                          + Decimal("0.35") * practical_points(row.entry_id)
                          + Decimal("0.35") * twin[exam[row.entry_id]])
        assert row.total == by_hand, (row.entry_id, row.total, by_hand)
        assert row.practical_points == practical_points(row.entry_id)

    listing = results.generate_list(version, actor=organiser())
    top = results.advancers(listing)
    assert len(top) == 10
    best = table.sort_values(["rank", "entry_id"]).head(10)
    assert {e.stage_entry_id for e in top} == {int(i) for i in best["entry_id"]}
    assert sorted(e.rank for e in top) == sorted(int(r) for r in best["rank"])
    assert all(e.status == AdvancementEntryStatus.ADVANCING for e in top)
    # The contestants see it: one of the ten finds the advanced stage's published result.
    first = db.session.get(StageEntry, top[0].stage_entry_id).entry
    mine = [r for r in results.published_results_for(first) if r["stage"].id == advanced.id]
    assert len(mine) == 1 and mine[0]["row"].rank == top[0].rank
