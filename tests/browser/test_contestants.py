"""Contestants reach entries they did not make: a newcomer claims an imported entry; the
organiser creates accounts in bulk and prints tickets; a contestant signs in with the initial
password, must change it, sees where they stand and prints the ticket; anyone looks a score up."""
import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from tests.browser.conftest import demo_database, serving

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def published_demo(tmp_path_factory):
    """A database of its own (other browser tests expect nothing published): the demo with the
    chemical preliminary published and its list under public notice; two people of one
    enterprise with imported entries and no account, for the claim and the initial password."""
    from app import create_app
    from app.extensions import db
    from app.models import Contestant, Entry, EntryStatus, Track
    from tests.results_setup import publish_preliminary_under_notice

    tmp = tmp_path_factory.mktemp("contestants-db")
    url = demo_database("test_browser_contestants", tmp)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "browser-test-secret"})
    with app.app_context():
        publish_preliminary_under_notice(seed=9)
        db.session.commit()
        people = db.session.scalars(
            sa.select(Entry).join(Contestant, Entry.contestant_id == Contestant.id).join(Track)
            .where(Track.code == "chem", Entry.status == EntryStatus.APPROVED,
                   Contestant.user_id.is_(None), Contestant.phone.is_not(None))
            .order_by(Entry.exam_number_seq)).all()
        first = people[0]
        second = next(e for e in people[1:] if e.enterprise_id == first.enterprise_id)
        found = [{"exam_number": e.exam_number, "name": e.contestant.name,
                  "id_number": e.contestant.id_number, "phone": e.contestant.phone,
                  "enterprise_id": e.enterprise_id, "track_id": e.track_id}
                 for e in (first, second)]
    with app.app_context():
        db.engine.dispose()  # every pooled connection closed once the session has ended
    with serving(url, tmp) as base:
        yield base, found


def sign_in(page, base, username, password):
    page.goto(base + "/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码", exact=True).fill(password)
    page.get_by_role("button", name="登录").click()


def test_contestants_claim_sign_in_with_initial_passwords_print_tickets_and_look_up_scores(
        published_demo, page, screenshots):
    base, (claimer, holder) = published_demo

    # A newcomer makes an account and claims the entry their enterprise's sheet made.
    page.goto(base + "/register")
    page.get_by_label("用户名").fill("claimer1")
    page.get_by_label("您的姓名").fill(claimer["name"])
    page.get_by_label("手机号码").fill(claimer["phone"])
    page.get_by_label("密码", exact=True).fill("Claimer2025")
    page.get_by_label("再次输入密码").fill("Claimer2025")
    page.get_by_role("button", name="注册账号").click()
    page.goto(base + "/portal/")
    page.locator("#claim-hint").get_by_role("link", name="认领报名").click()
    page.get_by_label("身份证号").fill(claimer["id_number"])
    page.get_by_label("姓名").fill(claimer["name"])
    page.get_by_label("手机号码").fill("13800000000")
    page.get_by_role("button", name="认领报名").click()
    expect(page.locator("#id_number-error")).to_contain_text("所填信息与可认领的报名不符")
    page.screenshot(path=str(screenshots / "contestants-01-claim-refused.png"), full_page=True)
    page.get_by_label("手机号码").fill(claimer["phone"])
    page.get_by_role("button", name="认领报名").click()
    expect(page.locator("#entries")).to_contain_text(claimer["exam_number"])
    page.screenshot(path=str(screenshots / "contestants-02-claimed.png"), full_page=True)
    page.get_by_role("button", name="退出登录").click()

    # The organiser creates the track's accounts and prints one enterprise's tickets.
    sign_in(page, base, "organiser", "Organiser2025")
    page.goto(f"{base}/admin/tracks/{holder['track_id']}")
    page.get_by_role("link", name="选手账号与准考证").click()
    page.get_by_role("button", name=re.compile(r"为 \d+ 人创建账号")).click()
    expect(page.get_by_role("alert")).to_contain_text("已创建")
    expect(page.locator("#without-account")).to_have_text("0")
    page.screenshot(path=str(screenshots / "contestants-03-accounts.png"), full_page=True)
    page.locator("#tickets-enterprise").select_option(str(holder["enterprise_id"]))
    page.get_by_role("button", name="显示待打印的准考证").click()
    ticket = page.locator("article.ticket").filter(has_text=holder["exam_number"])
    expect(ticket.locator(".ticket-username")).to_have_text(holder["exam_number"])
    password = ticket.locator(".ticket-password").inner_text().strip()
    claimed = page.locator("article.ticket").filter(has_text=claimer["exam_number"])
    expect(claimed.locator(".ticket-username")).to_have_text("claimer1")
    expect(claimed.locator(".ticket-password")).to_have_count(0)  # they chose their own
    page.screenshot(path=str(screenshots / "contestants-04-bulk-tickets.png"))
    page.goto(base + "/")
    page.get_by_role("button", name="退出登录").click()

    # The holder signs in with the initial password and must change it first.
    sign_in(page, base, holder["exam_number"], password)
    expect(page).to_have_url(re.compile(r"/account/password$"))
    expect(page.locator("#password-change-first")).to_be_visible()
    page.screenshot(path=str(screenshots / "contestants-05-forced-change.png"), full_page=True)
    page.goto(base + "/portal/")
    expect(page).to_have_url(re.compile(r"/account/password$"))
    page.get_by_label("当前密码").fill(password)
    page.get_by_label("新密码", exact=True).fill("Holder2025own")
    page.get_by_label("再次输入新密码").fill("Holder2025own")
    page.get_by_role("button", name="修改密码").click()
    expect(page).to_have_url(re.compile(r"/portal/$"))
    row = page.locator("#entries tbody tr").filter(has_text=holder["exam_number"])
    expect(row.locator(".entry-advancement")).to_have_text(re.compile("公示中|未晋级"))
    expect(row.locator(".entry-results")).to_contain_text(re.compile(r"赛道第\d+名"))
    expect(page.get_by_role("link", name="API 令牌")).to_have_count(0)
    page.screenshot(path=str(screenshots / "contestants-06-portal-standing.png"), full_page=True)
    row.get_by_role("link", name="准考证").click()
    expect(page.locator("#ticket-exam-number")).to_have_text(holder["exam_number"])
    expect(page.locator(".ticket-password")).to_have_count(0)
    page.emulate_media(media="print")
    expect(page.get_by_role("button", name="打印")).to_be_hidden()
    pdf = page.pdf(format="A4", print_background=True)
    (screenshots / "contestants-07-ticket.pdf").write_bytes(pdf)
    assert len(re.findall(rb"/Type\s*/Page\b", pdf)) == 1
    page.emulate_media(media="screen")
    page.screenshot(path=str(screenshots / "contestants-07-ticket.png"), full_page=True)
    page.get_by_role("link", name="返回").click()
    page.get_by_role("button", name="退出登录").click()

    # Anyone looks the score up from the home page with the exam number and ID number.
    page.goto(base + "/")
    page.locator("#home-links").get_by_role("link", name="成绩查询").click()
    page.get_by_label("准考证号").fill(holder["exam_number"])
    page.get_by_label("身份证号").fill(holder["id_number"])
    page.get_by_role("button", name="查询").click()
    expect(page.locator(".lookup-total")).to_have_text(re.compile(r"^\d+\.\d{2}$"))
    expect(page.locator(".lookup-advancement")).to_have_text(re.compile("公示中|未晋级"))
    expect(page.locator("#lookup-results")).not_to_contain_text(holder["id_number"])
    page.screenshot(path=str(screenshots / "contestants-08-score-lookup.png"), full_page=True)
    assert page.console_errors == []
