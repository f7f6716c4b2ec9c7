"""The JSON API: bearer tokens, role checks, one error shape, malformed bodies."""
import sqlalchemy as sa

from app.models import User


def bearer(secret: str) -> dict:
    return {"Authorization": f"Bearer {secret}"}


def assert_error(response, status: int, code: str | None = None):
    assert response.status_code == status
    body = response.get_json()
    assert set(body) == {"error"} and {"code", "message"} <= set(body["error"])
    assert body["error"]["message"]
    if code:
        assert body["error"]["code"] == code
    return body["error"]


def test_no_token_is_401_json(client):
    assert_error(client.get("/api/v1/me"), 401, "unauthorized")


def test_unknown_token_is_401_json(client):
    assert_error(client.get("/api/v1/me", headers=bearer("cst_not-a-token")), 401, "invalid_token")


def test_wrong_authorization_scheme_is_401_json(client):
    response = client.get("/api/v1/me", headers={"Authorization": "Basic b3JnOnB3"})
    assert_error(response, 401, "unauthorized")


def test_token_identifies_the_caller(client, api_token):
    body = client.get("/api/v1/me", headers=bearer(api_token("judge1"))).get_json()
    assert body["username"] == "judge1" and body["role"] == "judge"


def test_session_cookie_does_not_authenticate_the_api(signed_in):
    visitor = signed_in("organiser")
    assert_error(visitor.get("/api/v1/me"), 401)


def test_revoked_token_stops_working(client, api_token, app):
    from app.extensions import db
    from app.models import ApiToken
    from app.services import accounts

    secret = api_token("organiser")
    assert client.get("/api/v1/me", headers=bearer(secret)).status_code == 200
    with app.app_context():
        token = db.session.scalar(sa.select(ApiToken).where(
            ApiToken.token_hash == ApiToken.hash_secret(secret)))
        accounts.revoke_token(token)
        db.session.commit()
    assert_error(client.get("/api/v1/me", headers=bearer(secret)), 401, "invalid_token")


def test_token_of_a_deactivated_account_stops_working(client, api_token, db_session):
    secret = api_token("judge1")
    db_session.scalar(sa.select(User).where(User.username == "judge1")).active = False
    db_session.commit()
    assert_error(client.get("/api/v1/me", headers=bearer(secret)), 401)


def test_wrong_role_is_403_json(client, api_token):
    assert_error(client.get("/api/v1/users", headers=bearer(api_token("contestant"))), 403,
                 "forbidden")


def test_scoped_token_cannot_use_general_endpoints(client, api_token):
    secret = api_token("organiser", scope="component:1:push")
    error = assert_error(client.get("/api/v1/users", headers=bearer(secret)), 403, "token_scope")
    assert "component:1:push" in error["message"]


def test_errors_are_in_chinese_by_default(client):
    error = assert_error(client.get("/api/v1/me"), 401)
    assert "令牌" in error["message"]


def test_unknown_endpoint_is_404_json(client, api_token):
    assert_error(client.get("/api/v1/nothing-here", headers=bearer(api_token("organiser"))), 404,
                 "not_found")


def test_wrong_method_is_405_json(client, api_token):
    assert_error(client.delete("/api/v1/me", headers=bearer(api_token("organiser"))), 405)


def test_unknown_contest_is_404_json(client, api_token):
    assert_error(client.get("/api/v1/contests/nope/tracks", headers=bearer(api_token("judge1"))),
                 404, "not_found")


def test_malformed_json_body_is_400(client, api_token):
    response = client.post("/api/v1/users", data="{not json", content_type="application/json",
                           headers=bearer(api_token("organiser")))
    assert_error(response, 400, "malformed_body")


def test_json_array_body_is_400(client, api_token):
    response = client.post("/api/v1/users", json=[1, 2], headers=bearer(api_token("organiser")))
    assert_error(response, 400, "malformed_body")


def test_invalid_body_is_422_naming_each_field(client, api_token):
    response = client.post("/api/v1/users", headers=bearer(api_token("organiser")), json={
        "username": "bad name!", "display_name": "", "role": "emperor", "password": "short"})
    error = assert_error(response, 422, "invalid_body")
    fields = {d["field"] for d in error["details"]}
    assert {"username", "display_name", "role", "password"} <= fields


def test_organiser_creates_an_account_through_the_api(client, api_token, db_session):
    response = client.post("/api/v1/users", headers=bearer(api_token("organiser")), json={
        "username": "judge9", "display_name": "九号裁判", "role": "judge", "password": "Judge9pass"})
    assert response.status_code == 201
    assert response.get_json()["username"] == "judge9"
    user = db_session.scalar(sa.select(User).where(User.username == "judge9"))
    assert user.role.value == "judge" and user.check_password("Judge9pass")


def test_duplicate_username_is_409(client, api_token):
    response = client.post("/api/v1/users", headers=bearer(api_token("organiser")), json={
        "username": "judge1", "display_name": "x", "role": "judge", "password": "Judge9pass"})
    assert_error(response, 409)


