"""lti: platform registrations, the tool's key pairs, OIDC nonces and launches, courses, learners, grade targets

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 18:34:50.930096
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('lti_keys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kid', sa.String(length=100), nullable=False),
    sa.Column('public_pem', sa.Text(), nullable=False),
    sa.Column('private_blob', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('retired_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('drop_after', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lti_keys')),
    sa.UniqueConstraint('kid', name=op.f('uq_lti_keys_kid'))
    )
    op.create_table('lti_platforms',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('issuer', sa.String(length=500), nullable=False),
    sa.Column('client_id', sa.String(length=255), nullable=False),
    sa.Column('deployment_ids', sa.JSON(), nullable=False),
    sa.Column('auth_login_url', sa.String(length=2000), nullable=False),
    sa.Column('auth_token_url', sa.String(length=2000), nullable=False),
    sa.Column('key_set_url', sa.String(length=2000), nullable=False),
    sa.Column('auth_audience', sa.String(length=2000), nullable=True),
    sa.Column('frame_origins', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lti_platforms')),
    sa.UniqueConstraint('issuer', 'client_id', name=op.f('uq_lti_platforms_issuer_client_id')),
    sa.UniqueConstraint('name', name=op.f('uq_lti_platforms_name'))
    )
    op.create_table('lti_store',
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('value', sa.JSON(), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_lti_store'))
    )
    with op.batch_alter_table('lti_store', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lti_store_expires_at'), ['expires_at'], unique=False)

    op.create_table('lti_contexts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('platform_id', sa.Integer(), nullable=False),
    sa.Column('context_id', sa.String(length=255), nullable=False),
    sa.Column('lab_id', sa.String(length=100), nullable=False),
    sa.Column('cohort_id', sa.Integer(), nullable=True),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('memberships_url', sa.String(length=2000), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['cohort_id'], ['cohorts.id'], name=op.f('fk_lti_contexts_cohort_id_cohorts'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['lab_id'], ['labs.id'], name=op.f('fk_lti_contexts_lab_id_labs'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['platform_id'], ['lti_platforms.id'], name=op.f('fk_lti_contexts_platform_id_lti_platforms'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lti_contexts')),
    sa.UniqueConstraint('platform_id', 'context_id', 'lab_id', name=op.f('uq_lti_contexts_platform_id_context_id_lab_id'))
    )
    with op.batch_alter_table('lti_contexts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lti_contexts_cohort_id'), ['cohort_id'], unique=False)

    op.create_table('lti_grade_targets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('attendee_id', sa.Integer(), nullable=False),
    sa.Column('platform_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.String(length=255), nullable=False),
    sa.Column('lineitem_url', sa.String(length=2000), nullable=False),
    sa.Column('scopes', sa.JSON(), nullable=False),
    sa.Column('pending_score', sa.Double(), nullable=True),
    sa.Column('pending_data', sa.JSON(), nullable=True),
    sa.Column('last_score', sa.Double(), nullable=True),
    sa.Column('tries', sa.Integer(), nullable=False),
    sa.Column('last_posted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['attendee_id'], ['attendees.id'], name=op.f('fk_lti_grade_targets_attendee_id_attendees'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['platform_id'], ['lti_platforms.id'], name=op.f('fk_lti_grade_targets_platform_id_lti_platforms'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lti_grade_targets')),
    sa.UniqueConstraint('attendee_id', 'platform_id', 'lineitem_url', name=op.f('uq_lti_grade_targets_attendee_id_platform_id_lineitem_url'))
    )
    with op.batch_alter_table('lti_grade_targets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lti_grade_targets_attendee_id'), ['attendee_id'], unique=False)

    op.create_table('lti_learners',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('platform_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.String(length=255), nullable=False),
    sa.Column('attendee_id', sa.Integer(), nullable=False),
    sa.Column('last_launch_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['attendee_id'], ['attendees.id'], name=op.f('fk_lti_learners_attendee_id_attendees'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['platform_id'], ['lti_platforms.id'], name=op.f('fk_lti_learners_platform_id_lti_platforms'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lti_learners')),
    sa.UniqueConstraint('platform_id', 'user_id', 'attendee_id', name=op.f('uq_lti_learners_platform_id_user_id_attendee_id'))
    )
    with op.batch_alter_table('lti_learners', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lti_learners_attendee_id'), ['attendee_id'], unique=False)



def downgrade():
    with op.batch_alter_table('lti_learners', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lti_learners_attendee_id'))

    op.drop_table('lti_learners')
    with op.batch_alter_table('lti_grade_targets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lti_grade_targets_attendee_id'))

    op.drop_table('lti_grade_targets')
    with op.batch_alter_table('lti_contexts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lti_contexts_cohort_id'))

    op.drop_table('lti_contexts')
    with op.batch_alter_table('lti_store', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lti_store_expires_at'))

    op.drop_table('lti_store')
    op.drop_table('lti_platforms')
    op.drop_table('lti_keys')
