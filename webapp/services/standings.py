"""Keeps each attendee's :class:`~webapp.models.AttendeeStanding` current: whenever a flush writes one of their
step summaries, the steps whose PASS is out of date are worked out again from all of their summaries, in the
same transaction (a listener, so every writer of summaries keeps it, and a crash loses nothing).

Whether a PASS is out of date depends on what later validations of *any* step observed, so it changes with
other steps' summaries: the class views read it here instead of every summary's observations.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, insert, select, update
from sqlalchemy.orm import Session

from ..models import AttendeeStanding, StepSummary, utcnow
from .progress import newest_observations, out_of_date


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _context: Any) -> None:
    # ``new`` and ``dirty`` still list what this flush wrote; the rows themselves are in the database now.
    touched = {obj.attendee_id for obj in (*session.new, *session.dirty) if isinstance(obj, StepSummary)}
    if touched:
        connection = session.connection()
        for attendee_id in sorted(touched):
            refresh(connection, attendee_id)


def refresh(connection: Any, attendee_id: int) -> list[str]:
    """Work out one attendee's standing from their stored summaries and store it; returns the out-of-date steps.

    The standing row is locked first, so two attempts of one attendee recorded at once (on several instances)
    write it one after the other, the second from what the first committed. Two first attempts at once both
    insert it: the loser's IntegrityError is the one ``validation.record`` already retries.
    """
    table = AttendeeStanding.__table__
    exists = connection.execute(
        select(table.c.attendee_id).where(table.c.attendee_id == attendee_id).with_for_update()
    ).first()
    summaries = list(connection.execute(
        select(StepSummary.step_id, StepSummary.status, StepSummary.judged_on, StepSummary.observed)
        .where(StepSummary.attendee_id == attendee_id)
    ))
    newest = newest_observations(summaries)
    stale = sorted(s.step_id for s in summaries if out_of_date(s, newest))
    values = {"out_of_date": stale, "updated_at": utcnow()}
    if exists:
        connection.execute(update(table).where(table.c.attendee_id == attendee_id).values(**values))
    else:
        connection.execute(insert(table).values(attendee_id=attendee_id, **values))
    return stale
