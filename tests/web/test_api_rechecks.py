"""The re-check (复核) API, as the organiser's console does it: a version's rounds, a round's
entries, drawing the sample, marking entries correct or corrected, closing (and the full
re-check a high error rate demands). Organisers only; names only once revealed."""
import jsonschema
import pytest
import sqlalchemy as sa

from app.api import OPERATIONS
from app.models import AuditLog, RecheckItem, StageEntry
from tests.web.test_api import assert_error, bearer
from tests.whatif_setup import build_ladder


@pytest.fixture
def version_id(app, db_session):
    """A draft version of the preliminary (159 contestants: the top 10 and 15% of the rest
    are re-checked, 10 + 23 = 33 entries)."""
    from app.extensions import db
    from app.services import accounts, results

    with app.app_context():
        version = results.create_version(build_ladder().stage,
                                         actor=accounts.get_by_username("organiser"))
        db.session.commit()
        return version.id


@pytest.fixture
def tokens(api_token):
    cache = {}

    def token(name):
        if name not in cache:
            cache[name] = bearer(api_token(name))
        return cache[name]

    return token


def documented(rule: str, body: dict, method: str = "GET") -> dict:
    """The answer checked against the schema the OpenAPI document gives for it."""
    op = next(o for o in OPERATIONS if o.rule == rule and o.method == method)
    jsonschema.validate(body, op.response_schema)
    return body


def test_only_organisers_and_unknown_ids_are_404(client, tokens, version_id):
    url = f"/api/v1/results/{version_id}/rechecks"
    assert_error(client.get(url), 401, "unauthorized")
    for reader in ("chief", "judge1", "arbiter", "contestant"):
        assert_error(client.get(url, headers=tokens(reader)), 403, "forbidden")
        assert_error(client.post(url, headers=tokens(reader)), 403, "forbidden")
    assert_error(client.get("/api/v1/results/99999/rechecks", headers=tokens("organiser")),
                 404, "not_found")
    assert_error(client.post("/api/v1/results/99999/rechecks", headers=tokens("organiser")),
                 404, "not_found")
    for path in ("", "/close"):
        method = client.get if not path else client.post
        assert_error(method(f"/api/v1/rechecks/99999{path}", headers=tokens("organiser")), 404,
                     "not_found")
    round_id = client.post(url, headers=tokens("organiser")).get_json()["id"]
    assert_error(client.get(f"/api/v1/rechecks/{round_id}", headers=tokens("chief")), 403)
    assert_error(client.post(f"/api/v1/rechecks/{round_id}/items/99999",
                             json={"outcome": "correct"}, headers=tokens("organiser")),
                 404, "not_found")


