"""import batch progress and pending upload

A background check reports its progress on the batch row (every worker can read it), and the
uploaded file waits on the row between the dry run and the organiser's choice.

Revision ID: 2481715b8f85
Revises: 3436855a4e0b
Create Date: 2026-11-22 16:02:06.199586

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '2481715b8f85'
down_revision = '3436855a4e0b'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('import_batches', schema=None) as batch_op:
        batch_op.add_column(sa.Column('progress', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('content', sa.LargeBinary(), nullable=True))


def downgrade():
    with op.batch_alter_table('import_batches', schema=None) as batch_op:
        batch_op.drop_column('content')
        batch_op.drop_column('progress')
