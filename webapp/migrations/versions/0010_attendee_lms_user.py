"""attendees: the LMS user id (LTI sub) a lab platform may name, mapping that user's launches to the attendee

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29 19:05:00.000000
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('attendees') as batch:
        batch.add_column(sa.Column('lms_user_id', sa.String(length=255), nullable=True))
        batch.create_index(batch.f('ix_attendees_lms_user_id'), ['lms_user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('attendees') as batch:
        batch.drop_index(batch.f('ix_attendees_lms_user_id'))
        batch.drop_column('lms_user_id')
