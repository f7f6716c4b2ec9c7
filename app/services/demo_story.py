"""The living demo: the 2025 chemical track as it stood during its advanced assessment.

Played through the same services the console calls, each step skipped when it has been done:
1,415 team leaders registered by their enterprises' sheets and approved; the learning platform's
points and the online theory exam (answers per question, marked with the answer key) imported;
results computed, re-checked and published; the top 100 checked for eligibility (two found
ineligible, the next by rank checked in their place); 60 advancers (at most 5 per enterprise) under a
7-day notice with one upheld objection and its replacement (递补), then final; the advanced stage
in two sittings, drawn, its theory and digital twin imported, the practical judged by four of
the five judges (judge1 has the second sitting still to mark, one workstation is flagged for
the chief judge) and the demo contestant's appeal on the digital twin open for the arbiter.

Dates replay 2025 where the services take a moment (notice, objection, publication, appeal);
what the services stamp themselves (the audit log) carries the time the demo was loaded.
"""
from __future__ import annotations

import csv
import io
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa

from app.extensions import db
from app.models import (
    AdvancementList,
    Appeal,
    AuditLog,
    Component,
    Contest,
    Contestant,
    Entry,
    EntryStatus,
    EntryStatusChange,
    ExamQuestion,
    Gender,
    ImportBatch,
    ImportKind,
    ImportStatus,
    ListStatus,
    PoolMember,
    PoolState,
    QuestionKind,
    ScoreSheet,
    Stage,
    StageEntry,
    StageEntryStatus,
    StageStatus,
    User,
    utcnow,
)
from app.services import (
    ServiceError,
    audit,
    eligibility,
    entries,
    imports,
    judging,
    rechecks,
    results,
    score_sheets,
    sittings,
)
from app.services.appeals import file_appeal
from app.services.imports import insert_rows
from app.services.registration_import import RegistrationImporter
from app.services.result_import import import_results, result_importer

PRELIMINARY_CONTESTANTS = 1415
# 2025, naive UTC (Beijing time − 8 h), as the stage dates of the demo contest.
PUBLISHED_AT = datetime(2025, 7, 10, 2, 0)
POOL_DRAWN_AT = datetime(2025, 7, 10, 3, 0)
ELIGIBILITY_DECIDED_AT = datetime(2025, 7, 10, 9, 0)
NOTICE_STARTS_AT = datetime(2025, 7, 11, 1, 0)
OBJECTION_FILED_AT = datetime(2025, 7, 14, 6, 30)
OBJECTION_RULED_AT = datetime(2025, 7, 16, 8, 0)
SITTINGS = [("第一场", datetime(2025, 9, 3, 0, 30), datetime(2025, 9, 3, 4, 0)),
            ("第二场", datetime(2025, 9, 3, 5, 30), datetime(2025, 9, 3, 9, 0))]
VENUE, ROOM = "南京化工职业技术学院实训基地", "特殊作业实训车间"
DRAW_SEED = "jstl-2025-chem-advanced"
# The two of the top 100 the track union found ineligible (the contestants read these).
INELIGIBLE_REASONS = ("经所在企业工会核实，现岗位为车间技术员，不属一线班组长岗位，不符合参赛条件。",
                      "担任班组长时间自2024年3月起，不满2年，不符合晋级资格条件。")
RECHECK_SEED = 20250709

# The preliminary's online theory exam: 20 questions of 5 points, two per ability.
# (number, kind, key, partial credit); abilities in the contest's order, question n → n-1 mod 10.
EXAM_QUESTIONS = (
    [(n, QuestionKind.SINGLE_CHOICE, "ABCD"[(n * 7) % 4], None) for n in range(1, 11)]
    + [(n, QuestionKind.MULTIPLE_CHOICE, key, Decimal("2.5"))
       for n, key in zip(range(11, 17), ["ABD", "AC", "BCD", "ABCD", "AD", "BC"], strict=True)]
    + [(n, QuestionKind.TRUE_FALSE, key, None)
       for n, key in zip(range(17, 21), ["对", "错", "对", "错"], strict=True)])
