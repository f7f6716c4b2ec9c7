"""The judges' autosave as it runs in production: the app on its own engine (not inside a test's
outer transaction), every request committed. On PostgreSQL a save runs without BEGIN and COMMIT
(its read, then one write statement guarded by the sheet's version; a first save creates the
sheet just before); on SQLite in one transaction. These tests check a save stores exactly what
it answers, a stale one writes nothing, two devices creating the same sheet at once get one
sheet and a 409, and refusals leave no trace."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.conftest import DEMO_PASSWORDS, Visitor, flask_cli, fresh_database_url


@pytest.fixture(scope="module")
def production_app(tmp_path_factory):
    from app import create_app
    from app.extensions import db
    from tests.judging_setup import prepare_practical

    url = fresh_database_url("autosave_committed", tmp_path_factory.mktemp("autosave-db"))
    flask_cli(url, "db", "upgrade")
    flask_cli(url, "demo", "load", "--configuration-only")
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "autosave-test",
                      "LOGIN_RATE_LIMIT": "1000 per minute"})
    with app.app_context():
        app.config["PRACTICAL"] = prepare_practical()
        db.session.remove()
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def writes(production_app):
    """The write statements of each save request: their first word, whether the driver's
    connection is in autocommit mode, and whether SQLAlchemy holds a transaction open."""
    from app.extensions import db

    seen: list[tuple[str, str, bool]] = []

    def record(conn, _cursor, statement, _params, _context, _many):
        if statement.lstrip().upper().startswith(("UPDATE", "INSERT", "WITH")):
            autocommit = getattr(conn.connection.dbapi_connection, "autocommit", None)
            seen.append((statement.split()[0].upper(),
                         "AUTOCOMMIT" if autocommit is True else "transaction",
                         conn.in_transaction()))

    with production_app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", record)
    yield seen
    sa.event.remove(engine, "before_cursor_execute", record)


def _stored(app, station: str, judge: str = "judge3"):
    from app.extensions import db
    from app.models import AuditLog, Mark, MarkingItem, ScoreSheet, StageEntry, User

    with app.app_context():
        sheet = db.session.scalar(sa.select(ScoreSheet).join(StageEntry).join(
            User, User.id == ScoreSheet.judge_id).where(
            ScoreSheet.component_id == app.config["PRACTICAL"],
            StageEntry.workstation_number == station, User.username == judge))
        marks = dict(db.session.execute(sa.select(MarkingItem.code, Mark.value).join(
            Mark, Mark.item_id == MarkingItem.id).where(Mark.sheet_id == sheet.id)).all())
        log = db.session.scalars(sa.select(AuditLog.action).where(
            AuditLog.object_type == "ScoreSheet", AuditLog.object_id == sheet.id)).all()
        result = (sheet.version, {k: str(v) for k, v in marks.items()}, log)
        db.session.remove()
    return result


def _station(app, index: int) -> str:
    from app.extensions import db
    from app.models import Component, StageEntry

    with app.app_context():
        component = db.session.get(Component, app.config["PRACTICAL"])
        stations = sorted(db.session.scalars(sa.select(StageEntry.workstation_number).where(
            StageEntry.stage_id == component.stage_id, StageEntry.workstation_number.is_not(None))))
        db.session.remove()
    return stations[index]


def _judge(app, name: str = "judge3") -> Visitor:
    visitor = Visitor(app.test_client())
    visitor.login(name, DEMO_PASSWORDS[name])
    return visitor


def _save(app, visitor: Visitor, station: str, values: dict, version: int, overrun=0):
    return visitor.client.post(
        f"/judge/components/{app.config['PRACTICAL']}/sheets/{station}/save",
        json={"version": version, "values": values, "reasons": {}, "overrun_minutes": overrun},
        headers={"X-CSRFToken": visitor.csrf_token()})


def test_saves_store_what_they_answer_and_a_later_one_needs_no_transaction(
        production_app, writes):
    app = production_app
    postgres = app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql")
    station = _station(app, 1)
    visitor = _judge(app)
    writes.clear()  # the sign-in's own
    first = _save(app, visitor, station, {"A1": "10", "A2": "7.5"}, 0)
    assert first.status_code == 200
    version = first.get_json()["version"]
    # the first save creates the sheet, then saves it
    if postgres:  # each statement committed by itself
        assert [(kind, level) for kind, level, _ in writes] == [
            ("INSERT", "AUTOCOMMIT"), ("WITH", "AUTOCOMMIT")]
    else:  # sheet created, updated, marks and audit row inserted, in one transaction
        assert [kind for kind, _, _ in writes] == ["INSERT", "UPDATE", "INSERT", "INSERT"]
        assert all(in_transaction for _, _, in_transaction in writes)
    assert _stored(app, station) == (version, {"A1": "10.000", "A2": "7.500"}, ["mark.save"])
    writes.clear()
    second = _save(app, visitor, station, {"A1": "0", "A2": "7.5", "B1": "2"}, version)
    assert second.status_code == 200 and second.get_json()["version"] == version + 1
    if postgres:  # one statement, committed by itself
        assert [(kind, level) for kind, level, _ in writes] == [("WITH", "AUTOCOMMIT")]
    else:  # sheet, changed mark, new mark, audit row in one transaction
        assert [kind for kind, _, _ in writes] == ["UPDATE", "UPDATE", "INSERT", "INSERT"]
        assert all(in_transaction for _, _, in_transaction in writes)
    assert _stored(app, station) == (
        version + 1, {"A1": "0.000", "A2": "7.500", "B1": "2.000"}, ["mark.save", "mark.save"])


def test_a_stale_save_writes_nothing_and_the_sheet_page_shows_the_stored_one(production_app):
    app = production_app
    station = _station(app, 2)
    tablet, laptop = _judge(app), _judge(app)
    version = _save(app, tablet, station, {"A1": "10"}, 0).get_json()["version"]
    assert _save(app, laptop, station, {"A1": "0"}, version).status_code == 200
    stale = _save(app, tablet, station, {"A2": "3"}, version)
    assert stale.status_code == 409
    assert _stored(app, station) == (version + 1, {"A1": "0.000"}, ["mark.save", "mark.save"])
    page = tablet.get(f"/judge/components/{app.config['PRACTICAL']}/sheets/{station}")
    assert f'data-version="{version + 1}"' in page.get_data(as_text=True)


def test_refusals_leave_no_trace_and_the_next_request_is_a_normal_transaction(production_app):
    from app.extensions import db
    from app.models import AuditLog

    app = production_app
    station = _station(app, 3)
    visitor = _judge(app)
    version = _save(app, visitor, station, {"A1": "10"}, 0).get_json()["version"]
    with app.app_context():
        before = db.session.scalar(sa.select(sa.func.count(AuditLog.id)))
        db.session.remove()
    assert _save(app, visitor, station, {"A2": "99"}, version).status_code == 422
    assert _save(app, visitor, "no-such-station", {"A2": "1"}, version).status_code == 403
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(AuditLog.id))) == before
        db.session.remove()
    # a form post after the autosave: the sign-out is audited and committed as usual
    assert visitor.logout().status_code == 302
    assert _stored(app, station) == (version, {"A1": "10.000"}, ["mark.save"])


def test_two_devices_creating_the_same_sheet_get_one_sheet_and_a_409(production_app):
    """The second device's page still shows the blank sheet (version 0): its save finds the
    sheet the first created and is told it is stale; nothing of it is stored."""
    app = production_app
    station = _station(app, 4)
    tablet, laptop = _judge(app), _judge(app)
    first = _save(app, tablet, station, {"A1": "10"}, 0)
    second = _save(app, laptop, station, {"A2": "3"}, 0)
    assert first.status_code == 200 and second.status_code == 409
    assert _stored(app, station) == (first.get_json()["version"], {"A1": "10.000"},
                                     ["mark.save"])


def test_a_save_that_changes_nothing_creates_no_sheet(production_app):
    """Counted against the sheets there were before it, so it holds whichever of this module's
    tests ran first (the others create sheets at their own stations)."""
    from app.extensions import db
    from app.models import ScoreSheet, StageEntry

    app = production_app
    station = _station(app, 5)

    def sheets() -> tuple[int, int]:
        """The practical's sheets, and those at ``station``."""
        with app.app_context():
            counts = db.session.execute(sa.select(
                sa.func.count(ScoreSheet.id),
                sa.func.count(ScoreSheet.id).filter(StageEntry.workstation_number == station))
                .join(StageEntry, StageEntry.id == ScoreSheet.stage_entry_id)
                .where(ScoreSheet.component_id == app.config["PRACTICAL"])).one()
            db.session.remove()
        return tuple(counts)

    before = sheets()
    assert before[1] == 0
    answer = _save(app, _judge(app), station, {"A1": ""}, 0, overrun="")
    assert answer.status_code == 200
    assert answer.get_json()["version"] == 0 and answer.get_json()["points"] == "10.00"
    assert sheets() == before
