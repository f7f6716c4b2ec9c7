"""Judging as judges, chief judges and organisers see it in their browsers."""
import pytest
import sqlalchemy as sa

from app.models import ScoreSheet, SheetStatus, StageEntry
from tests.judging_setup import prepare_practical
from tests.results_setup import confirmed_post

FULL = {"A1": "10", "A2": "15", "A3": "3", "B1": "3", "B2": "3", "B3": "10", "C1": "0", "C2": "0"}


@pytest.fixture
def practical(app, db_session):
    with app.app_context():
        return prepare_practical()



def _reasons(answer) -> dict[str, str]:
    """An autosave's refusal as {field: reason} (its error.details)."""
    return {d["field"]: d["reason"] for d in answer.get_json()["error"]["details"]}

def stations(db_session, practical):
    from app.models import Component

    component = db_session.get(Component, practical)
    return sorted(db_session.scalars(sa.select(StageEntry.workstation_number).where(
        StageEntry.stage_id == component.stage_id)))


def autosave(visitor, practical, station, values, version, overrun=0):
    return visitor.client.post(
        f"/judge/components/{practical}/sheets/{station}/save",
        json={"version": version, "values": values, "reasons": {}, "overrun_minutes": overrun},
        headers={"X-CSRFToken": visitor.csrf_token()})


def test_workspace_lists_the_judges_workstations_without_names(signed_in, practical, db_session):
    page = signed_in("judge3").get("/judge/").get_data(as_text=True)
    for station in stations(db_session, practical):
        assert f"/judge/components/{practical}/sheets/{station}" in page
    names = db_session.scalars(sa.select(StageEntry).where(
        StageEntry.workstation_number.is_not(None))).all()
    assert not any(p.entry.contestant.name in page for p in names)


def test_sheet_page_shows_items_and_descriptors_but_no_name_or_exam_number(
        signed_in, practical, db_session):
    station = stations(db_session, practical)[0]
    place = db_session.scalar(sa.select(StageEntry).where(StageEntry.workstation_number == station))
    page = signed_in("judge3").get(f"/judge/components/{practical}/sheets/{station}").get_data(
        as_text=True)
    assert "受限空间进入程序" in page and "完全规范、熟练" in page  # item and its 0-3 descriptor
    assert place.entry.contestant.name not in page and place.entry.exam_number not in page


def test_autosave_answers_points_then_refuses_a_stale_version(signed_in, practical, db_session):
    visitor = signed_in("judge3")
    station = stations(db_session, practical)[0]
    first = autosave(visitor, practical, station, {"A1": "10", "A3": "2"}, 0)
    assert first.status_code == 200
    body = first.get_json()
    assert body["points"] == "30.00" and body["complete"] is False  # 10 + 10 + C1 untouched 10
    stale = autosave(visitor, practical, station, {"A1": "0"}, 0)
    assert stale.status_code == 409
    assert "已在别处被修改" in stale.get_json()["error"]["message"]
    sheet = db_session.scalar(sa.select(ScoreSheet).where(ScoreSheet.component_id == practical))
    assert {m.item.code: str(m.value) for m in sheet.marks}["A1"] == "10.000"


def test_autosave_refuses_a_mark_out_of_range_and_names_the_item(signed_in, practical, db_session):
    visitor = signed_in("judge3")
    station = stations(db_session, practical)[0]
    answer = autosave(visitor, practical, station, {"A2": "16"}, 0)
    assert answer.status_code == 422
    assert "0至15" in _reasons(answer)["A2"]


def test_autosave_with_a_malformed_body_is_a_400(signed_in, practical, db_session):
    visitor = signed_in("judge3")
    station = stations(db_session, practical)[0]
    answer = visitor.client.post(f"/judge/components/{practical}/sheets/{station}/save",
                                 data="nope", content_type="application/json",
                                 headers={"X-CSRFToken": visitor.csrf_token()})
    assert answer.status_code == 400


def test_autosave_without_csrf_is_refused(signed_in, practical, db_session):
    visitor = signed_in("judge3")
    station = stations(db_session, practical)[0]
    answer = visitor.client.post(f"/judge/components/{practical}/sheets/{station}/save",
                                 json={"version": 0, "values": {"A1": "10"}})
    assert answer.status_code == 400


