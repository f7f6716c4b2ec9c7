"""Hostile JSON: NUL, a right-to-left override, 1e300, NaN and Infinity in API bodies and in
the score sheet's autosave are a 4xx naming the field, never a 500, and change nothing
(issue 11, part 2)."""
from __future__ import annotations

import json
import re
from datetime import date

import pytest
import sqlalchemy as sa

from tests.conftest import valid_id_number
from tests.judging_setup import prepare_practical
from tests.web.test_hostile_input import _table_counts

CJK = re.compile(r"[\u4e00-\u9fff]")


def bearer(secret):
    return {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}


def entry_body(**changes):
    body = {"contest": "jstl-2025", "track": "steel", "name": "赵六", "gender": "男",
            "id_number": valid_id_number(date(1979, 2, 2), seq=7), "phone": "13900000006",
            "city": "南京市", "post": "运行班班长", "years_as_leader": "8"}
    return json.dumps({**body, **changes}, ensure_ascii=False, allow_nan=True)


def test_the_entry_body_used_below_registers(client, api_token):
    response = client.post("/api/v1/entries", data=entry_body(), headers=bearer(api_token("contact")))
    assert response.status_code == 201


@pytest.mark.parametrize(("field", "raw"), [
    ("years_as_leader", "1e300"), ("years_as_leader", "1E+30"), ("years_as_leader", 1e300),
    ("years_as_leader", float("nan")), ("years_as_leader", float("inf")),
    ("years_as_leader", "NaN"), ("years_as_leader", "Infinity"),
    ("name", "张\x00三"), ("name", "张\u202e三"), ("post", "班长\u2066"), ("city", "南京\x1b"),
])
def test_a_hostile_entry_field_is_a_422_naming_it_and_nothing_is_saved(
        client, api_token, db_session, field, raw):
    """The issue's case: years as team leader 1e300 / 1E+30 answered 500 here."""
    headers = bearer(api_token("contact"))
    before = _table_counts(db_session)
    response = client.post("/api/v1/entries", data=entry_body(**{field: raw}), headers=headers)
    assert response.status_code == 422, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert CJK.search(error["message"])
    assert field in {d["field"] for d in error["details"]}
    assert all(CJK.search(d["reason"]) for d in error["details"] if d["field"] == field)
    db_session.expire_all()
    assert _table_counts(db_session) == before


@pytest.mark.parametrize("ids", [[2**31], [9223372036854775808], [10**30], [1, -1], [0]])
def test_ids_out_of_range_inside_a_json_array_are_a_422(client, api_token, db_session, ids):
    headers = bearer(api_token("organiser"))
    before = _table_counts(db_session)
    response = client.post("/api/v1/entries/review",
                           data=json.dumps({"action": "endorse", "entry_ids": ids}),
                           headers=headers)
    assert response.status_code == 422
    assert response.get_json()["error"]["details"][0]["field"].startswith("entry_ids")
    assert _table_counts(db_session) == before


def test_the_api_document_bounds_every_id(client):
    document = client.get("/api/v1/openapi.json").get_json()
    for path, operations in document["paths"].items():
        for operation in operations.values():
            for parameter in operation["parameters"]:
                if parameter["in"] == "path" and parameter["schema"]["type"] == "integer":
                    assert parameter["schema"]["maximum"] == 2**31 - 1, path


def _hostile_body(schema: dict, text: str, number) -> object:
    """A body of the operation's shape with every value hostile: each text ``text``, each
    integer beyond the database's range, each number ``number``."""
    kind = schema.get("type")
    kinds = kind if isinstance(kind, list) else [kind]
    if "object" in kinds or "properties" in schema:
        return {name: _hostile_body(sub, text, number)
                for name, sub in schema.get("properties", {}).items()}
    if "array" in kinds:
        return [_hostile_body(schema.get("items", {}), text, number)]
    if "integer" in kinds:
        return 2**40
    if "number" in kinds:
        return number
    if "boolean" in kinds:
        return True
    return text


@pytest.mark.parametrize(("text", "number"), [("囧\x00囧", float("nan")),
                                              ("囧\u202e囧", 1e300),
                                              ("1e300", float("inf"))])
