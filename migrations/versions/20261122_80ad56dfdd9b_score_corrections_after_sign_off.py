"""score corrections after sign-off

A judged component's score corrected after the chief judge's sign-off, for one contestant, on
its ground: an upheld appeal (appeal_id) or a re-check finding (recheck_item_id), exactly one.

Revision ID: 80ad56dfdd9b
Revises: 2481715b8f85
Create Date: 2026-11-22 19:15:13.126309

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '80ad56dfdd9b'
down_revision = '2481715b8f85'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('score_corrections',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('component_id', sa.Integer(), nullable=False),
    sa.Column('stage_entry_id', sa.Integer(), nullable=False),
    sa.Column('appeal_id', sa.Integer(), nullable=True),
    sa.Column('recheck_item_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('sheets', sa.Integer(), nullable=False),
    sa.Column('points_before', sa.BigInteger(), nullable=True),
    sa.Column('points_after', sa.BigInteger(), nullable=True),
    sa.Column('corrected_by_id', sa.Integer(), nullable=False),
    sa.Column('corrected_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('(appeal_id IS NULL) <> (recheck_item_id IS NULL)', name=op.f('ck_score_corrections_one_ground')),
    sa.ForeignKeyConstraint(['appeal_id'], ['appeals.id'], name=op.f('fk_score_corrections_appeal_id_appeals')),
    sa.ForeignKeyConstraint(['component_id'], ['components.id'], name=op.f('fk_score_corrections_component_id_components')),
    sa.ForeignKeyConstraint(['corrected_by_id'], ['users.id'], name=op.f('fk_score_corrections_corrected_by_id_users')),
    sa.ForeignKeyConstraint(['recheck_item_id'], ['recheck_items.id'], name=op.f('fk_score_corrections_recheck_item_id_recheck_items')),
    sa.ForeignKeyConstraint(['stage_entry_id'], ['stage_entries.id'], name=op.f('fk_score_corrections_stage_entry_id_stage_entries')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_score_corrections'))
    )
    with op.batch_alter_table('score_corrections', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_score_corrections_appeal_id'), ['appeal_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_score_corrections_component_id'), ['component_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_score_corrections_recheck_item_id'), ['recheck_item_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_score_corrections_stage_entry_id'), ['stage_entry_id'], unique=False)


def downgrade():
    with op.batch_alter_table('score_corrections', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_score_corrections_stage_entry_id'))
        batch_op.drop_index(batch_op.f('ix_score_corrections_recheck_item_id'))
        batch_op.drop_index(batch_op.f('ix_score_corrections_component_id'))
        batch_op.drop_index(batch_op.f('ix_score_corrections_appeal_id'))

    op.drop_table('score_corrections')
