"""What a validated launch opens: the attendee's guide, or the class grid for an instructor or TA.

The launch's claims are signed by the platform, so a student cannot give themselves a role or a lab: roles
come from the roles claim (course roles win over institution roles, as pylti1p3 reads them), the lab and the
class from custom parameters the LMS sets on the link (or that Deep Linking put there).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from werkzeug.security import generate_password_hash

from ..extensions import db
from ..models import Attendee, Cohort, Proctor, utcnow
from ..services import attendees, labs
from ..services.errors import InvalidInput, NotFound
from . import grades
from .models import LtiContext, LtiGradeTarget, LtiLearner, LtiPlatform

CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
CUSTOM = CLAIM + "custom"
CONTEXT = CLAIM + "context"
AGS = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
NRPS = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
SCORE_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
# Custom parameters of the link (names the LMS admin types; documented in the README).
LAB_PARAM, CLASS_PARAM, ATTENDEE_PARAM = "lab", "class", "attendee"


class Refused(Exception):
    """A launch labgrader will not open; ``title`` and the message are for the person who launched."""

    def __init__(self, title: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.title, self.status = title, status


@dataclass(frozen=True)
class Opened:
    """Where a launch leads: an attendee's guide, or a class grid for a proctor."""

    attendee: Attendee | None = None
    proctor: Proctor | None = None
    cohort: Cohort | None = None


def custom(body: dict[str, Any]) -> dict[str, str]:
    value = body.get(CUSTOM) or {}
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def lab_of(body: dict[str, Any]) -> str:
    """The lab the link names (custom parameter ``lab``); :class:`Refused` when none or unknown."""
    lab_id = custom(body).get(LAB_PARAM, "").strip()
    if not lab_id:
        raise Refused("This link names no lab",
                      "The course link that opened labgrader does not say which lab to open. Ask your instructor "
                      "to set the custom parameter lab=<lab id> on the link, or to add the activity again and "
                      "choose the lab from labgrader's list.")
    try:
        labs.pack(lab_id)
    except NotFound:
        raise Refused("Unknown lab", f"The course link names the lab '{lab_id[:100]}', which this labgrader does "
                                     "not have. Ask your instructor to check the link's lab parameter.") from None
    return lab_id


def class_name(body: dict[str, Any]) -> str:
    """The class: custom parameter ``class``, else the course's title, else its id."""
    context = body.get(CONTEXT) or {}
    for value in (custom(body).get(CLASS_PARAM), context.get("title"), context.get("label"), context.get("id")):
        if isinstance(value, str) and value.strip():
            return value.strip()[:200]
    raise Refused("No course", "The launch names no course, so labgrader cannot tell which class it is for. "
                               "Open the lab from a course page.")


def _context(platform: LtiPlatform, body: dict[str, Any], lab_id: str, cohort: Cohort) -> LtiContext | None:
    """Remember the course (its class and roster service) for the grid; not committed."""
    context = body.get(CONTEXT) or {}
    context_id = str(context.get("id") or "")[:255]
    if not context_id:
        return None
    row = db.session.scalar(select(LtiContext).filter_by(platform_id=platform.id, context_id=context_id,
                                                         lab_id=lab_id))
    if row is None:
        row = LtiContext(platform_id=platform.id, context_id=context_id, lab_id=lab_id)
        db.session.add(row)
    row.cohort = cohort
    row.title = str(context.get("title") or "")[:300]
    nrps = body.get(NRPS) or {}
    if isinstance(nrps.get("context_memberships_url"), str):
        row.memberships_url = nrps["context_memberships_url"][:2000]
    return row


