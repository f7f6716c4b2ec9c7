"""The results and advancement API: versions and their rows, differences, lists, exports, the
what-if preview, the organiser's actions, and a contestant's own results — who may see what
(drafts only for organisers, names only once revealed, a contestant only their own)."""
import io
from decimal import Decimal

import openpyxl
import pytest
import sqlalchemy as sa

from app.models import AuditLog, Component, ComponentScore, Entry, StageEntry
from tests.web.test_api import assert_error, bearer
from tests.whatif_setup import build_ladder

STAGE = "/api/v1/contests/jstl-2025/tracks/chem/stages/1"


@pytest.fixture
def ladder(app, db_session):
    from app.extensions import db

    with app.app_context():
        built = build_ladder()
        db.session.commit()
        return {"a": built.a, "b": built.b, "y": built.y, "order": built.order}


@pytest.fixture
def tokens(api_token):
    cache = {}

    def token(name):
        if name not in cache:
            cache[name] = bearer(api_token(name))
        return cache[name]

    return token


def compute(client, tokens, reason="首次计算"):
    response = client.post(f"{STAGE}/results", json={"reason": reason},
                           headers=tokens("organiser"))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def publish(app, version_id):
    from app.extensions import db
    from app.models import ResultsVersion
    from app.services import accounts
    from tests.results_setup import pass_recheck

    with app.app_context():
        pass_recheck(db.session.get(ResultsVersion, version_id),
                     accounts.get_by_username("organiser"))
        db.session.commit()


def publish_via_api(app, client, tokens, version_id):
    publish(app, version_id)
    response = client.post(f"/api/v1/results/{version_id}/publish", headers=tokens("organiser"))
    assert response.status_code == 200, response.get_json()
    confirm_pool(app, version_id)  # the preliminary's eligibility check (top 100), done
    return response.get_json()


def confirm_pool(app, version_id):
    from app.extensions import db
    from app.models import ResultsVersion
    from app.services import accounts
    from tests.results_setup import confirm_everyone_in_pool

    with app.app_context():
        confirm_everyone_in_pool(db.session.get(ResultsVersion, version_id),
                                 accounts.get_by_username("organiser"))
        db.session.commit()


# --- versions ------------------------------------------------------------------------------------

def test_no_token_401_wrong_role_403_scoped_token_403(client, api_token, tokens, ladder):
    assert_error(client.get(f"{STAGE}/results"), 401, "unauthorized")
    assert_error(client.get(f"{STAGE}/results", headers=tokens("contestant")), 403, "forbidden")
    assert_error(client.post(f"{STAGE}/results", json={}, headers=tokens("chief")), 403)
    scoped = bearer(api_token("organiser", scope="component:1:push"))
    assert_error(client.get(f"{STAGE}/results", headers=scoped), 403, "token_scope")
    assert_error(client.get("/api/v1/contests/jstl-2025/tracks/chem/stages/9/results",
                            headers=tokens("organiser")), 404, "not_found")


def test_computing_needs_every_component_ready(client, tokens):
    error = assert_error(client.post(f"{STAGE}/results", json={}, headers=tokens("organiser")),
                         409, "conflict")
    assert "尚无导入成绩" in error["message"]


def test_drafts_are_for_organisers_only(app, client, tokens, ladder):
    version = compute(client, tokens)
    assert version["status"] == "draft" and version["number"] == 1
    listed = client.get(f"{STAGE}/results", headers=tokens("organiser")).get_json()
    assert [v["id"] for v in listed["versions"]] == [version["id"]]
    assert listed["stage"] == {"contest": "jstl-2025", "track": "chem", "seq": 1,
                               "name": "预赛", "names_revealed": True}
    for reader in ("chief", "judge1", "arbiter"):
        assert client.get(f"{STAGE}/results", headers=tokens(reader)).get_json()[
            "versions"] == []
        for suffix in ("", "/differences"):
            assert_error(client.get(f"/api/v1/results/{version['id']}{suffix}",
                                    headers=tokens(reader)), 404, "not_found")
    publish_via_api(app, client, tokens, version["id"])
    seen = client.get(f"{STAGE}/results", headers=tokens("chief")).get_json()["versions"]
    assert [(v["id"], v["status"]) for v in seen] == [(version["id"], "published")]
    assert client.get(f"/api/v1/results/{version['id']}", headers=tokens("chief")
                      ).status_code == 200


