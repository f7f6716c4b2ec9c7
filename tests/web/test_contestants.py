"""Contestants reach their entries however they were made: bulk accounts with initial
passwords, claims, the public score lookup, tickets, sign-in sheets, the portal's standing."""
from __future__ import annotations

import io
import re

import openpyxl
import pytest
import sqlalchemy as sa

from app.models import (
    AuditLog,
    Contestant,
    Entry,
    EntryStatus,
    InitialPassword,
    Role,
    Stage,
    Track,
    User,
)


def _chem(db_session) -> Track:
    return db_session.scalar(sa.select(Track).where(Track.code == "chem"))


def _person_without_account(db_session, *, offset: int = 0) -> Entry:
    """An approved chemical entry an import made: its person has no account."""
    return db_session.scalars(
        sa.select(Entry).join(Contestant, Entry.contestant_id == Contestant.id)
        .where(Entry.track_id == _chem(db_session).id, Entry.status == EntryStatus.APPROVED,
               Contestant.user_id.is_(None), Contestant.phone.is_not(None))
        .order_by(Entry.exam_number_seq)).all()[offset]


def _ticket_password(page: str, username: str) -> str:
    match = re.search(rf'ticket-username">{re.escape(username)}</strong>\s*　[^<]*'
                      r'<strong class="ticket-password">([^<]+)<', page)
    assert match, f"no initial password printed for {username}"
    return match.group(1)


def _table(db_session, model, *columns) -> list[tuple]:
    return [tuple(r) for r in db_session.execute(sa.select(*columns).order_by(*columns[:1]))]


# --- bulk accounts and the first sign-in ---------------------------------------------------------

def test_bulk_accounts_give_each_approved_person_without_one_an_account_once(signed_in,
                                                                           db_session):
    track = _chem(db_session)
    approved = db_session.scalar(sa.select(sa.func.count()).select_from(Entry).where(
        Entry.track_id == track.id, Entry.status == EntryStatus.APPROVED))
    had = db_session.scalar(sa.select(sa.func.count()).select_from(Entry).join(Contestant).where(
        Entry.track_id == track.id, Entry.status == EntryStatus.APPROVED,
        Contestant.user_id.is_not(None)))
    organiser = signed_in("organiser")
    made = organiser.post(f"/admin/tracks/{track.id}/contestants/accounts", follow_redirects=True)
    page = made.get_data(as_text=True)
    assert f"已创建 {approved - had} 个账号（初始密码），{had} 人原已有账号" in page
    accounts = db_session.scalars(sa.select(User).where(User.must_change_password.is_(True))).all()
    assert len(accounts) == approved - had
    numbers = set(db_session.scalars(sa.select(Entry.exam_number).where(
        Entry.track_id == track.id, Entry.status == EntryStatus.APPROVED)))
    assert {u.username for u in accounts} <= numbers  # the username is the exam number
    assert all(u.role == Role.CONTESTANT and u.contestant is not None for u in accounts)
    assert db_session.scalar(sa.select(sa.func.count()).select_from(InitialPassword)) == len(
        accounts)
    again = organiser.post(f"/admin/tracks/{track.id}/contestants/accounts",
                           follow_redirects=True).get_data(as_text=True)
    assert f"所有审核通过的选手均已有账号（{approved} 人）" in again
    assert db_session.scalar(sa.select(sa.func.count()).select_from(User).where(
        User.must_change_password.is_(True))) == len(accounts)
    assert db_session.scalar(sa.select(sa.func.count()).select_from(AuditLog).where(
        AuditLog.action == "track.accounts")) == 1


