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


def test_upgrading_brings_each_stage_s_status_up_to_its_work_forward_only(tmp_path):
    """Migration a6c3f58e1d27: a stage left behind its work (a final list while the stage
    still says scoring; a published version while it says draft) is brought forward; a stage
    further on than its work is left alone."""
    url = fresh_database_url("test_stage_catch_up", tmp_path)
    flask_cli(url, "db", "upgrade")
    flask_cli(url, "demo", "load", "--configuration-only")
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        stages = conn.execute(sa.text(
            "SELECT s.id FROM stages s JOIN tracks t ON t.id = s.track_id "
            "WHERE t.code = 'chem' ORDER BY s.seq")).scalars().all()
        prelim, advanced, final = stages[:3]
        for stage_id, status in ((prelim, "scoring"), (advanced, "draft"),
                                 (final, "notice")):
            conn.execute(sa.text("UPDATE stages SET status = :s WHERE id = :i"),
                         {"s": status, "i": stage_id})
        for number, stage_id in enumerate((prelim, advanced), start=1):
            conn.execute(sa.text(
                "INSERT INTO results_versions (stage_id, number, status, fingerprint, settings, "
                "created_at) VALUES (:stage, :n, 'published', 'x', '{}', CURRENT_TIMESTAMP)"),
                {"stage": stage_id, "n": number})
        version = conn.execute(sa.text("SELECT id FROM results_versions WHERE stage_id = :s"),
                               {"s": prelim}).scalar()
        conn.execute(sa.text(
            "INSERT INTO advancement_lists (stage_id, version_id, status, quota, "
            "cutoff_tie_policy, created_at) VALUES (:s, :v, 'final', 60, 'break', "
            "CURRENT_TIMESTAMP)"), {"s": prelim, "v": version})
    engine.dispose()
    flask_cli(url, "db", "downgrade", "e4a7c9b2d6f1")
    flask_cli(url, "db", "upgrade")
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        status = dict(conn.execute(sa.text("SELECT id, status FROM stages")).all())
    engine.dispose()
    assert (status[prelim], status[advanced], status[final]) == ("final", "provisional", "notice")
