"""drop redundant result indexes

ix_result_rows_version_id and ix_result_component_scores_row_id repeat the first column of the
unique indexes on (version_id, stage_entry_id) and (row_id, component_id), which serve the same
lookups. They cost an index write for each of a version's rows (100,000 rows and 300,000
component rows for a large stage) and, for a version newer than PostgreSQL's statistics, the
planner took the narrower index and scanned a whole version once per line (seconds per page).

Revision ID: b7e1c4d2a9f3
Revises: 80ad56dfdd9b
Create Date: 2026-11-22 19:58:00.000000

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = 'b7e1c4d2a9f3'
down_revision = '80ad56dfdd9b'
branch_labels = None
depends_on = None


def upgrade():
    # Plain DROP INDEX on both databases (SQLite needs no table rebuild for an index).
    op.drop_index(op.f('ix_result_component_scores_row_id'), table_name='result_component_scores')
    op.drop_index(op.f('ix_result_rows_version_id'), table_name='result_rows')


def downgrade():
    op.create_index(op.f('ix_result_rows_version_id'), 'result_rows', ['version_id'],
                    unique=False)
    op.create_index(op.f('ix_result_component_scores_row_id'), 'result_component_scores',
                    ['row_id'], unique=False)
