"""eligibility pool (资格审核范围): a stage's top M by rank and the decision on each member

Revision ID: b7d2f4a8c6e1
Revises: c4e6a8b0d2f1
Create Date: 2026-12-05 12:20:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'b7d2f4a8c6e1'
down_revision = "c4e6a8b0d2f1"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'eligibility_pools',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('stage_id', sa.Integer(), nullable=False),
        sa.Column('version_id', sa.Integer(), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('drawn_by_id', sa.Integer(), nullable=True),
        sa.Column('drawn_at', sa.DateTime(), nullable=False),
        sa.Column('changes', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['drawn_by_id'], ['users.id'],
                                name=op.f('fk_eligibility_pools_drawn_by_id_users')),
        sa.ForeignKeyConstraint(['stage_id'], ['stages.id'],
                                name=op.f('fk_eligibility_pools_stage_id_stages')),
        sa.ForeignKeyConstraint(['version_id'], ['results_versions.id'],
                                name=op.f('fk_eligibility_pools_version_id_results_versions')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_eligibility_pools')),
        sa.UniqueConstraint('stage_id', name=op.f('uq_eligibility_pools_stage_id')),
    )
    op.create_table(
        'pool_members',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('pool_id', sa.Integer(), nullable=False),
        sa.Column('stage_entry_id', sa.Integer(), nullable=False),
        sa.Column('in_pool', sa.Boolean(), nullable=False),
        sa.Column('rank', sa.Integer(), nullable=True),
        sa.Column('joined_at', sa.DateTime(), nullable=False),
        sa.Column('state', sa.Enum('undecided', 'confirmed', 'ineligible', name='poolstate',
                                   native_enum=False, create_constraint=False, length=24),
                  nullable=False),
        sa.Column('reason', sa.Text(), nullable=True),
        sa.Column('decided_by_id', sa.Integer(), nullable=True),
        sa.Column('decided_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'],
                                name=op.f('fk_pool_members_decided_by_id_users')),
        sa.ForeignKeyConstraint(['pool_id'], ['eligibility_pools.id'],
                                name=op.f('fk_pool_members_pool_id_eligibility_pools')),
        sa.ForeignKeyConstraint(['stage_entry_id'], ['stage_entries.id'],
                                name=op.f('fk_pool_members_stage_entry_id_stage_entries')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_pool_members')),
        sa.UniqueConstraint('pool_id', 'stage_entry_id',
                            name=op.f('uq_pool_members_pool_id_stage_entry_id')),
    )
    with op.batch_alter_table('pool_members') as batch_op:
        batch_op.create_index(batch_op.f('ix_pool_members_pool_id'), ['pool_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_pool_members_stage_entry_id'), ['stage_entry_id'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('pool_members') as batch_op:
        batch_op.drop_index(batch_op.f('ix_pool_members_stage_entry_id'))
        batch_op.drop_index(batch_op.f('ix_pool_members_pool_id'))
    op.drop_table('pool_members')
    op.drop_table('eligibility_pools')