def test_weak_password_is_422_with_the_reason(client, api_token):
    response = client.post("/api/v1/users", headers=bearer(api_token("organiser")), json={
        "username": "judge10", "display_name": "x", "role": "judge", "password": "abcdefgh"})
    error = assert_error(response, 422)
    assert error["details"][0]["field"] == "password"


def test_tracks_endpoint_gives_organisers_entry_counts_and_judges_none(client, api_token):
    org = client.get("/api/v1/contests/jstl-2025/tracks", headers=bearer(api_token("organiser")))
    judge = client.get("/api/v1/contests/jstl-2025/tracks", headers=bearer(api_token("judge1")))
    org_tracks = {t["code"]: t for t in org.get_json()["tracks"]}
    assert list(org_tracks) == ["chem", "steel", "machinery", "textile", "new-energy",
                                "construction", "power"]
    assert sum(org_tracks["chem"]["entries_by_status"].values()) == 180
    assert all("entries_by_status" not in t for t in judge.get_json()["tracks"])


def test_users_listing_filters_by_role_and_rejects_unknown_roles(client, api_token):
    secret = api_token("organiser")
    judges = client.get("/api/v1/users?role=judge", headers=bearer(secret)).get_json()
    assert judges["total"] == 5 and {u["role"] for u in judges["users"]} == {"judge"}
    assert_error(client.get("/api/v1/users?role=emperor", headers=bearer(secret)), 400)


def test_a_method_a_path_does_not_have_is_405_naming_the_allowed_ones(client, api_token):
    response = client.delete("/api/v1/me", headers=bearer(api_token("organiser")))
    assert_error(response, 405)
    assert {m.strip() for m in response.headers["Allow"].split(",")} >= {"GET"}
    assert "DELETE" not in response.headers["Allow"]


def test_an_empty_or_unknown_status_filter_is_refused_with_400(client, api_token):
    headers = bearer(api_token("organiser"))
    for query in ("status=", "status=nonsense", "page=null", "page=0", "page=1.5",
                  "page=1&page=2", "page=100001", "colour=red"):
        error = assert_error(client.get(f"/api/v1/entries?{query}", headers=headers), 400,
                             "bad_query")
        assert "API" in error["message"], query


def test_a_valid_query_still_filters(client, api_token):
    response = client.get("/api/v1/entries?status=approved&page=1",
                          headers=bearer(api_token("organiser")))
    assert response.status_code == 200
    body = response.get_json()
    assert body["entries"] and {e["status"] for e in body["entries"]} == {"approved"}


def test_an_id_beyond_the_database_integer_is_404_not_a_server_error(client, api_token):
    headers = bearer(api_token("organiser"))
    for url in ("/api/v1/entries/2147483648", "/api/v1/entries/9223372036854775808",
                "/api/v1/results/18446744073709551615", "/api/v1/advancement-lists/10" + "0" * 30):
        assert_error(client.get(url, headers=headers), 404, "not_found")
    response = client.post("/api/v1/results/2147483648/publish", headers=headers)
    assert_error(response, 404, "not_found")


def test_a_code_that_no_contest_can_have_is_404(client, api_token):
    for code in ("%00", "a%20b", "x" * 41):
        assert_error(client.get(f"/api/v1/contests/{code}/tracks",
                                headers=bearer(api_token("organiser"))), 404, "not_found")


def test_ids_beyond_the_database_integer_in_a_body_are_422_and_change_nothing(
        client, api_token, db_session):
    from app.models import Entry, EntryStatus

    before = db_session.scalar(sa.select(sa.func.count()).select_from(Entry).where(
        Entry.status == EntryStatus.ENDORSED))
    response = client.post("/api/v1/entries/review", headers=bearer(api_token("organiser")),
                           json={"action": "endorse", "entry_ids": [1, 2, 2147483648]})
    error = assert_error(response, 422, "invalid_body")
    assert error["details"][0]["field"] == "entry_ids.2"
    assert db_session.scalar(sa.select(sa.func.count()).select_from(Entry).where(
        Entry.status == EntryStatus.ENDORSED)) == before


def test_a_rejection_without_a_reason_is_outside_the_schema(client, api_token):
    headers = bearer(api_token("organiser"))
    for body in ({"action": "reject"}, {"action": "reject", "reason": "   "}):
        response = client.post("/api/v1/entries/1/review", headers=headers, json=body)
        assert_error(response, 422, "invalid_body")


def test_the_public_document_ignores_a_bad_token(client):
    response = client.get("/api/v1/openapi.json", headers={"Authorization": "Bearer nonsense"})
    assert response.status_code == 200 and response.get_json()["openapi"].startswith("3.1")


def test_years_as_leader_as_a_huge_json_number_is_422_not_a_server_error(client, api_token):
    response = client.post("/api/v1/entries", headers=bearer(api_token("contestant")), json={
        "contest": "jstl-2025", "track": "chem", "name": "张三", "gender": "男",
        "id_number": "320102199001011234", "phone": "13800000000", "post": "班长",
        "years_as_leader": 1.1e239, "city": "南京市"})
    error = assert_error(response, 422, "invalid_body")
    assert error["details"][0]["field"] == "years_as_leader"
