"""The judges' tablet and the chief judge's panel as they read them (issue 12 part 7): the
panel's counters and what sign-off waits for, the sheet's bar of what is still to fill, an
empty time overrun, the correction forms' marks and descriptors, and a bounded number of
queries on the panel and the organisers' judging overview."""
import re

import pytest
import sqlalchemy as sa

from app.models import ScoreSheet
from tests.judging_setup import prepare_practical
from tests.web.test_judging import FULL, autosave, stations
from tests.web.test_publication_queries import counted


@pytest.fixture
def practical(app, db_session):
    with app.app_context():
        return prepare_practical()


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _counters(page: str) -> dict[str, int]:
    return {name: int(value) for name, value in
            re.findall(r'data-counter="(\w+)">(\d+)<', page)}


def test_the_panel_counts_unstarted_sheets_and_shows_what_sign_off_waits_for(
        signed_in, practical, db_session):
    chief = signed_in("chief")
    page = chief.get(f"/judge/components/{practical}/panel").get_data(as_text=True)
    # 8 workstations; judge1 never marks the contestant of judge1's own enterprise
    assert _counters(page) == {"not_started": 39, "in_progress": 0, "submitted": 0,
                               "returned": 0, "signed_off": 0}
    assert "未提交的评分表: <strong>39</strong>" in page.replace("：", ": ")
    waits = _text(page.split('id="sign-off-waits"')[1].split("</div>")[0])
    assert "还有39份评分表未提交" in waits and "钱裁判：赛位" in waits and "尚未开始评分" in waits
    refused = chief.post(f"/judge/components/{practical}/sign-off")
    follow = chief.get(f"/judge/components/{practical}/panel").get_data(as_text=True)
    assert refused.status_code in (302, 409)
    assert "还有39份评分表未提交" in follow  # the same words as the panel, flashed
    assert _counters(follow)["not_started"] == 39


def test_an_empty_overrun_saves_and_submits_as_no_overrun(signed_in, practical, db_session):
    judge = signed_in("judge3")
    station = stations(db_session, practical)[1]
    answer = autosave(judge, practical, station, FULL, 0, overrun="")
    body = answer.get_json()
    assert answer.status_code == 200 and body["complete"] and body["problems"] == {}
    assert body["points"] == "100.00"
    page = judge.get(f"/judge/components/{practical}/sheets/{station}").get_data(as_text=True)
    assert 'id="sheet-unfilled" aria-live="polite">0<' in page and "所有评分项均已填写" in page
    submitted = judge.post(f"/judge/components/{practical}/sheets/{station}/submit",
                           {"version": str(body["version"])})
    assert submitted.status_code == 302
    assert "已提交：100.00分" in judge.get("/judge/").get_data(as_text=True)


def test_the_sheet_bar_and_the_refused_submit_name_the_missing_items_in_chinese(
        signed_in, practical, db_session):
    judge = signed_in("judge3")
    station = stations(db_session, practical)[1]
    version = autosave(judge, practical, station, {"A1": "10", "A3": "2"}, 0).get_json()["version"]
    page = judge.get(f"/judge/components/{practical}/sheets/{station}").get_data(as_text=True)
    bar = _text(page.split('id="sheet-bar"')[1].split('<script')[0])
    assert "未填项 4" in bar and "A2 " in bar and "overrun" not in bar
    assert "（还有4项未填）" in page
    refused = judge.post(f"/judge/components/{practical}/sheets/{station}/submit",
                         {"version": str(version)})
    assert refused.status_code == 302
    shown = judge.get(f"/judge/components/{practical}/sheets/{station}").get_data(as_text=True)
    flashed = _text(shown.split("评分表未完成")[1].split("</div>")[0])
    assert "A2 " in flashed and "B3 " in flashed and "尚未评分" in flashed
    assert "overrun_minutes" not in shown.split('<script type="application/json"')[0]


def test_the_correction_form_shows_marks_as_entered_with_the_judgement_descriptors(
        signed_in, practical, db_session):
    judge = signed_in("judge3")
    station = stations(db_session, practical)[1]
    autosave(judge, practical, station, {**FULL, "A2": "14.5"}, 0)
    judge.logout()
    sheet = db_session.scalar(sa.select(ScoreSheet).where(ScoreSheet.component_id == practical))
    page = signed_in("chief").get(
        f"/judge/components/{practical}/panel/sheets/{sheet.id}").get_data(as_text=True)
    assert "E+" not in page
    assert 'name="value-A1"' in page and re.search(r'name="value-A1"\s+value="10\.00"', page)
    assert re.search(r'name="value-A2"\s+value="14\.50"', page)
    assert re.search(r'name="value-A3"\s+value="3"', page)  # a grade, not 3.000
    assert re.search(r'name="value-C1"\s+value="0"', page)  # occurrences
    assert "3：完全规范、熟练" in page and "0：程序错误" in page  # A3's descriptors


@pytest.mark.parametrize("n", [3, 8])
def test_the_panel_and_the_judging_overview_take_a_bounded_number_of_queries(
        app, signed_in, db_session, n):
    with app.app_context():
        component = prepare_practical(n=n)
    chief = signed_in("chief")
    url = f"/judge/components/{component}/panel"
    chief.get(url)  # warm
    with counted(app) as statements:
        assert chief.get(url).status_code == 200
    assert len(statements) <= 14, len(statements)
    chief.logout()
    organiser = signed_in("organiser")
    organiser.get("/admin/judging")
    with counted(app) as statements:
        page = organiser.get("/admin/judging").get_data(as_text=True)
    assert "未开始" in page
    assert len(statements) <= 12, len(statements)


def test_after_sign_off_the_counters_say_signed_off_and_the_correction_page_shows_marks_as_entered(
        app, signed_in, db_session):
    from app.models import StageEntry
    from tests.corrections_setup import signed_off_stage

    with app.app_context():
        ids = signed_off_stage()
    chief = signed_in("chief")
    panel = chief.get(f"/judge/components/{ids['practical']}/panel").get_data(as_text=True)
    assert _counters(panel) == {"not_started": 0, "in_progress": 0, "submitted": 0,
                                "returned": 0, "signed_off": 39}
    station = db_session.get(StageEntry, ids["places"][0]).workstation_number
    page = chief.get(f"/judge/components/{ids['practical']}/corrections/{station}").get_data(
        as_text=True)
    sheets = db_session.scalars(sa.select(ScoreSheet).where(
        ScoreSheet.component_id == ids["practical"],
        ScoreSheet.stage_entry_id == ids["places"][0])).all()
    assert sheets and "E+" not in page
    for sheet in sheets:
        assert re.search(rf'name="value-{sheet.id}-A1" value="10\.00"', page)  # measurement
        assert re.search(rf'name="value-{sheet.id}-B3" value="10\.00"', page)
        assert re.search(rf'name="value-{sheet.id}-A3" value="3"', page)  # a grade
        assert re.search(rf'name="value-{sheet.id}-C1" value="0"', page)  # occurrences
    assert page.count("3：完全规范、熟练") == len(sheets)  # B1's descriptors on every sheet