QUESTION_POINTS = Decimal("5")


@dataclass
class Cast:
    """The people the story needs: accounts by username and the demo contestant's entry."""

    users: dict[str, User]
    contestant_entry: Entry


def play(contest: Contest, stages: dict[str, Stage], users: dict[str, User], summary) -> None:
    """Bring the chemical track to the advanced assessment, doing only the steps not yet done."""
    # Read the configuration back as the database holds it: a weight created as 40 reads back
    # as 40.00, and the results fingerprint must be the one a later request computes.
    db.session.flush()
    db.session.expire_all()
    prelim, advanced = stages["chem-preliminary"], stages["chem-advanced"]
    cast = Cast(users, db.session.scalar(sa.select(Entry).join(Contestant).where(
        Contestant.user_id == users["contestant"].id)))
    organiser = users["organiser"]
    _register_the_field(prelim, cast, summary)
    _answer_key(prelim, contest, summary)
    if not _scored(prelim):
        _import_preliminary(prelim, cast, organiser, summary)
    version = results.latest_published(prelim)
    if version is None:
        version = results.create_version(prelim, actor=organiser,
                                         reason="预赛成绩（学习积分40%＋理论考试60%）")
        round_ = rechecks.open_round(version, actor=organiser, seed=RECHECK_SEED)
        rechecks.mark_correct(round_, [i.id for i in rechecks.items(round_)], actor=organiser)
        rechecks.close(round_, actor=organiser)
        results.publish(version, actor=organiser, now=PUBLISHED_AT)
        summary.add("published results versions")
    if eligibility.pool_of(prelim) is None:
        _check_eligibility(version, cast, organiser, summary)
    listing = db.session.scalar(sa.select(AdvancementList).where(
        AdvancementList.stage_id == prelim.id, AdvancementList.status != ListStatus.WITHDRAWN))
    if listing is None:
        _advance(version, cast, organiser, summary)
    _advanced_stage(advanced, cast, organiser, summary)


# --- the preliminary -----------------------------------------------------------------------

def _register_the_field(prelim: Stage, cast: Cast, summary) -> None:
    """Enterprise unions' sheets (one per batch) through the registration import, then the
    track's approval: until the preliminary has its 1,415 contestants."""
    from app.services import demo

    have = db.session.scalar(sa.select(sa.func.count()).select_from(StageEntry)
                             .where(StageEntry.stage_id == prelim.id))
    missing = PRELIMINARY_CONTESTANTS - have
    if missing <= 0:
        return
    taken = set(db.session.scalars(sa.select(Contestant.id_number)))
    chem = demo.CHEM_ENTERPRISES
    # Petrochemical majors send most people; every enterprise sends some.
    weights = [120 if i < 4 else (60 if i < 10 else 30) for i in range(len(chem))]
    header = ["序号", "姓名", "性别", "身份证号", "手机号码", "单位", "单位类别", "设区市", "岗位",
              "班组", "担任班组长年限", "技能等级", "荣誉"]
    rows = []
    for k in range(missing):
        rng = random.Random(f"demo-preliminary-{k}")
        name_, category, city = rng.choices(chem, weights=weights)[0]
        gender = Gender.MALE if rng.random() < 0.8 else Gender.FEMALE
        id_number, _born = demo._id_number(rng, city, gender, taken)
        person = rng.choice(demo.SURNAMES) + "".join(
            rng.choice(demo.GIVEN) for _ in range(rng.choice([1, 2])))
        rows.append([k + 1, person, "男" if gender == Gender.MALE else "女", id_number,
                     f"1{rng.choice('3589')}{rng.randint(0, 999999999):09d}", name_, category,
                     city, rng.choice(demo.POSTS), f"{rng.choice('甲乙丙丁')}班",
                     rng.randint(2, 20), rng.choice(demo.SKILL_LEVELS),
                     rng.choice(demo.HONOURS)])
    organiser = cast.users["organiser"]
    outcome = imports.run(RegistrationImporter(prelim.track, organiser),
                          imports.Upload("化工赛道预赛报名汇总表.csv", _csv(header, rows)),
                          dry_run=False, actor=organiser)
    if outcome.report.errors or not outcome.batch:
        raise ServiceError(f"demo registration sheet refused: {outcome.report.errors[:3]}")
    entry_ids = list(db.session.scalars(sa.select(Entry.id).where(
        Entry.import_batch_id == outcome.batch.id, Entry.status == EntryStatus.ENDORSED)
        .order_by(Entry.id)))
    _approve_in_bulk(entry_ids, prelim, organiser)
    summary.add("contestants", len(entry_ids))


