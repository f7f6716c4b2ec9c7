"""An organiser at a tablet copies the demo contest and sets a stage's weights, watching the
total while typing; the strict CSP blocks nothing the configuration pages need."""
import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

TABLET = {"width": 1024, "height": 768}


@pytest.mark.parametrize("page", [TABLET], indirect=True)
def test_organiser_copies_the_demo_and_sets_weights_that_add_up(live_server, page, screenshots):
    page.goto(live_server + "/login")
    page.get_by_label("用户名").fill("organiser")
    page.get_by_label("密码").fill("Organiser2025")
    page.get_by_role("button", name="登录").click()

    page.goto(live_server + "/admin/contests")
    page.get_by_role("link", name="复制 2025年江苏省班组长数字能力大赛").click()
    expect(page.get_by_label("新赛事代码")).to_have_value("jstl-2026")
    # Same year and flagged as a template, so the other browser tests' lists stay as they were.
    page.get_by_label("新赛事代码").fill("browser-template")
    page.get_by_label("新赛事名称").fill("班组长大赛模板（浏览器测试）")
    page.get_by_label("年份").fill("2025")
    page.get_by_label("副本作为模板").check()
    page.get_by_role("button", name="复制").click()
    expect(page.get_by_text("已由 jstl-2025 复制出赛事 browser-template")).to_be_visible()

    page.locator("#tracks").get_by_role("link", name="化工（生物医药）", exact=True).click()
    page.locator("#stages").get_by_role("link", name="进阶考核", exact=True).click()
    page.get_by_role("link", name="考核模块与权重").click()
    total = page.locator("#weight-total")
    expect(total).to_have_text("100%")

    page.get_by_label("权重（%）（第2个模块）").fill("30")
    expect(total).to_have_text("95%")  # updated while typing, before anything is sent
    expect(total).to_have_class("fw-bold text-danger")
    page.get_by_role("button", name="保存考核模块与权重").click()
    expect(page.locator("#weight_total-error")).to_contain_text("权重合计必须为100%，当前为95%")
    page.screenshot(path=str(screenshots / "weights-refused-tablet.png"), full_page=True)

    page.get_by_label("权重（%）（第3个模块）").fill("40")
    expect(total).to_have_text("100%")
    page.get_by_role("button", name="保存考核模块与权重").click()
    expect(page.get_by_text("考核模块与权重已保存")).to_be_visible()
    expect(page.get_by_label("权重（%）（第2个模块）")).to_have_value("30")

    page.get_by_role("link", name="评分标准（8）").click()
    expect(page.get_by_text("已配平。")).to_be_visible()
    page.screenshot(path=str(screenshots / "marking-scheme-tablet.png"), full_page=True)
    assert page.console_errors == []
