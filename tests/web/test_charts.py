"""Charts and exports on the web: who gets which data (the same roles as the pages), the numbers
as computed by hand, nothing for a contestant before publication or of anybody else, and the
charting library served by the app itself."""
import hashlib
import io
import re
from pathlib import Path

import openpyxl
import pytest
import sqlalchemy as sa

from app.models import AuditLog, Component, Entry, ResultsVersion, Role, StageEntry
from tests.charts_setup import EXPECTED_AVERAGE, EXPECTED_MINE, judged_and_published

ROOT = Path(__file__).resolve().parents[2]
VENDOR = ROOT / "app" / "static" / "vendor" / "echarts"


@pytest.fixture
def published_stage(app, db_session) -> int:
    from app.extensions import db

    with app.app_context():
        stage_id = judged_and_published()
        db.session.commit()
    return stage_id


@pytest.fixture
def draft_stage(app, db_session) -> int:
    with app.app_context():
        return judged_and_published(publish=False)


def practical_id(session, stage_id: int) -> int:
    return session.scalar(sa.select(Component.id).where(Component.stage_id == stage_id,
                                                        Component.code == "practical"))


def data(spec: dict, series: int = 0) -> dict:
    return dict(zip(spec["categories"], spec["series"][series]["data"], strict=True))


def test_echarts_is_served_by_the_app_and_matches_its_recorded_checksum(client):
    readme = (VENDOR / "README.md").read_text()
    recorded = re.search(r"sha256 of `echarts.min.js` \| `([0-9a-f]{64})`", readme).group(1)
    assert hashlib.sha256((VENDOR / "echarts.min.js").read_bytes()).hexdigest() == recorded
    assert "| version | 6." in readme and (VENDOR / "LICENSE").exists()
    response = client.get("/static/vendor/echarts/echarts.min.js")
    assert response.status_code == 200 and len(response.get_data()) > 500_000
    response.close()


def test_organiser_charts_page_draws_every_chart_from_its_json(signed_in, published_stage,
                                                               db_session):
    organiser = signed_in("organiser")
    results_page = organiser.get(f"/admin/stages/{published_stage}/results").get_data(as_text=True)
    assert f'href="/admin/stages/{published_stage}/charts"' in results_page
    assert f'href="/admin/stages/{published_stage}/audit.xlsx"' in results_page
    page = organiser.get(f"/admin/stages/{published_stage}/charts").get_data(as_text=True)
    sources = re.findall(r'data-chart-src="([^"]+)"', page)
    practical = practical_id(db_session, published_stage)
    assert f"/judge/components/{practical}/charts/severity.json" in sources
    assert len(sources) == 1 + 3 + 1 + 3  # totals, each component, severity, 3 stage charts
    assert "/static/vendor/echarts/echarts.min.js" in page and "<script>" not in page
    for source in sources:
        response = organiser.get(source)
        assert response.status_code == 200 and response.is_json, source
    abilities = organiser.get(f"/admin/stages/{published_stage}/charts/abilities.json").json
    assert data(abilities) == EXPECTED_AVERAGE and abilities["type"] == "radar"
    totals = organiser.get(f"/admin/stages/{published_stage}/charts/distribution.json").json
    assert data(totals)["70–80"] == 1 and data(totals)["90–100"] == 2  # 71.70; 90.00 twice
    cities = organiser.get(f"/admin/stages/{published_stage}/charts/cities.json").json
    assert sum(cities["series"][0]["data"]) == 3
    unknown = organiser.get(f"/admin/stages/{published_stage}/charts/names.json",
                            headers={"Accept": "application/json"})
    assert unknown.status_code == 404 and unknown.json["error"]["code"] == "not_found"
    body = " ".join(organiser.get(s).get_data(as_text=True) for s in sources)
    for entry in db_session.scalars(sa.select(Entry).join(StageEntry).where(
            StageEntry.stage_id == published_stage)):
        assert entry.contestant.name not in body  # no chart names a contestant


def test_chief_judge_sees_charts_of_their_own_component_only(signed_in, published_stage,
                                                             db_session, app):
    practical = practical_id(db_session, published_stage)
    chief = signed_in("chief")
    panel = chief.get(f"/judge/components/{practical}/panel").get_data(as_text=True)
    assert f"/judge/components/{practical}/charts/severity.json" in panel
    assert f"/judge/components/{practical}/judge-sheets.xlsx" in panel
    # the panel's severity table shows each judge's consistency too (was left blank)
    assert panel.count("<td>0.00</td><td>0.00</td>") == 5
    points = chief.get(f"/judge/components/{practical}/charts/distribution.json").json
    assert data(points)["60–70"] == 1 and data(points)["90–100"] == 2
    severity = chief.get(f"/judge/components/{practical}/charts/severity.json").json
    assert len(severity["categories"]) == 5  # every judge agreed: severity 0.00 each
    assert set(severity["series"][0]["data"]) == {"0.00"}
    theory = db_session.scalar(sa.select(Component.id).where(
        Component.stage_id == published_stage, Component.code == "theory"))
    assert chief.get(f"/judge/components/{theory}/charts/distribution.json").status_code == 404
    chief.logout()
    with app.app_context():  # a chief judge who does not chair this panel
        from app.extensions import db
        from app.services import accounts

        accounts.create_user("chief2", "另一裁判长", Role.CHIEF_JUDGE, "Chief2025x")
        db.session.commit()
    from tests.conftest import Visitor

    stranger = Visitor(chief.client)  # chief2 is not a demo account: sign in by hand
    stranger.login("chief2", "Chief2025x")
    for url in (f"/judge/components/{practical}/charts/distribution.json",
                f"/judge/components/{practical}/charts/severity.json",
                f"/judge/components/{practical}/judge-sheets.xlsx"):
        response = stranger.get(url)
        assert response.status_code == 403, url
        response.close()


