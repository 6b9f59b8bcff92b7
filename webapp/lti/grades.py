"""Assignment and Grade Services: the attendee's score goes to the line item of the link they launched.

The score is the one score.changed carries (:mod:`webapp.services.webhooks` computes it, once, when an
attempt changes it): :func:`hold` keeps it on each of the attendee's grade targets in the attempt's
transaction, and after the commit a background job (:mod:`webapp.services.jobs`: RQ with Redis, the process's
pool otherwise) posts it, so a Validate never waits on the LMS. A failed post (timeout, connection error, 5xx,
429) is tried again with growing delays; what still fails stays pending, and the next change (or
``labgrader lti grades resend``) sends the newest. Each score carries the time of the change: a platform
keeps the latest by timestamp, whatever order two posts arrive in (AGS requires it).
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

from flask import Flask
from pylti1p3.assignments_grades import AssignmentsGradesService
from pylti1p3.exception import LtiException, LtiServiceException
from pylti1p3.grade import Grade
from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from ..extensions import db
from ..models import Attendee, utcnow
from ..services import jobs
from . import tool
from .models import LtiGradeTarget

log = logging.getLogger(__name__)

RETRY_DELAYS = (1.0, 5.0, 20.0)  # seconds before the 2nd, 3rd and 4th try of one post
_KICKS = "labgrader.lti.grades"  # session.info key: attendees whose scores wait for the commit
RETRIED_STATUSES = frozenset({408, 429})


def wants(attendee: Attendee) -> bool:
    """Whether ``attendee`` launched from an LMS that takes scores."""
    return db.session.scalar(select(LtiGradeTarget.id).filter_by(attendee_id=attendee.id).limit(1)) is not None


def hold(attendee: Attendee, change: dict) -> None:
    """Keep the new score on the attendee's grade targets (in the caller's transaction); posted after commit."""
    data = {k: change.get(k) for k in ("score", "previous_score", "pass_mark", "passes")}
    data["at"] = _iso(utcnow())
    for target in db.session.scalars(select(LtiGradeTarget).filter_by(attendee_id=attendee.id)):
        target.pending_score, target.pending_data, target.tries = float(change["score"]), data, 0
    db.session.info.setdefault(_KICKS, set()).add(attendee.id)


def catch_up(attendee: Attendee) -> None:
    """At a launch: when a grade target has not got the attendee's current score (they earned it before their
    first launch from this link, or a post was given up), hold that score; posted after the caller commits.
    The score is :mod:`webapp.services.progress`'s, the rule score.changed follows."""
    from ..services import progress

    targets = list(db.session.scalars(select(LtiGradeTarget).filter_by(attendee_id=attendee.id)))
    if not targets:
        return
    now = progress.attendee(attendee)
    if all(t.last_score == now.score and t.pending_score is None for t in targets):
        return
    if now.score == 0 and all(t.last_score is None for t in targets):
        return  # nothing earned yet: the first change posts
    hold(attendee, {"score": now.score, "previous_score": None, "pass_mark": now.pass_mark, "passes": now.passes})


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    ids = session.info.pop(_KICKS, None)
    for attendee_id in sorted(ids or ()):
        try:
            jobs.submit(post_pending, attendee_id)
        except Exception:  # the score stays pending: the next change or `lti grades resend` sends it
            log.exception("could not start posting the LTI score of attendee %s", attendee_id)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_KICKS, None)


def post_pending(attendee_id: int) -> int:
    """Post the pending score of each of the attendee's grade targets; returns how many the platforms
    accepted. A background job (module level, an int argument: it pickles for RQ)."""
    sent = 0
    targets = list(db.session.scalars(select(LtiGradeTarget).filter_by(attendee_id=attendee_id)
                                      .where(LtiGradeTarget.pending_score.is_not(None))))
    for target in targets:
        sent += _post_with_retries(target)
    return sent


def _post_with_retries(target: LtiGradeTarget) -> bool:
    for delay in (0.0, *RETRY_DELAYS):
        if delay:
            time.sleep(delay)
        db.session.refresh(target)
        if target.pending_score is None:
            return False  # another job sent it meanwhile
        retry, error = _post(target)
        if error is None:
            return True
        if not retry:
            break
    return False


def _post(target: LtiGradeTarget) -> tuple[bool, str | None]:
    """One try; records it and commits. (whether to try again, the error or None)."""
    data = dict(target.pending_data or {})
    score = float(target.pending_score or 0.0)
    grade = (Grade().set_score_given(score).set_score_maximum(100).set_user_id(target.user_id)
             .set_timestamp(data.get("at") or _iso(utcnow()))
             .set_activity_progress("Completed" if score >= 100 else "InProgress")
             # labgrader grades what is done at once: nothing waits for a person, so each score is final for now.
             .set_grading_progress("FullyGraded")
             .set_comment(_comment(score, data)))
    connector = tool.Connector(tool.registration(target.platform), tool.TimeoutSession())
    service = AssignmentsGradesService(connector, {"scope": list(target.scopes), "lineitem": target.lineitem_url})
    retry, error = False, None
    try:
        service.put_grade(grade)
    except LtiServiceException as exc:
        status = exc.response.status_code
        retry, error = status >= 500 or status in RETRIED_STATUSES, f"HTTP {status} from the platform"
    except LtiException as exc:
        error = str(exc)[:500]
    except Exception as exc:  # requests' connection errors and timeouts, a token endpoint that does not answer
        retry, error = True, f"{type(exc).__name__}: could not reach the platform"
    # Statements, not the loaded row: a newer score held meanwhile (another attempt's transaction) must survive.
    row = LtiGradeTarget.id == target.id
    if error is None:
        db.session.execute(update(LtiGradeTarget).where(row, LtiGradeTarget.pending_score == score)
                           .values(pending_score=None, pending_data=None, tries=0))
        db.session.execute(update(LtiGradeTarget).where(row).values(last_score=score, last_posted_at=utcnow(),
                                                                   last_error=None))
    else:
        db.session.execute(update(LtiGradeTarget).where(row).values(tries=LtiGradeTarget.tries + 1, last_error=error))
    db.session.commit()
    log.info("LTI score %.1f for attendee %s to %s: %s", score, target.attendee_id, target.lineitem_url,
             "accepted" if error is None else error)
    return retry, error


def _comment(score: float, data: dict) -> str:
    mark = data.get("pass_mark")
    text = f"labgrader score {score:g} of 100"
    if mark is not None:
        text += f" (pass mark {mark:g}: {'passed' if score >= float(mark) else 'not yet passed'})"
    return text + "."


def resend() -> int:
    """Post every pending score now (after an LMS outage); returns how many were accepted."""
    ids = set(db.session.scalars(select(LtiGradeTarget.attendee_id)
                                 .where(LtiGradeTarget.pending_score.is_not(None))))
    return sum(post_pending(i) for i in sorted(ids))


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def init_app(app: Flask) -> None:
    from ..services import webhooks

    webhooks.on_score_change(wants, hold)