def test_a_version_s_rows_come_paginated_with_points_percent_rank_and_tie_break(
        client, tokens, ladder, db_session):
    version = compute(client, tokens)
    url = f"/api/v1/results/{version['id']}"
    body = client.get(f"{url}?per_page=50&page=2", headers=tokens("organiser")).get_json()
    assert (body["page"], body["pages"], body["total"], len(body["rows"])) == (2, 4, 159, 50)
    assert [r["rank"] for r in body["rows"]] == list(range(51, 101))
    first = client.get(url, headers=tokens("organiser")).get_json()["rows"]
    assert len(first) == 100
    b = first[0]
    place = db_session.get(StageEntry, ladder["b"])
    assert b["entry_id"] == ladder["b"] and b["rank"] == 1 and b["total"] == "84.00"
    assert b["name"] == place.entry.contestant.name
    assert b["exam_number"] == place.entry.exam_number
    assert b["components"] == [
        {"code": "learning", "name": "线上学习积分", "points": "90.00", "percent": "90.00"},
        {"code": "theory", "name": "线上理论考试", "points": "80.00", "percent": "80.00"}]
    x, y = first[59], first[60]  # tied on 65.10, separated by theory
    assert (x["total"], y["total"], x["rank"], y["rank"]) == ("65.10", "65.10", 60, 61)
    assert y["tie_break"] and y["status"] == "ok" and y["eligible"] is True
    last = client.get(f"{url}?page=4&per_page=50", headers=tokens("organiser")).get_json()
    assert len(last["rows"]) == 9
    for bad in ("page=0", "per_page=5000", "page=x"):
        assert_error(client.get(f"{url}?{bad}", headers=tokens("organiser")), 400, "bad_query")
    assert_error(client.get("/api/v1/results/999999", headers=tokens("organiser")), 404)


def test_names_stay_hidden_until_revealed(client, tokens, ladder, monkeypatch):
    from app.services import results

    version = compute(client, tokens)
    monkeypatch.setattr(results, "names_revealed", lambda stage: False)
    body = client.get(f"/api/v1/results/{version['id']}", headers=tokens("organiser")).get_json()
    assert body["stage"]["names_revealed"] is False
    assert all(r["name"] is None and r["enterprise"] is None and r["exam_number"] is None
               for r in body["rows"])
    changes = client.post(f"{STAGE}/results/what-if", json={"quota": 62},
                          headers=tokens("organiser")).get_json()["changes"]
    assert changes and all(c["name"] is None for c in changes)


def test_differences_of_a_correction_line_by_line(app, client, tokens, ladder, db_session):
    first = compute(client, tokens)
    publish_via_api(app, client, tokens, first["id"])
    nothing = client.get(f"/api/v1/results/{first['id']}/differences",
                         headers=tokens("organiser")).get_json()
    assert nothing["previous"] is None and nothing["differences"] == []
    theory = db_session.scalar(sa.select(Component).join(StageEntry, StageEntry.stage_id ==
                                                         Component.stage_id)
                               .where(StageEntry.id == ladder["a"], Component.code == "theory"))
    score = db_session.scalar(sa.select(ComponentScore).where(
        ComponentScore.stage_entry_id == ladder["a"], ComponentScore.component_id == theory.id))
    score.points = Decimal("100")  # A: 0.4×70 + 0.6×100 = 88 → first
    db_session.commit()
    second = compute(client, tokens, reason="复核更正")
    body = client.get(f"/api/v1/results/{second['id']}/differences",
                      headers=tokens("organiser")).get_json()
    assert body["previous"]["id"] == first["id"] and body["version"]["number"] == 2
    assert sorted((d["entry_id"], d["field"], d["before"], d["after"])
                  for d in body["differences"]) == sorted([
        (ladder["a"], "rank", 2, 1), (ladder["a"], "total", "82.00", "88.00"),
        (ladder["a"], "theory_points", "90.00", "100.00"),
        (ladder["a"], "theory_percent", "90.00", "100.00"),
        (ladder["b"], "rank", 1, 2)])


def test_publishing_waits_for_the_recheck_and_happens_once(app, client, tokens, ladder):
    version = compute(client, tokens)
    url = f"/api/v1/results/{version['id']}/publish"
    assert_error(client.post(url, headers=tokens("organiser")), 409, "conflict")
    assert_error(client.post(url, headers=tokens("chief")), 403)
    published = publish_via_api(app, client, tokens, version["id"])
    assert published["status"] == "published" and published["published_at"]
    assert_error(client.post(url, headers=tokens("organiser")), 409, "conflict")
    assert_error(client.post("/api/v1/results/999999/publish", headers=tokens("organiser")), 404)


def test_the_results_export_is_the_version_s_sheet(client, tokens, ladder, db_session):
    version = compute(client, tokens)
    url = f"/api/v1/results/{version['id']}/export"
    assert_error(client.get(url, headers=tokens("chief")), 403)
    response = client.get(url, headers=tokens("organiser"))
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    sheet = openpyxl.load_workbook(io.BytesIO(response.get_data())).active
    response.close()
    exam_number = db_session.get(StageEntry, ladder["b"]).entry.exam_number
    cells = [[c for c in row] for row in sheet.iter_rows(values_only=True)]
    first = next(row for row in cells if exam_number in row)
    assert first[0] == 1 and 84 in first
    record = db_session.scalar(sa.select(AuditLog).order_by(AuditLog.id.desc()).limit(1))
    assert record.action == "results.export" and record.object_id == version["id"]


