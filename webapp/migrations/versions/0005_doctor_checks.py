"""the last labgrader doctor check per attendee

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'doctor_checks',
        sa.Column('attendee_id', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('summary', sa.Text(), nullable=False),
        sa.Column('report', sa.JSON(), nullable=False),
        sa.Column('checked_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('checked_by', sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(['attendee_id'], ['attendees.id'], name=op.f('fk_doctor_checks_attendee_id_attendees'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('attendee_id', name=op.f('pk_doctor_checks')),
    )


def downgrade():
    op.drop_table('doctor_checks')
