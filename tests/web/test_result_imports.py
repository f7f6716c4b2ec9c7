"""Theory and simulator results through the console, the API, the push endpoint and the CLI:
one pipeline behind all four; the push token's scope."""
from __future__ import annotations

import io
import json
import re

import jsonschema
import pytest
import sqlalchemy as sa

from app.models import ComponentScore, ImportBatch, ImportedResult, ImportStatus
from tests.conftest import flask_cli, fresh_database_url
from tests.result_sheets import component, json_bytes, prepare_advanced, xlsx

THEORY_HEADER = ["准考证号", "姓名", "成绩"]


@pytest.fixture
def setup(app, db_session):
    """The advanced stage with 6 drawn contestants: ids of its components and the people."""
    with app.app_context():
        people = prepare_advanced(6)
        return {"people": people, **{code: component(code).id
                                     for code in ("theory", "twin", "practical")}}


def bearer(secret: str) -> dict:
    return {"Authorization": f"Bearer {secret}"}


def theory(people, scores) -> bytes:
    return xlsx(THEORY_HEADER, [[exam, "某某", score] for (exam, _ws), score
                                in zip(people, scores, strict=True)])


def stored(db_session, component_id) -> dict[int, tuple]:
    return {row[0]: tuple(row[1:]) for row in db_session.execute(
        sa.select(ComponentScore.stage_entry_id, ComponentScore.points,
                  ComponentScore.time_used_seconds, ComponentScore.import_batch_id)
        .where(ComponentScore.component_id == component_id))}


def upload(visitor, component_id, content, name="理论成绩.xlsx"):
    return visitor.post(f"/admin/components/{component_id}/results",
                        {"file": (io.BytesIO(content), name)}, content_type="multipart/form-data")


def batch_page(visitor, response):
    """Follow an upload's redirects to the results file's page: (batch id, page text)."""
    while response.status_code == 302:
        location = response.location
        response = visitor.get(location)
    match = re.search(r"/admin/results-imports/(\d+)", location)
    assert match and response.status_code == 200, location
    return int(match.group(1)), response.get_data(as_text=True)


def _document(client):
    return client.get("/api/v1/openapi.json").get_json()


# ---------------------------------------------------------------------------------------------
# Console


def test_console_checks_imports_and_confirms_changes(signed_in, setup, db_session):
    organiser = signed_in("organiser")
    people, theory_id = setup["people"], setup["theory"]
    page = organiser.get(f"/admin/components/{theory_id}/results").get_data(as_text=True)
    assert 'id="results-upload"' in page and "/api/v1/components/" in page
    assert f"/admin/components/{theory_id}/results" in organiser.get(
        "/admin/judging").get_data(as_text=True)

    batch_id, page = batch_page(organiser, upload(organiser, theory_id,
                                                  theory(people, [80, 81, 82, 83, 84, 85])))
    assert 'data-count="new">6<' in page and 'id="import-all-good"' in page
    assert not stored(db_session, theory_id)  # a check writes nothing
    response = organiser.post(f"/admin/results-imports/{batch_id}/import")
    assert response.status_code == 302
    assert len(stored(db_session, theory_id)) == 6

    batch_id, page = batch_page(organiser, upload(organiser, theory_id,
                                                  theory(people, [80, 81, 82, 83, 84, 90]),
                                                  name="更正.xlsx"))
    assert 'id="result-changes"' in page and "<strong>90</strong>" in page
    assert 'name="confirm_changes"' in page
    organiser.post(f"/admin/results-imports/{batch_id}/import")  # box not ticked
    assert sorted(p for p, _t, _b in stored(db_session, theory_id).values())[-1] == 85
    page = organiser.get(f"/admin/results-imports/{batch_id}").get_data(as_text=True)
    assert "勾选" in page
    organiser.post(f"/admin/results-imports/{batch_id}/import", {"confirm_changes": "y"})
    assert sorted(p for p, _t, _b in stored(db_session, theory_id).values())[-1] == 90
    assert db_session.get(ImportBatch, batch_id).status == ImportStatus.IMPORTED

    # The generic imports list links here, and the generic page sends results files here.
    response = organiser.get(f"/admin/imports/{batch_id}")
    assert response.status_code == 302 and f"/admin/results-imports/{batch_id}" in response.location


