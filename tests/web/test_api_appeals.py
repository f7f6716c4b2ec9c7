"""The appeals (申诉) API, as the pages have it: the contestant's own windows and appeals and
filing one within its window (/me/appeals); the arbitration group reading a stage's appeals and
ruling with its reason; organisers may read. Names only once revealed."""
from datetime import timedelta
from decimal import Decimal

import jsonschema
import pytest
import sqlalchemy as sa

from app.api import OPERATIONS
from app.models import Appeal, AuditLog, Component, ComponentScore, Stage, StageEntry, Track
from tests.web.test_api import assert_error, bearer

STAGE = "/api/v1/contests/jstl-2025/tracks/chem/stages/1"


@pytest.fixture
def prelim(app, db_session):
    """The chemical preliminary with every score stored; its theory ended 30 minutes ago (the
    2-hour appeal window is open), its online learning ends tomorrow (not open yet)."""
    from app.extensions import db
    from app.models import utcnow

    with app.app_context():
        stage = db.session.scalar(sa.select(Stage).join(Track).where(Track.code == "chem",
                                                                     Stage.seq == 1))
        for component in stage.components:
            component.ends_at = utcnow() + (timedelta(minutes=-30) if component.code == "theory"
                                            else timedelta(days=1))
            for n, place in enumerate(db.session.scalars(sa.select(StageEntry).where(
                    StageEntry.stage_id == stage.id).order_by(StageEntry.id))):
                db.session.add(ComponentScore(component_id=component.id, stage_entry_id=place.id,
                                              points=Decimal(60 + n % 40)))
        db.session.commit()
        return {"stage": stage.id,
                "place": db.session.scalar(sa.select(StageEntry.id).where(
                    StageEntry.stage_id == stage.id, StageEntry.entry_id == 1))}


@pytest.fixture
def tokens(api_token):
    cache = {}

    def token(name):
        if name not in cache:
            cache[name] = bearer(api_token(name))
        return cache[name]

    return token


def documented(rule: str, body: dict, method: str = "GET") -> dict:
    op = next(o for o in OPERATIONS if o.rule == rule and o.method == method)
    jsonschema.validate(body, op.response_schema)
    return body


def fields(error: dict) -> dict:
    return {d["field"]: d["reason"] for d in error.get("details", [])}


def file(client, tokens, **changes):
    body = {"entry_id": 1, "stage": 1, "component": "theory", "text": "第12题标准答案有误",
            **changes}
    return client.post("/api/v1/me/appeals", json=body, headers=tokens("contestant"))


def test_the_contestant_sees_windows_files_and_follows_the_ruling(client, tokens, prelim,
                                                                  db_session):
    mine = documented("/me/appeals", client.get("/api/v1/me/appeals",
                                                headers=tokens("contestant")).get_json())
    windows = {(w["stage"]["seq"], w["component"]["code"]): w for w in mine["windows"]}
    assert windows[(1, "theory")]["state"] == "open"
    assert windows[(1, "learning")]["state"] == "not_yet"
    assert windows[(1, "theory")]["opens_at"].endswith("+08:00")
    assert mine["appeals"] == []

    assert fields(assert_error(file(client, tokens, text="  "), 422, "invalid")) == {
        "text": "请写明申诉内容。"}
    not_yet = fields(assert_error(file(client, tokens, component="learning"), 422))
    learning = db_session.scalar(sa.select(Component).where(
        Component.stage_id == prelim["stage"], Component.code == "learning"))
    opens = (learning.ends_at + timedelta(hours=8)).strftime("%Y-%m-%d %H:%M")  # Beijing time
    assert not_yet == {"component": f"线上学习积分的申诉在该项目结束后（{opens}）开始受理。"}
    assert "component" in fields(assert_error(file(client, tokens, component="oral"), 422))
    assert "stage" in fields(assert_error(file(client, tokens, stage=9), 422))
    assert_error(file(client, tokens, entry_id=2), 404, "not_found")  # someone else's entry
    assert_error(file(client, tokens, entry_id="1"), 422, "invalid_body")

    filed = file(client, tokens)
    assert filed.status_code == 201, filed.get_json()
    appeal = documented("/me/appeals", filed.get_json(), "POST")
    assert (appeal["status"], appeal["component"]["code"], appeal["text"]) == (
        "open", "theory", "第12题标准答案有误")
    again = fields(assert_error(file(client, tokens), 422))
    assert "仲裁组" in again["component"]  # one open appeal per component
    record = db_session.scalar(sa.select(AuditLog).where(AuditLog.action == "appeal.file"))
    assert record.actor_name == "contestant"

    ruled = client.post(f"/api/v1/appeals/{appeal['id']}/ruling",
                        json={"decision": "upheld", "ruling": "标准答案有误，该题应得2分"},
                        headers=tokens("arbiter"))
    assert ruled.status_code == 200
    mine = documented("/me/appeals", client.get("/api/v1/me/appeals",
                                                headers=tokens("contestant")).get_json())
    [seen] = mine["appeals"]
    assert (seen["status"], seen["ruling"], seen["correction_carried"]) == (
        "upheld", "标准答案有误，该题应得2分", False)
    assert seen["ruled_at"]


