"""The living demo: the 2025 chemical track as it stood during the advanced assessment, so each
demo account has its work waiting (issue 12, part 8). Read-only: every test looks at what
`flask demo load` built, as its pages show it."""
from collections import Counter

import sqlalchemy as sa
from stdnum.cn import ric

from app.models import (
    AdvancementEntry,
    AdvancementEntryStatus,
    AdvancementList,
    Appeal,
    Component,
    ComponentScore,
    Contestant,
    Entry,
    ListStatus,
    Objection,
    PoolMember,
    PoolState,
    ResultsVersion,
    RulingStatus,
    ScoreSheet,
    SheetStatus,
    Sitting,
    Stage,
    StageEntry,
    Track,
    User,
    VersionStatus,
)
from tests.conftest import flask_cli


def _stage(read, seq: int) -> int:
    return read(sa.select(Stage.id).join(Track).where(Track.code == "chem", Stage.seq == seq))[0][0]


def _component(read, seq: int, code: str) -> int:
    return read(sa.select(Component.id).where(Component.stage_id == _stage(read, seq),
                                              Component.code == code))[0][0]


def test_the_preliminary_has_1415_contestants_from_27_enterprises_16_chemical_11_biopharma(read):
    rows = read(sa.select(Entry.enterprise_id, Entry.enterprise_category)
                .join(StageEntry, StageEntry.entry_id == Entry.id)
                .where(StageEntry.stage_id == _stage(read, 1)))
    assert len(rows) == 1415
    assert Counter(category for _e, category in set(rows)) == {"化工": 16, "生物医药": 11}


def test_every_contestant_has_a_valid_id_number_and_an_eleven_digit_mobile(read):
    people = read(sa.select(Contestant.id_number, Contestant.phone, Contestant.birth_date))
    assert len(people) >= 1415
    for number, phone, born in people:
        assert ric.is_valid(number) and ric.get_birth_date(number) == born, number
        assert len(phone) == 11 and phone[0] == "1" and phone.isdigit()
    assert len({n for n, _p, _b in people}) == len(people)


def test_the_preliminary_is_published_and_its_list_final_after_an_upheld_objection(read):
    prelim = _stage(read, 1)
    versions = read(sa.select(ResultsVersion.status).where(ResultsVersion.stage_id == prelim))
    assert [v for (v,) in versions] == [VersionStatus.PUBLISHED]
    (list_id, status), = read(sa.select(AdvancementList.id, AdvancementList.status)
                              .where(AdvancementList.stage_id == prelim))
    assert status == ListStatus.FINAL
    entries = read(sa.select(AdvancementEntry.id, AdvancementEntry.status,
                             AdvancementEntry.replaces_id, Entry.enterprise_id)
                   .join(StageEntry, StageEntry.id == AdvancementEntry.stage_entry_id)
                   .join(Entry, Entry.id == StageEntry.entry_id)
                   .where(AdvancementEntry.list_id == list_id))
    going = [e for e in entries if e.status == AdvancementEntryStatus.ADVANCING]
    removed = [e for e in entries if e.status == AdvancementEntryStatus.REMOVED]
    assert len(going) == 60
    assert max(Counter(e.enterprise_id for e in going).values()) == 5  # the cap binds
    assert any(e.status == AdvancementEntryStatus.SKIPPED_FOR_CAP for e in entries)
    assert len(removed) == 1
    assert [e.replaces_id for e in going if e.replaces_id] == [removed[0].id]
    objections = read(sa.select(Objection.status).where(Objection.list_id == list_id))
    assert [o for (o,) in objections] == [RulingStatus.UPHELD]


def test_the_top_100_were_checked_two_found_ineligible_and_the_60_drawn_from_the_confirmed(
        read, as_user):
    members = read(sa.select(PoolMember.stage_entry_id, PoolMember.state, PoolMember.reason,
                             PoolMember.rank)
                   .join(StageEntry, StageEntry.id == PoolMember.stage_entry_id)
                   .where(StageEntry.stage_id == _stage(read, 1), PoolMember.in_pool.is_(True)))
    states = Counter(m.state for m in members)
    assert states == {PoolState.CONFIRMED: 100, PoolState.INELIGIBLE: 2}
    assert all(m.reason for m in members if m.state == PoolState.INELIGIBLE)
    confirmed = {m.stage_entry_id for m in members if m.state == PoolState.CONFIRMED}
    listed = read(sa.select(AdvancementEntry.stage_entry_id, AdvancementEntry.status)
                  .join(AdvancementList).where(AdvancementList.stage_id == _stage(read, 1)))
    going = {e for e, status in listed if status == AdvancementEntryStatus.ADVANCING}
    assert len(going) == 60 and going <= confirmed
    page = as_user("organiser").get(f"/admin/stages/{_stage(read, 1)}/eligibility")
    text = page.get_data(as_text=True)
    assert "审核通过100人 · 资格不符2人 · 待审核0人" in text
    assert "不满2年，不符合晋级资格条件" in text


