"""step summaries keep what verdicts were judged on

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 16:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    # Both start empty: a summary recorded before this revision has nothing to be out of date against.
    with op.batch_alter_table('step_summaries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('judged_on', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('observed', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('step_summaries', schema=None) as batch_op:
        batch_op.drop_column('observed')
        batch_op.drop_column('judged_on')
