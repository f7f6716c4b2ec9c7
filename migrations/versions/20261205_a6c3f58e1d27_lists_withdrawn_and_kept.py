"""advancement lists withdrawn, regenerated and kept; stage statuses caught up with their work

An advancement list can be withdrawn (when, by whom, why), a new one generated in its place
(replaces_list_id), or kept although a newer results version was published (the organiser's
decision, valid for that version: kept_for_version_id, with reason, who and when).

Stages whose status was never moved along are brought up to where their work stands, forward
only (as app/services/stage_flow.py moves them from now on): a final list → final, a list on
notice → notice, a published version → provisional results, a computed version → re-check,
stored scores or a draw → scoring.

Revision ID: a6c3f58e1d27
Revises: a9c3e5f7b214
Create Date: 2026-12-05 09:30:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'a6c3f58e1d27'
down_revision = 'a9c3e5f7b214'
branch_labels = None
depends_on = None

ORDER = ["draft", "registration", "scoring", "review", "provisional", "notice", "final"]

# status → whether the stage's work has reached it (correlated on stages.id)
REACHED = [
    ("final", "EXISTS (SELECT 1 FROM advancement_lists l WHERE l.stage_id = stages.id "
              "AND l.status = 'final')"),
    ("notice", "EXISTS (SELECT 1 FROM advancement_lists l WHERE l.stage_id = stages.id "
               "AND l.status = 'notice')"),
    ("provisional", "EXISTS (SELECT 1 FROM results_versions v WHERE v.stage_id = stages.id "
                    "AND v.status IN ('published', 'superseded'))"),
    ("review", "EXISTS (SELECT 1 FROM results_versions v WHERE v.stage_id = stages.id)"),
    ("scoring", "(EXISTS (SELECT 1 FROM draws d WHERE d.stage_id = stages.id) OR EXISTS ("
                "SELECT 1 FROM component_scores s JOIN components c ON c.id = s.component_id "
                "WHERE c.stage_id = stages.id))"),
]


def upgrade():
    with op.batch_alter_table('advancement_lists', schema=None) as batch_op:
        batch_op.add_column(sa.Column('withdrawn_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('withdrawn_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('withdrawal_reason', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('replaces_list_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('kept_for_version_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('kept_reason', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('kept_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('kept_at', sa.DateTime(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_advancement_lists_withdrawn_by_id_users'),
                                    'users', ['withdrawn_by_id'], ['id'])
        batch_op.create_foreign_key(
            batch_op.f('fk_advancement_lists_replaces_list_id_advancement_lists'),
            'advancement_lists', ['replaces_list_id'], ['id'])
        batch_op.create_foreign_key(
            batch_op.f('fk_advancement_lists_kept_for_version_id_results_versions'),
            'results_versions', ['kept_for_version_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_advancement_lists_kept_by_id_users'),
                                    'users', ['kept_by_id'], ['id'])
    # Forward only: each stage to the furthest status its work has reached, if further on.
    for status, reached in REACHED:
        behind = ORDER[:ORDER.index(status)]
        op.execute(sa.text(
            f"UPDATE stages SET status = :status WHERE status IN "
            f"({', '.join(repr(s) for s in behind)}) AND {reached}").bindparams(status=status))


def downgrade():
    with op.batch_alter_table('advancement_lists', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_advancement_lists_kept_by_id_users'),
                                 type_='foreignkey')
        batch_op.drop_constraint(
            batch_op.f('fk_advancement_lists_kept_for_version_id_results_versions'),
            type_='foreignkey')
        batch_op.drop_constraint(
            batch_op.f('fk_advancement_lists_replaces_list_id_advancement_lists'),
            type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_advancement_lists_withdrawn_by_id_users'),
                                 type_='foreignkey')
        batch_op.drop_column('kept_at')
        batch_op.drop_column('kept_by_id')
        batch_op.drop_column('kept_reason')
        batch_op.drop_column('kept_for_version_id')
        batch_op.drop_column('replaces_list_id')
        batch_op.drop_column('withdrawal_reason')
        batch_op.drop_column('withdrawn_by_id')
        batch_op.drop_column('withdrawn_at')
