"""exam questions can be voided (该题作废) after the exam

A voided question earns its points for every attempt (scoring.ExamQuestion.voided), so a
question struck out after the exam leaves the exam's maximum as published.

Revision ID: a1c3e5f7b9d2
Revises: 5c1e7a9d3b24
Create Date: 2026-12-05 10:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'a1c3e5f7b9d2'
down_revision = '5c1e7a9d3b24'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('exam_questions') as batch_op:
        batch_op.add_column(sa.Column('voided', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))


def downgrade():
    with op.batch_alter_table('exam_questions') as batch_op:
        batch_op.drop_column('voided')
