"""The configuration API: reading a contest, copying it, stage settings, weights, marking
schemes and sittings; organisers write, errors are JSON with the field named."""
from decimal import Decimal

import sqlalchemy as sa

from app.models import AuditLog, Contest, Stage, Track

STAGE = "/api/v1/contests/jstl-2025/tracks/chem/stages"


def bearer(secret: str) -> dict:
    return {"Authorization": f"Bearer {secret}"}


def error_of(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == {"error"} and body["error"]["message"]
    return body["error"]


def fields(error: dict) -> dict[str, str]:
    return {d["field"]: d["reason"] for d in error.get("details", [])}


def test_configuration_holds_every_setting_down_to_the_marking_items(client, api_token):
    body = client.get("/api/v1/contests/jstl-2025/configuration",
                      headers=bearer(api_token("organiser"))).get_json()
    assert body["contest"]["code"] == "jstl-2025" and len(body["abilities"]) == 10
    chem = next(t for t in body["tracks"] if t["code"] == "chem")
    assert chem["co_hosts"] == ["中国石化金陵石化公司"]
    prelim, advanced, final = chem["stages"]
    assert prelim["registration_closes_at"] == "2025-07-01T00:00:00+08:00"
    assert prelim["recheck_fraction"] == "0.15" and prelim["quota"] == 60
    assert [c["weight"] for c in advanced["components"]] == ["30", "35", "35"]
    practical = advanced["components"][1]
    assert practical["items_total"] == "100" and practical["has_scores"] is False
    assert [n["code"] for n in practical["scheme"]] == ["A", "B", "C"]
    assert practical["scheme"][0]["children"][0]["ability"] == "professionalism"
    assert advanced["next_statuses"] == ["registration"] and final["components"] == []


def test_judges_may_read_the_configuration_but_not_change_it(client, api_token):
    secret = api_token("judge1")
    assert client.get("/api/v1/contests/jstl-2025/configuration",
                      headers=bearer(secret)).status_code == 200
    error_of(client.patch(f"{STAGE}/1", json={"quota": 50}, headers=bearer(secret)), 403)
    error_of(client.get("/api/v1/contests/jstl-2025/configuration",
                        headers=bearer(api_token("contestant"))), 403)


def test_unknown_contest_track_stage_or_component_is_404(client, api_token):
    headers = bearer(api_token("organiser"))
    assert "nope" in error_of(client.get("/api/v1/contests/nope/configuration",
                                         headers=headers), 404)["message"]
    error_of(client.patch("/api/v1/contests/jstl-2025/tracks/chem/stages/9", json={"quota": 1},
                          headers=headers), 404)
    error_of(client.get(f"{STAGE}/2/components/nope/scheme", headers=headers), 404)


def test_copy_creates_next_years_contest(client, api_token, db_session):
    response = client.post("/api/v1/contests/jstl-2025/copy", headers=bearer(
        api_token("organiser")), json={"code": "jstl-2026", "name": "2026年大赛", "year": 2026})
    assert response.status_code == 201
    body = response.get_json()
    assert body["contest"]["copied_from"] == "jstl-2025" and body["contest"]["year"] == 2026
    assert len(body["tracks"]) == 7
    assert {s["status"] for t in body["tracks"] for s in t["stages"]} == {"draft"}
    assert body["tracks"][0]["stages"][0]["starts_on"] == "2026-07-01"
    assert db_session.scalar(sa.select(Contest).where(Contest.code == "jstl-2026")) is not None


def test_copy_to_a_taken_code_names_the_code_field(client, api_token):
    error = error_of(client.post("/api/v1/contests/jstl-2025/copy", headers=bearer(
        api_token("organiser")), json={"code": "jstl-2025", "name": "x", "year": 2026}), 422)
    assert fields(error) == {"code": "代码 jstl-2025 已被其他赛事使用。"}


def test_stage_settings_are_patched_and_checked_as_a_whole(client, api_token, db_session):
    headers = bearer(api_token("organiser"))
    error = error_of(client.patch(f"{STAGE}/1", headers=headers, json={
        "quota": 0, "decimals": 7, "tie_breaks": [{"key": "shoe_size"}]}), 422)
    assert fields(error)["quota"] == "晋级名额不能小于1。"
    assert fields(error)["decimals"] == "小数位数不能大于4。"
    assert "shoe_size" in fields(error)["tie_breaks-0-key"]
    error = error_of(client.patch(f"{STAGE}/1", headers=headers, json={
        "registration_closes_at": "2025-07-01T09:00:00+08:00"}), 422)
    assert "2025-07-01" in fields(error)["registration_closes_at"]
    response = client.patch(f"{STAGE}/1", headers=headers, json={
        "quota": 50, "recheck_fraction": "0.2", "registration_closes_at": "2025-06-30T18:00",
        "tie_breaks": [{"key": "theory"}, {"key": "time"}]})
    assert response.status_code == 200
    body = response.get_json()
    assert body["quota"] == 50 and body["recheck_fraction"] == "0.2"
    assert body["registration_closes_at"] == "2025-06-30T18:00:00+08:00"
    assert body["tie_breaks"] == [{"key": "theory", "direction": "desc"},
                                  {"key": "time", "direction": "asc"}]
    audit = db_session.scalar(sa.select(AuditLog).where(AuditLog.action == "stage.update"))
    assert audit.actor_name == "organiser" and audit.after["quota"] == 50


def test_a_body_of_the_wrong_shape_is_422_with_the_field(client, api_token):
    error = error_of(client.patch(f"{STAGE}/1", headers=bearer(api_token("organiser")),
                                  json={"quota": "many", "colour": "red"}), 422)
    assert error["code"] == "invalid_body"
    assert {d["field"] for d in error["details"]} >= {"quota", None}


def test_weights_are_set_by_code_and_must_add_up_to_100(client, api_token, db_session):
    headers = bearer(api_token("organiser"))
    error = error_of(client.put(f"{STAGE}/2/weights", headers=headers,
                                json={"weights": {"practical": "30"}}), 422)
    assert fields(error)["weight_total"].startswith("权重合计必须为100%，当前为95%")
    body = client.put(f"{STAGE}/2/weights", headers=headers,
                      json={"weights": {"practical": "40", "twin": 30}}).get_json()
    assert [c["weight"] for c in body["components"]] == ["30", "40", "30"]
    stage = db_session.scalar(sa.select(Stage).join(Track).where(Track.code == "chem",
                                                                 Stage.seq == 2))
    assert [c.weight for c in stage.components] == [Decimal(30), Decimal(40), Decimal(30)]


def test_status_moves_forward_and_refuses_a_jump(client, api_token):
    headers = bearer(api_token("organiser"))
    error = error_of(client.post(f"{STAGE}/3/status", headers=headers,
                                 json={"status": "final"}), 409)
    assert error["code"] == "bad_transition"
    body = client.post(f"{STAGE}/3/status", headers=headers,
                       json={"status": "registration", "reason": "报名开始"}).get_json()
    assert body["status"] == "registration" and body["next_statuses"] == ["scoring"]


def test_marking_scheme_is_read_and_replaced_as_json(client, api_token):
    headers = bearer(api_token("organiser"))
    url = f"{STAGE}/2/components/practical/scheme"
    scheme = client.get(url, headers=headers).get_json()
    assert scheme["items_total"] == "100" and scheme["problems"] == []
    error = error_of(client.put(url, headers=headers, json={"nodes": [
        {"node": "criterion", "code": "A", "title": "安全", "children": [
            {"node": "item", "code": "A1", "title": "检测", "kind": "measurement",
             "maximum": "-5"},
            {"node": "item", "code": "A2", "title": "劳保", "kind": "deduction",
             "maximum": "5"}]}]}), 422)
    assert fields(error) == {"nodes.1.maximum": "评分项满分不能小于0。",
                             "nodes.2.deduction_per_occurrence": "扣分项须填写每次扣分值。"}
    body = client.put(url, headers=headers, json={"nodes": [
        {"node": "criterion", "code": "A", "title": "安全", "children": [
            {"node": "item", "code": "A1", "title": "检测", "kind": "measurement",
             "maximum": "60", "ability": "expertise"},
            {"node": "item", "code": "A2", "title": "劳保", "kind": "deduction",
             "maximum": "40", "deduction_per_occurrence": "2.5"}]}]}).get_json()
    assert body["items_total"] == "100" and body["problems"] == []
    assert body["nodes"][0]["total"] == "100"
    assert client.get(url, headers=headers).get_json() == body


def test_sittings_are_created_and_assigned_over_the_api(client, api_token):
    headers = bearer(api_token("organiser"))
    url = f"{STAGE}/1/sittings"
    for name, hour in (("上午场", 9), ("下午场", 14)):
        response = client.post(url, headers=headers, json={
            "name": name, "venue": "南京", "room": "机房", "capacity": 100,
            "starts_at": f"2025-07-02T{hour:02d}:00:00", "ends_at": f"2025-07-02T{hour + 2}:00:00"})
        assert response.status_code == 201
        assert response.get_json()["starts_at"] == f"2025-07-02T{hour:02d}:00:00+08:00"
    error = error_of(client.post(url, headers=headers, json={"name": "上午场"}), 422)
    assert "name" in fields(error)
    before = client.get(url, headers=headers).get_json()
    assert before["unassigned"] > 0 and [s["people"] for s in before["sittings"]] == [0, 0]
    body = client.post(f"{url}/assign", headers=headers, json={"mode": "all"}).get_json()
    counts = [s["people"] for s in body["sittings"]]
    assert body["unassigned"] == 0 and abs(counts[0] - counts[1]) <= 1
    assert body["placed"] == sum(counts) == before["unassigned"]
    numbers = body["sittings"][0]["exam_numbers"]
    assert numbers == sorted(numbers)


def test_assignment_without_sittings_is_refused(client, api_token):
    error = error_of(client.post(f"{STAGE}/2/sittings/assign",
                                 headers=bearer(api_token("organiser")), json={}), 422)
    assert error["message"] == "请先添加本赛段的场次。"


def test_a_components_judgement_order_is_patched_and_a_value_outside_the_two_is_refused(
        client, api_token):
    headers = bearer(api_token("organiser"))
    url = f"{STAGE}/2/components/practical"
    response = client.patch(url, headers=headers, json={"judgement_order": "per_item"})
    assert response.status_code == 200 and response.get_json()["judgement_order"] == "per_item"
    error_of(client.patch(url, headers=headers, json={"judgement_order": "sideways"}), 422)
    response = client.patch(url, headers=headers, json={"name": "实操考试"})
    assert response.get_json()["judgement_order"] == "per_item"  # kept when not sent
