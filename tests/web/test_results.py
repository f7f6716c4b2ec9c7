"""Results, advancement and public notice as organisers, contestants and the public see them."""
import random
import re
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.models import (
    AdvancementList,
    ComponentScore,
    Entry,
    ResultsVersion,
    Stage,
    StageEntry,
    StageEntryStatus,
    Track,
)
from tests.results_setup import (
    confirmed_post,
    pass_eligibility_on_the_web,
    pass_recheck_on_the_web,
)


@pytest.fixture
def preliminary(app, db_session):
    """The chemical preliminary with everyone's learning points and theory scores stored."""
    from app.extensions import db

    with app.app_context():
        stage = db.session.scalar(sa.select(Stage).join(Track).where(Track.code == "chem",
                                                                     Stage.seq == 1))
        rng = random.Random(11)
        for component in stage.components:
            for place in db.session.scalars(sa.select(StageEntry).where(
                    StageEntry.stage_id == stage.id)):
                db.session.add(ComponentScore(component_id=component.id, stage_entry_id=place.id,
                                              points=Decimal(rng.randint(5000, 10000)) / 100))
        db.session.commit()
        return stage.id


def test_organiser_computes_publishes_and_lists_and_the_public_sees_only_names(
        signed_in, preliminary, db_session, client):
    organiser = signed_in("organiser")
    response = organiser.post(f"/admin/stages/{preliminary}/results", {"reason": "首次计算"})
    assert response.status_code == 302
    version = db_session.scalar(sa.select(ResultsVersion))
    page = organiser.get(response.location).get_data(as_text=True)
    assert "第1版" in page and "草稿" in page and 'id="results-table"' in page

    entry = db_session.get(Entry, 1)
    organiser.logout()
    contestant = signed_in("contestant")
    assert "成绩尚未发布" in contestant.get("/portal/entries/1").get_data(as_text=True)
    contestant.logout()

    organiser = signed_in("organiser")
    pass_recheck_on_the_web(organiser, version.id, db_session)
    confirmed_post(organiser, f"/admin/results/{version.id}/publish")
    refused = organiser.post(f"/admin/results/{version.id}/advancement", follow_redirects=True)
    assert "尚未划定资格审核范围（前100名）" in refused.get_data(as_text=True)
    pass_eligibility_on_the_web(organiser, preliminary, db_session)
    listed = organiser.post(f"/admin/results/{version.id}/advancement")
    assert listed.status_code == 302
    listing = db_session.scalar(sa.select(AdvancementList))
    page = organiser.get(listed.location).get_data(as_text=True)
    assert page.count('class="table-success"') == 60 and "超出单位名额上限" in page
    organiser.post(f"/admin/lists/{listing.id}/notice")
    refused = organiser.post(f"/admin/lists/{listing.id}/finalise", follow_redirects=True)
    assert "公示期至" in refused.get_data(as_text=True)
    organiser.logout()

    public = client.get(f"/notices/{listing.id}").get_data(as_text=True)
    assert "公示" in public and public.count("<tr>") == 61
    ids = db_session.scalars(sa.select(Entry).where(Entry.status == "approved")).all()
    assert not any(e.contestant.id_number in public or e.contestant.masked_id_number in public
                   for e in ids)

    contestant = signed_in("contestant")
    mine = contestant.get("/portal/entries/1").get_data(as_text=True)
    assert re.search(r"赛道第\d+名", mine) and entry.contestant.name in mine


