"""Run one step's validation for one attendee and record it: the Attempt and the StepSummary together."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime
from typing import NamedTuple

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

import validator
from checks.outcome import Outcome, Status
from checks.summary import causes
from validator.azure.budget import CallCounter
from validator.core import step_for
from validator.result import redact

from ..crypto import DecryptError
from ..extensions import db
from ..models import Attempt, Attendee, StepSummary, utcnow
from . import attendees, autocheck, labs, webhooks
from .errors import InvalidInput
from .observation import observation

log = logging.getLogger(__name__)

# recheck: the page, while a step is PENDING; auto: the automatic checks (services.autocheck), which are not
# the student's attempts: they update what a step shows but count toward no attempt total and no "stuck".
TRIGGERS = ("student", "recheck", "proctor", "api", "sweep", "auto")
AUTO = "auto"
CREDENTIALS_CHECK = "credentials"  # the check id of the ERROR for unusable stored credentials


def run(attendee: Attendee, step_id: str, *, trigger: str, triggered_by: str | None = None) -> validator.StepResult:
    """Validate ``step_id`` (a step id or a task number) for ``attendee``, record it, return the result.

    The returned result and everything stored are redacted of the attendee's secrets. Raises
    :class:`validator.UnknownStep` for a step the lab lacks, :class:`InvalidInput` for a bad trigger.
    Azure trouble is an ERROR result, never an exception; so are stored credentials labgrader cannot use
    (they cannot be decrypted, or the platform sent unusable ones): see :func:`is_credentials_error`.
    """
    if trigger not in TRIGGERS:
        raise InvalidInput("trigger", f"must be one of {', '.join(TRIGGERS)}")
    pack = labs.pack(attendee.lab_id)
    spec = step_for(pack, step_id)  # UnknownStep before anything is recorded
    name = webhooks.attendee_key(attendee)  # for the log, read now: the commit expires the attendee's row
    ready = _ready(attendee, pack, spec, name, trigger, triggered_by)
    if isinstance(ready, validator.StepResult):
        return ready
    result = validator.validate(ready.who, spec.id, pack, _options(), runtime=observation())
    data = redact(result.to_json(), ready.secrets)
    safe = validator.StepResult.from_json(data)
    record(attendee, safe, data, trigger=trigger, triggered_by=triggered_by, heard_by=ready.heard_by)
    log.info("validated %s step %s: %s (%d ms, %d Azure calls, by %s %s)", name, safe.step, safe.status.value,
             safe.duration_ms, safe.azure_calls, trigger, triggered_by or "-")
    return safe


def run_many(attendee: Attendee, step_ids: Sequence[str] | None, *, trigger: str,
             triggered_by: str | None = None, counter: CallCounter | None = None) -> list[validator.StepResult]:
    """Validate several steps (``None``: every step, in lab order; a step named twice runs once) for
    ``attendee`` from one snapshot of their Azure resources, and record each as its own attempt, with the
    result validating that step alone gives (:func:`validator.validate_many`).

    Raises as :func:`run` does, before anything is recorded. Stored credentials labgrader cannot use give
    one recorded ERROR, for the first step: every step would fail alike. ``counter``, when given, counts
    the run's Azure calls (each once, though a call serving several steps counts in each step's result).
    """
    if trigger not in TRIGGERS:
        raise InvalidInput("trigger", f"must be one of {', '.join(TRIGGERS)}")
    pack = labs.pack(attendee.lab_id)
    chosen: dict[str, object] = {}
    for step_id in pack.steps if step_ids is None else step_ids:
        spec = step_for(pack, step_id.id if step_ids is None else step_id)  # UnknownStep before any record
        chosen.setdefault(spec.id, spec)
    specs = list(chosen.values())
    if not specs:
        return []
    name = webhooks.attendee_key(attendee)  # as in run()
    ready = _ready(attendee, pack, specs[0], name, trigger, triggered_by)
    if isinstance(ready, validator.StepResult):
        return [ready]
    results = []
    for result in validator.validate_many(ready.who, [s.id for s in specs], pack, _options(), runtime=observation(),
                                          counter=counter):
        data = redact(result.to_json(), ready.secrets)
        safe = validator.StepResult.from_json(data)
        # The first record uses the audience read before Azure was asked; its commit expires what was read.
        record(attendee, safe, data, trigger=trigger, triggered_by=triggered_by,
               heard_by=None if results else ready.heard_by)
        results.append(safe)
    log.info("validated %s steps %s from one snapshot: %s (%d ms, by %s %s)", name,
             ",".join(r.task for r in results), ",".join(r.status.value for r in results),
             results[0].duration_ms, trigger, triggered_by or "-")
    return results


class _Ready(NamedTuple):
    who: validator.Attendee  # as the validator sees them
    secrets: set[str]  # every secret string of theirs, to redact
    heard_by: webhooks.Audience  # read with the attendee: the attempt's transaction only writes


def _ready(attendee: Attendee, pack, first, name: str, trigger: str,
           triggered_by: str | None) -> _Ready | validator.StepResult:
    """What validating ``attendee`` needs, read before Azure is asked (the database connection is then released);
    or, when their stored credentials cannot be used, the ERROR recorded for step ``first``."""
    try:
        creds = attendees.credentials(attendee)
        who = validator.Attendee.from_json(creds, pack)
        secrets = attendees.secret_values(attendee) | _azure_secrets(creds)
    except Exception as exc:  # whatever it is, the grader cannot look: an ERROR result, not a 500 page
        log.warning("attendee %s: stored credentials unusable (%s: %s)", name, type(exc).__name__, _problem(exc))
        result = credentials_error(pack.id, first, exc)
        record(attendee, result, result.to_json(), trigger=trigger, triggered_by=triggered_by)
        return result
    ready = _Ready(who, secrets, webhooks.audience(attendee))
    _release_connection()
    return ready


def _options() -> validator.Options:
    return validator.Options(budget_seconds=float(current_app.config["VALIDATE_BUDGET_SECONDS"]))


def _release_connection() -> None:
    """End the session's transaction before Azure is asked, so that no pooled database connection waits with
    the thread (a validation takes from a tenth of a second to seconds; the pool holds fewer connections
    than a server has threads). What was read stays loaded, as it would without this commit."""
    session = db.session()
    keep, session.expire_on_commit = session.expire_on_commit, False
    try:
        session.commit()
    finally:
        session.expire_on_commit = keep


def credentials_error(lab_id: str, spec, exc: Exception) -> validator.StepResult:
    """The ERROR result for credentials labgrader cannot use: never the student's fault, and it says so once."""
    outcome = Outcome(
        CREDENTIALS_CHECK, Status.ERROR,
        f"labgrader cannot use the Azure credentials stored for this lab, so it could not check Task {spec.task}.",
        "This is not a problem with your work: tell your proctor, who can ask the lab platform to send "
        "your lab's credentials again.",
        {"problem": _problem(exc)},
    )
    return validator.StepResult(
        lab=lab_id, step=spec.id, task=spec.task, title=spec.title, status=Status.ERROR, message=outcome.message,
        hint=outcome.hint, checks=(outcome,), started_at=utcnow(), duration_ms=0, azure_calls=0,
    )