def _approve_in_bulk(entry_ids: list[int], prelim: Stage, organiser: User) -> None:
    """What entries.review(…, APPROVE) does for one entry, for the whole sheet in a few
    statements: the track's next exam numbers in entry order, the history step, the audit row
    and the place in the preliminary (review_many takes 15 s for 1,256 entries)."""
    track, contest = prelim.track, prelim.track.contest
    entries._lock_track(track.id)
    last = db.session.scalar(sa.select(sa.func.max(Entry.exam_number_seq)).where(
        Entry.contest_id == contest.id, Entry.track_id == track.id)) or 0
    now = utcnow()
    numbers = {entry_id: (last + n, contest.exam_number_pattern.format(
        year=contest.year, track_no=track.number, track_code=track.code, seq=last + n))
        for n, entry_id in enumerate(entry_ids, start=1)}
    db.session.execute(sa.update(Entry), [
        {"id": entry_id, "status": EntryStatus.APPROVED, "exam_number": exam,
         "exam_number_seq": seq, "updated_at": now}
        for entry_id, (seq, exam) in numbers.items()])
    insert_rows(EntryStatusChange.__table__, ("entry_id",),
                [(entry_id,) for entry_id in entry_ids],
                constants={"from_status": EntryStatus.ENDORSED, "to_status": EntryStatus.APPROVED,
                           "actor_id": organiser.id, "at": now})
    insert_rows(StageEntry.__table__, ("entry_id",), [(entry_id,) for entry_id in entry_ids],
                constants={"stage_id": prelim.id, "status": StageEntryStatus.ACTIVE,
                           "created_at": now})
    names = dict(db.session.execute(sa.select(Entry.id, Contestant.name).join(Contestant)
                                    .where(Entry.id.in_(entry_ids))).all())
    rows = []
    for entry_id, (_seq, exam) in numbers.items():
        row = audit.fields("entry.status", "Entry", entry_id,
                           f"{names[entry_id]}（{exam}）报名状态：单位已推荐 → 已审核通过",
                           before={"status": "endorsed"},
                           after={"status": "approved", "exam_number": exam},
                           reason=None, actor=organiser, stage_id=None)
        rows.append([*row.values(), now])
    insert_rows(AuditLog.__table__, [*audit.fields("", "", None, "", None, None, None, None,
                                                   None), "at"], rows)


def _answer_key(prelim: Stage, contest: Contest, summary) -> None:
    theory = _component(prelim, "theory")
    if theory.questions:
        return
    abilities = sorted(contest.abilities, key=lambda a: a.sort_order)
    for number, kind, key, partial in EXAM_QUESTIONS:
        db.session.add(ExamQuestion(component=theory, number=number, kind=kind, answer_key=key,
                                    points=QUESTION_POINTS, partial_credit=partial,
                                    ability=abilities[(number - 1) % len(abilities)]))
    db.session.flush()
    summary.add("exam questions", len(EXAM_QUESTIONS))


def _component(stage: Stage, code: str) -> Component:
    return next(c for c in stage.components if c.code == code)


def _scored(stage: Stage) -> bool:
    return all(db.session.scalar(sa.select(ImportBatch.id).where(
        ImportBatch.kind.in_([ImportKind.THEORY, ImportKind.DIGITAL_TWIN]),
        ImportBatch.target_id == c.id, ImportBatch.status == ImportStatus.IMPORTED).limit(1))
        for c in stage.components if c.source.value == "import")


