"""an online preliminary: versioned learning-points rules and imported learning records

Revision ID: d4f2b8a6c1e3
Revises: b7d2f4a8c6e1
Create Date: 2026-12-05 12:15:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'd4f2b8a6c1e3'
down_revision = "b7d2f4a8c6e1"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('learning_rule_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('stage_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('rule', sa.JSON(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['stage_id'], ['stages.id'],
                            name=op.f('fk_learning_rule_versions_stage_id_stages')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'],
                            name=op.f('fk_learning_rule_versions_created_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_learning_rule_versions')),
    sa.UniqueConstraint('stage_id', 'version',
                        name=op.f('uq_learning_rule_versions_stage_id_version'))
    )
    op.create_index(op.f('ix_learning_rule_versions_stage_id'), 'learning_rule_versions',
                    ['stage_id'], unique=False)
    op.create_table('learning_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('stage_entry_id', sa.Integer(), nullable=False),
    sa.Column('row_number', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('task_kind', sa.String(length=40), nullable=False),
    sa.Column('item', sa.String(length=200), nullable=False),
    sa.Column('minutes', sa.BigInteger(), nullable=True),
    sa.Column('quiz_score', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['batch_id'], ['import_batches.id'],
                            name=op.f('fk_learning_records_batch_id_import_batches')),
    sa.ForeignKeyConstraint(['stage_entry_id'], ['stage_entries.id'],
                            name=op.f('fk_learning_records_stage_entry_id_stage_entries')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_learning_records'))
    )
    op.create_index(op.f('ix_learning_records_batch_id'), 'learning_records', ['batch_id'],
                    unique=False)


def downgrade():
    op.drop_index(op.f('ix_learning_records_batch_id'), table_name='learning_records')
    op.drop_table('learning_records')
    op.drop_index(op.f('ix_learning_rule_versions_stage_id'), table_name='learning_rule_versions')
    op.drop_table('learning_rule_versions')
