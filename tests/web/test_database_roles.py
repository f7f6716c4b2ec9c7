"""The audit log stays: on PostgreSQL the app connects as a role that owns nothing and may only
read and write rows, so it cannot TRUNCATE, ALTER, DISABLE TRIGGER or DROP the audit log; and
TRUNCATE is refused by a trigger even for the owner that runs the migrations. (UPDATE and
DELETE of audit rows are refused on both databases: tests/web/test_migrations.py.)"""
from __future__ import annotations

import os

import pytest
import sqlalchemy as sa

from tests.conftest import TEST_DATABASE_OWNER_URL, TEST_DATABASE_URL, owner_url

pytestmark = pytest.mark.skipif(not TEST_DATABASE_URL, reason="PostgreSQL only: SQLite has "
                                "no roles and no TRUNCATE")


@pytest.fixture(scope="module")
def as_app(database_url):
    """An engine connecting as the app does (the role of TEST_DATABASE_URL)."""
    if not TEST_DATABASE_OWNER_URL:
        if os.environ.get("CI"):
            pytest.fail("CI runs PostgreSQL with TEST_DATABASE_OWNER_URL (.ci/run)")
        pytest.skip("TEST_DATABASE_OWNER_URL not set: the test role owns the tables")
    engine = sa.create_engine(database_url)
    yield engine
    engine.dispose()


def _refused(engine: sa.Engine, statement: str) -> str:
    """The database's refusal of ``statement`` (nothing waits for a lock more than 5 s)."""
    with engine.connect() as conn, conn.begin():
        conn.execute(sa.text("SET LOCAL lock_timeout = '5s'"))
        with pytest.raises(sa.exc.DBAPIError) as refusal:
            conn.execute(sa.text(statement))
    return str(refusal.value.orig)


def test_the_app_connects_as_a_role_that_owns_nothing(as_app):
    with as_app.connect() as conn:
        me = conn.scalar(sa.text("SELECT current_user"))
        owned = conn.scalar(sa.text(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND pg_get_userbyid(c.relowner) = current_user"))
        can_create = conn.scalar(sa.text("SELECT has_schema_privilege(current_schema(), 'CREATE')"))
    assert me == sa.engine.make_url(TEST_DATABASE_URL).username
    assert owned == 0 and can_create is False


@pytest.mark.parametrize("statement", [
    "TRUNCATE audit_log",
    "ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only",
    "ALTER TABLE audit_log DISABLE TRIGGER ALL",
    "DROP TRIGGER audit_log_append_only ON audit_log",
    "ALTER TABLE audit_log ADD COLUMN note text",
    "DROP TABLE audit_log",
    "CREATE TABLE audit_log_copy (id integer)",
])
def test_the_apps_role_cannot_erase_or_alter_the_audit_log(as_app, statement):
    refusal = _refused(as_app, statement)
    assert "permission denied" in refusal or "must be owner" in refusal, refusal
    with as_app.connect() as conn:  # still there, triggers enabled
        assert conn.scalar(sa.text("SELECT count(*) FROM audit_log")) > 0
        assert conn.scalar(sa.text(
            "SELECT tgenabled FROM pg_trigger WHERE tgname = 'audit_log_append_only'")) == "O"


def test_the_apps_role_reads_and_writes_rows_and_uses_sequences(as_app):
    with as_app.connect() as conn, conn.begin() as transaction:
        conn.execute(sa.text("INSERT INTO audit_log (at, actor_name, action, object_type, summary)"
                             " VALUES (now(), 'test', 'test.row', '-', 'a row')"))
        assert conn.scalar(sa.text("SELECT count(*) FROM audit_log WHERE action = 'test.row'")) == 1
        transaction.rollback()


def test_truncate_of_the_audit_log_is_refused_even_for_the_owner(database_url):
    engine = sa.create_engine(owner_url(database_url))
    try:
        assert "append-only" in _refused(engine, "TRUNCATE audit_log")
    finally:
        engine.dispose()