def _people(stage: Stage) -> list[tuple[int, str, str, int]]:
    """(stage entry id, exam number, name, enterprise id) of the stage, by exam number."""
    return [tuple(r) for r in db.session.execute(
        sa.select(StageEntry.id, Entry.exam_number, Contestant.name, Entry.enterprise_id)
        .join(Entry, Entry.id == StageEntry.entry_id).join(Contestant)
        .where(StageEntry.stage_id == stage.id).order_by(Entry.exam_number))]


def _strength(cast: Cast, entry_key: str, enterprise_id: int, is_demo: bool) -> float:
    """A contestant's level in [0, 1]: their own, a little of their enterprise's training."""
    if is_demo:
        return 0.93  # the demo contestant advances, so every page has something to show
    rng = random.Random(f"demo-level-{entry_key}")
    house = random.Random(f"demo-enterprise-{enterprise_id}").uniform(-0.08, 0.12)
    return min(0.97, max(0.05, rng.gauss(0.55, 0.15) + house))


def _import_preliminary(prelim: Stage, cast: Cast, organiser: User, summary) -> None:
    """The learning platform's points and the exam system's answers, as their exports."""
    people = _people(prelim)
    learning, theory = [], []
    for n, (_id, exam, name, enterprise_id) in enumerate(people, start=1):
        is_demo = exam == cast.contestant_entry.exam_number
        level = _strength(cast, exam, enterprise_id, is_demo)
        rng = random.Random(f"demo-answers-{exam}")
        # Seven days of daily tasks capped per day, half a point per short task: at most 100.
        points = Decimal(min(200, max(40, round(rng.gauss(level * 160 + 20, 16))))) / 2
        learning.append([n, exam, name, points])
        answers = []
        for number, kind, key, _partial in EXAM_QUESTIONS:
            right = rng.random() < (0.97 if is_demo and number != 14 else level)
            if kind == QuestionKind.MULTIPLE_CHOICE:
                wrong = next(c for c in "ABCDE" if c not in key)
                answer = key if right else (key[:-1] if rng.random() < 0.6 else key + wrong)
            elif kind == QuestionKind.TRUE_FALSE:
                answer = key if right else ("错" if key == "对" else "对")
            else:
                answer = key if right else "ABCD"[("ABCD".index(key) + 1) % 4]
            answers.append(answer if rng.random() > 0.01 else "")
        theory.append([n, exam, name, *answers, rng.randint(1500, 3600)])
    files = [("learning", "江苏工会APP学习积分导出.csv", ["序号", "准考证号", "姓名", "成绩"],
              learning),
             ("theory", "线上理论考试答题明细.csv",
              ["序号", "准考证号", "姓名", *[f"第{n}题" for n, *_ in EXAM_QUESTIONS], "用时"],
              theory)]
    for code, file_name, header, rows in files:
        _import(_component(prelim, code), file_name, _csv(header, rows), organiser)
    summary.add("imported results files", len(files))


def _import(component: Component, file_name: str, content: bytes, organiser: User) -> None:
    outcome = import_results(result_importer(component, organiser),
                             imports.Upload(file_name, content), dry_run=False, actor=organiser)
    if outcome.report.errors or not outcome.report.imported:
        raise ServiceError(f"demo import {file_name} refused: {outcome.report.errors[:3]}")


def _check_eligibility(version, cast: Cast, organiser: User, summary) -> None:
    """The track union checks the top 100: two found ineligible (the next by rank joins the
    pool for each), everyone else confirmed -- the 60 are then drawn from the confirmed."""
    pool = eligibility.draw(version, actor=organiser, now=POOL_DRAWN_AT)
    drawn = db.session.scalars(sa.select(PoolMember).where(
        PoolMember.pool_id == pool.id, PoolMember.in_pool.is_(True))
        .order_by(PoolMember.rank, PoolMember.stage_entry_id)).all()
    others = [m for m in drawn if m.stage_entry.entry_id != cast.contestant_entry.id]
    for member, reason in zip((others[7], others[22]), INELIGIBLE_REASONS, strict=True):
        eligibility.decide(pool, [member.id], eligible=False, reason=reason, actor=organiser,
                           now=ELIGIBILITY_DECIDED_AT)
    undecided = db.session.scalars(sa.select(PoolMember.id).where(
        PoolMember.pool_id == pool.id, PoolMember.in_pool.is_(True),
        PoolMember.state == PoolState.UNDECIDED)).all()
    eligibility.decide(pool, undecided, eligible=True, actor=organiser,
                       now=ELIGIBILITY_DECIDED_AT)
    summary.add("eligibility pools")