def is_credentials_error(result: validator.StepResult) -> bool:
    """Whether ``result`` says the stored credentials are unusable (every step of the attendee fails alike)."""
    return result.status is Status.ERROR and any(o.check_id == CREDENTIALS_CHECK for o in result.checks)


def _problem(exc: Exception) -> str:
    """What the proctor reads about the credentials; only our own messages, which never carry a secret."""
    if isinstance(exc, DecryptError | ValueError):
        return str(exc)
    return f"unexpected {type(exc).__name__} while reading them (see the server log)"


def record(attendee: Attendee, result: validator.StepResult, data: dict, *, trigger: str,
           triggered_by: str | None, heard_by: webhooks.Audience | None = None) -> Attempt:
    """Store the Attempt and fold it into the StepSummary in one transaction (retried once on a race).

    ``heard_by``: the attendee's :func:`webhooks.audience`, when the caller read it already (:func:`run` reads
    it with the attendee, before Azure is asked, so the transaction here only writes); read here otherwise,
    and again on the retry."""
    key = webhooks.attendee_key(attendee)  # read before the commit expires the row
    for tries in (1, 2):
        if heard_by is None or tries == 2:
            heard_by = webhooks.audience(attendee)  # reads, before the writing starts
        attempt = Attempt(
            attendee_id=attendee.id, step_id=result.step, task=result.task, status=result.status.value,
            message=result.message, hint=result.hint, result=data, trigger=trigger, triggered_by=triggered_by,
            started_at=result.started_at, duration_ms=result.duration_ms, azure_calls=result.azure_calls,
        )
        try:
            with _writer():
                # The attempt and the summary are written by one flush (the touch's UPDATE would flush them).
                with db.session.no_autoflush:
                    db.session.add(attempt)
                    previous, summary = _fold(attendee.id, result, counts=trigger != AUTO)
                    if trigger != AUTO:  # someone is working on the lab: the automatic checks follow them
                        autocheck.touch(attendee.id)
                # The webhook outbox rows commit with the attempt: a crash after this loses no event.
                events = webhooks.on_attempt(attendee, result, data, previous, summary, trigger, heard_by)
                db.session.commit()
            if events:
                webhooks.kick(key)
            return attempt
        except IntegrityError:
            # Two first attempts on one step at once both inserted a summary; the loser retries as an update.
            db.session.rollback()
            if tries == 2:
                raise
    raise AssertionError("unreachable")


