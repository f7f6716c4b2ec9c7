"""component judgement order

components.judgement_order: in which order a panel's judgement grades become points --
"per_sheet" (each judge's sheet totalled, the sheets then combined: what every component did
until now, so existing rows get it) or "per_item" (WorldSkills: grades averaged per item,
rounded once).

Revision ID: a9c3e5f7b214
Revises: 67dfda2270d6
Create Date: 2026-12-05 10:20:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'a9c3e5f7b214'
down_revision = '67dfda2270d6'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('components', schema=None) as batch_op:
        batch_op.add_column(sa.Column(
            'judgement_order', sa.Enum('per_sheet', 'per_item', name='judgementorder',
                                       native_enum=False, length=24),
            server_default='per_sheet', nullable=False))


def downgrade():
    with op.batch_alter_table('components', schema=None) as batch_op:
        batch_op.drop_column('judgement_order')