# --- advancement lists ---------------------------------------------------------------------------

def test_lists_drawn_up_listed_and_exported(app, client, tokens, ladder, db_session):
    version = compute(client, tokens)
    url = f"/api/v1/results/{version['id']}/advancement-list"
    assert_error(client.post(url, headers=tokens("organiser")), 409, "conflict")  # a draft
    publish_via_api(app, client, tokens, version["id"])
    assert_error(client.post(url, headers=tokens("judge1")), 403)
    made = client.post(url, headers=tokens("organiser"))
    assert made.status_code == 201
    body = made.get_json()
    listing = body["list"]
    assert listing["status"] == "draft" and listing["advancing"] == 60 and listing["quota"] == 60
    assert "已按并列比较规则区分" in listing["cutoff_note"]
    advancing = [e["entry_id"] for e in body["entries"] if e["status"] == "advancing"]
    assert advancing == [ladder["b"], ladder["a"], *ladder["order"][2:60]]  # in rank order
    y = next(e for e in body["entries"] if e["entry_id"] == ladder["y"])
    assert y["status"] == "reserve" and y["rank"] == 61
    assert_error(client.post(url, headers=tokens("organiser")), 409, "conflict")  # one list

    lists = f"{STAGE}/advancement-lists"
    assert [x["id"] for x in client.get(lists, headers=tokens("organiser")).get_json()[
        "lists"]] == [listing["id"]]
    assert client.get(lists, headers=tokens("chief")).get_json()["lists"] == []
    one = f"/api/v1/advancement-lists/{listing['id']}"
    assert_error(client.get(one, headers=tokens("chief")), 404)
    assert_error(client.get(one, headers=tokens("contestant")), 403)
    assert_error(client.get("/api/v1/advancement-lists/999999", headers=tokens("organiser")),
                 404)

    exported = client.get(f"{one}/export", headers=tokens("organiser"))
    assert exported.status_code == 200 and exported.get_data()[:2] == b"PK"
    names = {c for row in openpyxl.load_workbook(io.BytesIO(exported.get_data())).active
             .iter_rows(values_only=True) for c in row}
    exported.close()
    assert db_session.get(StageEntry, ladder["a"]).entry.contestant.name in names
    assert_error(client.get(f"{one}/export", headers=tokens("chief")), 403)


def test_a_list_under_notice_shows_removals_and_replacements(app, client, tokens, ladder,
                                                             db_session):
    from app.extensions import db
    from app.models import AdvancementEntry, AdvancementList
    from app.services import accounts, results

    version = compute(client, tokens)
    publish_via_api(app, client, tokens, version["id"])
    list_id = client.post(f"/api/v1/results/{version['id']}/advancement-list",
                          headers=tokens("organiser")).get_json()["list"]["id"]
    with app.app_context():
        organiser = accounts.get_by_username("organiser")
        listing = db.session.get(AdvancementList, list_id)
        results.start_notice(listing, actor=organiser)
        target = db.session.scalar(sa.select(AdvancementEntry).where(
            AdvancementEntry.list_id == list_id, AdvancementEntry.stage_entry_id == ladder["a"]))
        objection = results.record_objection(listing, target, filed_by="职工甲", contact=None,
                                             text="材料不实", actor=organiser)
        results.rule_on_objection(objection, upheld=True, ruling="经核实属实", actor=organiser)
        db.session.commit()
    body = client.get(f"/api/v1/advancement-lists/{list_id}", headers=tokens("chief")).get_json()
    assert body["list"]["status"] == "notice" and body["list"]["notice_ends_at"]
    by_entry = {e["entry_id"]: e for e in body["entries"]}
    assert by_entry[ladder["a"]]["status"] == "removed" and by_entry[ladder["a"]]["removed_at"]
    assert by_entry[ladder["y"]]["status"] == "advancing"
    assert by_entry[ladder["y"]]["replaces_entry_id"] == ladder["a"]
    assert body["list"]["advancing"] == 60
    seen = client.get(f"{STAGE}/advancement-lists", headers=tokens("judge1")).get_json()
    assert [x["id"] for x in seen["lists"]] == [list_id]


# --- what-if -------------------------------------------------------------------------------------

def _counts(db_session):
    return {t: db_session.scalar(sa.text(f"SELECT count(*) FROM {t}")) for t in (
        "results_versions", "result_rows", "advancement_lists", "advancement_entries",
        "component_scores", "components", "stages", "audit_log")}


