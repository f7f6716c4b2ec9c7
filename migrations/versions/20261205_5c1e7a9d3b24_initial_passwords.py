"""initial passwords: accounts made for contestants in bulk

users.must_change_password sends an account to the password page at its next sign-in;
initial_passwords keeps, until a person's first sign-in, the salt from which the printed
initial password is derived (the password itself is never stored, only its hash on the account).

Revision ID: 5c1e7a9d3b24
Revises: a6c3f58e1d27
Create Date: 2026-12-05 09:30:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '5c1e7a9d3b24'
down_revision = 'a6c3f58e1d27'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('must_change_password', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    op.create_table(
        'initial_passwords',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('salt', sa.String(length=32), nullable=False),
        sa.Column('issued_at', sa.DateTime(), nullable=False),
        sa.Column('issued_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE',
                                name=op.f('fk_initial_passwords_user_id_users')),
        sa.ForeignKeyConstraint(['issued_by_id'], ['users.id'],
                                name=op.f('fk_initial_passwords_issued_by_id_users')),
        sa.PrimaryKeyConstraint('user_id', name=op.f('pk_initial_passwords')),
    )


def downgrade():
    op.drop_table('initial_passwords')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('must_change_password')