def test_objection_is_recorded_and_an_upheld_ruling_replaces_the_advancer(
        signed_in, preliminary, db_session, client):
    organiser = signed_in("organiser")
    organiser.post(f"/admin/stages/{preliminary}/results", {"reason": "首次计算"})
    version = db_session.scalar(sa.select(ResultsVersion))
    pass_recheck_on_the_web(organiser, version.id, db_session)
    confirmed_post(organiser, f"/admin/results/{version.id}/publish")
    pass_eligibility_on_the_web(organiser, preliminary, db_session)
    organiser.post(f"/admin/results/{version.id}/advancement")
    listing = db_session.scalar(sa.select(AdvancementList))
    organiser.post(f"/admin/lists/{listing.id}/notice")
    target = next(e for e in listing.entries if e.status.value == "advancing")
    missing = organiser.post(f"/admin/lists/{listing.id}/objections", {
        "advancement_entry_id": str(target.id), "filed_by_name": "", "text": ""})
    assert missing.status_code == 422
    assert "请填写异议人。" in missing.get_data(as_text=True)
    organiser.post(f"/admin/lists/{listing.id}/objections", {
        "advancement_entry_id": str(target.id), "filed_by_name": "职工甲", "contact": "139",
        "text": "荣誉材料不实"})
    objection_id = db_session.scalar(sa.text("SELECT max(id) FROM objections"))
    ruled = confirmed_post(organiser, f"/admin/objections/{objection_id}/ruling", {
        "decision": "upheld", "ruling": "经核实，材料不实"}, follow_redirects=True)
    assert "已按名次递补" in ruled.get_data(as_text=True)
    public = client.get(f"/notices/{listing.id}").get_data(as_text=True)
    listed = public.split('id="notice-list"')[1].split("</table>")[0]
    assert listed.count("<tr>") == 61  # still 60 names after the replacement
    amendments = public.split('id="amendments"')[1].split("</ol>")[0]
    assert target.stage_entry.entry.exam_number in amendments and "经核实，材料不实" in amendments


def test_unpublished_lists_are_not_public(client, db_session):
    assert client.get("/notices/1").status_code == 404


def test_results_export_matches_the_published_numbers_cell_by_cell(signed_in, preliminary,
                                                                    db_session):
    import io

    import openpyxl

    from app.services import results as result_service

    # one contestant disqualified, one missing a score: three statuses in the sheet
    places = db_session.scalars(sa.select(StageEntry).where(
        StageEntry.stage_id == preliminary).order_by(StageEntry.id)).all()
    places[0].status, places[0].disqualified_reason = StageEntryStatus.DISQUALIFIED, "冒名顶替"
    db_session.delete(db_session.scalar(sa.select(ComponentScore).where(
        ComponentScore.stage_entry_id == places[1].id).limit(1)))
    db_session.commit()
    organiser = signed_in("organiser")
    organiser.post(f"/admin/stages/{preliminary}/results", {"reason": "首次计算"})
    version = db_session.scalar(sa.select(ResultsVersion))
    response = organiser.get(f"/admin/results/{version.id}/export")
    sheet = openpyxl.load_workbook(io.BytesIO(response.get_data())).active
    response.close()
    assert sheet["A1"].value.endswith("成绩（第1版）")
    headers = [c.value for c in sheet[2]]
    assert headers[:4] == ["名次", "准考证号", "姓名", "单位"]  # no judged component: names shown
    rows = list(sheet.iter_rows(min_row=3, values_only=True))
    with organiser.client.application.app_context():
        from app.extensions import db as app_db

        table = result_service.version_table(app_db.session.get(ResultsVersion, version.id))
    assert len(rows) == len(table)
    first, expected = rows[0], table.iloc[0]
    cent = Decimal("0.01")  # as published: the stage's 2 decimals
    assert first[0] == int(expected["rank"])
    # numbers are stored as numbers, shown at the published decimals
    total = sheet.cell(row=3, column=headers.index("总分") + 1)
    assert total.number_format == "0.00" and isinstance(total.value, float)
    assert Decimal(str(total.value)).quantize(cent) == expected["total"].quantize(cent)
    assert Decimal(str(first[headers.index("线上理论考试百分比")])).quantize(cent) == \
        expected["theory_percent"].quantize(cent)
    # statuses named as on the results pages, never the raw codes
    shown_status = {"ok": "正常", "disqualified": "失格", "incomplete": "不完整"}
    status_column = headers.index("状态")
    assert [r[status_column] for r in rows] == [shown_status[s] for s in table["status"]]
    assert {"正常", "失格", "不完整"} <= {r[status_column] for r in rows}
    page = organiser.get(f"/admin/results/{version.id}?page=2").get_data(as_text=True)
    assert "失格" in page and ">disqualified<" not in page
    # print setup: A4 landscape, fitted to one page wide, the header row on every page
    from tests.xlsx_checks import assert_sheet_layout

    assert_sheet_layout(sheet, orientation="landscape", columns=len(headers))
    # names next to scores: the export is recorded
    from app.models import AuditLog

    record = db_session.scalar(sa.select(AuditLog).where(AuditLog.action == "results.export"))
    assert record.actor_name == "organiser" and record.stage_id == preliminary