def test_console_bad_file_imports_nothing_and_offers_the_error_report(signed_in, setup,
                                                                      db_session):
    organiser = signed_in("organiser")
    people, theory_id = setup["people"], setup["theory"]
    content = xlsx(THEORY_HEADER, [[people[0][0], "甲", 80], ["2099000000", "乙", 80],
                                   [people[1][0], "丙", 120]])
    batch_id, page = batch_page(organiser, upload(organiser, theory_id, content))
    assert 'id="import-errors"' in page and "2099000000" in page and "满分" in page
    assert "导入这" not in page  # no import button: all or nothing
    report = organiser.get(f"/admin/imports/{batch_id}/errors.xlsx")
    assert report.status_code == 200 and report.data[:2] == b"PK"
    assert not stored(db_session, theory_id)


def test_console_refuses_a_judged_component_and_bad_files(signed_in, setup):
    organiser = signed_in("organiser")
    page = organiser.get(f"/admin/components/{setup['practical']}/results").get_data(as_text=True)
    assert 'id="not-imported"' in page and 'id="results-upload"' not in page
    response = upload(organiser, setup["theory"], b"not a workbook")
    assert response.status_code == 422 and "无法作为 Excel 工作簿读取" in response.get_data(as_text=True)
    response = upload(organiser, setup["theory"], b"x", name="成绩.pdf")
    assert response.status_code == 422 and ".json" in response.get_data(as_text=True)


def test_console_push_token_pushes_for_its_component_only(signed_in, setup, client, db_session):
    organiser = signed_in("organiser")
    page = organiser.post(f"/admin/components/{setup['twin']}/push-token").get_data(as_text=True)
    secret = re.search(r'id="new-token">([^<]+)<', page).group(1)
    assert f"component:{setup['twin']}:push" in page
    body = {"results": [{"workstation": setup["people"][0][1], "points": "70.5",
                         "time_used_seconds": 600}]}
    assert client.post(f"/api/v1/components/{setup['twin']}/results", json=body,
                       headers=bearer(secret)).status_code == 200
    assert client.post(f"/api/v1/components/{setup['theory']}/results", json=body,
                       headers=bearer(secret)).status_code == 403


# ---------------------------------------------------------------------------------------------
# API: upload and push


def test_api_upload_reports_checks_and_imports_against_its_schema(client, api_token, setup,
                                                                   db_session):
    secret = api_token("organiser")
    people = setup["people"]
    url = "/api/v1/contests/jstl-2025/tracks/chem/stages/2/components/theory/results/import"
    schema = _document(client)["paths"][
        "/contests/{code}/tracks/{track}/stages/{seq}/components/{component}/results/import"][
        "post"]["responses"]["200"]["content"]["application/json"]["schema"]

    def send(content, **form):
        return client.post(url, data={"file": (io.BytesIO(content), "理论.xlsx"), **form},
                           headers=bearer(secret), content_type="multipart/form-data")

    response = send(theory(people, [80] * 6), dry_run="true")
    assert response.status_code == 200
    jsonschema.validate(response.get_json(), schema)
    assert response.get_json()["new"] == 6 and not stored(db_session, setup["theory"])
    response = send(theory(people, [80] * 6))
    assert response.get_json()["imported"] == 6
    response = send(theory(people, [70] * 6))
    answer = response.get_json()
    jsonschema.validate(answer, schema)
    assert answer["confirmation_required"] and answer["imported"] == 0 and answer["changed"] == 6
    answer = send(theory(people, [70] * 6), confirm_changes="true").get_json()
    assert answer["imported"] == 6 and not answer["confirmation_required"]
    assert send(b"garbage").status_code == 422
    assert client.post(url, data={}, headers=bearer(secret)).status_code == 400
    other = "/api/v1/contests/jstl-2025/tracks/chem/stages/9/components/theory/results/import"
    assert client.post(other, data={"file": (io.BytesIO(b"x"), "a.xlsx")},
                       headers=bearer(secret)).status_code == 404


def push(client, component_id, body, secret=None):
    headers = bearer(secret) if secret else {}
    return client.post(f"/api/v1/components/{component_id}/results", json=body, headers=headers)


