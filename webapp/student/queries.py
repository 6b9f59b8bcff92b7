"""Reads the student pages need that the service layer does not offer."""

from __future__ import annotations

from ..extensions import db
from ..models import Attempt, Attendee


def own_attempt(attendee: Attendee, attempt_id: int) -> Attempt | None:
    """Attempt ``attempt_id`` when it is ``attendee``'s, else ``None`` (whether or not it exists)."""
    found = db.session.get(Attempt, attempt_id)
    return found if found is not None and found.attendee_id == attendee.id else None
