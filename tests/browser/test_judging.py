"""A judge marks on a tablet (through a lost connection), submits; the chief judge signs off."""
import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

TABLET = {"width": 820, "height": 1180}


@pytest.fixture(scope="module")
def practical(live_app):
    from app.extensions import db
    from app.models import Component
    from app.services import accounts, judging, score_sheets
    from tests.judging_setup import prepare_practical

    with live_app.app_context():
        component_id = prepare_practical(n=3, seed="browser-seed")
        component = db.session.get(Component, component_id)
        # judge1 and judge2 marked on paper and their sheets are in; the test is about judge3-5.
        marks = {"A1": "10", "A2": "14.5", "A3": "3", "B1": "3", "B2": "3", "B3": "9", "C1": "1",
                 "C2": "0"}
        for name in ("judge1", "judge2"):
            judge = accounts.get_by_username(name)
            for place in judging.judge_places(judging.assignment_for(component, judge)):
                sheet = score_sheets.sheet_for(component, judge, place.workstation_number, create=True)
                score_sheets.save(sheet, marks, {}, 0, version=sheet.version, actor=judge)
                score_sheets.submit(sheet, version=sheet.version, actor=judge)
        db.session.commit()
        return component_id


def sign_in(page, base, username, password):
    page.goto(base + "/login")
    expect(page.get_by_label("用户名")).to_be_visible()
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码", exact=True).fill(password)
    page.get_by_role("button", name="登录").click()
    expect(page).not_to_have_url(re.compile(r"/login"))


def sign_out(page):
    page.wait_for_load_state("load")  # Bootstrap's script must be running to unfold the menu
    button = page.get_by_role("button", name="退出登录")
    toggle = page.get_by_role("button", name="展开/收起导航")
    for _attempt in range(5):  # on a tablet the menu is folded away
        if button.is_visible() or not toggle.is_visible():
            break
        toggle.click()
        page.wait_for_timeout(400)  # the menu unfolds with a short animation
    expect(button).to_be_visible()
    button.click()
    expect(page).to_have_url(re.compile(r"/login"))


def mark_sheet(page, overrun="0"):
    page.locator("label[for=v-A1-2]").click()  # all-or-nothing: full marks
    page.get_by_label("分数，0至15").fill("14.5")
    for code in ("A3", "B1", "B2"):
        page.locator(f"label[for=v-{code}-3]").click()
    page.get_by_label("分数，0至10").fill("9")
    page.get_by_role("button", name="加一次").click()  # one deduction occurrence: −2
    page.get_by_label(re.compile("超出60分钟时限")).fill(overrun)


@pytest.mark.parametrize("page", [TABLET], indirect=True)
def test_judge_marks_on_a_tablet_through_a_lost_connection_and_chief_signs_off(
        live_server, live_app, practical, page, screenshots):
    from app.extensions import db
    from app.models import ScoreSheet, SheetStatus

    judges = ["judge3", "judge4", "judge5"]
    for n, judge in enumerate(judges):
        sign_in(page, live_server, judge, "Judge2025")
        expect(page.get_by_role("heading", name="裁判工作台")).to_be_visible()
        links = page.get_by_role("link", name=re.compile("赛位"))
        count = links.count()
        for index in range(count):
            page.get_by_role("link", name=re.compile("赛位")).nth(index).click()
            page.wait_for_load_state("load")
            if n == 0 and index == 0:
                # The venue's Wi-Fi drops while the judge marks.
                page.context.set_offline(True)
                mark_sheet(page)
                expect(page.locator("#connection-warning")).to_be_visible()
                page.screenshot(path=str(screenshots / "sheet-offline.png"), full_page=True)
                page.context.set_offline(False)
                page.evaluate("window.dispatchEvent(new Event('online'))")
                expect(page.locator("#connection-warning")).to_be_hidden(timeout=40_000)
            else:
                mark_sheet(page)
            expect(page.locator("#sheet-total")).to_have_text("96.50")  # 10+14.5+15+20+20+9+8
            expect(page.locator("#save-status")).to_contain_text("已保存")
            page.get_by_role("button", name="提交评分表").click()
            expect(page.get_by_role("alert").filter(has_text="已提交：96.50分")).to_be_visible()
        sign_out(page)

    with live_app.app_context():
        sheets = db.session.scalars(sa.select(ScoreSheet).where(
            ScoreSheet.component_id == practical)).all()
        by_tablet = [s for s in sheets if s.judge.username in judges]
        assert len(by_tablet) == 9 and all(s.status == SheetStatus.SUBMITTED for s in sheets)
        assert {str(s.points) for s in sheets} == {"96.500"}

    sign_in(page, live_server, "chief", "Chief2025")
    page.get_by_role("link", name="审核评分组的评分表").click()
    expect(page.locator("#panel-summary li").first).to_have_text(re.compile(r"未提交的评分表.*0"))
    page.screenshot(path=str(screenshots / "chief-panel.png"), full_page=True)
    page.get_by_role("button", name="签字确认本项目成绩").click()
    expect(page.get_by_role("alert").filter(has_text="已签字确认")).to_be_visible()
    # Only the saves attempted while offline failed; nothing else went wrong on the pages.
    assert all("ERR_INTERNET_DISCONNECTED" in e for e in page.console_errors), page.console_errors