def test_initial_password_is_printed_until_the_first_sign_in_and_must_then_be_changed(
        signed_in, visitor, db_session):
    entry = _person_without_account(db_session)
    organiser = signed_in("organiser")
    organiser.post(f"/admin/tracks/{entry.track_id}/contestants/accounts")
    tickets = organiser.get(f"/admin/tracks/{entry.track_id}/tickets?enterprise="
                            f"{entry.enterprise_id}").get_data(as_text=True)
    password = _ticket_password(tickets, entry.exam_number)
    user = db_session.scalar(sa.select(User).where(User.username == entry.exam_number))
    # never stored as such: neither the account nor the kept salt holds it
    assert password not in user.password_hash
    assert password not in db_session.get(InitialPassword, user.id).salt
    organiser.logout()

    signed = visitor.post("/login", {"username": entry.exam_number, "password": password})
    assert signed.location.endswith("/account/password")
    assert visitor.get("/portal/").location.endswith("/account/password")
    forced = visitor.get("/account/password").get_data(as_text=True)
    assert "您的账号使用一次性初始密码" in forced
    same = visitor.post("/account/password", {"current_password": password, "password": password,
                                              "confirm": password}).get_data(as_text=True)
    assert "新密码不能与初始密码相同。" in same
    changed = visitor.post("/account/password", {"current_password": password,
                                                 "password": "MyOwn2025pw",
                                                 "confirm": "MyOwn2025pw"})
    assert changed.status_code == 302 and changed.location.endswith("/portal/")
    home = visitor.get("/portal/").get_data(as_text=True)
    assert entry.exam_number in home and entry.contestant.name in home
    visitor.logout()

    assert visitor.post("/login", {"username": entry.exam_number,
                                   "password": password}).status_code == 401
    organiser = signed_in("organiser")
    tickets = organiser.get(f"/admin/tracks/{entry.track_id}/tickets?enterprise="
                            f"{entry.enterprise_id}").get_data(as_text=True)
    assert password not in tickets  # no longer printed after the first sign-in
    assert "请使用您自己设置的密码登录。" in tickets


def test_enterprise_contact_downloads_only_its_own_peoples_accounts(signed_in, db_session):
    contact = db_session.scalar(sa.select(User).where(User.username == "contact"))
    track = _chem(db_session)
    organiser = signed_in("organiser")
    organiser.post(f"/admin/tracks/{track.id}/contestants/accounts")
    organiser.logout()
    answer = signed_in("contact").get("/portal/accounts.xlsx")
    assert answer.status_code == 200
    assert "filename*=UTF-8''" in answer.headers["Content-Disposition"]
    book = openpyxl.load_workbook(io.BytesIO(answer.data))
    answer.close()
    assert len(book.worksheets) == 1
    sheet = book.worksheets[0]
    rows = [r for r in sheet.iter_rows(min_row=3, values_only=True) if r[0] and str(r[0]).isdigit()]
    own = db_session.scalars(sa.select(Entry).where(
        Entry.enterprise_id == contact.enterprise_id, Entry.status == EntryStatus.APPROVED)).all()
    assert {r[1] for r in rows} == {e.exam_number for e in own}
    assert contact.enterprise.name in sheet.cell(1, 1).value
    passwords = {r[1]: r[6] for r in rows}
    assert all(re.fullmatch(r"[a-z][a-z2-9]{8}[2-9]", passwords[e.exam_number])
               for e in own if e.contestant.user.must_change_password)
    assert not any(e.contestant.id_number in str(r) for r in rows for e in own)
    assert db_session.scalar(sa.select(sa.func.count()).select_from(AuditLog).where(
        AuditLog.action == "accounts.export", AuditLog.actor_name == "contact")) == 1


# --- claims ---------------------------------------------------------------------------------------

@pytest.fixture
def newcomer(visitor):
    """A contestant who has just created an account and has no entry."""
    made = visitor.post("/register", {"username": "newcomer", "display_name": "新人",
                                      "phone": "13900001111", "password": "Newcomer2025",
                                      "confirm": "Newcomer2025"})
    assert made.status_code == 302
    return visitor


