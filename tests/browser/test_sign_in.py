"""A person at a browser: the organiser signs in, sees the tracks in Chinese, switches to English."""
import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

TRACKS = ["化工（生物医药）", "钢铁", "机械", "轻纺", "新能源", "建筑", "电力"]


def test_organiser_signs_in_sees_seven_tracks_in_chinese_and_switches_to_english(
        live_server, page, screenshots):
    page.goto(live_server + "/login")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    page.get_by_label("用户名").fill("organiser")
    page.get_by_label("密码").fill("Organiser2025")
    page.get_by_role("button", name="登录").click()

    expect(page.get_by_role("heading", name="工作台")).to_be_visible()
    table = page.locator("#entries-by-status")
    for track in TRACKS:
        expect(table.get_by_role("rowheader", name=track)).to_be_visible()
    expect(table.get_by_role("columnheader", name="已审核通过")).to_be_visible()
    page.screenshot(path=str(screenshots / "dashboard-zh.png"), full_page=True)

    page.get_by_role("link", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    expect(table.get_by_role("columnheader", name="Approved")).to_be_visible()
    expect(page.get_by_role("link", name="Accounts")).to_be_visible()
    page.screenshot(path=str(screenshots / "dashboard-en.png"), full_page=True)
    assert (screenshots / "dashboard-en.png").stat().st_size > 10_000

    # The strict Content-Security-Policy blocked nothing the pages need.
    assert page.console_errors == []


def test_wrong_password_shows_the_error_at_the_field(live_server, page):
    page.goto(live_server + "/login")
    page.get_by_label("用户名").fill("organiser")
    page.get_by_label("密码").fill("not-the-password")
    page.get_by_role("button", name="登录").click()
    expect(page.locator("#password-error")).to_have_text("用户名或密码错误。")
    expect(page.get_by_label("密码")).to_have_attribute("aria-invalid", "true")


def test_judge_sees_the_judging_workspace_and_no_organiser_pages(live_server, page):
    page.goto(live_server + "/login")
    page.get_by_label("用户名").fill("judge1")
    page.get_by_label("密码").fill("Judge2025")
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("heading", name="裁判工作台")).to_be_visible()
    expect(page.get_by_role("heading", name=re.compile("实操考试（特殊作业）"))).to_be_visible()
    expect(page.get_by_role("link", name="账号管理")).to_have_count(0)
    response = page.goto(live_server + "/admin/users")
    assert response.status == 403
    expect(page.get_by_text("您没有查看此页面的权限。")).to_be_visible()
