"""Sign-in sessions kept on the server (:class:`~webapp.models.LoginSession`), so signing out ends one.

Flask's session cookie is signed, not stored: without a server-side record, a copy of it would open the
guide or the dashboard until it expired, whatever its owner did. Here the cookie carries a random id; the
database holds its SHA-256 and an expiry (``SESSION_LIFETIME``), and :func:`is_live` checks both on every
request, on whichever instance serves it.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask import current_app
from sqlalchemy import delete

from ..extensions import db
from ..models import Attendee, LoginSession, Proctor, utcnow


def _digest(sid: str) -> str:
    return hashlib.sha256(sid.encode("utf-8")).hexdigest()


def lifetime() -> timedelta:
    return timedelta(seconds=int(current_app.config["SESSION_LIFETIME"]))


def start(*, attendee: Attendee | None = None, proctor: Proctor | None = None) -> str:
    """Record a new session for one attendee or one proctor and commit; returns the id for the cookie."""
    if (attendee is None) == (proctor is None):
        raise ValueError("a session belongs to exactly one attendee or one proctor")
    sid = secrets.token_urlsafe(32)
    now = utcnow()
    db.session.execute(delete(LoginSession).where(LoginSession.expires_at < now))  # keep the table small
    db.session.add(LoginSession(id=_digest(sid), attendee_id=attendee.id if attendee else None,
                                proctor_id=proctor.id if proctor else None, created_at=now,
                                expires_at=now + lifetime()))
    db.session.commit()
    return sid


def is_live(sid: object, *, attendee_id: int | None = None, proctor_id: int | None = None) -> bool:
    """Whether ``sid`` names an unexpired session of exactly this attendee or proctor."""
    if not isinstance(sid, str) or not 20 <= len(sid) <= 100:
        return False
    row = db.session.get(LoginSession, _digest(sid))
    return (row is not None and row.expires_at > utcnow() and row.attendee_id == attendee_id
            and row.proctor_id == proctor_id)


def end(sid: object) -> None:
    """Forget session ``sid`` (signing out); nothing happens for an unknown one."""
    if isinstance(sid, str) and len(sid) <= 100:
        db.session.execute(delete(LoginSession).where(LoginSession.id == _digest(sid)))
        db.session.commit()
