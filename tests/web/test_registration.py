"""Registering, reviewing, the admission ticket and the export, as people see them."""
import io
from datetime import date

import openpyxl
import sqlalchemy as sa

from app.models import AuditLog, Contest, Entry, EntryStatus, Track
from tests.conftest import valid_id_number


def steel_id(db_session) -> int:
    return db_session.scalar(sa.select(Track.id).join(Contest).where(
        Contest.code == "jstl-2025", Track.code == "steel"))


def sign_up(visitor, username="wang5"):
    response = visitor.post("/register", {
        "username": username, "display_name": "王五", "phone": "13900000005",
        "password": "Wang5pass1", "confirm": "Wang5pass1"})
    assert response.status_code == 302 and response.location == "/portal/entries/new"
    return response


def entry_form(track_id, **overrides):
    form = {"track": str(track_id), "name": "王五", "gender": "男",
            "id_number": valid_id_number(date(1986, 7, 9), seq=5), "phone": "13900000005",
            "enterprise": "南京钢铁股份有限公司", "enterprise_category": "钢铁", "city": "南京市",
            "post": "轧钢二班班长", "team_name": "乙班", "years_as_leader": "4",
            "skill_level": "技师", "honours": "", "front_line": "y"}
    return {**form, **overrides}


def test_contestant_signs_up_registers_and_sees_the_entry_submitted(visitor, db_session):
    sign_up(visitor)
    response = visitor.post("/portal/entries/new", entry_form(steel_id(db_session)))
    assert response.status_code == 302
    page = visitor.get(response.location).get_data(as_text=True)
    assert "报名已提交" in page and "已提交" in page
    home = visitor.get("/portal/").get_data(as_text=True)
    assert "王五" in home and "钢铁" in home


def test_entry_form_shows_each_error_next_to_its_field_in_chinese(visitor, db_session):
    sign_up(visitor)
    page = visitor.post("/portal/entries/new", entry_form(
        steel_id(db_session), id_number="320102198607090001", phone="123",
        years_as_leader="1")).get_data(as_text=True)
    assert "校验位不正确" in page.split('id="id_number-error"')[1].split("</div>")[0]
    assert "11位" in page.split('id="phone-error"')[1].split("</div>")[0]
    assert "不少于2年" in page.split('id="years_as_leader-error"')[1].split("</div>")[0]
    assert db_session.scalar(sa.select(sa.func.count()).select_from(Entry).join(Entry.contestant)
                             .where(Entry.post == "轧钢二班班长")) == 0


def test_rejected_entry_shows_the_reason_and_can_be_corrected_and_resubmitted(
        visitor, signed_in, db_session, client):
    sign_up(visitor)
    visitor.post("/portal/entries/new", entry_form(steel_id(db_session)))
    entry = db_session.scalar(sa.select(Entry).where(Entry.post == "轧钢二班班长"))
    visitor.logout()
    organiser = signed_in("organiser")
    response = organiser.post(f"/admin/entries/{entry.id}/review",
                              {"action": "reject", "reason": "请补充班组名称全称"})
    assert response.status_code == 302
    organiser.logout()
    visitor.login("wang5", "Wang5pass1")
    page = visitor.get(f"/portal/entries/{entry.id}").get_data(as_text=True)
    assert "未通过" in page and "请补充班组名称全称" in page
    edit = visitor.post(f"/portal/entries/{entry.id}/edit",
                        entry_form(steel_id(db_session), team_name="轧钢二车间乙班"))
    assert edit.status_code == 302
    db_session.expire_all()
    entry = db_session.get(Entry, entry.id)
    assert entry.status == EntryStatus.SUBMITTED and entry.team_name == "轧钢二车间乙班"
    assert [s.to_status.value for s in entry.history] == ["submitted", "rejected", "submitted"]


def test_rejecting_without_a_reason_is_refused_next_to_the_reason_field(signed_in, db_session):
    entry_id = db_session.scalar(sa.select(Entry.id).where(Entry.status == EntryStatus.SUBMITTED))
    response = signed_in("organiser").post(f"/admin/entries/{entry_id}/review",
                                           {"action": "reject", "reason": ""})
    assert response.status_code == 422
    assert "退回报名须填写选手可见的原因" in response.get_data(as_text=True).split(
        'id="reason-error"')[1]
    assert db_session.get(Entry, entry_id).status == EntryStatus.SUBMITTED