def test_judge_sheets_download_is_audited_once_names_are_revealed(signed_in, published_stage,
                                                                  db_session):
    practical = practical_id(db_session, published_stage)
    response = signed_in("chief").get(f"/judge/components/{practical}/judge-sheets.xlsx")
    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(response.get_data()))
    response.close()
    assert len(book.worksheets) == 5 and book.active["B2"].value == "准考证号"
    record = db_session.scalar(sa.select(AuditLog).where(
        AuditLog.action == "component.export_judge_sheets"))
    assert record.actor_name == "chief" and record.stage_id == published_stage


def test_contestant_gets_their_ability_chart_only_once_published(signed_in, draft_stage, app,
                                                                 db_session):
    url = f"/portal/entries/1/stages/{draft_stage}/abilities.json"
    contestant = signed_in("contestant")
    assert contestant.get(url).status_code == 404  # a draft version only: nothing
    page = contestant.get("/portal/entries/1").get_data(as_text=True)
    assert "abilities.json" not in page and "echarts" not in page
    contestant.logout()
    with app.app_context():
        from app.extensions import db
        from app.services import accounts
        from tests.results_setup import recheck_and_publish

        version = db.session.scalar(sa.select(ResultsVersion).where(
            ResultsVersion.stage_id == draft_stage))
        recheck_and_publish(version, accounts.get_by_username("organiser"))
        db.session.commit()
    contestant = signed_in("contestant")
    page = contestant.get("/portal/entries/1").get_data(as_text=True)
    assert f'data-chart-src="{url}"' in page
    assert "理论考试（30%）" in page  # the weight as a person writes it, not 3E+1
    assert "/static/vendor/echarts/echarts.min.js" in page
    profile = contestant.get(url).json
    assert data(profile, 0) == EXPECTED_MINE and data(profile, 1) == EXPECTED_AVERAGE
    other = db_session.scalar(sa.select(StageEntry.entry_id).where(
        StageEntry.stage_id == draft_stage, StageEntry.entry_id != 1).limit(1))
    assert contestant.get(f"/portal/entries/{other}/stages/{draft_stage}/abilities.json"
                          ).status_code == 404  # nobody else's
    contestant.logout()
    contact = signed_in("contact")  # sees the entry's page, but the ability chart is the
    assert contact.get(url).status_code == 403  # contestant's own
    assert "abilities.json" not in contact.get("/portal/entries/1").get_data(as_text=True)


def test_advancement_list_and_stage_audit_log_downloads(signed_in, published_stage,
                                                        db_session):
    organiser = signed_in("organiser")
    version = db_session.scalar(sa.select(ResultsVersion).where(
        ResultsVersion.stage_id == published_stage))
    listed = organiser.post(f"/admin/results/{version.id}/advancement")
    page = organiser.get(listed.location).get_data(as_text=True)
    list_id = int(listed.location.rsplit("/", 1)[1])
    assert f'href="/admin/lists/{list_id}/export"' in page
    response = organiser.get(f"/admin/lists/{list_id}/export")
    assert response.status_code == 200
    from urllib.parse import quote
    disposition = response.headers["Content-Disposition"]
    assert f'filename="advancement-list-{list_id}.xlsx"' in disposition  # the ASCII fallback
    assert "filename*=UTF-8''" in disposition and quote("进阶考核晋级名单.xlsx") in disposition
    sheet = openpyxl.load_workbook(io.BytesIO(response.get_data())).active
    response.close()
    assert sheet["A1"].value.endswith("进阶考核 晋级名单（草稿）")
    rows = list(sheet.iter_rows(min_row=3, max_row=5, values_only=True))
    # two contestants tie at 90.00 on every tie-break (rank 1, 1); the demo contestant 71.70
    assert [r[0] for r in rows] == [1, 2, 3] and [r[6] for r in rows] == [1, 1, 3]
    assert rows[2][1] == db_session.get(Entry, 1).contestant.name and rows[2][5] == 71.7
    response = organiser.get(f"/admin/stages/{published_stage}/audit.xlsx")
    audit = openpyxl.load_workbook(io.BytesIO(response.get_data())).active
    response.close()
    actions = [r[3] for r in audit.iter_rows(min_row=3, values_only=True)]
    assert {"裁判长签字确认", "发布成绩", "生成晋级名单", "导出晋级名单",
            "导出审计日志"} <= set(actions)  # actions by their Chinese names
    assert db_session.scalar(sa.select(sa.func.count()).select_from(AuditLog).where(
        AuditLog.action.in_(["list.export", "audit.export"]))) == 2