def test_what_if_answers_the_changes_and_writes_nothing(client, tokens, ladder, db_session):
    headers = tokens("organiser")
    before = _counts(db_session)
    response = client.post(f"{STAGE}/results/what-if", headers=headers,
                           json={"weights": {"learning": "30", "theory": 70}})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert [(c["entry_id"], c["rank_before"], c["rank_after"], c["total_before"],
             c["total_after"], c["moved"]) for c in body["changes"]] == [
        (ladder["a"], 2, 1, "82.00", "84.00", "up"), (ladder["b"], 1, 2, "84.00", "83.00", "down")]
    assert body["current"]["weights"] == {"learning": "40", "theory": "60"}
    assert body["proposed"]["weights"] == {"learning": "30", "theory": "70"}
    assert body["proposed"]["quota"] == 60 and body["changed_settings"] == [
        "weights.learning", "weights.theory"]
    assert (body["moved_up"], body["moved_down"], body["newly_in"], body["newly_out"]) == (
        1, 1, 0, 0)
    assert body["changes"][0]["name"] == db_session.get(StageEntry, ladder["a"]
                                                        ).entry.contestant.name
    policy = client.post(f"{STAGE}/results/what-if", headers=headers,
                         json={"cutoff_tie_policy": "include_all"}).get_json()
    assert [(c["entry_id"], c["advancement"]) for c in policy["changes"]] == [
        (ladder["y"], "in")]
    assert "按并列全部晋级规则晋级61人" in policy["note_after"]
    no_quota = client.post(f"{STAGE}/results/what-if", headers=headers,
                           json={"quota": None}).get_json()
    assert no_quota["note_after"] is None and no_quota["newly_out"] == 60
    assert _counts(db_session) == before


def test_what_if_refuses_bad_settings_field_by_field(client, tokens, ladder, db_session):
    headers, chief = tokens("organiser"), tokens("chief")
    before = _counts(db_session)
    error = assert_error(client.post(f"{STAGE}/results/what-if", headers=headers, json={
        "weights": {"learning": "45", "theory": "50"}, "quota": 0}), 422, "invalid")
    fields = {d["field"]: d["reason"] for d in error["details"]}
    assert fields["weight_total"].startswith("权重合计必须为100%，当前为95%")
    assert "晋级名额" in fields["quota"]
    error = assert_error(client.post(f"{STAGE}/results/what-if", headers=headers,
                                     json={"weights": {"nope": "10"}}), 422, "invalid")
    assert error["details"][0]["field"] == "weights.nope"
    assert_error(client.post(f"{STAGE}/results/what-if", headers=headers,
                             json={"quota": "x"}), 422, "invalid_body")
    assert_error(client.post(f"{STAGE}/results/what-if", headers=headers,
                             json={"cutoff_tie_policy": "coin"}), 422, "invalid_body")
    assert_error(client.post(f"{STAGE}/results/what-if", headers=headers, data="x"), 400)
    assert_error(client.post(f"{STAGE}/results/what-if", headers=chief, json={}), 403)
    assert _counts(db_session) == before


def test_what_if_needs_the_stage_ready(client, tokens):
    assert_error(client.post(f"{STAGE}/results/what-if", headers=tokens("organiser"),
                             json={"quota": 10}), 409, "conflict")


# --- a contestant's own ----------------------------------------------------------------------------

def test_a_contestant_sees_only_their_own_published_results(app, client, tokens, ladder,
                                                            db_session):
    mine = db_session.scalar(sa.select(StageEntry).join(Entry).where(
        StageEntry.entry_id == 1, StageEntry.id.in_(ladder["order"])))
    version = compute(client, tokens)
    assert client.get("/api/v1/me/results", headers=tokens("contestant")).get_json() == {
        "results": []}  # a draft is nobody's business
    publish_via_api(app, client, tokens, version["id"])
    body = client.get("/api/v1/me/results", headers=tokens("contestant")).get_json()["results"]
    assert len(body) == 1
    row = body[0]
    rank = ladder["order"].index(mine.id) + 1 if mine.id not in (ladder["a"], ladder["b"]) \
        else {ladder["a"]: 2, ladder["b"]: 1}[mine.id]
    assert (row["entry_id"], row["contest"], row["track"], row["stage"]["seq"]) == (
        1, "jstl-2025", "chem", 1)
    assert row["rank"] == rank and row["of"] == 159 and row["version"] == 1
    assert [c["code"] for c in row["components"]] == ["learning", "theory"]
    assert row["advancement"] is None  # no list under notice yet
    assert client.get("/api/v1/me/results", headers=tokens("organiser")).get_json() == {
        "results": []}
    assert_error(client.get("/api/v1/me/results"), 401)
    assert_error(client.get(f"/api/v1/results/{version['id']}", headers=tokens("contestant")),
                 403)
