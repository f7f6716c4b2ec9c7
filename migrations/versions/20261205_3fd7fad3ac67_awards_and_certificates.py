"""awards by share with a rounding and a tie rule; award certificates

A stage's prizes may be given by count, by a share of the ranked eligible contestants or as
the rest through a share (stages.awards), with the stage's rounding of shares into places
(award_rounding), its rule for a tie across a prize boundary (award_ties) and an optional
margin within which totals count as tied (award_margin, 10**-4 units). Existing stages keep
their prizes by count, rounded half up, ties included.

Certificates (获奖证书): one per award holder of a published version, with a number unique
across the system and never reused, revocable with a reason.

Revision ID: 3fd7fad3ac67
Revises: d4f2b8a6c1e3
Create Date: 2026-12-05 12:00:24.490066

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '3fd7fad3ac67'
down_revision = "d4f2b8a6c1e3"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('certificates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=60), nullable=False),
    sa.Column('prefix', sa.String(length=50), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('stage_id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('stage_entry_id', sa.Integer(), nullable=False),
    sa.Column('award', sa.String(length=60), nullable=False),
    sa.Column('holder_name', sa.String(length=100), nullable=False),
    sa.Column('issued_at', sa.DateTime(), nullable=False),
    sa.Column('issued_by_id', sa.Integer(), nullable=True),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.Column('revoked_by_id', sa.Integer(), nullable=True),
    sa.Column('revocation_reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['issued_by_id'], ['users.id'], name=op.f('fk_certificates_issued_by_id_users')),
    sa.ForeignKeyConstraint(['revoked_by_id'], ['users.id'], name=op.f('fk_certificates_revoked_by_id_users')),
    sa.ForeignKeyConstraint(['stage_entry_id'], ['stage_entries.id'], name=op.f('fk_certificates_stage_entry_id_stage_entries')),
    sa.ForeignKeyConstraint(['stage_id'], ['stages.id'], name=op.f('fk_certificates_stage_id_stages')),
    sa.ForeignKeyConstraint(['version_id'], ['results_versions.id'], name=op.f('fk_certificates_version_id_results_versions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_certificates')),
    sa.UniqueConstraint('number', name=op.f('uq_certificates_number')),
    sa.UniqueConstraint('prefix', 'seq', name=op.f('uq_certificates_prefix_seq'))
    )
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_certificates_stage_entry_id'), ['stage_entry_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_certificates_stage_id'), ['stage_id'], unique=False)

    with op.batch_alter_table('stages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('award_rounding', sa.Enum('half_up', 'floor', 'ceil', name='awardrounding', native_enum=False, length=24), nullable=False,
                                      server_default='half_up'))
        batch_op.add_column(sa.Column('award_ties', sa.Enum('include', 'exclude', name='awardties', native_enum=False, length=24), nullable=False,
                                      server_default='include'))
        batch_op.add_column(sa.Column('award_margin', sa.BigInteger(), nullable=True))



def downgrade():
    with op.batch_alter_table('stages', schema=None) as batch_op:
        batch_op.drop_column('award_margin')
        batch_op.drop_column('award_ties')
        batch_op.drop_column('award_rounding')

    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_certificates_stage_id'))
        batch_op.drop_index(batch_op.f('ix_certificates_stage_entry_id'))

    op.drop_table('certificates')