def open_for_staff(platform: LtiPlatform, body: dict[str, Any]) -> Opened:
    """An instructor or TA: a proctor account of this LMS user, granted exactly this class."""
    lab_id = lab_of(body)
    try:
        cohort = attendees.get_cohort(lab_id, class_name(body))
    except InvalidInput as exc:
        raise Refused("Unusable course name", f"labgrader cannot use this course as a class: {exc.message}.") from None
    _context(platform, body, lab_id, cohort)
    proctor = staff_proctor(platform, str(body.get("sub") or ""))
    proctor.cohorts = [cohort]  # this launch's class only, whatever an earlier launch granted
    db.session.commit()
    return Opened(proctor=proctor, cohort=cohort)


def staff_proctor(platform: LtiPlatform, sub: str) -> Proctor:
    """The proctor account of LMS user ``sub`` (never an existing password account, whatever the LMS says
    their email is); it has no usable password. Not committed."""
    if not sub:
        raise Refused("No user", "The launch names no user. Sign in to your course, then open the lab again.")
    digest = hashlib.sha256(f"{platform.id}:{sub}".encode()).hexdigest()[:32]
    email = f"lti-{platform.id}-{digest}@lti.invalid"
    proctor = db.session.scalar(select(Proctor).filter_by(email=email))
    if proctor is None:
        proctor = Proctor(email=email, password_hash=generate_password_hash(secrets.token_urlsafe(32)),
                          is_admin=False)
        db.session.add(proctor)
    return proctor


def open_for_learner(platform: LtiPlatform, body: dict[str, Any]) -> Opened:
    """A learner: the attendee the lab platform registered, named by the link's custom parameter ``attendee``,
    else the attendee whose record names this LMS user (``lms_user_id``, the id_token's sub)."""
    lab_id = lab_of(body)
    external_id = custom(body).get(ATTENDEE_PARAM, "").strip()
    sub = str(body.get("sub") or "")[:255]
    who = None
    if external_id:
        who = db.session.scalar(select(Attendee).filter_by(lab_id=lab_id, external_id=external_id[:200]))
    elif sub:
        who = db.session.scalar(select(Attendee).filter_by(lab_id=lab_id, lms_user_id=sub))
    if who is None:
        raise Refused("You are not registered for this lab",
                      "labgrader has no attendee for you in this lab yet, so it cannot show your guide. Your lab "
                      "platform registers each student before the lab starts: ask your instructor to register you, "
                      "then open the lab again from the course.", 403)
    try:
        cohort = attendees.get_cohort(lab_id, class_name(body))
        _context(platform, body, lab_id, cohort)
    except (Refused, InvalidInput):
        pass  # the roster is a convenience for the grid; the student's launch does not depend on it
    _grade_target(platform, body, who)
    _launched(platform, str(body.get("sub") or "")[:255], who)
    db.session.flush()
    grades.catch_up(who)
    db.session.commit()
    return Opened(attendee=who)


def _launched(platform: LtiPlatform, sub: str, who: Attendee) -> None:
    if not sub:
        return
    row = db.session.scalar(select(LtiLearner).filter_by(platform_id=platform.id, user_id=sub, attendee_id=who.id))
    if row is None:
        db.session.add(LtiLearner(platform_id=platform.id, user_id=sub, attendee_id=who.id))
    else:
        row.last_launch_at = utcnow()


def _grade_target(platform: LtiPlatform, body: dict[str, Any], who: Attendee) -> None:
    """Remember the link's line item when the platform lets labgrader post scores to it; not committed."""
    ags = body.get(AGS) or {}
    lineitem, scopes = ags.get("lineitem"), ags.get("scope") or []
    sub = str(body.get("sub") or "")
    if not isinstance(lineitem, str) or SCORE_SCOPE not in scopes or not sub:
        return
    row = db.session.scalar(select(LtiGradeTarget).filter_by(attendee_id=who.id, platform_id=platform.id,
                                                             lineitem_url=lineitem[:2000]))
    if row is None:
        row = LtiGradeTarget(attendee_id=who.id, platform_id=platform.id, lineitem_url=lineitem[:2000])
        db.session.add(row)
    row.user_id, row.scopes = sub[:255], [s for s in scopes if isinstance(s, str)]