def test_a_claim_with_a_wrong_phone_is_refused_and_leaves_the_database_unchanged(
        newcomer, db_session):
    entry = _person_without_account(db_session)
    person = entry.contestant
    assert "认领报名" in newcomer.get("/portal/").get_data(as_text=True)
    people = _table(db_session, Contestant, Contestant.id, Contestant.user_id, Contestant.name,
                    Contestant.phone)
    users = _table(db_session, User, User.id, User.display_name, User.username)
    entries = _table(db_session, Entry, Entry.id, Entry.contestant_id, Entry.status)
    wrong_phone = "13" + ("0" if person.phone[2] != "0" else "1") + person.phone[3:]
    refused = newcomer.post("/portal/claim", {"id_number": person.id_number,
                                              "name": person.name, "phone": wrong_phone})
    page = refused.get_data(as_text=True)
    assert "所填信息与可认领的报名不符" in page
    assert person.name not in page.replace('value="' + person.name + '"', "")  # nothing revealed
    assert _table(db_session, Contestant, Contestant.id, Contestant.user_id, Contestant.name,
                  Contestant.phone) == people
    assert _table(db_session, User, User.id, User.display_name, User.username) == users
    assert _table(db_session, Entry, Entry.id, Entry.contestant_id, Entry.status) == entries
    logged = db_session.scalars(sa.select(AuditLog).where(
        AuditLog.action == "entry.claim_refused")).all()
    assert len(logged) == 1 and person.masked_id_number in logged[0].summary
    assert person.id_number not in logged[0].summary


def test_no_such_id_number_and_a_wrong_name_get_the_same_answer_as_a_wrong_phone(
        newcomer, db_session):
    from datetime import date

    from tests.conftest import valid_id_number

    person = _person_without_account(db_session).contestant
    answers = []
    for raw in ({"id_number": valid_id_number(date(1980, 1, 1), seq=77), "name": person.name,
                 "phone": person.phone},
                {"id_number": person.id_number, "name": person.name + "甲",
                 "phone": person.phone}):
        page = newcomer.post("/portal/claim", raw).get_data(as_text=True)
        answers.append(re.search(r'id="id_number-error"[^>]*>([^<]+)<', page).group(1))
    assert answers[0] == answers[1] and "所填信息与可认领的报名不符" in answers[0]


def test_a_matching_claim_brings_the_entry_ticket_and_scores_into_the_account(
        newcomer, db_session):
    entry = _person_without_account(db_session)
    person = entry.contestant
    claimed = newcomer.post("/portal/claim", {"id_number": person.id_number.lower(),
                                              "name": person.name, "phone": person.phone})
    assert claimed.status_code == 302
    home = newcomer.get("/portal/").get_data(as_text=True)
    assert entry.exam_number in home and "认领报名" not in home
    ticket = newcomer.get(f"/portal/entries/{entry.id}/ticket").get_data(as_text=True)
    assert f'id="ticket-exam-number">{entry.exam_number}<' in ticket
    db_session.expire_all()
    assert db_session.get(Contestant, person.id).user.username == "newcomer"
    assert db_session.scalar(sa.select(sa.func.count()).select_from(AuditLog).where(
        AuditLog.action == "entry.claim")) == 1
    again = newcomer.post("/portal/claim", {"id_number": person.id_number, "name": person.name,
                                            "phone": person.phone}).get_data(as_text=True)
    assert "一个账号只对应一名选手" in again


def test_claims_are_rate_limited_per_account(newcomer, db_session):
    person = _person_without_account(db_session).contestant
    statuses = [newcomer.post("/portal/claim", {"id_number": person.id_number,
                                                "name": "别人", "phone": person.phone}).status_code
                for _ in range(6)]
    assert statuses == [200] * 5 + [429]


def test_only_contestants_claim(signed_in, db_session):
    assert signed_in("contact").get("/portal/claim").status_code == 403


# --- the public score lookup ----------------------------------------------------------------------

