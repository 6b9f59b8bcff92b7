"""Reads the proctor pages need that the service layer does not offer (one attendee by id, a class's
attempts for the CSV export)."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import Row, select

from ..extensions import db
from ..models import Attempt, Attendee, Cohort


def attendee(attendee_id: int) -> Attendee | None:
    return db.session.get(Attendee, attendee_id)


def class_attempts(cohort: Cohort) -> Iterator[Row[tuple[Attempt, Attendee]]]:
    """Every attempt of the class's attendees, oldest first, streamed in batches."""
    query = (
        select(Attempt, Attendee)
        .join(Attendee, Attempt.attendee_id == Attendee.id)
        .where(Attendee.cohort_id == cohort.id)
        .order_by(Attempt.started_at, Attempt.id)
        .execution_options(yield_per=500)
    )
    yield from db.session.execute(query)  # Row unpacks like a tuple
