"""scores: when each step first passed (a step keeps its credit after a later FAIL, per the lab)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 17:10:00.000000
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('step_summaries', sa.Column('first_passed_at', sa.DateTime(timezone=True), nullable=True))
    # Steps that passed before this revision: the time of their first PASS attempt.
    op.execute(
        "UPDATE step_summaries SET first_passed_at = (SELECT MIN(a.started_at) FROM attempts a "
        "WHERE a.attendee_id = step_summaries.attendee_id AND a.step_id = step_summaries.step_id "
        "AND a.status = 'PASS')"
    )


def downgrade():
    with op.batch_alter_table('step_summaries') as batch:
        batch.drop_column('first_passed_at')