def test_every_api_body_with_hostile_values_is_a_4xx_and_changes_nothing(
        app, client, api_token, db_session, text, number):
    from app.api import OPERATIONS

    headers = bearer(api_token("organiser"))
    before = _table_counts(db_session)
    tried = 0
    for op in OPERATIONS:
        if op.request_schema is None:
            continue
        url = "/api/v1" + re.sub(r"<int:\w+>", "1", re.sub(r"<(?!int:)(\w+)>", "x", op.rule))
        body = json.dumps(_hostile_body(op.request_schema, text, number), allow_nan=True)
        response = client.open(url, method=op.method, data=body, headers=headers)
        assert 400 <= response.status_code < 500, f"{op.method} {url}: {response.status_code}"
        assert CJK.search(response.get_json()["error"]["message"]), url
        tried += 1
    assert tried > 15
    db_session.expire_all()
    assert _table_counts(db_session) == before


# ---------------------------------------------------------------------------------------------
# The score sheet's autosave (JSON from the sheet page)


@pytest.fixture
def practical(app, db_session):
    with app.app_context():
        return prepare_practical()


def _station(db_session, practical):
    from app.models import Component, StageEntry

    component = db_session.get(Component, practical)
    return sorted(db_session.scalars(sa.select(StageEntry.workstation_number).where(
        StageEntry.stage_id == component.stage_id)))[0]


@pytest.mark.parametrize(("values", "reasons", "overrun", "field"), [
    ({"A1": "1e300"}, {}, 0, "A1"),
    ({"A1": "1E+1"}, {}, 0, "A1"),
    ({"A1": float("nan")}, {}, 0, "A1"),
    ({"A1": float("inf")}, {}, 0, "A1"),
    ({"A1": "NaN"}, {}, 0, "A1"),
    ({"A1": "Infinity"}, {}, 0, "A1"),
    ({"A1": "1\x00"}, {}, 0, "A1"),
    ({"C1": "1"}, {"C1": "严重违章\x00"}, 0, "C1"),
    ({"C1": "1"}, {"C1": "严重\u202e违章"}, 0, "C1"),
    ({"A1": "10"}, {}, "1e300", "overrun_minutes"),
    ({"A1": "10"}, {}, 99999999999, "overrun_minutes"),
    ({"A1": "10"}, {}, float("nan"), "overrun_minutes"),
])
def test_a_hostile_mark_reason_or_overrun_in_the_autosave_is_a_422_naming_it(
        signed_in, practical, db_session, values, reasons, overrun, field):
    visitor = signed_in("judge3")
    station = _station(db_session, practical)
    before = _table_counts(db_session)
    body = json.dumps({"version": 0, "values": values, "reasons": reasons,
                       "overrun_minutes": overrun}, allow_nan=True)
    answer = visitor.client.post(f"/judge/components/{practical}/sheets/{station}/save",
                                 data=body, content_type="application/json",
                                 headers={"X-CSRFToken": visitor.csrf_token()})
    assert answer.status_code == 422, answer.get_data(as_text=True)
    details = {d["field"]: d["reason"] for d in answer.get_json()["error"]["details"]}
    assert CJK.search(details[field])
    db_session.expire_all()
    assert _table_counts(db_session) == before


@pytest.mark.parametrize("version", ["1e300", 2**40, "NaN", float("inf"), "x\x00", True, -1])
def test_a_hostile_sheet_version_is_a_400_not_taken_for_version_0(
        signed_in, practical, db_session, version):
    visitor = signed_in("judge3")
    station = _station(db_session, practical)
    before = _table_counts(db_session)
    body = json.dumps({"version": version, "values": {"A1": "10"}, "reasons": {}},
                      allow_nan=True)
    answer = visitor.client.post(f"/judge/components/{practical}/sheets/{station}/save",
                                 data=body, content_type="application/json",
                                 headers={"X-CSRFToken": visitor.csrf_token()})
    assert answer.status_code == 400
    assert CJK.search(answer.get_json()["error"]["message"])
    db_session.expire_all()
    assert _table_counts(db_session) == before