def _advance(version, cast: Cast, organiser: User, summary) -> None:
    """The list of 60 under a 7-day notice; an objection upheld, its replacement; final."""
    listing = results.generate_list(version, actor=organiser)
    results.start_notice(listing, actor=organiser, now=NOTICE_STARTS_AT)
    going = results.advancers(listing)
    target = next(e for e in reversed(going[:40])
                  if e.stage_entry.entry_id != cast.contestant_entry.id)
    objection = results.record_objection(
        listing, target, filed_by="某企业职工（实名）", contact="025-8xxxxxxx",
        text="该选手担任班组长未满2年，所报年限不实。", actor=organiser, now=OBJECTION_FILED_AT)
    results.rule_on_objection(objection, upheld=True, actor=organiser, now=OBJECTION_RULED_AT,
                              ruling="经企业工会核实人事任命文件，该选手2024年3月起任班组长，"
                                     "不满2年，异议成立，取消晋级资格，按名次递补。")
    results.finalise(listing, actor=organiser,
                     now=listing.notice_ends_at + timedelta(hours=1))
    summary.add("advancement lists")


# --- the advanced stage ----------------------------------------------------------------------

def _advanced_stage(stage: Stage, cast: Cast, organiser: User, summary) -> None:
    from app.services import stage_flow

    # Finalising the preliminary's list opened the stage to its advancers; the draw below
    # starts its scoring (stage_flow).
    if StageStatus.REGISTRATION in stage_flow.next_statuses(stage):
        stage_flow.change_status(stage, StageStatus.REGISTRATION, actor=organiser)
    if not stage.sittings:
        for name, starts, ends in SITTINGS:
            sittings.create_sitting(stage, {"name": name, "venue": VENUE, "room": ROOM,
                                            "starts_at": starts, "ends_at": ends,
                                            "capacity": 30}, actor=organiser)
        db.session.refresh(stage, ["sittings"])
        sittings.assign_automatically(stage, actor=organiser)
        judging.draw(stage, seed=DRAW_SEED, actor=organiser)
        summary.add("sittings", len(SITTINGS))
    people = _places(stage)
    if not _scored_component(_component(stage, "theory")):
        rows = []
        for n, (_place, exam, _ws, name, _enterprise) in enumerate(people, start=1):
            rng = random.Random(f"demo-advanced-theory-{exam}")
            level = _strength(cast, exam, 0, exam == cast.contestant_entry.exam_number)
            rows.append([n, exam, name, f"{min(100, rng.gauss(level * 100 + 12, 6)):.1f}"])
        _import(_component(stage, "theory"), "进阶考核理论考试成绩.csv",
                _csv(["序号", "准考证号", "姓名", "成绩"], rows), organiser)
        summary.add("imported results files")
    if not _scored_component(_component(stage, "twin")):
        rows = []
        steps = ["开车准备", "正常开车", "工况调整", "应急处置", "正常停车"]
        for n, (_place, exam, ws, name, _enterprise) in enumerate(
                sorted(people, key=lambda p: p[2]), start=1):
            rng = random.Random(f"demo-twin-{exam}")
            parts = [rng.randint(10, 20) for _ in steps]
            rows.append([n, ws, exam, name, sum(parts), f"{rng.randint(28, 45)}:{rng.randint(0, 59):02d}",
                         *parts])
        _import(_component(stage, "twin"), "数字孪生仿真系统成绩导出.csv",
                _csv(["序号", "赛位号", "准考证号", "姓名", "总分", "用时", *steps], rows),
                organiser)
        summary.add("imported results files")
    _judge_the_practical(stage, cast, summary)
    _the_appeal(stage, cast, summary)


