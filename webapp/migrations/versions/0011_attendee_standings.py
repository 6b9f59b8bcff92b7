"""attendee standings: the steps whose PASS is out of date, per attendee, so a class view reads no observations

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29 22:00:00.000000
"""

import json
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    standings = op.create_table(
        'attendee_standings',
        sa.Column('attendee_id', sa.Integer(), nullable=False),
        sa.Column('out_of_date', sa.JSON(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['attendee_id'], ['attendees.id'],
                                name=op.f('fk_attendee_standings_attendee_id_attendees'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('attendee_id', name=op.f('pk_attendee_standings')),
    )
    # Every attendee with a summary gets a row, worked out from the stored observations as
    # webapp.services.progress.out_of_date does (written out here: a migration must not change with the app).
    summaries = sa.table('step_summaries', sa.column('attendee_id'), sa.column('step_id'), sa.column('status'),
                         sa.column('judged_on', sa.JSON()), sa.column('observed', sa.JSON()))
    bind = op.get_bind()
    now = datetime.now(UTC)
    rows: dict[int, list] = {}
    for row in bind.execute(sa.select(summaries).order_by(summaries.c.attendee_id, summaries.c.step_id)):
        rows.setdefault(row.attendee_id, []).append(row)
    batch = [{"attendee_id": attendee_id, "out_of_date": _out_of_date(own), "updated_at": now}
             for attendee_id, own in rows.items()]
    for start in range(0, len(batch), 1000):
        op.bulk_insert(standings, batch[start:start + 1000])


def _out_of_date(rows: list) -> list[str]:
    newest: dict[str, tuple[str, object]] = {}
    for r in rows:
        for fact, (identity, when) in (_json(r.observed) or {}).items():
            if fact not in newest or when > newest[fact][0]:
                newest[fact] = (when, identity)
    return sorted(
        r.step_id for r in rows
        if r.status == "PASS" and any(fact in newest and newest[fact][1] != identity
                                      for fact, identity in (_json(r.judged_on) or {}).items())
    )


def _json(value):
    return json.loads(value) if isinstance(value, str) else value


def downgrade():
    op.drop_table('attendee_standings')