def test_the_public_notice_names_the_60_advancers_and_the_removal(public, read):
    list_id = read(sa.select(AdvancementList.id).where(
        AdvancementList.stage_id == _stage(read, 1)))[0][0]
    page = public.get(f"/notices/{list_id}").get_data(as_text=True)
    table = page.split('id="notice-list"')[1].split("</table>")[0]
    assert table.count("<tr>") == 61  # the header and 60 names
    assert "中国石化金陵石化公司" in table
    # the upheld objection's replacement is marked on the list and dated in the amendments
    assert table.count("递补") == 1
    amendments = page.split('id="amendments"')[1].split("</ol>")[0]
    assert "递补" in amendments


def test_the_advanced_stage_is_drawn_into_two_sittings_with_theory_and_twin_imported(read):
    advanced = _stage(read, 2)
    places = read(sa.select(StageEntry.workstation_number, StageEntry.sitting_id)
                  .where(StageEntry.stage_id == advanced))
    assert len(places) == 60 and all(ws and sitting for ws, sitting in places)
    assert sorted(Counter(s for _w, s in places).values()) == [30, 30]
    assert len(read(sa.select(Sitting.id).where(Sitting.stage_id == advanced))) == 2
    for code in ("theory", "twin"):
        scored = read(sa.select(sa.func.count()).select_from(ComponentScore).where(
            ComponentScore.component_id == _component(read, 2, code)))
        assert scored[0][0] == 60


def test_judge1_has_sheets_to_fill_and_the_others_have_submitted_theirs(as_user, read):
    practical = _component(read, 2, "practical")
    sheets = read(sa.select(User.username, ScoreSheet.status).join(
        User, User.id == ScoreSheet.judge_id).where(ScoreSheet.component_id == practical))
    by_judge = Counter(username for username, _status in sheets)
    assert all(status == SheetStatus.SUBMITTED for _u, status in sheets)
    assert by_judge["judge1"] < by_judge["judge2"]
    page = as_user("judge1").get("/judge/").get_data(as_text=True)
    assert "未开始" in page or "not started" in page.lower()


def test_the_chief_judges_panel_flags_a_disagreement(as_user, read):
    practical = _component(read, 2, "practical")
    page = as_user("chief").get(f"/judge/components/{practical}/panel").get_data(as_text=True)
    assert "分歧" in page or "差异" in page or "超过" in page


def test_the_arbiter_has_the_demo_contestants_open_appeal(as_user, read):
    appeals = read(sa.select(Appeal.status, User.username).join(
        User, User.id == Appeal.filed_by_id))
    assert [(s, u) for s, u in appeals] == [(RulingStatus.OPEN, "contestant")]
    arbiter = as_user("arbiter")
    overview = arbiter.get("/judge/appeals").get_data(as_text=True)
    assert f"/judge/stages/{_stage(read, 2)}/appeals" in overview
    page = arbiter.get(f"/judge/stages/{_stage(read, 2)}/appeals").get_data(as_text=True)
    assert "应急处置" in page


def test_the_enterprise_contact_sees_only_its_own_people(as_user, read):
    page = as_user("contact").get("/portal/").get_data(as_text=True)
    mine = read(sa.select(sa.func.count()).select_from(Entry).join(User, sa.and_(
        User.username == "contact", User.enterprise_id == Entry.enterprise_id)))[0][0]
    assert mine > 30
    table = page.split('id="entries"')[1].split("</table>")[0]
    assert table.count("<tr>") == mine + 1


def test_the_demo_contestant_sees_published_results_and_the_ability_chart(as_user, read):
    entry_id, = read(sa.select(Entry.id).join(Contestant).join(
        User, User.id == Contestant.user_id).where(User.username == "contestant"))[0]
    visitor = as_user("contestant")
    page = visitor.get(f"/portal/entries/{entry_id}").get_data(as_text=True)
    results = page.split('id="my-results"')[1]
    assert "预赛" in results and "晋级" in results
    chart = visitor.get(f"/portal/entries/{entry_id}/stages/{_stage(read, 1)}/abilities.json")
    assert chart.status_code == 200
    profile = chart.get_json()
    assert profile["type"] == "radar" and len(profile["categories"]) == 10
    assert all(value is not None for value in profile["series"][0]["data"])


def test_loading_the_living_demo_again_adds_nothing(living_url, read):
    tables = ("entries", "stage_entries", "result_rows", "advancement_entries", "score_sheets",
              "appeals", "imported_results", "audit_log", "pool_members")

    def counts():
        return {t: read(sa.select(sa.func.count()).select_from(sa.table(t)))[0][0]
                for t in tables}

    before = counts()
    result = flask_cli(living_url, "demo", "load")
    assert "nothing added" in result.stdout
    assert counts() == before