def _places(stage: Stage) -> list[tuple[int, str, str, str, int]]:
    """(stage entry id, exam number, workstation, name, enterprise id), by exam number."""
    return [tuple(r) for r in db.session.execute(
        sa.select(StageEntry.id, Entry.exam_number, StageEntry.workstation_number,
                  Contestant.name, Entry.enterprise_id)
        .join(Entry, Entry.id == StageEntry.entry_id).join(Contestant)
        .where(StageEntry.stage_id == stage.id).order_by(Entry.exam_number))]


def _scored_component(component: Component) -> bool:
    return db.session.scalar(sa.select(ImportBatch.id).where(
        ImportBatch.target_id == component.id, ImportBatch.status == ImportStatus.IMPORTED,
        ImportBatch.kind.in_([ImportKind.THEORY, ImportKind.DIGITAL_TWIN])).limit(1)) is not None


def _judge_the_practical(stage: Stage, cast: Cast, summary) -> None:
    """judge2..judge5 mark and submit every workstation on their lists; judge1 the first
    sitting only (the second is theirs to mark in the demo). One workstation's marks differ by
    more than the threshold, so the chief judge's panel flags it."""
    practical = _component(stage, "practical")
    if db.session.scalar(sa.select(ScoreSheet.id).where(
            ScoreSheet.component_id == practical.id).limit(1)):
        return
    places = sorted(judging.judge_places(judging.assignment_for(
        practical, cast.users["judge2"])), key=lambda p: p.workstation_number)
    flagged = places[3].workstation_number if len(places) > 3 else None
    sheets = 0
    for username in ("judge2", "judge3", "judge4", "judge5", "judge1"):
        judge = cast.users[username]
        assignment = judging.assignment_for(practical, judge)
        for place in judging.judge_places(assignment):
            ws = place.workstation_number
            if username == "judge1" and not ws.startswith("1"):
                continue  # the second sitting: judge1's sheets still to fill
            marks = _practical_marks(ws, username, harsh=(ws == flagged and username == "judge3"))
            sheet = score_sheets.sheet_for(practical, judge, ws, create=True)
            score_sheets.save(sheet, marks, {}, "0", version=sheet.version, actor=judge)
            score_sheets.submit(sheet, version=sheet.version, actor=judge)
            sheets += 1
    summary.add("score sheets", sheets)


def _practical_marks(workstation: str, judge: str, *, harsh: bool) -> dict[str, str]:
    """Marks of one judge for one work: the work's level, each judge's eye a little apart."""
    level = random.Random(f"demo-work-{workstation}").uniform(0.45, 0.95)
    rng = random.Random(f"demo-marks-{workstation}-{judge}")
    if harsh:
        level -= 0.35

    def part(top: int) -> str:
        return str(max(0, min(top, round(top * level + rng.choice((-1, 0, 0, 1))))))

    return {"A1": "10" if level > 0.3 else "0", "A2": part(15), "A3": part(3), "B1": part(3),
            "B2": part(3), "B3": part(10), "C1": str(rng.choice((0, 0, 0, 1, 2))), "C2": "0"}


def _the_appeal(stage: Stage, cast: Cast, summary) -> None:
    """The demo contestant appeals on the digital twin, half an hour after their sitting."""
    twin = _component(stage, "twin")
    place = db.session.scalar(sa.select(StageEntry).where(
        StageEntry.stage_id == stage.id, StageEntry.entry_id == cast.contestant_entry.id))
    if place is None or db.session.scalar(sa.select(Appeal.id).where(
            Appeal.stage_entry_id == place.id).limit(1)):
        return
    file_appeal(cast.contestant_entry, twin,
                "数字孪生比赛“应急处置”环节中，我按规程先切断进料再启动紧急泄压，但系统记录的"
                "操作顺序相反，该步骤得分为0。请调取仿真系统操作日志复核。",
                actor=cast.users["contestant"], now=place.sitting.ends_at + timedelta(minutes=30))
    summary.add("appeals")


def _csv(header: list, rows: list[list]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8-sig")