def test_push_with_the_components_token_imports_once(client, api_token, setup, db_session):
    twin = setup["twin"]
    secret = api_token("organiser", scope=f"component:{twin}:push")
    (e1, w1), (_e2, w2), *_ = setup["people"]
    body = {"results": [
        {"workstation": w1, "points": "88.5", "time_used_seconds": 754,
         "details": {"steps": {"开车准备": 30, "升温升压": 28.5}}},
        {"exam_number": setup["people"][1][0], "points": 70, "time_used_seconds": "12:30"}]}
    response = push(client, twin, body, secret)
    assert response.status_code == 200, response.get_json()
    schema = _document(client)["paths"]["/components/{component_id}/results"]["post"][
        "responses"]["200"]["content"]["application/json"]["schema"]
    jsonschema.validate(response.get_json(), schema)
    batch = db_session.get(ImportBatch, response.get_json()["batch_id"])
    assert batch.file_name == "push" and batch.status == ImportStatus.IMPORTED
    scores = stored(db_session, twin)
    assert sorted((p, t) for p, t, _b in scores.values()) == [(70, 750), (88.5, 754)]
    details = db_session.scalar(sa.select(ImportedResult.details).where(
        ImportedResult.batch_id == batch.id, ImportedResult.row_number == 1))
    assert details == {"steps": {"开车准备": "30", "升温升压": "28.5"}}

    again = push(client, twin, {"results": list(reversed(body["results"]))[::-1]}, secret)
    assert again.status_code == 200 and again.get_json()["already_imported"]
    changed = {"results": [{"workstation": w1, "points": "90", "time_used_seconds": 754}]}
    refused = push(client, twin, changed, secret)
    assert refused.status_code == 409
    error = refused.get_json()["error"]
    assert error["code"] == "confirmation_required"
    assert error["details"][0]["old_points"] == "88.5" and error["details"][0]["new_points"] == "90"
    jsonschema.validate(refused.get_json(), _document(client)["components"]["schemas"]["Error"])
    accepted = push(client, twin, {**changed, "confirm_changes": True}, secret)
    assert accepted.status_code == 200 and accepted.get_json()["changed"] == 1
    assert w2  # the second contestant kept their score
    assert len(stored(db_session, twin)) == 2


def test_push_token_scope_and_authentication(client, api_token, setup):
    twin, theory_id = setup["twin"], setup["theory"]
    body = {"results": [{"workstation": setup["people"][0][1], "points": 60}]}
    other = api_token("organiser", scope=f"component:{theory_id}:push")
    response = push(client, twin, body, other)
    assert response.status_code == 403 and response.get_json()["error"]["code"] == "token_scope"
    assert push(client, twin, body).status_code == 401
    assert push(client, twin, body, "cst_not-a-token").status_code == 401
    read_only = api_token("organiser", scope=f"component:{twin}:read")
    assert push(client, twin, body, read_only).status_code == 403
    assert push(client, twin, body, api_token("judge1")).status_code == 403  # unscoped, not organiser
    assert push(client, twin, body, api_token("organiser")).status_code == 200  # organiser's own
    assert push(client, 999999, body, api_token("organiser")).status_code == 404
    scoped = api_token("organiser", scope=f"component:{twin}:push")
    assert client.get("/api/v1/users", headers=bearer(scoped)).status_code == 403


@pytest.mark.parametrize("body", [
    {}, {"results": []}, {"results": [{"points": 60}]},
    {"results": [{"workstation": "001"}]}, {"results": [{"workstation": "001", "points": 1,
                                                          "name": "张三"}]},
    {"results": "all"}, {"results": [{"workstation": "001", "points": 1}], "extra": 1}])
def test_a_malformed_push_is_refused_with_422(client, api_token, setup, body):
    secret = api_token("organiser", scope=f"component:{setup['twin']}:push")
    response = push(client, setup["twin"], body, secret)
    assert response.status_code == 422 and response.get_json()["error"]["code"] == "invalid_body"