def test_judge_cannot_open_a_workstation_of_their_own_enterprise(signed_in, practical, db_session):
    from app.models import Entry, User

    judge1 = db_session.scalar(sa.select(User).where(User.username == "judge1"))
    own = db_session.scalar(sa.select(StageEntry).join(Entry).where(
        StageEntry.workstation_number.is_not(None), Entry.enterprise_id == judge1.enterprise_id))
    visitor = signed_in("judge1")
    assert own.workstation_number not in visitor.get("/judge/").get_data(as_text=True).split(
        "sheets/")[1:]
    response = visitor.get(f"/judge/components/{practical}/sheets/{own.workstation_number}")
    assert response.status_code == 404


def test_submitting_locks_the_sheet(signed_in, practical, db_session):
    visitor = signed_in("judge3")
    station = stations(db_session, practical)[0]
    version = autosave(visitor, practical, station, FULL, 0).get_json()["version"]
    response = visitor.post(f"/judge/components/{practical}/sheets/{station}/submit",
                            {"version": str(version)})
    assert response.status_code == 302
    assert "赛位" in visitor.get("/judge/").get_data(as_text=True)
    assert autosave(visitor, practical, station, {"A2": "1"}, version + 1).status_code == 409
    sheet = db_session.scalar(sa.select(ScoreSheet).where(ScoreSheet.component_id == practical))
    assert sheet.status == SheetStatus.SUBMITTED and str(sheet.points) == "100.000"


def _all_judges_mark(signed_in, practical, db_session):
    from app.models import Component, User
    from app.services import judging

    for judge in ("judge1", "judge2", "judge3", "judge4", "judge5"):
        visitor = signed_in(judge)
        user = db_session.scalar(sa.select(User).where(User.username == judge))
        component = db_session.get(Component, practical)
        own = user.enterprise_id
        for station in stations(db_session, practical):
            place = db_session.scalar(sa.select(StageEntry).where(
                StageEntry.workstation_number == station))
            if own and place.entry.enterprise_id == own:
                continue
            version = autosave(visitor, practical, station, FULL, 0).get_json()["version"]
            visitor.post(f"/judge/components/{practical}/sheets/{station}/submit",
                         {"version": str(version)})
        visitor.logout()
        assert component and judging


def test_chief_judge_reviews_corrects_and_signs_off_and_only_then_names_can_be_revealed(
        signed_in, practical, db_session):
    _all_judges_mark(signed_in, practical, db_session)
    chief = signed_in("chief")
    panel = chief.get(f"/judge/components/{practical}/panel").get_data(as_text=True)
    assert "未提交的评分表: <strong>0</strong>" in panel.replace("：", ": ")
    sheet = db_session.scalar(sa.select(ScoreSheet).where(ScoreSheet.component_id == practical))
    page = chief.post(f"/judge/components/{practical}/panel/sheets/{sheet.id}", {
        "version": str(sheet.version), "value-A2": "12", "reason": ""})
    assert page.status_code == 422 and "更正须填写原因" in page.get_data(as_text=True)
    fields = {f"value-{k}": v for k, v in FULL.items()}
    corrected = chief.post(f"/judge/components/{practical}/panel/sheets/{sheet.id}", {
        **fields, "value-A2": "12", "overrun_minutes": "0", "version": str(sheet.version),
        "reason": "复核录像"})
    assert corrected.status_code == 302
    history = chief.get(f"/judge/components/{practical}/panel/sheets/{sheet.id}").get_data(
        as_text=True)
    assert "A2：15 → 12" in history and "复核录像" in history
    assert chief.post(f"/judge/components/{practical}/sign-off").status_code == 302
    chief.logout()
    organiser = signed_in("organiser")
    blind = organiser.get(f"/admin/components/{practical}/scores").get_data(as_text=True)
    place = db_session.scalar(sa.select(StageEntry).where(
        StageEntry.workstation_number == stations(db_session, practical)[0]))
    assert place.entry.contestant.name not in blind and "解密" in blind
    asked = organiser.post(f"/admin/components/{practical}/scores", {"witness": "监督员甲"})
    assert "监督员甲" in asked.get_data(as_text=True)  # what will happen, nothing done yet
    assert place.entry.contestant.name not in organiser.get(
        f"/admin/components/{practical}/scores").get_data(as_text=True)
    confirmed_post(organiser, f"/admin/components/{practical}/scores", {"witness": "监督员甲"})
    revealed = organiser.get(f"/admin/components/{practical}/scores").get_data(as_text=True)
    assert place.entry.contestant.name in revealed


def test_organiser_sees_conflict_exclusions_on_the_panel_page(signed_in, practical, db_session):
    page = signed_in("organiser").get(f"/admin/components/{practical}/panel").get_data(
        as_text=True)
    assert "回避（本单位选手）" in page
    row = page.split("judge1")[1].split("</tr>")[0]
    assert "—" not in row.split("<td>")[-2]  # judge1's own-enterprise workstation is listed


