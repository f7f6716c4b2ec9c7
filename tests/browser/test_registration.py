"""A contestant registers, the organiser approves, the contestant prints the admission ticket."""
import re
from datetime import date

import pytest
from playwright.sync_api import expect

from tests.conftest import valid_id_number

pytestmark = pytest.mark.browser


def sign_in(page, base, username, password):
    page.goto(base + "/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码", exact=True).fill(password)
    page.get_by_role("button", name="登录").click()


def test_contestant_registers_organiser_approves_contestant_prints_ticket(
        live_server, page, screenshots):
    # The contestant creates an account and fills in the entry form.
    page.goto(live_server + "/login")
    page.get_by_role("link", name="注册账号").click()
    page.get_by_label("用户名").fill("liu7")
    page.get_by_label("您的姓名").fill("刘七")
    page.get_by_label("手机号码").fill("13900000007")
    page.get_by_label("密码", exact=True).fill("Liu7pass1")
    page.get_by_label("再次输入密码").fill("Liu7pass1")
    page.get_by_role("button", name="注册账号").click()
    expect(page.get_by_role("heading", name="报名表")).to_be_visible()
    page.get_by_label("赛道").select_option(label="2025年江苏省班组长数字能力大赛 · 机械")
    page.get_by_label("姓名").fill("刘七")
    page.get_by_label("性别").select_option("男")
    page.get_by_label("身份证号").fill(valid_id_number(date(1984, 4, 4), seq=9))
    page.get_by_label("单位", exact=True).fill("徐工集团工程机械股份有限公司")
    page.get_by_label("设区市").select_option("徐州市")
    page.get_by_label("岗位", exact=True).fill("结构件车间焊接班班长")
    page.get_by_label("担任班组长年限").fill("5")
    page.get_by_role("button", name="提交报名").click()
    expect(page.locator("#entry-status")).to_contain_text("已提交")
    page.get_by_role("button", name="退出登录").click()

    # The organiser finds the entry, endorses it for the union and approves it.
    sign_in(page, live_server, "organiser", "Organiser2025")
    page.get_by_role("link", name="报名管理").click()
    page.get_by_label("姓名、准考证号或身份证号").fill("刘七")
    page.get_by_role("button", name="筛选").click()
    page.get_by_role("link", name="刘七").click()
    page.get_by_label("操作").select_option("endorse")
    page.get_by_role("button", name="执行").click()
    expect(page.locator("#entry-details")).to_contain_text("单位已推荐")
    page.get_by_label("操作").select_option("approve")
    page.get_by_role("button", name="执行").click()
    expect(page.locator("#entry-details")).to_contain_text("已审核通过")
    exam_number = page.locator("#entry-details dd").nth(1).inner_text().strip()
    assert re.fullmatch(r"202503\d{4}", exam_number)
    page.get_by_role("button", name="退出登录").click()

    # The contestant sees the approval and opens the admission ticket.
    sign_in(page, live_server, "liu7", "Liu7pass1")
    expect(page.locator("#entries")).to_contain_text("已审核通过")
    page.get_by_role("link", name="准考证").click()
    expect(page.locator("#ticket-exam-number")).to_have_text(exam_number)
    expect(page.get_by_role("img", name=re.compile(exam_number))).to_be_visible()
    page.screenshot(path=str(screenshots / "admission-ticket.png"), full_page=True)
    page.emulate_media(media="print")
    expect(page.get_by_role("button", name="打印")).to_be_hidden()
    pdf = page.pdf(format="A4", print_background=True)
    (screenshots / "admission-ticket.pdf").write_bytes(pdf)
    assert len(re.findall(rb"/Type\s*/Page\b", pdf)) == 1  # one A4 page
    assert page.console_errors == []
