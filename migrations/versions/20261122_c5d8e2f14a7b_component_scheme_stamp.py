"""component scheme stamp

components.scheme_stamp changes with every change to the component's marking scheme, so a
worker keeping the scoring rules it built learns of a change from the component's row alone.
Existing components start without a stamp (null); the first change to their scheme sets one.

Revision ID: c5d8e2f14a7b
Revises: b7e1c4d2a9f3
Create Date: 2026-11-22 21:50:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'c5d8e2f14a7b'
down_revision = 'b7e1c4d2a9f3'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('components', schema=None) as batch_op:
        batch_op.add_column(sa.Column('scheme_stamp', sa.String(length=32), nullable=True))


def downgrade():
    with op.batch_alter_table('components', schema=None) as batch_op:
        batch_op.drop_column('scheme_stamp')