def test_score_lookup_shows_only_published_results_and_the_advancement_status(
        app, client, db_session):
    from app.extensions import db
    from tests.results_setup import publish_preliminary_under_notice

    entry = db_session.get(Entry, 1)
    number, id_number = entry.exam_number, entry.contestant.id_number
    form = client.get("/lookup").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form).group(1)

    def look(exam, ident):
        return client.post("/lookup", data={"csrf_token": token, "exam_number": exam,
                                            "id_number": ident})

    before = look(number, id_number.lower()).get_data(as_text=True)
    assert "成绩尚未发布" in before and entry.contestant.masked_id_number in before
    assert id_number not in before
    wrong = look(number, id_number[:-4] + "0000").get_data(as_text=True)
    assert "准考证号与身份证号不匹配" in wrong and entry.contestant.name not in wrong

    with app.app_context():
        ids = publish_preliminary_under_notice(seed=5)
        db.session.commit()
    after = look(number, id_number)
    assert after.headers["Cache-Control"] == "no-store"
    page = after.get_data(as_text=True)
    total = re.search(r'class="lookup-total">([^<]+)<', page).group(1)
    assert re.fullmatch(r"\d+\.\d{2}", total)  # the stage's two decimals
    assert re.search(r"赛道第\d+名（共\d+人）", page)
    status = re.search(r'class="lookup-advancement">([^<]+)<', page).group(1)
    assert status in ("公示中", "未晋级")
    assert f"/notices/{ids['list_id']}" in page


def test_failed_score_lookups_are_rate_limited_and_successful_ones_are_not(client, db_session):
    entry = db_session.get(Entry, 1)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"',
                      client.get("/lookup").get_data(as_text=True)).group(1)

    def look(ident):
        return client.post("/lookup", data={"csrf_token": token, "exam_number": entry.exam_number,
                                            "id_number": ident}).status_code

    assert [look(entry.contestant.id_number) for _ in range(8)] == [200] * 8
    assert [look("320102198001010000") for _ in range(6)] == [200] * 5 + [429]


# --- the portal says where one stands -------------------------------------------------------------

def test_portal_shows_the_advancement_status_beside_the_score_and_rank(app, signed_in,
                                                                       db_session):
    from app.extensions import db
    from tests.results_setup import publish_preliminary_under_notice

    with app.app_context():
        publish_preliminary_under_notice(seed=5)
        db.session.commit()
    home = signed_in("contestant").get("/portal/").get_data(as_text=True)
    status = re.search(r'class="advancement-(\w+)">([^<]+)<', home)
    assert status.group(1) in ("notice", "not_advanced")
    assert status.group(2) == {"notice": "公示中", "not_advanced": "未晋级"}[status.group(1)]
    assert re.search(r"赛道第\d+名（共\d+人）", home)
    entry_page = signed_in("contestant").get("/portal/entries/1").get_data(as_text=True)
    assert "晋级情况" in entry_page
    contact_home = signed_in("contact").get("/portal/").get_data(as_text=True)
    assert contact_home.count("advancement-") >= 1


def test_menus_show_api_tokens_to_organisers_only_and_visitors_the_lookup(signed_in, client):
    def nav(page: str) -> str:
        return page.split('id="nav-main"')[1].split("</nav>")[0]

    anonymous = client.get("/").get_data(as_text=True)
    assert 'href="/lookup"' in nav(anonymous) and 'href="/notices"' in nav(anonymous)
    assert 'href="/lookup"' in anonymous.split('id="home-links"')[1]
    for name in ("contestant", "judge1", "contact", "chief"):
        someone = signed_in(name)
        assert "/account/tokens" not in nav(someone.get("/account/password")
                                            .get_data(as_text=True)), name
        someone.logout()
    assert "/account/tokens" in nav(signed_in("organiser").get("/account/password")
                                    .get_data(as_text=True))


# --- tickets and sign-in sheets ------------------------------------------------------------------

