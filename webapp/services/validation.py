"""Run one step's validation for one attendee and record it: the Attempt and the StepSummary together."""

from __future__ import annotations

import logging
from datetime import datetime

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

import validator
from checks.outcome import Status
from validator.result import redact

from ..extensions import db
from ..models import Attempt, Attendee, StepSummary
from . import attendees, labs
from .errors import InvalidInput

log = logging.getLogger(__name__)

TRIGGERS = ("student", "proctor", "api", "sweep")


def run(attendee: Attendee, step_id: str, *, trigger: str, triggered_by: str | None = None) -> validator.StepResult:
    """Validate ``step_id`` (a step id or a task number) for ``attendee``, record it, return the result.

    The returned result and everything stored are redacted of the attendee's secrets. Raises
    :class:`validator.UnknownStep` for a step the lab lacks, :class:`InvalidInput` for a bad trigger.
    Azure trouble is an ERROR result, never an exception.
    """
    if trigger not in TRIGGERS:
        raise InvalidInput("trigger", f"must be one of {', '.join(TRIGGERS)}")
    pack = labs.pack(attendee.lab_id)
    creds = attendees.credentials(attendee)
    try:
        who = validator.Attendee.from_json(creds, pack)
    except ValueError as exc:
        # The platform gave credentials labgrader cannot use; the validator would fail the same way.
        raise InvalidInput("azure", str(exc)) from None
    options = validator.Options(budget_seconds=float(current_app.config["VALIDATE_BUDGET_SECONDS"]))
    result = validator.validate(who, step_id, pack, options)
    data = redact(result.to_json(), attendees.secret_values(attendee) | _azure_secrets(creds))
    safe = validator.StepResult.from_json(data)
    record(attendee, safe, data, trigger=trigger, triggered_by=triggered_by)
    log.info("validated %s/%s step %s: %s (%d ms, %d Azure calls, by %s %s)", attendee.lab_id,
             attendee.external_id, safe.step, safe.status.value, safe.duration_ms, safe.azure_calls, trigger,
             triggered_by or "-")
    return safe


def record(attendee: Attendee, result: validator.StepResult, data: dict, *, trigger: str,
           triggered_by: str | None) -> Attempt:
    """Store the Attempt and fold it into the StepSummary in one transaction (retried once on a race)."""
    for tries in (1, 2):
        attempt = Attempt(
            attendee_id=attendee.id, step_id=result.step, task=result.task, status=result.status.value,
            message=result.message, hint=result.hint, result=data, trigger=trigger, triggered_by=triggered_by,
            started_at=result.started_at, duration_ms=result.duration_ms, azure_calls=result.azure_calls,
        )
        db.session.add(attempt)
        try:
            _fold(attendee.id, result)
            db.session.commit()
            return attempt
        except IntegrityError:
            # Two first attempts on one step at once both inserted a summary; the loser retries as an update.
            db.session.rollback()
            if tries == 2:
                raise
    raise AssertionError("unreachable")


def _fold(attendee_id: int, result: validator.StepResult) -> None:
    at: datetime = result.started_at
    summary = db.session.scalar(
        select(StepSummary).filter_by(attendee_id=attendee_id, step_id=result.step).with_for_update()
    )
    status = result.status
    if summary is None:
        summary = StepSummary(
            attendee_id=attendee_id, step_id=result.step, status=status.value, last_status=status.value,
            message=result.message, attempts=0, fails=0, consecutive_fails=0, first_attempt_at=at,
            last_attempt_at=at, failing_checks=[],
        )
        db.session.add(summary)
        db.session.flush()
    summary.attempts += 1
    summary.last_status = status.value
    summary.last_attempt_at = max(summary.last_attempt_at, at)
    if status is Status.ERROR and summary.attempts > 1:
        return  # labgrader's trouble says nothing new about the student's work
    summary.status = status.value
    summary.message = result.message
    if status is Status.FAIL:
        summary.fails += 1
        summary.consecutive_fails += 1
        summary.failing_checks = [
            {"check_id": o.check_id, "message": o.message} for o in result.checks if o.status is Status.FAIL
        ]
    elif status is Status.PASS:
        summary.consecutive_fails = 0
        summary.failing_checks = []
        summary.passed_at = summary.passed_at or at
    # PENDING (training running) neither counts as a fail nor clears one.


def _azure_secrets(creds: dict) -> set[str]:
    return {str(creds[k]) for k in attendees.AZURE_SECRET_FIELDS if creds.get(k)}
