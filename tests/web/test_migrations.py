"""The migrations build exactly the schema the models describe, and the audit log is append-only."""
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from app.extensions import db
from tests.conftest import flask_cli, fresh_database_url


def _differences(url: str) -> list:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, db.metadata)
    engine.dispose()
    return diff


def test_migrated_schema_matches_the_models(database_url):
    assert _differences(database_url) == []


def test_migrations_go_down_and_up_again_to_the_same_schema(tmp_path):
    url = fresh_database_url("test_migrations", tmp_path)
    flask_cli(url, "db", "upgrade")
    flask_cli(url, "db", "downgrade", "base")
    engine = sa.create_engine(url)
    assert set(sa.inspect(engine).get_table_names()) <= {"alembic_version"}
    engine.dispose()
    flask_cli(url, "db", "upgrade")
    assert _differences(url) == []


@pytest.mark.parametrize("statement", [
    "UPDATE audit_log SET summary = 'changed'",
    "DELETE FROM audit_log",
])
def test_database_refuses_to_change_or_delete_audit_rows(db_session, statement):
    assert db_session.scalar(sa.text("SELECT count(*) FROM audit_log")) > 0
    with pytest.raises(sa.exc.DBAPIError, match="append-only"), db_session.begin_nested():
        db_session.execute(sa.text(statement))
