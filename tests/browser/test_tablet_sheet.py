"""The judge's sheet on a tablet (issue 12 part 7): on a 1024×768 touch screen and on 768×1024
portrait, the running total and the number of items still to fill stay in view while the judge
scrolls a long sheet, follow every mark as it is entered -- the page's mirror agreeing with
scoring.running_total / score_sheet, the server's truth -- and the submit button says what is
missing."""
import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import CHROMIUM_ARGS, demo_database, serving  # noqa: F401
from tests.browser.test_judging import sign_in

pytestmark = pytest.mark.browser

LANDSCAPE = {"width": 1024, "height": 768}
PORTRAIT = {"width": 768, "height": 1024}
REQUIRED = ("A1", "A2", "A3", "B1", "B2", "B3")


@pytest.fixture(scope="module")
def tablet_server(tmp_path_factory):
    """A server of its own with the advanced stage's practical drawn (3 workstations)."""
    from app import create_app
    from app.extensions import db
    from app.models import Component
    from app.services import marking_schemes
    from tests.judging_setup import prepare_practical

    tmp = tmp_path_factory.mktemp("tablet")
    url = demo_database("test_browser_tablet", tmp)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "x"})
    with app.app_context():
        component_id = prepare_practical(n=3, seed="tablet-seed")
        scheme = marking_schemes.scoring_scheme(db.session.get(Component, component_id))
        db.session.remove()
        db.engine.dispose()
    with serving(url, tmp) as base:
        yield base, app, component_id, scheme
    with app.app_context():
        db.engine.dispose()  # the test's own look at the sheets leaves no connection open


def expected(scheme, marks: dict) -> tuple[str, int]:
    """What the server computes for these marks (scoring/ is the truth) and how many required
    items are still to fill; an empty overrun is no overrun."""
    import scoring as sc

    missing = [code for code in REQUIRED if code not in marks]
    if missing:
        return str(sc.running_total(scheme, marks).points), len(missing)
    limit = scheme.time_overrun.allowed_minutes
    return str(sc.score_sheet(scheme, marks, time_used_seconds=limit * 60).points), 0


def assert_bar_in_view(page, viewport):
    box = page.locator("#sheet-bar").bounding_box()
    assert box is not None and box["y"] >= -1 and box["y"] + box["height"] <= viewport["height"]


@pytest.mark.parametrize("viewport,judge,name", [(LANDSCAPE, "judge3", "landscape"),
                                                 (PORTRAIT, "judge4", "portrait")])
def test_the_total_and_what_is_left_stay_in_view_and_agree_with_scoring_while_marking(
        chromium, tablet_server, screenshots, viewport, judge, name):
    from app.extensions import db
    from app.models import ScoreSheet
    from app.services import score_sheets

    base, app, component_id, scheme = tablet_server
    context = chromium.new_context(locale="zh-CN", viewport=viewport, has_touch=True,
                                   is_mobile=True)
    page = context.new_page()
    try:
        sign_in(page, base, judge, "Judge2025")
        page.get_by_role("link", name=re.compile("赛位")).first.click()
        page.wait_for_load_state("load")
        station = page.locator("h1").inner_text().split()[1]
        total, left = expected(scheme, {})
        expect(page.locator("#sheet-total")).to_have_text(total)
        expect(page.locator("#sheet-unfilled")).to_have_text(str(left))
        expect(page.locator("#submit-button")).to_contain_text(f"还有{left}项未填")
        # The venue's Wi-Fi is off while the first marks go in: only the page's own mirror
        # can move the bar, and it must say what scoring/ says.
        context.set_offline(True)
        marks: dict = {}
        steps = [
            ("A1", Decimal(10), lambda: page.locator("label[for=v-A1-2]").tap()),
            ("A2", Decimal("14.5"), lambda: page.locator("#v-A2").fill("14.5")),
            ("A3", 3, lambda: page.locator("label[for=v-A3-3]").tap()),
            ("B1", 2, lambda: page.locator("label[for=v-B1-2]").tap()),
            ("B2", 3, lambda: page.locator("label[for=v-B2-3]").tap()),
            ("B3", Decimal(9), lambda: page.locator("#v-B3").fill("9")),
            ("C1", 1, lambda: page.get_by_role("button", name="加一次").tap()),
        ]
        for n, (code, value, act) in enumerate(steps):
            if n == 4:
                context.set_offline(False)  # back online: the server's answers come in too
                page.evaluate("window.dispatchEvent(new Event('online'))")
            page.locator(f'.sheet-item[data-item="{code}"]').scroll_into_view_if_needed()
            act()
            marks[code] = value
            total, left = expected(scheme, marks)
            expect(page.locator("#sheet-total")).to_have_text(total)
            expect(page.locator("#sheet-unfilled")).to_have_text(str(left))
            assert_bar_in_view(page, viewport)
            if code == "B1":
                page.screenshot(path=str(screenshots / f"tablet-sheet-{name}-scrolled.png"))
        page.locator("#overrun_minutes").scroll_into_view_if_needed()
        assert page.evaluate("window.scrollY") > 200  # the sheet was really scrolled
        assert_bar_in_view(page, viewport)
        expect(page.locator("#save-status")).to_contain_text("已保存", timeout=40_000)
        expect(page.locator("#sheet-total")).to_have_text(total)  # the server agrees
        expect(page.locator("#submit-button")).not_to_contain_text("未填")
        expect(page.locator("#submit-missing")).to_have_text("所有评分项均已填写。")
        page.screenshot(path=str(screenshots / f"tablet-sheet-{name}-complete.png"))
        stored = None
        for _attempt in range(60):  # the last save may still be on its way
            with app.app_context():
                sheet = db.session.scalars(db.select(ScoreSheet).where(
                    ScoreSheet.component_id == component_id)
                    .join(ScoreSheet.judge).where(db.text("users.username = :u"))
                    .params(u=judge)).one()
                stored = score_sheets.state(sheet, sheet.component)
                saved = len(sheet.marks)
                db.session.remove()
            if stored.complete and saved == len(steps):
                break
            page.wait_for_timeout(250)
        assert stored.complete and str(stored.points) == total
        expect(page.locator("#sheet-total")).to_have_text(total)  # the server's answer agrees
        page.get_by_role("button", name="提交评分表").tap()
        expect(page.get_by_role("alert").filter(has_text=f"赛位{station}已提交：{total}分")
               ).to_be_visible()
    finally:
        context.close()