def test_only_a_contestant_files_and_only_their_own(client, tokens, prelim):
    body = {"entry_id": 1, "stage": 1, "component": "theory", "text": "x"}
    assert_error(client.post("/api/v1/me/appeals", json=body), 401, "unauthorized")
    for other in ("organiser", "arbiter", "judge1", "contact"):
        assert_error(client.post("/api/v1/me/appeals", json=body, headers=tokens(other)), 403,
                     "forbidden")
    # anyone else signed in has no appeals of their own to read
    assert client.get("/api/v1/me/appeals", headers=tokens("organiser")).get_json() == {
        "windows": [], "appeals": []}


def test_the_arbitration_group_reads_and_rules_organisers_only_read(client, tokens, prelim,
                                                                    db_session):
    appeal_id = file(client, tokens).get_json()["id"]
    url = f"{STAGE}/appeals"
    for reader in ("arbiter", "organiser"):
        listed = documented("/contests/<code>/tracks/<track>/stages/<int:seq>/appeals",
                            client.get(url, headers=tokens(reader)).get_json())
        assert listed["status"] == "open"
        [shown] = listed["appeals"]
        place = db_session.get(StageEntry, prelim["place"])
        stored = db_session.scalar(sa.select(ComponentScore.points).join(Component).where(
            ComponentScore.stage_entry_id == place.id, Component.code == "theory"))
        assert shown["id"] == appeal_id and shown["entry_id"] == place.id
        assert shown["exam_number"] == place.entry.exam_number
        assert shown["name"] == place.entry.contestant.name  # no judged component: revealed
        assert shown["stored_points"] == f"{stored:.2f}"
        assert shown["component"] == {"code": "theory", "name": "线上理论考试"}
    for outsider in ("chief", "judge1", "contestant", "contact"):
        assert_error(client.get(url, headers=tokens(outsider)), 403, "forbidden")
    assert_error(client.get(url), 401)
    assert_error(client.get(f"{url}?status=pending", headers=tokens("arbiter")), 400,
                 "bad_query")
    assert_error(client.get("/api/v1/contests/jstl-2025/tracks/chem/stages/9/appeals",
                            headers=tokens("arbiter")), 404, "not_found")
    overview = documented("/appeals", client.get("/api/v1/appeals",
                                                 headers=tokens("arbiter")).get_json())
    assert [(s["stage"]["seq"], s["open"]) for s in overview["stages"]] == [(1, 1)]
    assert_error(client.get("/api/v1/appeals", headers=tokens("judge1")), 403)

    ruling = f"/api/v1/appeals/{appeal_id}/ruling"
    assert_error(client.post(ruling, json={"decision": "upheld", "ruling": "x"},
                             headers=tokens("organiser")), 403, "forbidden")  # organisers read
    assert_error(client.post(ruling, json={"decision": "upheld", "ruling": "x"}), 401)
    assert_error(client.post("/api/v1/appeals/99999/ruling",
                             json={"decision": "upheld", "ruling": "x"},
                             headers=tokens("arbiter")), 404, "not_found")
    both = fields(assert_error(client.post(ruling, json={"decision": "maybe", "ruling": " "},
                                           headers=tokens("arbiter")), 422, "invalid"))
    assert both == {"decision": "请选择成立或不成立。", "ruling": "处理结果须写明理由。"}
    assert_error(client.post(ruling, json={"decision": "upheld"}, headers=tokens("arbiter")),
                 422, "invalid_body")
    ruled = client.post(ruling, json={"decision": "dismissed", "ruling": "经核查评分无误"},
                        headers=tokens("arbiter"))
    assert ruled.status_code == 200
    body = documented("/appeals/<int:appeal_id>/ruling", ruled.get_json(), "POST")
    assert (body["status"], body["ruling"]) == ("dismissed", "经核查评分无误")
    assert db_session.get(Appeal, appeal_id).ruled_by_id is not None
    assert_error(client.post(ruling, json={"decision": "upheld", "ruling": "再议"},
                             headers=tokens("arbiter")), 409, "conflict")
    record = db_session.scalar(sa.select(AuditLog).where(AuditLog.action == "appeal.rule"))
    assert record.actor_name == "arbiter" and record.reason == "经核查评分无误"

    assert client.get(url, headers=tokens("arbiter")).get_json()["appeals"] == []
    done = client.get(f"{url}?status=dismissed", headers=tokens("arbiter")).get_json()
    assert [a["id"] for a in done["appeals"]] == [appeal_id]
    assert len(client.get(f"{url}?status=all", headers=tokens("arbiter"))
               .get_json()["appeals"]) == 1


def test_names_stay_hidden_until_revealed(client, tokens, prelim, monkeypatch):
    from app.services import results

    file(client, tokens)
    monkeypatch.setattr(results, "names_revealed", lambda stage: False)
    body = client.get(f"{STAGE}/appeals", headers=tokens("arbiter")).get_json()
    [shown] = body["appeals"]
    assert body["stage"]["names_revealed"] is False
    assert shown["name"] is None and shown["enterprise"] is None and shown["exam_number"]
