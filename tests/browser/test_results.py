"""The organiser computes the preliminary's results, re-checks and publishes them, draws up the
advancement list and puts it under public notice; anyone opens the public page; the contestant
sees the published result on their entry — and saw nothing before publication."""
import re

import pytest
from playwright.sync_api import expect

from tests.browser.test_judging import sign_in, sign_out

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def preliminary(live_app):
    """The chemical preliminary's learning and theory points, as its imports would store them."""
    from app.extensions import db
    from tests.results_setup import score_preliminary

    with live_app.app_context():
        stage_id, people = score_preliminary(seed=3)
        db.session.commit()
        return {"id": stage_id, "people": people}


def test_contestant_sees_results_only_once_the_organiser_publishes_them_and_the_list_is_public(
        page, live_server, preliminary, screenshots):
    base = live_server
    sign_in(page, base, "contestant", "Contestant2025")
    page.goto(base + "/portal/entries/1")
    expect(page.get_by_text("成绩尚未发布。")).to_be_visible()
    sign_out(page)

    # The organiser computes a draft version ...
    sign_in(page, base, "organiser", "Organiser2025")
    page.goto(f"{base}/admin/stages/{preliminary['id']}/results")
    page.get_by_label("版本说明（如首次计算，或所更正的申诉）").fill("预赛首次成绩")
    page.get_by_role("button", name="计算新版本").click()
    expect(page).to_have_url(re.compile(r"/admin/results/\d+$"))
    version_url = page.url
    expect(page.get_by_role("heading", name=re.compile("第1版"))).to_be_visible()
    # ... which cannot be published before its re-check (复核) ...
    page.get_by_role("button", name="发布此版本").click()
    expect(page.get_by_role("alert").filter(has_text="复核")).to_be_visible()
    # ... so the organiser draws the sample, finds every sampled entry correct and closes it.
    page.get_by_role("button", name="抽取复核样本").click()
    expect(page).to_have_url(re.compile(r"/admin/rechecks/\d+"))
    while page.locator("input[data-check='recheck-tick']").count():
        page.locator("input[data-check-all='recheck-tick']").check()
        page.get_by_role("button", name="勾选的选手核对正确").click()
    page.get_by_role("button", name="结束复核").click()
    page.goto(version_url)
    page.get_by_role("button", name="发布此版本").click()
    # Publishing asks first, saying what will happen.
    expect(page.locator("#consequences")).to_contain_text(f"{preliminary['people']}名选手")
    page.get_by_role("button", name="确认发布第1版").click()
    expect(page.get_by_text("已发布").first).to_be_visible()

    # The list waits for the eligibility check of the top 100 (资格审核) ...
    page.get_by_role("button", name="生成晋级名单").click()
    expect(page.get_by_role("alert").filter(has_text="尚未划定资格审核范围")).to_be_visible()
    page.get_by_role("link", name="资格审核").click()
    page.get_by_role("button", name="依据成绩第1版划定前100名").click()
    expect(page.locator("#pool-counts")).to_contain_text("待审核100人")
    # ... one found ineligible with the reason, the next by rank joins, the rest confirmed.
    first_row = page.locator("#pool-members tbody tr").nth(1)
    first_row.get_by_label("资格不符的原因").fill("任班组长不满2年")
    first_row.get_by_role("button", name="资格不符").click()
    expect(page.locator("#pool-counts")).to_contain_text("资格不符1人 · 待审核100人")
    page.get_by_role("button", name=re.compile("确认本页全部待审核选手资格审核通过")).click()
    expect(page.locator("#pool-ready")).to_be_visible()
    page.screenshot(path=str(screenshots / "results-eligibility-pool.png"), full_page=True)
    page.goto(version_url)

    # The advancement list: quota 60, at most 5 per enterprise, then public notice.
    page.get_by_role("button", name="生成晋级名单").click()
    expect(page).to_have_url(re.compile(r"/admin/lists/\d+$"))
    list_id = int(page.url.rsplit("/", 1)[1])
    page.get_by_role("button", name="发布公示").click()
    expect(page.get_by_role("alert").filter(has_text="名单公示至")).to_be_visible()
    page.screenshot(path=str(screenshots / "results-organiser-list.png"), full_page=True)
    sign_out(page)

    # Anyone, signed out: the public notice with names and enterprises, never ID numbers.
    page.goto(f"{base}/notices/{list_id}")
    rows = page.locator("#notice-list tbody tr")
    expect(rows).to_have_count(60)
    expect(page.get_by_text("公示")).not_to_have_count(0)
    text = page.locator("main").inner_text()
    assert not re.search(r"\d{17}[\dXx]", text)  # no ID number, masked or not
    assert "异议" in text  # how to object
    page.screenshot(path=str(screenshots / "results-public-notice.png"), full_page=True)

    # The contestant now sees the published total and rank.
    sign_in(page, base, "contestant", "Contestant2025")
    page.goto(base + "/portal/entries/1")
    expect(page.get_by_text(re.compile(rf"赛道第\d+名（共{preliminary['people']}人）"))).to_be_visible()
    page.screenshot(path=str(screenshots / "results-contestant.png"), full_page=True)
    assert page.console_errors == []
