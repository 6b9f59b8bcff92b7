"""An attendee's attempts, newest first."""

from __future__ import annotations

from sqlalchemy import select

from ..extensions import db
from ..models import Attempt, Attendee


def history(attendee: Attendee, step_id: str | None = None, *, limit: int = 50) -> list[Attempt]:
    """The attendee's latest ``limit`` attempts (on ``step_id`` only, when given), newest first."""
    query = select(Attempt).filter_by(attendee_id=attendee.id)
    if step_id is not None:
        query = query.filter_by(step_id=step_id)
    return list(db.session.scalars(query.order_by(Attempt.started_at.desc(), Attempt.id.desc()).limit(limit)))
