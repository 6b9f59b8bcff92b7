"""The course roster on the class grid (Names and Role Provisioning Services): the learners the LMS lists for
the courses mapped to a class, and whether each has launched the lab yet. Read when the class page opens
(not on every poll of the grid), kept for a minute per process."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from pylti1p3.exception import LtiException
from pylti1p3.names_roles import NamesRolesProvisioningService
from sqlalchemy import select

from ..extensions import db
from ..models import Attendee, Cohort
from . import tool
from .models import LtiContext, LtiLearner

log = logging.getLogger(__name__)
CACHE_SECONDS = 60
LEARNER_ROLE = "Learner"  # membership#Learner, and the short form some LMSs send
_cache: dict[tuple[str, str, str], tuple[float, list[dict]]] = {}  # (issuer, client id, roster URL) -> members
_lock = threading.Lock()


@dataclass(frozen=True)
class RosterRow:
    name: str
    user_id: str
    attendee: str | None  # the attendee's name once they launched, else None


@dataclass(frozen=True)
class Roster:
    course: str
    rows: list[RosterRow]
    error: str | None = None

    @property
    def waiting(self) -> int:
        return sum(r.attendee is None for r in self.rows)


def _members(context: LtiContext) -> list[dict]:
    key = (context.platform.issuer, context.platform.client_id, context.memberships_url or "")
    with _lock:
        hit = _cache.get(key)
    if hit and hit[0] > time.monotonic():
        return hit[1]
    connector = tool.Connector(tool.registration(context.platform), tool.TimeoutSession())
    service = NamesRolesProvisioningService(connector, {"context_memberships_url": context.memberships_url})
    members = service.get_members()
    with _lock:
        _cache[key] = (time.monotonic() + CACHE_SECONDS, members)
    return members


def _is_learner(member: dict) -> bool:
    return any(str(r).rsplit("#", 1)[-1].rsplit("/", 1)[-1] == LEARNER_ROLE for r in member.get("roles") or [])


def for_cohort(cohort: Cohort) -> list[Roster]:
    """One roster per course of a platform mapped to ``cohort`` that offers NRPS."""
    rosters = []
    contexts = db.session.scalars(select(LtiContext).filter_by(cohort_id=cohort.id)
                                  .where(LtiContext.memberships_url.is_not(None)))
    for context in contexts:
        course = context.title or context.context_id
        try:
            members = [m for m in _members(context) if _is_learner(m) and m.get("status", "Active") == "Active"]
        except (LtiException, OSError, ValueError) as exc:  # requests' errors are OSErrors
            log.warning("NRPS roster of course %s could not be read: %s", context.context_id, exc)
            rosters.append(Roster(course, [], "The learning platform did not answer for the course roster; the "
                                              "grid above is complete for those who launched."))
            continue
        launched = dict(db.session.execute(
            select(LtiLearner.user_id, Attendee.display_name).join(Attendee, Attendee.id == LtiLearner.attendee_id)
            .where(LtiLearner.platform_id == context.platform_id, Attendee.lab_id == cohort.lab_id)).all())
        rows = [RosterRow(str(m.get("name") or m.get("user_id")), str(m.get("user_id")),
                          launched.get(str(m.get("user_id")))) for m in members]
        rows.sort(key=lambda r: (r.attendee is not None, r.name.lower()))
        rosters.append(Roster(course, rows))
    return rosters
