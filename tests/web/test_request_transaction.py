"""The request owns the transaction: a request's work is committed in one place when its view
answered without an exception or a refusal, and rolled back otherwise -- whatever the answer
(a form shown again, a message and a redirect, a JSON error), on SQLite and PostgreSQL.

Checked on real pages and API calls, and on a small app of probe routes whose stand-in services
flush a change and then refuse (or break a unique constraint), as real services may."""
from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.models import Appeal, AuditLog, Contest, Contestant, Entry, Track
from tests.conftest import valid_id_number
from tests.web.test_appeals import prelim  # noqa: F401  (fixture)

APP = Path(__file__).resolve().parents[2] / "app"


def _steel(db_session) -> int:
    return db_session.scalar(sa.select(Track.id).join(Contest).where(
        Contest.code == "jstl-2025", Track.code == "steel"))


def _entry_form(track_id: int, **overrides) -> dict:
    form = {"track": str(track_id), "name": "王五", "gender": "男",
            "id_number": valid_id_number(date(1986, 7, 9), seq=5), "phone": "13900000005",
            "enterprise": "南京钢铁股份有限公司", "enterprise_category": "钢铁", "city": "南京市",
            "post": "轧钢二班班长", "team_name": "乙班", "years_as_leader": "4",
            "skill_level": "技师", "honours": "", "front_line": "y"}
    return {**form, **overrides}


def _phone(db_session, id_number: str) -> str:
    db_session.expire_all()
    return db_session.scalar(sa.select(Contestant.phone).where(Contestant.id_number == id_number))


# --- real pages and API calls --------------------------------------------------------------------


def test_a_refused_second_registration_leaves_the_contestants_phone_as_it_was(visitor, db_session):
    visitor.post("/register", {"username": "wang5", "display_name": "王五",
                               "phone": "13900000005", "password": "Wang5pass1",
                               "confirm": "Wang5pass1"})
    first = visitor.post("/portal/entries/new", _entry_form(_steel(db_session)))
    assert first.status_code == 302
    form = _entry_form(_steel(db_session), phone="13911112222")
    again = visitor.post("/portal/entries/new", form)
    page = again.get_data(as_text=True)
    assert again.status_code == 422
    assert "已报名本届大赛" in page.split('id="id_number-error"')[1].split("</div>")[0]
    assert _phone(db_session, form["id_number"]) == "13900000005"
    assert db_session.scalar(sa.select(sa.func.count()).select_from(Entry).join(
        Entry.contestant).where(Contestant.id_number == form["id_number"])) == 1


def test_a_refused_api_registration_leaves_the_person_as_it_was(client, api_token, db_session):
    bearer = {"Authorization": f"Bearer {api_token('contact')}"}
    body = {"contest": "jstl-2025", "track": "steel", "name": "赵六", "gender": "男",
            "id_number": valid_id_number(date(1979, 2, 2), seq=7), "phone": "13900000006",
            "city": "南京市", "post": "运行班班长", "years_as_leader": "8"}
    assert client.post("/api/v1/entries", json=body, headers=bearer).status_code == 201
    again = client.post("/api/v1/entries", json={**body, "phone": "13911113333"}, headers=bearer)
    assert again.status_code == 422
    error = again.get_json()["error"]
    assert error["code"] == "invalid" and error["details"][0]["field"] == "id_number"
    assert _phone(db_session, body["id_number"]) == "13900000006"


def test_a_refused_appeal_leaves_no_appeal_and_no_audit_row(signed_in, prelim, db_session):  # noqa: F811
    contestant = signed_in("contestant")
    url = "/portal/entries/1/appeals"
    assert contestant.post(url, {"component_id": prelim["theory"],
                                 "text": "第12题标准答案有误"}).status_code == 302
    audit_rows = db_session.scalar(sa.select(sa.func.count()).select_from(AuditLog))
    again = contestant.post(url, {"component_id": prelim["theory"], "text": "第13题也有误"})
    assert again.status_code == 422
    assert "已有一条待裁决的申诉" in again.get_data(as_text=True)
    assert db_session.scalars(sa.select(Appeal.text)).all() == ["第12题标准答案有误"]
    assert db_session.scalar(sa.select(sa.func.count()).select_from(AuditLog)) == audit_rows


