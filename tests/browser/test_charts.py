"""Charts drawn in Chromium: the organisers' charts page of a stage, the chief judge's panel and
the contestant's ability chart after publication — each on a canvas, with no console error and
no Content-Security-Policy violation (no inline script or style)."""
import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import demo_database, serving
from tests.browser.test_judging import sign_in, sign_out

pytestmark = pytest.mark.browser

# Collects every CSP violation the page reports (Playwright's init scripts run outside the CSP).
WATCH_CSP = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", function (event) {
  window.cspViolations.push(event.violatedDirective + " " + event.blockedURI);
});
"""


@pytest.fixture(scope="module")
def charts_site(tmp_path_factory):
    """A server with a database of its own (the shared live server's advanced stage belongs to
    the judging test): the advanced stage judged, imported, published, with a draft list."""
    import sqlalchemy as sa

    from app import create_app
    from app.extensions import db
    from app.models import ResultsVersion
    from app.services import accounts, results
    from tests.charts_setup import judged_and_published

    url = demo_database("test_browser_charts", tmp_path_factory.mktemp("charts-db"))
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "x"})
    with app.app_context():
        stage_id = judged_and_published()
        version = db.session.scalar(sa.select(ResultsVersion).where(
            ResultsVersion.stage_id == stage_id))
        results.generate_list(version, actor=accounts.get_by_username("organiser"))
        db.session.commit()
        db.engine.dispose()
    with serving(url, tmp_path_factory.mktemp("charts-live")) as base:
        yield {"base": base, "stage_id": stage_id}


def wait_for_charts(page, count: int) -> None:
    boxes = page.locator("[data-chart]")
    expect(boxes).to_have_count(count)
    for index in range(count):
        box = boxes.nth(index)
        expect(box).to_have_attribute("data-chart-ready", re.compile("drawn|empty"),
                                      timeout=15_000)
        if box.get_attribute("data-chart-ready") == "drawn":
            expect(box.locator("canvas").first).to_be_visible()


def hover_middle(page, selector: str) -> None:
    """Move over a chart so its tooltip is drawn (on the canvas: no HTML, no inline style)."""
    box = page.locator(selector).bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_timeout(300)


def assert_clean(page) -> None:
    assert page.evaluate("window.cspViolations") == []
    assert page.console_errors == [], page.console_errors


def test_organiser_chief_judge_and_contestant_see_their_charts(page, charts_site, screenshots):
    base, stage_id = charts_site["base"], charts_site["stage_id"]
    page.add_init_script(WATCH_CSP)

    sign_in(page, base, "organiser", "Organiser2025")
    page.goto(f"{base}/admin/stages/{stage_id}/results")
    page.get_by_role("link", name="图表", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/admin/stages/{stage_id}/charts$"))
    wait_for_charts(page, 8)  # totals, three components, severity, enterprises, cities, abilities
    assert page.locator("[data-chart-ready=drawn]").count() == 8
    expect(page.locator("#chart-abilities canvas").first).to_be_visible()
    expect(page.locator("details.chart-table summary").first).to_have_text("数据表")
    page.locator("#chart-abilities + details summary").click()
    expect(page.locator("#chart-abilities + details table")).to_contain_text("职业素养")
    hover_middle(page, "#chart-totals")
    page.screenshot(path=str(screenshots / "charts-organiser.png"), full_page=True)
    assert_clean(page)
    sign_out(page)

    sign_in(page, base, "chief", "Chief2025")
    page.get_by_role("link", name="审核评分组的评分表").click()
    wait_for_charts(page, 2)
    hover_middle(page, "#chart-severity")
    page.locator("#chart-distribution").scroll_into_view_if_needed()
    page.screenshot(path=str(screenshots / "charts-chief-panel.png"), full_page=True)
    assert_clean(page)
    sign_out(page)

    sign_in(page, base, "contestant", "Contestant2025")
    page.goto(f"{base}/portal/entries/1")
    radar = page.locator(f"#abilities-{stage_id}")
    expect(radar).to_have_attribute("data-chart-ready", "drawn", timeout=15_000)
    expect(radar.locator("canvas").first).to_be_visible()
    page.locator(f"#abilities-{stage_id} + details summary").click()
    table = page.locator(f"#abilities-{stage_id} + details table")
    expect(table).to_contain_text("赛道平均")
    expect(table.locator("tr", has_text="沟通协调")).to_contain_text("66.65%")
    hover_middle(page, f"#abilities-{stage_id}")
    radar.scroll_into_view_if_needed()
    page.screenshot(path=str(screenshots / "charts-contestant-abilities.png"), full_page=True)
    assert_clean(page)
