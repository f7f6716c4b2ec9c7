"""sessions kept server-side, sign-in failures counted in the database, audit log not truncatable

* user_sessions: one row per signed-in browser session (the SHA-256 of the secret its cookie
  carries). Signing out deletes the row, so a cookie copied before then opens nothing; a
  password change, a reset or "sign out everywhere" deletes the user's rows.
* sign_in_failures: failed sign-ins by account name and address, so that the sign-in limit
  holds across gunicorn workers and machines sharing the database, with no other service.
* audit_log: TRUNCATE is refused by a statement-level trigger on PostgreSQL (the row trigger
  of the initial schema does not fire on TRUNCATE), as on the results tables. SQLite has no
  TRUNCATE; its DELETE triggers already refuse.

Revision ID: 67dfda2270d6
Revises: e4a7c9b2d6f1
Create Date: 2026-12-05 09:30:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '67dfda2270d6'
down_revision = 'e4a7c9b2d6f1'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('user_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(), nullable=False),
    sa.Column('ip', sa.String(length=45), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_user_sessions_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_sessions')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_user_sessions_token_hash'))
    )
    op.create_index(op.f('ix_user_sessions_user_id'), 'user_sessions', ['user_id'], unique=False)
    op.create_index(op.f('ix_user_sessions_last_seen_at'), 'user_sessions', ['last_seen_at'],
                    unique=False)
    op.create_table('sign_in_failures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('account', sa.String(length=64), nullable=False),
    sa.Column('address', sa.String(length=45), nullable=False),
    sa.Column('locks', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sign_in_failures'))
    )
    op.create_index(op.f('ix_sign_in_failures_at'), 'sign_in_failures', ['at'], unique=False)
    op.create_index('ix_sign_in_failures_account_at', 'sign_in_failures', ['account', 'at'],
                    unique=False)
    op.create_index('ix_sign_in_failures_address_at', 'sign_in_failures', ['address', 'at'],
                    unique=False)
    if op.get_bind().dialect.name == "postgresql":
        # audit_log_append_only() (initial schema) raises whatever the trigger's level.
        op.execute("""CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
                      FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()""")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log")
    op.drop_index('ix_sign_in_failures_address_at', table_name='sign_in_failures')
    op.drop_index('ix_sign_in_failures_account_at', table_name='sign_in_failures')
    op.drop_index(op.f('ix_sign_in_failures_at'), table_name='sign_in_failures')
    op.drop_table('sign_in_failures')
    op.drop_index(op.f('ix_user_sessions_last_seen_at'), table_name='user_sessions')
    op.drop_index(op.f('ix_user_sessions_user_id'), table_name='user_sessions')
    op.drop_table('user_sessions')