def test_a_push_that_is_not_json_is_refused_with_400(client, api_token, setup):
    secret = api_token("organiser", scope=f"component:{setup['twin']}:push")
    response = client.post(f"/api/v1/components/{setup['twin']}/results", data="points=1",
                           headers=bearer(secret))
    assert response.status_code == 400


def test_push_rows_are_checked_like_a_file_and_nothing_is_imported(client, api_token, setup,
                                                                   db_session):
    secret = api_token("organiser", scope=f"component:{setup['twin']}:push")
    (e1, w1), (e2, _w2), *_ = setup["people"]
    body = {"results": [{"workstation": w1, "points": 60},
                        {"workstation": "999", "points": 60},
                        {"exam_number": e2, "points": 101, "time_used_seconds": -3},
                        {"exam_number": e1, "points": 50}]}
    response = push(client, setup["twin"], body, secret)
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "invalid_rows"
    assert [(d["row"], d["column"]) for d in error["details"]] == [
        (2, "workstation"), (3, "points"), (3, "time_used_seconds"), (4, "exam_number")]
    assert not stored(db_session, setup["twin"])


# ---------------------------------------------------------------------------------------------
# CLI


def test_cli_json_and_exit_codes(runner, tmp_path, setup, db_session):
    people = setup["people"]
    args = ["results", "import", "--contest", "jstl-2025", "--track", "chem", "--stage", "2",
            "--component", "theory", "--json"]
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(xlsx(THEORY_HEADER, [[people[0][0], "甲", 80], ["2099000000", "乙", 80]]))
    result = runner.invoke(args=[*args[:2], str(bad), *args[2:]])
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    assert report["imported"] == 0 and [(e["row"], e["column"]) for e in report["errors"]] == [
        (4, "准考证号")]

    good = tmp_path / "good.xlsx"
    good.write_bytes(theory(people, [80] * 6))
    result = runner.invoke(args=[*args[:2], str(good), *args[2:], "--dry-run"])
    assert result.exit_code == 0 and json.loads(result.stdout)["imported"] == 0
    assert not stored(db_session, setup["theory"])
    result = runner.invoke(args=[*args[:2], str(good), *args[2:]])
    assert result.exit_code == 0 and json.loads(result.stdout)["imported"] == 6
    result = runner.invoke(args=[*args[:2], str(good), *args[2:]])
    assert result.exit_code == 0 and json.loads(result.stdout)["already_imported"]

    changed = tmp_path / "changed.xlsx"
    changed.write_bytes(theory(people, [80, 80, 80, 80, 80, 79]))
    result = runner.invoke(args=[*args[:2], str(changed), *args[2:]])
    assert result.exit_code == 3
    report = json.loads(result.stdout)
    assert report["confirmation_required"] and report["changes"][0]["new_points"] == "79"
    result = runner.invoke(args=[*args[:2], str(changed), *args[2:], "--confirm"])
    assert result.exit_code == 0 and json.loads(result.stdout)["imported"] == 6

    twin = tmp_path / "twin.json"
    twin.write_bytes(json_bytes([{"赛位号": ws, "总分": 60, "用时": "10分"}
                                 for _e, ws in people]))
    result = runner.invoke(args=["results", "import", str(twin), "--track", "chem", "--stage",
                                 "2", "--component", "twin"])
    assert result.exit_code == 0, result.output
    assert "导入 imported: 6" in result.stdout
    result = runner.invoke(args=["results", "import", str(good), "--track", "chem", "--stage",
                                 "2", "--component", "practical"])
    assert result.exit_code == 2 and "评分表" in result.stderr


def test_cli_in_its_own_process_imports_results(tmp_path):
    url = fresh_database_url("test_cli_results", tmp_path)
    flask_cli(url, "db", "upgrade")
    flask_cli(url, "demo", "load", "--configuration-only")
    path = tmp_path / "theory.csv"
    # No contestant is in the advanced stage of a fresh demo: every row is an unknown number.
    path.write_text("准考证号,成绩\n2025010001,80\n", encoding="utf-8")
    result = flask_cli(url, "results", "import", str(path), "--track", "chem", "--stage", "2",
                       "--component", "theory", "--json", check=False)
    assert result.returncode == 1, result.stderr
    assert json.loads(result.stdout)["errors"][0]["row"] == 2
