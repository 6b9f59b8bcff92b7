"""Proctor accounts: passwords hashed with werkzeug.security; each proctor sees the classes granted."""

from __future__ import annotations

import re
import threading
from functools import cache

from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from ..extensions import db
from ..models import Attendee, Cohort, Proctor
from . import attendees
from .errors import InvalidInput, NotFound

# No whitespace or control characters (PostgreSQL cannot even compare a NUL).
_EMAIL = re.compile(r"^[^@\s\x00-\x1f\x7f]{1,64}@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f]+$")
MIN_PASSWORD = 10
# A password check is a deliberately costly scrypt (32 MiB, about 0.1 s of a core). At most this many run at
# once in one process; more sign-ins wait their turn (up to PASSWORD_CHECK_WAIT seconds, then Busy), so a burst
# of attempts takes neither all the memory nor every core from the students' requests.
PASSWORD_CHECKS_AT_ONCE = 1
PASSWORD_CHECK_WAIT = 10.0
_password_checks = threading.BoundedSemaphore(PASSWORD_CHECKS_AT_ONCE)


class Busy(RuntimeError):
    """Too many password checks are waiting in this process: try again in a few seconds."""


@cache
def _dummy_hash() -> str:
    """Checked when the email is unknown, so a wrong email costs as long as a wrong password."""
    return generate_password_hash("labgrader-timing-equaliser")


def _email(value: str) -> str:
    value = (value or "").strip().lower()
    if not _EMAIL.match(value) or len(value) > 254:
        raise InvalidInput("email", f"'{value}' is not an email address")
    return value


def add(email: str, password: str, *, is_admin: bool = False) -> Proctor:
    """A new proctor; raises :class:`InvalidInput` for a bad email, a short password, or a taken email."""
    email = _email(email)
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise InvalidInput("password", f"must be at least {MIN_PASSWORD} characters")
    if db.session.scalar(select(Proctor).filter_by(email=email)) is not None:
        raise InvalidInput("email", f"a proctor '{email}' already exists")
    proctor = Proctor(email=email, password_hash=generate_password_hash(password), is_admin=is_admin)
    db.session.add(proctor)
    db.session.commit()
    return proctor


def get(email: str) -> Proctor:
    found = db.session.scalar(select(Proctor).filter_by(email=(email or "").strip().lower()))
    if found is None:
        raise NotFound(f"no proctor '{email}'")
    return found


def set_password(email: str, password: str) -> Proctor:
    """Give ``email`` a new password and end every session they signed in before."""
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise InvalidInput("password", f"must be at least {MIN_PASSWORD} characters")
    proctor = get(email)
    proctor.password_hash = generate_password_hash(password)
    proctor.session_version += 1
    db.session.commit()
    return proctor


def remove(email: str) -> None:
    """Delete proctor ``email`` and their grants; their sessions end (nothing is left to match them)."""
    proctor = get(email)
    db.session.delete(proctor)
    db.session.commit()


def authenticate(email: str, password: str) -> Proctor | None:
    """The proctor when ``password`` is theirs, else ``None`` (same cost for an unknown email).

    Raises :class:`Busy` when other password checks kept this one waiting too long.
    """
    email = (email or "").strip().lower() if isinstance(email, str) else ""
    proctor, stored = None, _dummy_hash()
    if _EMAIL.match(email) and len(email) <= 254:  # nothing else was ever stored as an email
        proctor = db.session.scalar(select(Proctor).filter_by(email=email))
        stored = proctor.password_hash if proctor is not None else stored
        db.session.rollback()  # no database connection is held while this request waits for its turn below
    if not _password_checks.acquire(timeout=PASSWORD_CHECK_WAIT):
        raise Busy("too many sign-ins at once")
    try:
        matches = check_password_hash(stored, password or "")
    finally:
        _password_checks.release()
    return proctor if proctor is not None and matches else None


def grant(email: str, lab_id: str, cohort_name: str) -> Cohort:
    """Let proctor ``email`` see class ``cohort_name`` of ``lab_id`` (created if new); idempotent."""
    proctor = get(email)
    cohort = attendees.get_cohort(lab_id, cohort_name)
    if cohort not in proctor.cohorts:
        proctor.cohorts.append(cohort)
    db.session.commit()
    return cohort


def revoke(email: str, lab_id: str, cohort_name: str) -> bool:
    """Stop proctor ``email`` seeing class ``cohort_name`` of ``lab_id``; whether they could see it.

    Takes effect on their next request (grants are read per request). Raises :class:`NotFound` for an
    unknown proctor, lab or class.
    """
    proctor = get(email)
    cohort = attendees.get_cohort(lab_id, cohort_name, create=False)
    granted = cohort in proctor.cohorts
    if granted:
        proctor.cohorts.remove(cohort)
    db.session.commit()
    return granted


def cohorts_for(proctor: Proctor) -> list[Cohort]:
    """The classes ``proctor`` may see: all of them for an admin."""
    if proctor.is_admin:
        return list(db.session.scalars(select(Cohort).order_by(Cohort.lab_id, Cohort.name)))
    return sorted(proctor.cohorts, key=lambda c: (c.lab_id, c.name))


def can_see(proctor: Proctor, attendee: Attendee) -> bool:
    """Whether ``proctor`` may see ``attendee`` (admin, or the attendee's class was granted)."""
    if proctor.is_admin:
        return True
    return attendee.cohort_id is not None and any(c.id == attendee.cohort_id for c in proctor.cohorts)


def list_proctors() -> list[Proctor]:
    return list(db.session.scalars(select(Proctor).order_by(Proctor.email)))