def test_organiser_approves_in_bulk_and_the_list_reports_what_was_skipped(signed_in, db_session):
    endorsed = db_session.scalars(sa.select(Entry.id).where(
        Entry.status == EntryStatus.ENDORSED).order_by(Entry.id).limit(3)).all()
    submitted = db_session.scalar(sa.select(Entry.id).where(Entry.status == EntryStatus.SUBMITTED))
    organiser = signed_in("organiser")
    response = organiser.client.post("/admin/entries/review", data={
        "csrf_token": organiser.csrf_token(), "action": "approve",
        "entry_id": [str(i) for i in [*endorsed, submitted]]}, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "已更新3条报名。" in page
    assert f"报名{submitted}未更改" in page
    db_session.expire_all()
    assert all(db_session.get(Entry, i).exam_number for i in endorsed)


def test_list_filters_by_status_and_search_and_shows_counts(signed_in, db_session):
    entry = db_session.get(Entry, 1)
    organiser = signed_in("organiser")
    page = organiser.get(f"/admin/entries?q={entry.exam_number}").get_data(as_text=True)
    assert "共1条报名。" in page and entry.contestant.name in page
    assert entry.contestant.id_number not in page  # masked in lists
    rejected = organiser.get("/admin/entries?status=rejected").get_data(as_text=True)
    n = db_session.scalar(sa.select(sa.func.count()).select_from(Entry)
                          .where(Entry.status == EntryStatus.REJECTED))
    assert f"共{n}条报名。" in rejected
    assert "按设区市" in rejected and "按单位类别" in rejected


def test_full_id_number_is_shown_only_on_request_and_the_look_is_audited(signed_in, db_session):
    entry = db_session.get(Entry, 1)
    organiser = signed_in("organiser")
    assert entry.contestant.id_number not in organiser.get("/admin/entries/1").get_data(as_text=True)
    page = organiser.post("/admin/entries/1/id-number").get_data(as_text=True)
    assert entry.contestant.id_number in page
    row = db_session.scalar(sa.select(AuditLog).where(AuditLog.action == "entry.reveal_id"))
    assert row.actor_name == "organiser" and row.object_id == 1


def _sheet(response):
    workbook = openpyxl.load_workbook(io.BytesIO(response.get_data()))
    response.close()
    return workbook.active


def test_export_masks_ids_unless_asked_and_records_full_exports(signed_in, db_session):
    organiser = signed_in("organiser")
    track_id = db_session.scalar(sa.select(Track.id).where(Track.code == "chem"))
    masked = _sheet(organiser.post("/admin/entries/export", {"track": str(track_id),
                                                              "status": "approved"}))
    assert masked["A1"].value == "2025年江苏省班组长数字能力大赛 化工（生物医药） 报名名单"
    headers = [c.value for c in masked[2]]
    assert headers[:5] == ["准考证号", "姓名", "性别", "身份证号", "手机号码"]
    rows = list(masked.iter_rows(min_row=3, values_only=True))
    approved = db_session.scalars(sa.select(Entry).where(
        Entry.track_id == track_id, Entry.status == EntryStatus.APPROVED)
        .order_by(Entry.exam_number)).all()
    assert len(rows) == len(approved)
    first, first_entry = rows[0], approved[0]
    assert first[0] == first_entry.exam_number and first[1] == first_entry.contestant.name
    assert first[3] == first_entry.contestant.masked_id_number and "*" in first[4]
    assert masked.freeze_panes == "A3"
    assert not db_session.scalar(sa.select(AuditLog).where(
        AuditLog.action == "entry.export_full_ids"))
    full = _sheet(organiser.post("/admin/entries/export", {
        "track": str(track_id), "status": "approved", "full_ids": "1"}))
    assert full["D3"].value == first_entry.contestant.id_number
    assert db_session.scalar(sa.select(AuditLog).where(AuditLog.action == "entry.export_full_ids"))


def test_admission_ticket_shows_exam_number_masked_id_and_a_qr_code(signed_in, db_session):
    entry = db_session.get(Entry, 1)
    page = signed_in("contestant").get("/portal/entries/1/ticket").get_data(as_text=True)
    assert entry.exam_number in page and entry.contestant.masked_id_number in page
    assert entry.contestant.id_number not in page
    assert 'class="ticket-qr" src="data:image/svg+xml' in page
    assert "另行通知" in page  # no sitting assigned yet


def test_no_ticket_before_approval(visitor, db_session):
    sign_up(visitor)
    visitor.post("/portal/entries/new", entry_form(steel_id(db_session)))
    entry = db_session.scalar(sa.select(Entry).where(Entry.post == "轧钢二班班长"))
    response = visitor.get(f"/portal/entries/{entry.id}/ticket")
    assert response.status_code == 404
    assert "审核通过后才能打印准考证" in response.get_data(as_text=True)


def test_contestant_cannot_open_someone_elses_entry_or_ticket(signed_in, db_session):
    other = db_session.scalar(sa.select(Entry.id).where(Entry.id != 1,
                                                        Entry.exam_number.is_not(None)))
    visitor = signed_in("contestant")
    assert visitor.get(f"/portal/entries/{other}").status_code == 404
    assert visitor.get(f"/portal/entries/{other}/ticket").status_code == 404


def test_enterprise_contact_endorses_its_peoples_entries(signed_in, db_session):
    from app.models import User

    contact = db_session.scalar(sa.select(User).where(User.username == "contact"))
    own = db_session.scalars(sa.select(Entry.id).where(
        Entry.enterprise_id == contact.enterprise_id, Entry.status == EntryStatus.SUBMITTED)).all()
    other = db_session.scalar(sa.select(Entry.id).where(
        Entry.enterprise_id != contact.enterprise_id, Entry.status == EntryStatus.SUBMITTED))
    visitor = signed_in("contact")
    if own:
        page = visitor.get("/portal/").get_data(as_text=True)
        assert f'name="entry_id" value="{own[0]}"' in page
    response = visitor.client.post("/portal/entries/review", data={
        "csrf_token": visitor.csrf_token(), "action": "endorse",
        "entry_id": [str(i) for i in [*own, other]]}, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert f"报名{other}未更改" in page
    db_session.expire_all()
    assert db_session.get(Entry, other).status == EntryStatus.SUBMITTED
    assert all(db_session.get(Entry, i).status == EntryStatus.ENDORSED for i in own)


def bearer(secret):
    return {"Authorization": f"Bearer {secret}"}


def test_api_lists_what_each_role_may_see(client, api_token):
    organiser = client.get("/api/v1/entries?track=chem&status=approved",
                           headers=bearer(api_token("organiser"))).get_json()
    mine = client.get("/api/v1/entries", headers=bearer(api_token("contestant"))).get_json()
    assert organiser["total"] > 100 and all(e["status"] == "approved" for e in organiser["entries"])
    assert [e["id"] for e in mine["entries"]] == [1]
    assert "*" in mine["entries"][0]["id_number"]
    judge = client.get("/api/v1/entries", headers=bearer(api_token("judge1")))
    assert judge.status_code == 403


def test_api_registers_and_reviews_an_entry(client, api_token, db_session):
    contact = api_token("contact")
    body = {"contest": "jstl-2025", "track": "steel", "name": "赵六", "gender": "男",
            "id_number": valid_id_number(date(1979, 2, 2), seq=7), "phone": "13900000006",
            "city": "南京市", "post": "运行班班长", "years_as_leader": "8"}
    created = client.post("/api/v1/entries", json=body, headers=bearer(contact))
    assert created.status_code == 201 and created.get_json()["status"] == "endorsed"
    entry_id = created.get_json()["id"]
    refused = client.post(f"/api/v1/entries/{entry_id}/review", json={"action": "approve"},
                          headers=bearer(contact))
    assert refused.status_code == 403
    approved = client.post(f"/api/v1/entries/{entry_id}/review", json={"action": "approve"},
                           headers=bearer(api_token("organiser")))
    assert approved.status_code == 200 and approved.get_json()["exam_number"]
    again = client.post(f"/api/v1/entries/{entry_id}/review", json={"action": "approve"},
                        headers=bearer(api_token("organiser")))
    assert again.status_code == 409


def test_api_names_each_bad_field(client, api_token):
    body = {"contest": "jstl-2025", "track": "steel", "name": "赵六", "gender": "女",
            "id_number": valid_id_number(date(1979, 2, 2), seq=7), "phone": "139",
            "city": "南京市", "post": "运行班班长", "years_as_leader": "8"}
    response = client.post("/api/v1/entries", json=body, headers=bearer(api_token("contact")))
    assert response.status_code == 422
    fields = {d["field"] for d in response.get_json()["error"]["details"]}
    assert fields == {"gender", "phone"}