def test_a_refused_stage_status_change_is_flashed_after_a_redirect(signed_in, db_session):
    from app.models import Stage, StageStatus

    stage = db_session.scalar(sa.select(Stage).where(Stage.status == StageStatus.DRAFT)
                              .order_by(Stage.id).limit(1))
    organiser = signed_in("organiser")
    refused = organiser.post(f"/admin/stages/{stage.id}/status", {"status": "final"})
    assert refused.status_code == 302
    page = organiser.get(refused.location).get_data(as_text=True)
    assert 'class="alert alert-danger" role="alert">' in page and "不能" in page
    db_session.expire_all()
    assert db_session.get(Stage, stage.id).status == StageStatus.DRAFT


# --- probe routes: stand-in services that flush, then refuse -------------------------------------


@pytest.fixture(scope="module")
def probe_app(database_url):
    """A second app on the same database with probe routes (an app takes no new routes once it
    has served a request). Its requests use the test's transaction like the main app's."""
    from flask import Blueprint, flash, redirect, render_template_string, request
    from flask_wtf import FlaskForm
    from wtforms import StringField

    from app import create_app
    from app.errors import Refusal
    from app.extensions import db
    from app.services import FieldErrors, ServiceError

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url,
                      "SECRET_KEY": "probe", "WTF_CSRF_ENABLED": False})
    bp = Blueprint("probe", __name__)

    def rename_then_refuse(name: str, error: ServiceError) -> None:
        contest = db.session.scalar(sa.select(Contest).where(Contest.code == "jstl-2025"))
        contest.name = name
        db.session.flush()
        raise error

    class NameForm(FlaskForm):
        name = StringField("name")

    page = "{{ get_flashed_messages()|join('|') }}{% for f in form %}{{ f.name }}:" \
           "{{ f.errors|join('|') }};{% endfor %}"

    @bp.route("/probe/form", methods=["POST"])
    def form_view():
        form = NameForm()
        with Refusal(form):
            rename_then_refuse(form.name.data, FieldErrors({"name": "名称不对", "other": "另错"}))
        return render_template_string(page, form=form)

    @bp.route("/probe/flash", methods=["POST"])
    def flash_view():
        with Refusal():
            rename_then_refuse(request.form["name"], ServiceError("已被引用", code="in_use"))
            flash("done")
        return redirect("/probe/page")

    @bp.route("/probe/page")
    def page_view():
        return render_template_string("{{ get_flashed_messages()|join('|') }}")

    @bp.route("/api/probe/refuse", methods=["POST"])
    def api_refuse():
        rename_then_refuse(request.json["name"], ServiceError("状态不对", field="status",
                                                              code="bad_transition"))

    @bp.route("/probe/propagated", methods=["POST"])
    def browser_refuse():
        rename_then_refuse(request.form["name"], ServiceError("不允许", code="forbidden"))

    def duplicate_contest() -> None:
        contest = db.session.scalar(sa.select(Contest).where(Contest.code == "jstl-2025"))
        contest.name = "改过的名称"
        db.session.add(Contest(code="jstl-2025", name="重复", year=2025))

    @bp.route("/api/probe/duplicate", methods=["POST"])
    def api_duplicate():
        duplicate_contest()
        db.session.flush()
        return {"saved": True}

    @bp.route("/probe/duplicate-at-commit", methods=["POST"])
    def duplicate_at_commit():
        duplicate_contest()  # not flushed: the constraint fails when the request commits
        return "saved"

    @bp.route("/probe/crash", methods=["POST"])
    def crash():
        contest = db.session.scalar(sa.select(Contest).where(Contest.code == "jstl-2025"))
        contest.name = "改过的名称"
        db.session.flush()
        raise RuntimeError("a bug")

    @bp.route("/probe/ok", methods=["POST"])
    def ok():
        contest = db.session.scalar(sa.select(Contest).where(Contest.code == "jstl-2025"))
        contest.name = request.form["name"]
        return "saved"

    app.register_blueprint(bp)
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def probe(probe_app, db_session):
    return probe_app.test_client()


def _contest_name(db_session) -> str:
    db_session.expire_all()
    return db_session.scalar(sa.select(Contest.name).where(Contest.code == "jstl-2025"))


def test_a_form_refused_after_a_flush_is_shown_again_with_422_and_nothing_saved(probe, db_session):
    before = _contest_name(db_session)
    answer = probe.post("/probe/form", data={"name": "改过的名称"})
    assert answer.status_code == 422
    text = answer.get_data(as_text=True)
    assert "name:名称不对;" in text  # next to its field
    assert text.startswith("另错")  # a message for no field of the form: flashed on the page
    assert _contest_name(db_session) == before