def test_tickets_print_one_per_approved_entry_by_enterprise_or_sitting(app, signed_in,
                                                                      db_session):
    from app.extensions import db
    from app.services import sittings

    entry = _person_without_account(db_session)
    stage = db_session.scalar(sa.select(Stage).where(Stage.track_id == entry.track_id,
                                                     Stage.seq == 1))
    with app.app_context():
        stage_now = db.session.get(Stage, stage.id)
        for n in (1, 2):
            sittings.create_sitting(stage_now, {"name": f"第{n}场", "venue": "南京",
                                                "room": f"A10{n}"})
        sittings.assign_automatically(stage_now)
        db.session.commit()
    organiser = signed_in("organiser")
    firm = db_session.scalar(sa.select(sa.func.count()).select_from(Entry).where(
        Entry.enterprise_id == entry.enterprise_id, Entry.track_id == entry.track_id,
        Entry.status == EntryStatus.APPROVED))
    page = organiser.get(f"/admin/tracks/{entry.track_id}/tickets?enterprise="
                         f"{entry.enterprise_id}").get_data(as_text=True)
    assert page.count('<article class="ticket"') == firm
    assert f"共 {firm} 张准考证，每张一页 A4。" in page
    first = db_session.scalar(sa.select(sa.func.min(sa.text("id"))).select_from(
        sa.text("sittings")).where(sa.text(f"stage_id = {stage.id}")))
    seated = db_session.scalar(sa.text(f"SELECT count(*) FROM stage_entries s JOIN entries e "
                                       f"ON e.id = s.entry_id WHERE s.sitting_id = {first} "
                                       f"AND e.status = 'approved'"))
    by_sitting = organiser.get(f"/admin/tracks/{entry.track_id}/tickets?sitting={first}")
    text = by_sitting.get_data(as_text=True)
    assert text.count('<article class="ticket"') == seated and "第1场" in text

    sheets = organiser.get(f"/admin/stages/{stage.id}/signin-sheets").get_data(as_text=True)
    assert sheets.count('<section class="signin-sheet"') == 2
    workbook = organiser.get(f"/admin/stages/{stage.id}/signin-sheets.xlsx")
    book = openpyxl.load_workbook(io.BytesIO(workbook.data))
    workbook.close()
    assert [ws.title for ws in book.worksheets] == ["1-第1场", "2-第2场"]
    sheet = book.worksheets[0]
    assert [c.value for c in sheet[2]] == ["序号", "准考证号", "姓名", "工作单位", "签到时间",
                                           "本人签名"]
    names = [r[2] for r in sheet.iter_rows(min_row=3, max_row=2 + seated, values_only=True)]
    assert len(names) == seated and all(names)
    assert not any(db_session.scalar(sa.select(sa.func.count()).select_from(Contestant).where(
        Contestant.id_number == str(v))) for row in sheet.iter_rows(values_only=True)
        for v in row if v)
    assert db_session.scalar(sa.select(sa.func.count()).select_from(AuditLog).where(
        AuditLog.action == "stage.export_signin")) == 1


def test_a_new_initial_password_replaces_a_lost_one(signed_in, visitor, db_session):
    entry = _person_without_account(db_session)
    organiser = signed_in("organiser")
    organiser.post(f"/admin/tracks/{entry.track_id}/contestants/accounts")
    url = f"/admin/tracks/{entry.track_id}/tickets?enterprise={entry.enterprise_id}"
    old = _ticket_password(organiser.get(url).get_data(as_text=True), entry.exam_number)
    done = organiser.post(f"/admin/entries/{entry.id}/initial-password", follow_redirects=True)
    assert "已为" in done.get_data(as_text=True)
    new = _ticket_password(organiser.get(url).get_data(as_text=True), entry.exam_number)
    assert new != old
    organiser.logout()
    assert visitor.post("/login", {"username": entry.exam_number,
                                   "password": old}).status_code == 401
    assert visitor.post("/login", {"username": entry.exam_number,
                                   "password": new}).location.endswith("/account/password")


def test_a_claim_with_a_malformed_id_number_is_refused_next_to_the_field_and_audited(
        newcomer, db_session):
    page = newcomer.post("/portal/claim", {"id_number": "32010219800101", "name": "张三",
                                           "phone": "13900001111"}).get_data(as_text=True)
    assert re.search(r'id="id_number-error"[^>]*>[^<]*18', page)
    logged = db_session.scalars(sa.select(AuditLog).where(
        AuditLog.action == "entry.claim_refused")).all()
    assert len(logged) == 1 and "32010219800101" not in logged[0].summary
    assert db_session.scalar(sa.select(Contestant.id).where(
        Contestant.user_id == db_session.scalar(sa.select(User.id).where(
            User.username == "newcomer")))) is None