def test_printable_sheets_have_one_page_per_workstation(signed_in, practical, db_session):
    page = signed_in("judge3").get(f"/judge/components/{practical}/print").get_data(as_text=True)
    assert page.count('class="print-sheet') == 8 and "裁判长签字" in page


# --- the sheet page's autosave once the sheet exists (read and written as plain rows) -----------

def _sheet(db_session, practical, station, judge="judge3"):
    from app.models import User

    db_session.expire_all()
    return db_session.scalar(sa.select(ScoreSheet).join(StageEntry).join(
        User, User.id == ScoreSheet.judge_id).where(
        ScoreSheet.component_id == practical, StageEntry.workstation_number == station,
        User.username == judge))


def test_a_later_autosave_stores_marks_version_and_an_audited_history(
        signed_in, practical, db_session):
    from app.models import AuditLog

    visitor = signed_in("judge3")
    station = stations(db_session, practical)[0]
    first = autosave(visitor, practical, station, {"A1": "10"}, 0).get_json()
    second = autosave(visitor, practical, station, {"A1": "0", "A2": "12.5"}, first["version"])
    assert second.status_code == 200
    body = second.get_json()
    # A1 0 + A2 12.5 + C1 untouched 10; C2 untouched 0
    assert body["version"] == first["version"] + 1 and body["points"] == "22.50"
    assert body["item_points"]["A2"] == "12.50" and body["status"] == "draft"
    assert body["complete"] is False and "B1" in body["problems"]
    sheet = _sheet(db_session, practical, station)
    assert sheet.version == body["version"] and sheet.points is None  # not complete yet
    assert {m.item.code: str(m.value) for m in sheet.marks} == {"A1": "0.000", "A2": "12.500"}
    log = db_session.scalars(sa.select(AuditLog).where(
        AuditLog.object_type == "ScoreSheet", AuditLog.object_id == sheet.id)
        .order_by(AuditLog.id)).all()
    assert [entry.action for entry in log] == ["mark.save", "mark.save"]
    assert log[-1].before == {"A1": "10", "A2": None} and log[-1].after == {"A1": "0", "A2": "12.5"}
    assert log[-1].actor_name == "judge3" and "评分（2项）" in log[-1].summary
    page = visitor.get(f"/judge/components/{practical}/sheets/{station}").get_data(as_text=True)
    assert f'data-version="{body["version"]}"' in page and "12.5" in page


def test_an_unchanged_autosave_writes_nothing(signed_in, practical, db_session):
    from app.models import AuditLog

    visitor = signed_in("judge3")
    station = stations(db_session, practical)[0]
    version = autosave(visitor, practical, station, FULL, 0).get_json()["version"]
    count = db_session.scalar(sa.select(sa.func.count(AuditLog.id)))
    again = autosave(visitor, practical, station, FULL, version).get_json()
    assert again["version"] == version and again["points"] == "100.00" and again["complete"]
    assert db_session.scalar(sa.select(sa.func.count(AuditLog.id))) == count


def test_a_later_autosave_with_a_bad_mark_names_it_and_keeps_the_stored_ones(
        signed_in, practical, db_session):
    visitor = signed_in("judge3")
    station = stations(db_session, practical)[0]
    version = autosave(visitor, practical, station, {"A1": "10"}, 0).get_json()["version"]
    answer = autosave(visitor, practical, station, {"A1": "0", "A2": "16", "B1": "x"}, version)
    assert answer.status_code == 422
    fields = _reasons(answer)
    assert "0至15" in fields["A2"] and fields["B1"] == "请输入数字。" and "A1" not in fields
    sheet = _sheet(db_session, practical, station)
    assert sheet.version == version and [str(m.value) for m in sheet.marks] == ["10.000"]
    overrun = autosave(visitor, practical, station, {}, version, overrun="-1")
    assert overrun.status_code == 422 and "overrun_minutes" in _reasons(overrun)


