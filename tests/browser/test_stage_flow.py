"""A correction after the list went on notice, through the console: the organiser publishes
the corrected version (asked first), sees the list flagged, cannot finalise it, withdraws it
with a reason (asked first), draws up a new list from the corrected version and puts it on
notice; an objection is upheld there (asked first, naming who takes the place). Anyone then
reads on the public pages when and why the first list was withdrawn and the new list's dated
amendments."""
import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import demo_database, serving
from tests.browser.test_judging import sign_in, sign_out

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def flow_server(tmp_path_factory):
    """A server of its own (the other browser tests put the preliminary's list on notice in
    theirs): the preliminary scored, version 1 published with the first contestant first on
    98.24, its list on notice since 8 days, then that contestant's theory corrected (total
    92.24) and version 2 computed and re-checked, not yet published."""
    from app import create_app
    from app.extensions import db
    from app.models import Stage
    from app.services import accounts, results
    from tests.results_setup import (
        correct_theory_to_88_24,
        make_top_scorer_98_24,
        pass_recheck,
        recheck_and_publish,
        score_preliminary,
    )

    tmp = tmp_path_factory.mktemp("flow")
    url = demo_database("test_browser_flow", tmp)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "x"})
    with app.app_context():
        organiser = accounts.get_by_username("organiser")
        stage_id, _people = score_preliminary(seed=9)
        stage = db.session.get(Stage, stage_id)
        place = make_top_scorer_98_24(stage)
        first = recheck_and_publish(results.create_version(stage, actor=organiser), organiser)
        listing = results.generate_list(first, actor=organiser)
        results.start_notice(listing, actor=organiser)
        listing.notice_starts_at -= timedelta(days=8)
        listing.notice_ends_at -= timedelta(days=8)
        correct_theory_to_88_24(place)
        second = results.create_version(stage, actor=organiser, reason="理论成绩更正")
        pass_recheck(second, organiser)
        db.session.commit()
        ids = {"stage": stage_id, "list": listing.id, "second": second.id,
               "exam_number": place.entry.exam_number, "name": place.entry.contestant.name}
        db.session.remove()
        db.engine.dispose()  # no connection left open for the server's run
    with serving(url, tmp) as base:
        yield base, ids


def test_withdraw_regenerate_and_the_public_notice_shows_the_withdrawal_and_amendments(
        page, flow_server, screenshots):
    base, ids = flow_server
    sign_in(page, base, "organiser", "Organiser2025")

    # Publishing the corrected version asks first and says the list on notice will be flagged.
    page.goto(f"{base}/admin/results/{ids['second']}")
    page.get_by_role("button", name="发布此版本").click()
    expect(page.locator("#consequences")).to_contain_text("将被标记为“成绩已更正”")
    page.screenshot(path=str(screenshots / "flow-1-confirm-publish.png"), full_page=True)
    page.get_by_role("button", name="确认发布第2版").click()
    expect(page.get_by_text("已发布").first).to_be_visible()

    # The list is flagged and cannot be finalised until the organiser decides.
    page.goto(f"{base}/admin/lists/{ids['list']}")
    expect(page.locator("#superseded")).to_contain_text("其后已发布第2版")
    page.get_by_role("button", name="名单定稿").click()
    expect(page.get_by_role("alert").filter(has_text="请撤回名单并重新生成")).to_be_visible()
    page.screenshot(path=str(screenshots / "flow-2-superseded-list.png"), full_page=True)

    # The stage page names the step, the next one and what blocks it.
    page.goto(f"{base}/admin/stages/{ids['stage']}")
    expect(page.locator("#stage-now")).to_contain_text("当前：公示中")
    expect(page.locator("#stage-blockers")).to_contain_text("第2版")
    page.screenshot(path=str(screenshots / "flow-3-stage-steps.png"), full_page=True)

    # Withdraw, with the reason, confirmed.
    page.goto(f"{base}/admin/lists/{ids['list']}")
    reason = "第1名选手理论成绩更正，名单依第2版重新生成"
    page.get_by_label("撤回名单的原因（公示页显示）").fill(reason)
    page.get_by_role("button", name="撤回名单").click()
    expect(page.locator("#consequences")).to_contain_text("60人")
    page.screenshot(path=str(screenshots / "flow-4-confirm-withdraw.png"), full_page=True)
    page.get_by_role("button", name="确认撤回名单").click()
    expect(page.locator("#withdrawn")).to_contain_text(reason)

    # A new list from version 2, on notice.
    page.get_by_role("button", name="依据第2版重新生成名单").click()
    expect(page).to_have_url(re.compile(r"/admin/lists/\d+$"))
    new_id = int(page.url.rsplit("/", 1)[1])
    assert new_id != ids["list"]
    page.get_by_role("button", name="发布公示").click()
    expect(page.get_by_role("alert").filter(has_text="名单公示至")).to_be_visible()

    # An objection upheld on the new list: asked first, naming who takes the place.
    first_advancer = page.locator("#o-target option").first
    removed_label = first_advancer.inner_text()
    page.get_by_label("异议人").fill("职工丙")
    page.get_by_label("异议内容").fill("班组长年限不实")
    page.get_by_role("button", name="登记", exact=True).click()
    page.get_by_label("处理理由").first.fill("经核实，担任班组长不满2年")
    page.get_by_role("button", name="登记处理结果").first.click()
    expect(page.locator("#consequences")).to_contain_text("递补给")
    page.screenshot(path=str(screenshots / "flow-5-confirm-ruling.png"), full_page=True)
    page.get_by_role("button", name=re.compile("确认异议成立")).click()
    expect(page.get_by_role("alert").filter(has_text="递补")).to_be_visible()
    sign_out(page)

    # Anyone: the withdrawn list says when and why, and points to the new one ...
    page.goto(f"{base}/notices/{ids['list']}")
    expect(page.locator("#withdrawn")).to_contain_text("（北京时间）撤回")
    expect(page.locator("#withdrawn")).to_contain_text(reason)
    page.screenshot(path=str(screenshots / "flow-6-public-withdrawn.png"), full_page=True)
    page.get_by_role("link", name="取代本名单的新名单").click()
    # ... whose amendments say it replaces the withdrawn list, and who was replaced by whom.
    amendments = page.locator("#amendments li")
    expect(amendments).to_have_count(2)
    expect(amendments.nth(0)).to_contain_text("本名单取代")
    expect(amendments.nth(0)).to_contain_text(reason)
    expect(amendments.nth(1)).to_contain_text(removed_label.split()[0])
    expect(amendments.nth(1)).to_contain_text("经核实，担任班组长不满2年")
    expect(page.locator("#notice-list tbody tr")).to_have_count(60)
    expect(page.locator("#notice-list")).to_contain_text("递补")
    page.screenshot(path=str(screenshots / "flow-7-public-amendments.png"), full_page=True)
    assert page.console_errors == []