def test_the_organiser_draws_checks_and_closes_and_a_high_error_rate_demands_a_full_round(
        app, client, tokens, version_id, db_session):
    org = tokens("organiser")
    url = f"/api/v1/results/{version_id}/rechecks"
    before = documented("/results/<int:version_id>/rechecks",
                        client.get(url, headers=org).get_json())
    assert before["rounds"] == [] and before["required"] is True
    assert "尚未复核" in before["blocker"]

    opened = client.post(url, headers=org)
    assert opened.status_code == 201
    round_ = documented("/results/<int:version_id>/rechecks", opened.get_json(), "POST")
    assert (round_["kind"], round_["top"], round_["fraction"]) == ("sample", 10, "0.1500")
    assert round_["progress"] == {"total": 33, "checked": 0, "corrected": 0, "pending": 33}
    assert round_["verdict"] is None and round_["seed"].isdigit()
    assert_error(client.post(url, headers=org), 409, "conflict")  # a version is sampled once

    base = f"/api/v1/rechecks/{round_['id']}"
    page = documented("/rechecks/<int:round_id>",
                      client.get(f"{base}?per_page=10", headers=org).get_json())
    assert (page["total"], page["pages"], len(page["items"])) == (33, 4, 10)
    first = page["items"][0]
    assert first["why"] == "top" and first["rank"] is not None and first["outcome"] == "pending"
    place = db_session.get(StageEntry, first["entry_id"])
    assert first["exam_number"] == place.entry.exam_number
    assert first["name"] == place.entry.contestant.name  # no judged component: revealed
    assert [c["code"] for c in first["components"]] == ["learning", "theory"]
    assert first["total"] is not None
    assert {i["why"] for i in client.get(f"{base}?per_page=1000", headers=org)
            .get_json()["items"]} == {"top", "sample"}
    assert_error(client.get(f"{base}?show=wrong", headers=org), 400, "bad_query")
    assert_error(client.get(f"{base}?page=0", headers=org), 400, "bad_query")

    # one entry at a time: a correction needs its note; the outcome is correct or corrected
    item = f"{base}/items/{first['id']}"
    no_note = assert_error(client.post(item, json={"outcome": "corrected"}, headers=org),
                           422, "invalid")
    assert [d["field"] for d in no_note["details"]] == ["note"]
    wrong = assert_error(client.post(item, json={"outcome": "maybe"}, headers=org), 422)
    assert [d["field"] for d in wrong["details"]] == ["outcome"]
    assert_error(client.post(item, json={"note": "x"}, headers=org), 422, "invalid_body")
    ids = [i["id"] for i in client.get(f"{base}?per_page=1000", headers=org)
           .get_json()["items"]]
    for item_id in ids[:2]:
        recorded = client.post(f"{base}/items/{item_id}",
                               json={"outcome": "corrected", "note": "理论分录入有误"},
                               headers=org)
        assert recorded.status_code == 200, recorded.get_json()
        body = documented("/rechecks/<int:round_id>/items/<int:item_id>", recorded.get_json(),
                          "POST")
        assert body["outcome"] == "corrected" and body["note"] == "理论分录入有误"
        assert body["checked_by"] and body["checked_at"]
    audit = db_session.scalar(sa.select(AuditLog).where(AuditLog.action == "recheck.item")
                              .order_by(AuditLog.id.desc()))
    assert audit.actor_name == "organiser" and audit.reason == "理论分录入有误"
    corrected = client.get(f"{base}?show=corrected", headers=org).get_json()
    assert corrected["total"] == 2 and corrected["show"] == "corrected"

    # not all checked yet: the round stays open
    assert_error(client.post(f"{base}/close", headers=org), 409, "conflict")
    assert_error(client.post(f"{base}/correct", json={"item_ids": []}, headers=org), 422,
                 "invalid_body")
    only_checked = assert_error(client.post(f"{base}/correct", json={"item_ids": ids[:2]},
                                            headers=org), 422)
    assert only_checked["details"][0]["field"] == "item_id"
    marked = client.post(f"{base}/correct", json={"item_ids": ids}, headers=org)
    assert marked.status_code == 200
    body = documented("/rechecks/<int:round_id>/correct", marked.get_json(), "POST")
    assert body["marked"] == 31 and body["round"]["progress"]["pending"] == 0

    # 2 wrong out of 33 is 6.06%, above the 5% threshold: a full re-check opens at once
    closed = client.post(f"{base}/close", headers=org)
    assert closed.status_code == 200
    body = documented("/rechecks/<int:round_id>/close", closed.get_json(), "POST")
    assert body["verdict"]["error_rate"] == "0.0606" and body["verdict"]["full_recheck_required"]
    assert body["round"]["closed_at"] and body["round"]["demanded_full"] is True
    full = body["full_round"]
    assert full["kind"] == "full" and full["progress"]["total"] == 159
    assert full["progress"]["checked"] == 33  # the sample's marks carried over
    assert_error(client.post(f"{base}/items/{ids[0]}", json={"outcome": "correct"},
                             headers=org), 409, "conflict")  # a closed round keeps its marks
    assert_error(client.post(f"{base}/close", headers=org), 409, "conflict")

    after = documented("/results/<int:version_id>/rechecks",
                       client.get(url, headers=org).get_json())
    assert [r["kind"] for r in after["rounds"]] == ["sample", "full"]
    assert after["blocker"] == "该版本的复核尚未完成。"
    assert_error(client.post(f"/api/v1/results/{version_id}/publish", headers=org), 409)


def test_names_stay_hidden_until_revealed(client, tokens, version_id, monkeypatch, db_session):
    from app.services import results

    round_id = client.post(f"/api/v1/results/{version_id}/rechecks",
                           headers=tokens("organiser")).get_json()["id"]
    monkeypatch.setattr(results, "names_revealed", lambda stage: False)
    body = client.get(f"/api/v1/rechecks/{round_id}", headers=tokens("organiser")).get_json()
    assert body["stage"]["names_revealed"] is False
    assert all(i["name"] is None and i["exam_number"] for i in body["items"])
    item = db_session.get(RecheckItem, body["items"][0]["id"])
    assert body["items"][0]["entry_id"] == item.stage_entry_id
