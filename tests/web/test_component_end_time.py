"""A component's end time (Component.ends_at), from which its appeal window runs: set on the
components form (Beijing time) and through the API, checked against the stage's dates, audited
with the other component settings, and movable after scores exist."""
import re
from datetime import datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.models import AuditLog, Component, ComponentScore, Contest, Stage, StageEntry, Track

API = "/api/v1/contests/jstl-2025/tracks/chem/stages/1/components"
OUTSIDE = "赛段时间为2025-07-01至2025-07-08，考核模块的结束时间须在此范围内。"


def bearer(secret: str) -> dict:
    return {"Authorization": f"Bearer {secret}"}


def preliminary(session) -> Stage:
    session.expire_all()  # read what the requests committed
    return session.scalar(sa.select(Stage).join(Track).join(Contest).where(
        Contest.code == "jstl-2025", Track.code == "chem", Stage.seq == 1))


def theory(session) -> Component:
    return next(c for c in preliminary(session).components if c.code == "theory")


def components_form(stage: Stage, **changes) -> dict:
    """Every field of the components form as the page posts it."""
    data = {}
    for i, c in enumerate(stage.components):
        for name in ("code", "name", "kind", "source", "aggregation"):
            data[f"components-{i}-{name}"] = getattr(getattr(c, name), "value", getattr(c, name))
        data[f"components-{i}-id"] = str(c.id)
        for name in ("weight", "maximum", "min_judges"):
            data[f"components-{i}-{name}"] = str(getattr(c, name))
        data[f"components-{i}-ends_at"] = ""
    data.update(changes)
    return data


def error_at(page: str, field_id: str) -> str:
    match = re.search(rf'id="{re.escape(field_id)}-error"[^>]*>(.*?)</div>', page, re.S)
    assert match, f"no error shown next to {field_id}"
    return match.group(1).strip()


# --- the service ---------------------------------------------------------------------------

@pytest.mark.usefixtures("app_ctx")
def test_the_end_time_is_within_the_stage_audited_and_may_move_after_scores():
    from app.extensions import db
    from app.services import FieldErrors, accounts
    from app.services import stages as service

    organiser = accounts.get_by_username("organiser")
    stage = preliminary(db.session)
    target = next(c for c in stage.components if c.code == "theory")
    index = stage.components.index(target)
    place = db.session.scalar(sa.select(StageEntry).where(StageEntry.stage_id == stage.id))
    db.session.add(ComponentScore(component=target, stage_entry=place, points=Decimal("80")))
    db.session.flush()

    # 08:00 UTC on 8 July is 16:00 in Beijing, on the stage's last day: accepted, scores or not
    service.update_component(stage, target, {"ends_at": datetime(2025, 7, 8, 8)},
                             actor=organiser)
    assert target.ends_at == datetime(2025, 7, 8, 8)
    record = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "stage.components")
                               .order_by(AuditLog.id.desc()))
    before = {c["code"]: c for c in record.before["components"]}
    after = {c["code"]: c for c in record.after["components"]}
    assert before["theory"]["ends_at"] is None
    assert after["theory"]["ends_at"] == "2025-07-08T08:00:00"
    assert record.actor_name == "organiser"

    # 16:00 UTC on 8 July is already 9 July in Beijing; 15:59 UTC on 30 June is 1 July there
    for outside in (datetime(2025, 7, 8, 16), datetime(2025, 6, 30, 15, 59)):
        with pytest.raises(FieldErrors) as caught:
            service.update_component(stage, target, {"ends_at": outside})
        assert caught.value.errors == {"ends_at": OUTSIDE}
    service.update_component(stage, target, {"ends_at": datetime(2025, 6, 30, 16)})
    with pytest.raises(FieldErrors) as caught:
        service.save_components(stage, [
            {**{n: getattr(c, n) for n in service.COMPONENT_FIELDS}, "id": c.id,
             "ends_at": "tomorrow" if c is target else c.ends_at} for c in stage.components])
    assert caught.value.errors == {f"components-{index}-ends_at": "请输入日期和时间。"}
    service.update_component(stage, target, {"ends_at": None})
    assert target.ends_at is None


# --- the components form -------------------------------------------------------------------