@pytest.mark.parametrize("body", [
    {"version": 1, "values": {"A1": "5"}, "reasons": ["not", "an", "object"]},
    {"version": 1, "values": {"C2": "1"}, "reasons": {"C2": 7}},
    {"version": "one", "values": {"A1": "5"}, "reasons": {}},
])
def test_a_later_autosave_with_a_malformed_part_is_a_400(signed_in, practical, db_session, body):
    visitor = signed_in("judge3")
    station = stations(db_session, practical)[0]
    version = autosave(visitor, practical, station, {"A1": "10"}, 0).get_json()["version"]
    if body["version"] == 1:  # the current version: only the malformed part is wrong
        body = {**body, "version": version}
    answer = visitor.client.post(f"/judge/components/{practical}/sheets/{station}/save",
                                 json=body, headers={"X-CSRFToken": visitor.csrf_token()})
    assert answer.status_code == 400 and answer.get_json()["error"]["code"] == "malformed_body"
    assert [str(m.value) for m in _sheet(db_session, practical, station).marks] == ["10.000"]


def test_autosave_refuses_what_the_judge_may_not_mark(signed_in, practical, db_session):
    from app.models import Component, Entry, User

    judge1 = db_session.scalar(sa.select(User).where(User.username == "judge1"))
    own = db_session.scalar(sa.select(StageEntry).join(Entry).where(
        StageEntry.workstation_number.is_not(None), Entry.enterprise_id == judge1.enterprise_id))
    visitor = signed_in("judge1")
    refused = autosave(visitor, practical, own.workstation_number, {"A1": "10"}, 0)
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "forbidden"
    assert autosave(visitor, practical, "999", {"A1": "10"}, 0).status_code == 403
    other = db_session.scalar(sa.select(Component).where(  # judge1 is on no other panel
        Component.id != practical, Component.stage_id == db_session.get(
            Component, practical).stage_id))
    answer = autosave(visitor, other.id, own.workstation_number, {"A1": "10"}, 0)
    assert answer.status_code == 404 and answer.get_json()["error"]["code"] == "not_found"
    assert not db_session.scalars(sa.select(ScoreSheet).where(
        ScoreSheet.judge_id == judge1.id)).all()


def test_autosave_on_a_signed_off_component_is_refused(signed_in, practical, db_session):
    from app.models import Component
    from app.models.base import utcnow

    visitor = signed_in("judge3")
    station = stations(db_session, practical)[0]
    version = autosave(visitor, practical, station, {"A1": "10"}, 0).get_json()["version"]
    db_session.get(Component, practical).signed_off_at = utcnow()
    db_session.commit()
    answer = autosave(visitor, practical, station, {"A1": "5"}, version)
    assert answer.status_code == 409 and "冻结" in answer.get_json()["error"]["message"]
    assert [str(m.value) for m in _sheet(db_session, practical, station).marks] == ["10.000"]


def test_autosave_scores_by_the_scheme_as_changed_not_as_kept(signed_in, practical, db_session):
    """The rules a worker keeps are keyed on the component's scheme stamp: a changed item is
    scored at once by the next save (here changed directly, as the scheme's pages refuse once
    scores exist)."""
    from decimal import Decimal

    from app.models import Component, MarkingItem

    visitor = signed_in("judge3")
    station = stations(db_session, practical)[0]
    version = autosave(visitor, practical, station, {"A1": "10"}, 0).get_json()["version"]
    assert autosave(visitor, practical, station, {"A2": "18"}, version).status_code == 422
    component = db_session.get(Component, practical)
    stamp = component.scheme_stamp
    item = db_session.scalar(sa.select(MarkingItem).where(
        MarkingItem.component_id == practical, MarkingItem.code == "A2"))
    item.maximum = Decimal("20")
    db_session.commit()
    assert db_session.get(Component, practical).scheme_stamp != stamp
    answer = autosave(visitor, practical, station, {"A2": "18"}, version)
    assert answer.status_code == 200 and answer.get_json()["item_points"]["A2"] == "18.00"


def test_the_chief_judges_panel_shows_each_judges_grade_per_judgement_item_and_the_pooled_points(
        signed_in, practical, db_session):
    from app.models import Component, JudgementOrder

    component = db_session.get(Component, practical)
    component.judgement_order = JudgementOrder.PER_ITEM
    db_session.flush()
    _all_judges_mark(signed_in, practical, db_session)
    page = signed_in("chief").get(f"/judge/components/{practical}/panel").get_data(as_text=True)
    assert "评价项汇总方式" in page and "按评价项：各裁判等级取平均后折算" in page
    assert "各评价项的裁判等级" in page
    table = page[page.index('id="grades-table"'):page.index("</table>", page.index('id="grades-table"'))]
    # every judge graded B1 (20 points) a 3: the item counts 3/3 x 20 = 20.00
    assert "B1 受限空间进入程序" in table and "<td>3</td>" in table and "<td>20.00</td>" in table
    assert table.count("A3 班组安全交底与分工") == len(stations(db_session, practical))
