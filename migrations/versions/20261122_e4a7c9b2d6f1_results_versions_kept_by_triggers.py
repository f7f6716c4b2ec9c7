"""results versions kept by triggers instead of foreign keys

A results version's rows (result_rows) and their component points (result_component_scores) are
written once, in bulk, by results._store_rows, and never changed. Their four foreign keys
(row -> version, row -> stage entry, points -> row, points -> component) made PostgreSQL run a
check trigger and an index lookup per key and row: 800,000 for a version of 100,000 entries
with three components, most of the time of storing it. Every one of those keys is known to
exist when it is written (the version just flushed, the rows just inserted, the stage's own
entries and components, all in the same transaction); what a foreign key adds after that --
the parent cannot go away -- the database now enforces with triggers that fire only on the
rare change, never on an insert:

* result_rows and result_component_scores are append-only (no UPDATE, DELETE or TRUNCATE);
* a results version cannot be deleted (its rows went with it by ON DELETE CASCADE before;
  nothing ever deleted one: a correction is a new version);
* a stage entry or a component named by a results version cannot be deleted (the check looks
  only at the versions of its own stage, through the unique indexes).

The component points are keyed by (row, component): the surrogate id, unused, and its index
go. The index on result_rows.stage_entry_id served the foreign key only (every query looks a
row up by version and entry, the unique index) and goes too.

SQLite: the tables are rebuilt in batch mode (SQLite enforces no foreign keys here anyway). A
later batch rebuild of stage_entries, components or results_versions must re-create their
trigger (tests/services/test_results_storage.py fails without it).

Revision ID: e4a7c9b2d6f1
Revises: c5d8e2f14a7b
Create Date: 2026-11-22 22:30:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'e4a7c9b2d6f1'
down_revision = 'c5d8e2f14a7b'
branch_labels = None
depends_on = None

IMMUTABLE = "a results version is immutable"
NAMED = "named in a results version"

# Whether a stage entry / a component (OLD) is named by a version of its stage.
ENTRY_IN_RESULTS = """EXISTS (SELECT 1 FROM results_versions v
    JOIN result_rows r ON r.version_id = v.id AND r.stage_entry_id = OLD.id
    WHERE v.stage_id = OLD.stage_id)"""
COMPONENT_IN_RESULTS = """EXISTS (SELECT 1 FROM results_versions v
    JOIN result_rows r ON r.version_id = v.id
    JOIN result_component_scores p ON p.row_id = r.id AND p.component_id = OLD.id
    WHERE v.stage_id = OLD.stage_id)"""

TRIGGERS = {
    "sqlite": [
        *[f"""CREATE TRIGGER {table}_no_{action} BEFORE {action.upper()} ON {table}
              BEGIN SELECT RAISE(ABORT, '{table}: {IMMUTABLE}'); END"""
          for table in ("result_rows", "result_component_scores")
          for action in ("update", "delete")],
        f"""CREATE TRIGGER results_versions_no_delete BEFORE DELETE ON results_versions
            BEGIN SELECT RAISE(ABORT, 'results_versions: {IMMUTABLE}'); END""",
        f"""CREATE TRIGGER stage_entries_in_results BEFORE DELETE ON stage_entries
            WHEN {ENTRY_IN_RESULTS}
            BEGIN SELECT RAISE(ABORT, 'stage_entries: {NAMED}'); END""",
        f"""CREATE TRIGGER components_in_results BEFORE DELETE ON components
            WHEN {COMPONENT_IN_RESULTS}
            BEGIN SELECT RAISE(ABORT, 'components: {NAMED}'); END""",
    ],
    "postgresql": [
        f"""CREATE FUNCTION results_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION '%: {IMMUTABLE}', TG_TABLE_NAME; END $$""",
        *[f"""CREATE TRIGGER {table}_immutable BEFORE UPDATE OR DELETE ON {table}
              FOR EACH ROW EXECUTE FUNCTION results_immutable()"""
          for table in ("result_rows", "result_component_scores")],
        *[f"""CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
              FOR EACH STATEMENT EXECUTE FUNCTION results_immutable()"""
          for table in ("results_versions", "result_rows", "result_component_scores")],
        """CREATE TRIGGER results_versions_no_delete BEFORE DELETE ON results_versions
           FOR EACH ROW EXECUTE FUNCTION results_immutable()""",
        f"""CREATE FUNCTION stage_entry_in_results() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF {ENTRY_IN_RESULTS} THEN
                    RAISE EXCEPTION 'stage_entries: {NAMED}';
                END IF;
                RETURN OLD;
            END $$""",
        """CREATE TRIGGER stage_entries_in_results BEFORE DELETE ON stage_entries
           FOR EACH ROW EXECUTE FUNCTION stage_entry_in_results()""",
        f"""CREATE FUNCTION component_in_results() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF {COMPONENT_IN_RESULTS} THEN
                    RAISE EXCEPTION 'components: {NAMED}';
                END IF;
                RETURN OLD;
            END $$""",
        """CREATE TRIGGER components_in_results BEFORE DELETE ON components
           FOR EACH ROW EXECUTE FUNCTION component_in_results()""",
    ],
}
TRIGGER_DROPS = {
    "sqlite": [
        *[f"DROP TRIGGER IF EXISTS {table}_no_{action}"
          for table in ("result_rows", "result_component_scores")
          for action in ("update", "delete")],
        "DROP TRIGGER IF EXISTS results_versions_no_delete",
        "DROP TRIGGER IF EXISTS stage_entries_in_results",
        "DROP TRIGGER IF EXISTS components_in_results",
    ],
    "postgresql": [
        *[f"DROP TRIGGER IF EXISTS {table}_immutable ON {table}"
          for table in ("result_rows", "result_component_scores")],
        *[f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}"
          for table in ("results_versions", "result_rows", "result_component_scores")],
        "DROP TRIGGER IF EXISTS results_versions_no_delete ON results_versions",
        "DROP TRIGGER IF EXISTS stage_entries_in_results ON stage_entries",
        "DROP TRIGGER IF EXISTS components_in_results ON components",
        "DROP FUNCTION IF EXISTS results_immutable()",
        "DROP FUNCTION IF EXISTS stage_entry_in_results()",
        "DROP FUNCTION IF EXISTS component_in_results()",
    ],
}


def upgrade():
    with op.batch_alter_table('result_component_scores', schema=None) as batch_op:
        batch_op.drop_constraint('fk_result_component_scores_row_id_result_rows',
                                 type_='foreignkey')
        batch_op.drop_constraint('fk_result_component_scores_component_id_components',
                                 type_='foreignkey')
        batch_op.drop_constraint('uq_result_component_scores_row_id_component_id',
                                 type_='unique')
        batch_op.drop_constraint('pk_result_component_scores', type_='primary')
        batch_op.drop_column('id')
        batch_op.create_primary_key('pk_result_component_scores', ['row_id', 'component_id'])
    with op.batch_alter_table('result_rows', schema=None) as batch_op:
        batch_op.drop_constraint('fk_result_rows_stage_entry_id_stage_entries',
                                 type_='foreignkey')
        batch_op.drop_constraint('fk_result_rows_version_id_results_versions',
                                 type_='foreignkey')
        batch_op.drop_index('ix_result_rows_stage_entry_id')
    for statement in TRIGGERS.get(op.get_bind().dialect.name, []):
        op.execute(statement)


def downgrade():
    for statement in TRIGGER_DROPS.get(op.get_bind().dialect.name, []):
        op.execute(statement)
    with op.batch_alter_table('result_rows', schema=None) as batch_op:
        batch_op.create_index('ix_result_rows_stage_entry_id', ['stage_entry_id'], unique=False)
        batch_op.create_foreign_key('fk_result_rows_version_id_results_versions',
                                    'results_versions', ['version_id'], ['id'],
                                    ondelete='CASCADE')
        batch_op.create_foreign_key('fk_result_rows_stage_entry_id_stage_entries',
                                    'stage_entries', ['stage_entry_id'], ['id'])
    if op.get_bind().dialect.name == 'postgresql':  # ids from a new sequence, as before
        op.drop_constraint('pk_result_component_scores', 'result_component_scores',
                           type_='primary')
        op.execute('ALTER TABLE result_component_scores ADD COLUMN id SERIAL NOT NULL')
        op.create_primary_key('pk_result_component_scores', 'result_component_scores', ['id'])
    else:  # SQLite numbers an INTEGER PRIMARY KEY itself as the rows are copied over
        with op.batch_alter_table('result_component_scores', schema=None) as batch_op:
            batch_op.drop_constraint('pk_result_component_scores', type_='primary')
            batch_op.add_column(sa.Column('id', sa.Integer(), nullable=False))
            batch_op.create_primary_key('pk_result_component_scores', ['id'])
    with op.batch_alter_table('result_component_scores', schema=None) as batch_op:
        batch_op.create_unique_constraint('uq_result_component_scores_row_id_component_id',
                                          ['row_id', 'component_id'])
        batch_op.create_foreign_key('fk_result_component_scores_component_id_components',
                                    'components', ['component_id'], ['id'])
        batch_op.create_foreign_key('fk_result_component_scores_row_id_result_rows',
                                    'result_rows', ['row_id'], ['id'], ondelete='CASCADE')
