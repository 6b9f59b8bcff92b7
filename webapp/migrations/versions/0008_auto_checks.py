"""automatic checks: a class's auto_check setting, each attendee's schedule, and the calls they spent

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 18:45:00.000000
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('cohorts', sa.Column('auto_check', sa.JSON(), nullable=True))
    op.create_table(
        'auto_checks',
        sa.Column('attendee_id', sa.Integer(), nullable=False),
        sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('next_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('running_until', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_checked_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_calls', sa.Integer(), nullable=False),
        sa.Column('blocked_on', sa.DateTime(timezone=True), nullable=True),
        sa.Column('blocked_reason', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['attendee_id'], ['attendees.id'], name=op.f('fk_auto_checks_attendee_id_attendees'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('attendee_id', name=op.f('pk_auto_checks')),
    )
    op.create_table(
        'auto_check_runs',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('scope', sa.String(length=320), nullable=False),
        sa.Column('attendee_id', sa.Integer(), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('calls', sa.Integer(), nullable=False),
        sa.Column('done', sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(['attendee_id'], ['attendees.id'],
                                name=op.f('fk_auto_check_runs_attendee_id_attendees'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_auto_check_runs')),
    )
    op.create_index('ix_auto_check_runs_scope_at', 'auto_check_runs', ['scope', 'at'])


def downgrade():
    op.drop_index('ix_auto_check_runs_scope_at', table_name='auto_check_runs')
    op.drop_table('auto_check_runs')
    op.drop_table('auto_checks')
    with op.batch_alter_table('cohorts') as batch:
        batch.drop_column('auto_check')