def _writer() -> AbstractContextManager:
    """Held while an attempt is recorded. SQLite lets one transaction write at a time and makes the others
    sleep and retry (busy_timeout, with growing sleeps): under a crowd of presses that backoff, not the
    writing, made the wait. This process's threads queue on a lock instead, each handing over at once.
    Other databases lock rows: nothing to hold."""
    if db.engine.dialect.name != "sqlite":
        return nullcontext()
    return current_app.extensions.setdefault("labgrader.sqlite_writer", threading.Lock())


def _fold(attendee_id: int, result: validator.StepResult, *, counts: bool = True) -> tuple[str | None, StepSummary]:
    """Fold ``result`` into the step's summary; returns the step's status before (None: first attempt) and the
    summary. A result older than the latest one folded (a slow validation finishing after a quicker later
    one) only counts; the verdict shown stays the latest. A result that does not ``count`` (an automatic
    check's) updates the verdict but no attempt total: the student's attempts, fails, and run of fails
    (which flags them stuck) are theirs alone, and their first attempt starts the clock of "minutes on a
    step"."""
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
        previous = None
    else:
        previous = summary.status
    if counts:
        summary.first_attempt_at = at if summary.attempts == 0 else min(summary.first_attempt_at, at)
        summary.attempts += 1
        if status is Status.FAIL:
            summary.fails += 1
    summary.observed = merge_observations(summary.observed, result.observed, at)
    if at < summary.last_attempt_at:
        # Overtaken: a newer result already decided what the step shows. A FAIL among FAILs still
        # lengthens the run of fails that flags a stuck attendee.
        if counts and status is Status.FAIL and summary.status == Status.FAIL.value:
            summary.consecutive_fails += 1
        return previous, summary
    summary.last_status = status.value
    summary.last_attempt_at = at
    if status is Status.ERROR and previous is not None:
        return previous, summary  # labgrader's trouble says nothing new about the student's work
    summary.status = status.value
    summary.message = result.message
    summary.judged_on = dict(result.observed)
    if status is Status.FAIL:
        if counts:
            summary.consecutive_fails += 1
        # Failures that only follow from another ("no project, so its domain cannot be checked") are left out:
        # the proctor's common reasons should show causes.
        summary.failing_checks = [
            {"check_id": o.check_id, "message": o.message} for o in causes(result.checks)
            if o.status is Status.FAIL
        ]
    elif status is Status.PASS:
        summary.consecutive_fails = 0
        summary.failing_checks = []
        summary.passed_at = summary.passed_at or at
        summary.first_passed_at = min(summary.first_passed_at or at, at)
    # PENDING (training running) neither counts as a fail nor clears one.
    if status is not Status.PASS:
        summary.passed_at = None  # broken (or retraining) since: the step is not passed now
    return previous, summary


def observed_at(at: datetime) -> str:
    """``at`` as the sortable text stored beside an observation (UTC, microseconds always written)."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def merge_observations(stored: dict | None, seen: dict, at: datetime) -> dict:
    """``stored`` (fact -> [identity, when]) with what a result started at ``at`` observed (fact ->
    identity), keeping for each fact the newest observation (a slow result never overwrites a newer one)."""
    merged = {k: list(v) for k, v in (stored or {}).items()}
    when = observed_at(at)
    for fact, identity in (seen or {}).items():
        if fact not in merged or merged[fact][1] <= when:
            merged[fact] = [identity, when]
    return merged


def _azure_secrets(creds: dict) -> set[str]:
    return {str(creds[k]) for k in attendees.AZURE_SECRET_FIELDS if creds.get(k)}