def test_the_form_takes_the_end_time_in_beijing_time(signed_in, db_session):
    organiser = signed_in("organiser")
    stage = preliminary(db_session)
    index = next(i for i, c in enumerate(stage.components) if c.code == "theory")
    url = f"/admin/stages/{stage.id}/components"
    page = organiser.get(url).get_data(as_text=True)
    assert f'name="components-{index}-ends_at"' in page and "申诉" in page

    saved = organiser.post(url, components_form(
        stage, **{f"components-{index}-ends_at": "2025-07-08T16:00"}))
    assert saved.status_code == 302
    assert theory(db_session).ends_at == datetime(2025, 7, 8, 8)  # stored as UTC
    page = organiser.get(url).get_data(as_text=True)
    assert 'value="2025-07-08T16:00"' in page  # shown again in Beijing time

    late = organiser.post(url, components_form(
        preliminary(db_session), **{f"components-{index}-ends_at": "2025-07-09T00:30"}))
    assert late.status_code == 422  # refused by the service: the form again
    assert error_at(late.get_data(as_text=True), f"components-{index}-ends_at") == OUTSIDE
    garbled = organiser.post(url, components_form(
        preliminary(db_session), **{f"components-{index}-ends_at": "7月8日"}))
    assert f'id="components-{index}-ends_at-error"' in garbled.get_data(as_text=True)
    assert theory(db_session).ends_at == datetime(2025, 7, 8, 8)  # neither was saved


def test_the_end_time_set_on_the_form_opens_the_contestant_s_appeal_window(
        signed_in, db_session):
    from datetime import timedelta

    from app.models import utcnow

    stage = preliminary(db_session)
    stage.starts_on, stage.ends_on = None, None  # today's date may be outside the demo's
    db_session.commit()
    index = next(i for i, c in enumerate(stage.components) if c.code == "theory")
    ended = (utcnow() + timedelta(hours=8) - timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M")
    organiser = signed_in("organiser")
    assert organiser.post(f"/admin/stages/{stage.id}/components", components_form(
        stage, **{f"components-{index}-ends_at": ended})).status_code == 302
    organiser.logout()
    page = signed_in("contestant").get("/portal/entries/1/appeals").get_data(as_text=True)
    assert f'value="{theory(db_session).id}"' in page  # theory can be appealed on now
    assert ended.replace("T", " ") in page


# --- the API -------------------------------------------------------------------------------

def test_the_api_reads_and_patches_the_end_time(client, api_token, db_session):
    organiser = bearer(api_token("organiser"))
    patched = client.patch(f"{API}/theory", json={"ends_at": "2025-07-08T16:00:00"},
                           headers=organiser)
    assert patched.status_code == 200, patched.get_json()
    body = patched.get_json()
    assert body["code"] == "theory" and body["ends_at"] == "2025-07-08T16:00:00+08:00"
    assert theory(db_session).ends_at == datetime(2025, 7, 8, 8)
    # an offset is honoured
    client.patch(f"{API}/theory", json={"ends_at": "2025-07-08T09:00:00+00:00"},
                 headers=organiser)
    assert theory(db_session).ends_at == datetime(2025, 7, 8, 9)
    configuration = client.get("/api/v1/contests/jstl-2025/configuration",
                               headers=bearer(api_token("judge1"))).get_json()
    chem = next(t for t in configuration["tracks"] if t["code"] == "chem")
    shown = {c["code"]: c["ends_at"] for c in chem["stages"][0]["components"]}
    assert shown == {"learning": None, "theory": "2025-07-08T17:00:00+08:00"}
    record = db_session.scalar(sa.select(AuditLog).where(AuditLog.action == "stage.components")
                               .order_by(AuditLog.id.desc()))
    assert record.actor_name == "organiser"

    cleared = client.patch(f"{API}/theory", json={"ends_at": None}, headers=organiser)
    assert cleared.get_json()["ends_at"] is None and theory(db_session).ends_at is None


def test_the_api_refuses_bad_end_times_and_callers(client, api_token):
    from tests.web.test_api import assert_error

    organiser = bearer(api_token("organiser"))
    for raw, reason in (("2025-07-09T00:30:00", OUTSIDE), ("next week", "请输入日期和时间。")):
        error = assert_error(client.patch(f"{API}/theory", json={"ends_at": raw},
                                          headers=organiser), 422, "invalid")
        assert error["details"] == [{"field": "ends_at", "reason": reason}]
    wrong_type = assert_error(client.patch(f"{API}/theory", json={"ends_at": 20250708},
                                           headers=organiser), 422, "invalid_body")
    assert wrong_type["details"][0]["field"] == "ends_at"
    assert_error(client.patch(f"{API}/theory", json={}, headers=organiser), 422, "invalid_body")
    assert_error(client.patch(f"{API}/theory", json={"appeal": 1}, headers=organiser), 422)
    weight = assert_error(client.patch(f"{API}/theory", json={"weight": "50"},
                                       headers=organiser), 422, "invalid")
    assert [d["field"] for d in weight["details"]] == ["weight_total"]
    assert_error(client.patch(f"{API}/oral", json={"ends_at": None}, headers=organiser), 404,
                 "not_found")
    assert_error(client.patch(f"{API}/theory", json={"ends_at": None},
                              headers=bearer(api_token("judge1"))), 403, "forbidden")
    assert_error(client.patch(f"{API}/theory", json={"ends_at": None}), 401, "unauthorized")