def test_a_refusal_shown_as_a_message_redirects_and_saves_nothing(probe, db_session):
    before = _contest_name(db_session)
    answer = probe.post("/probe/flash", data={"name": "改过的名称"})
    assert answer.status_code == 302
    assert probe.get("/probe/page").get_data(as_text=True) == "已被引用"  # not "done"
    assert _contest_name(db_session) == before


def test_an_api_refusal_answers_from_the_one_table_and_saves_nothing(probe, db_session):
    before = _contest_name(db_session)
    answer = probe.post("/api/probe/refuse", json={"name": "改过的名称"})
    assert answer.status_code == 409
    assert answer.get_json() == {"error": {"code": "bad_transition", "message": "状态不对",
                                           "details": [{"field": "status",
                                                        "reason": "状态不对"}]}}
    assert _contest_name(db_session) == before


def test_a_refusal_no_browser_view_shows_gets_an_error_page_with_its_status(probe, db_session):
    before = _contest_name(db_session)
    answer = probe.post("/probe/propagated", data={"name": "改过的名称"})
    assert answer.status_code == 403 and "不允许" in answer.get_data(as_text=True)
    assert _contest_name(db_session) == before


def test_a_unique_constraint_broken_in_a_view_answers_409_and_saves_nothing(probe, db_session):
    before = _contest_name(db_session)
    answer = probe.post("/api/probe/duplicate")
    assert answer.status_code == 409 and answer.get_json()["error"]["code"] == "conflict"
    assert _contest_name(db_session) == before
    assert db_session.scalar(sa.select(sa.func.count()).select_from(Contest).where(
        Contest.code == "jstl-2025")) == 1


def test_a_unique_constraint_broken_at_commit_answers_409_and_saves_nothing(probe, db_session):
    before = _contest_name(db_session)
    answer = probe.post("/probe/duplicate-at-commit")
    assert answer.status_code == 409
    assert "冲突" in answer.get_data(as_text=True)
    assert answer.headers["X-Content-Type-Options"] == "nosniff"  # still a whole answer
    assert _contest_name(db_session) == before


def test_an_exception_in_a_view_answers_500_and_saves_nothing(probe, db_session):
    before = _contest_name(db_session)
    assert probe.post("/probe/crash").status_code == 500
    assert _contest_name(db_session) == before


def test_a_view_that_answers_without_a_refusal_is_committed(probe, db_session):
    assert probe.post("/probe/ok", data={"name": "新名称"}).status_code == 200
    assert _contest_name(db_session) == "新名称"


# --- the source ----------------------------------------------------------------------------------

_HAND_WRITTEN = re.compile(r"\.(commit|rollback)\(\)")

# Outside requests, these own their transactions: the `flask` commands commit once at the end,
# and the background check of a large upload is a thread of its own.
OWN_TRANSACTIONS = {"transaction.py", "cli.py", "services/imports.py"}


def test_only_the_request_boundary_the_commands_and_the_background_check_commit_or_roll_back():
    found = {str(path.relative_to(APP)) for path in APP.rglob("*.py")
             if _HAND_WRITTEN.search(path.read_text(encoding="utf-8"))}
    assert found == OWN_TRANSACTIONS


def test_every_refusal_code_a_service_raises_has_its_status_in_the_one_table():
    from app.errors import REFUSAL_STATUS

    codes = set()
    for path in (APP / "services").rglob("*.py"):
        codes |= set(re.findall(r'\bcode="(\w+)"', path.read_text(encoding="utf-8")))
    codes.discard("invalid")  # the default
    assert codes and codes <= set(REFUSAL_STATUS)


def test_no_status_table_for_refusals_outside_app_errors():
    tables = [str(path.relative_to(APP)) for path in APP.rglob("*.py")
              if re.search(r'"conflict"\s*:\s*409|409 if error', path.read_text(encoding="utf-8"))]
    assert tables == ["errors.py"]


def test_services_import_nothing_from_the_factory_package_nor_use_flask_g():
    for path in (APP / "services").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"^\s*from app import ", text, re.M), path
        assert not re.search(r"from flask import[^\n]*\bg\b", text), path


def test_each_blueprint_is_defined_in_its_packages_init():
    for package in ("admin", "api", "auth", "judge", "portal", "public"):
        init = (APP / package / "__init__.py").read_text(encoding="utf-8")
        assert re.search(r"^bp = Blueprint\(", init, re.M), package
        for module in (APP / package).glob("*.py"):
            if module.name != "__init__.py":
                assert "Blueprint(" not in module.read_text(encoding="utf-8"), module
