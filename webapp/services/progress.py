"""Where people stand: one attendee's steps, and a whole class at once (the proctor grid).

Both read StepSummary rows only (never Attempts), so the class view is one query however many
attempts there were.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select

from checks.outcome import Status

from ..extensions import db
from ..models import Attendee, Cohort, StepSummary, utcnow
from . import labs


@dataclass(frozen=True)
class StepProgress:
    step_id: str
    task: str
    title: str
    status: str | None  # None: never validated
    attempts: int = 0
    fails: int = 0
    message: str = ""
    first_attempt_at: datetime | None = None
    last_attempt_at: datetime | None = None
    passed_at: datetime | None = None
    seconds_on_step: int | None = None  # since the first attempt, while its status is not PASS
    stale: bool = False  # a PASS judged on resources that have changed since (see ``out_of_date``)
    credited: bool = False  # counts toward the score: done, or passed once and the lab keeps credit
    weight: float = 1.0

    @property
    def done(self) -> bool:
        """Whether the step counts as done: it passed, on what exists now."""
        return self.status == Status.PASS and not self.stale


@dataclass(frozen=True)
class AttendeeProgress:
    lab_id: str
    external_id: str
    steps: list[StepProgress]
    done: int
    total: int
    score: float = 0.0  # 0-100: the weighted share of credited steps
    pass_mark: float | None = None
    passes: bool | None = None  # score >= pass_mark (None: the lab sets no pass mark)

    def to_json(self) -> dict[str, Any]:
        return _jsonable(asdict(self))


@dataclass(frozen=True)
class FailureReason:
    check_id: str
    count: int  # attendees currently failing this check on this step
    example: str  # one of their messages


@dataclass(frozen=True)
class StepStats:
    step_id: str
    task: str
    title: str
    counts: dict[str, int]  # PASS/FAIL/PENDING/ERROR/NOT_STARTED -> attendees
    failures: list[FailureReason]  # most common first
    started: int
    passed: int  # attendees whose PASS counts (not out of date)


@dataclass(frozen=True)
class Stuck:
    attendee_id: int
    external_id: str
    display_name: str
    step_id: str
    task: str
    reason: str  # a sentence for the proctor


@dataclass(frozen=True)
class GridRow:
    attendee_id: int
    external_id: str
    display_name: str
    cohort: str | None
    cells: dict[str, StepProgress]
    done: int
    score: float = 0.0
    passes: bool | None = None


@dataclass(frozen=True)
class CohortProgress:
    lab_id: str
    cohort: str | None
    rows: list[GridRow]
    steps: list[StepStats]
    stuck: list[Stuck] = field(default_factory=list)

    @property
    def funnel(self) -> list[tuple[str, int]]:
        """(task, attendees who passed it) in lab order."""
        return [(s.task, s.passed) for s in self.steps]

    def to_json(self) -> dict[str, Any]:
        data = _jsonable(asdict(self))
        data["funnel"] = [{"task": t, "passed": n} for t, n in self.funnel]
        return data


def newest_observations(summaries: Iterable[StepSummary]) -> dict[str, Any]:
    """fact -> identity, as last observed by any of one attendee's validations (``StepSummary.observed``)."""
    newest: dict[str, tuple[str, Any]] = {}
    for s in summaries:
        for fact, (identity, when) in (s.observed or {}).items():
            if fact not in newest or when > newest[fact][0]:
                newest[fact] = (when, identity)
    return {fact: identity for fact, (_, identity) in newest.items()}


def out_of_date(summary: StepSummary, newest: dict[str, Any]) -> bool:
    """Whether ``summary``'s PASS was judged on resources that are no longer the ones labgrader sees.

    A PASS rests on the identities of what it judged (``judged_on``: the training resource, the project,
    the newest and the newest trained iteration). When a later validation of any step observed another
    identity for one of them (a retrain made a new trained iteration; the project was made again), the PASS
    is about something that has been replaced: it stops counting until the step is validated again.
    """
    if summary.status != Status.PASS:
        return False
    return any(fact in newest and newest[fact] != identity for fact, identity in (summary.judged_on or {}).items())


def _cell(spec: Any, summary: StepSummary | None, now: datetime, newest: dict[str, Any],
          keep_credit: bool = True) -> StepProgress:
    if summary is None:
        return StepProgress(spec.id, spec.task, spec.title, None, weight=spec.weight)
    on_step = None if summary.status == Status.PASS else int((now - summary.first_attempt_at).total_seconds())
    stale = out_of_date(summary, newest)
    done = summary.status == Status.PASS and not stale
    return StepProgress(
        spec.id, spec.task, spec.title, summary.status, summary.attempts, summary.fails, summary.message,
        summary.first_attempt_at, summary.last_attempt_at, summary.passed_at, on_step, stale,
        credited=done or (keep_credit and summary.first_passed_at is not None), weight=spec.weight,
    )


def score(cells: Iterable[StepProgress], pass_mark: float | None) -> tuple[float, bool | None]:
    """(score 0-100, one decimal: the weighted share of credited steps; whether it reaches ``pass_mark``)."""
    cells = list(cells)
    total = sum(c.weight for c in cells)
    value = round(100 * sum(c.weight for c in cells if c.credited) / total, 1) if total else 0.0
    return value, (None if pass_mark is None else value >= pass_mark)


def attendee(who: Attendee) -> AttendeeProgress:
    """Per step (lab order): status, attempts, last message, time on it, whether a PASS is out of date; and
    steps done (passed and not out of date) / total."""
    pack = labs.pack(who.lab_id)
    summaries = {s.step_id: s for s in db.session.scalars(select(StepSummary).filter_by(attendee_id=who.id))}
    now = utcnow()
    newest = newest_observations(summaries.values())
    steps = [_cell(spec, summaries.get(spec.id), now, newest, pack.keep_credit) for spec in pack.steps]
    value, passes = score(steps, pack.pass_mark)
    return AttendeeProgress(who.lab_id, who.external_id, steps, sum(s.done for s in steps), len(steps), value,
                            pack.pass_mark, passes)


def cohort(lab_id: str, cohort_name: str | None = None) -> CohortProgress:
    """The grid of lab ``lab_id`` (one class, or every attendee when ``cohort_name`` is None), with per-step
    counts, the most common failing checks, stuck attendees and the completion funnel."""
    pack = labs.pack(lab_id)
    query = (
        select(Attendee, Cohort.name, StepSummary)
        .outerjoin(Cohort, Attendee.cohort_id == Cohort.id)
        .outerjoin(StepSummary, StepSummary.attendee_id == Attendee.id)
        .where(Attendee.lab_id == lab_id)
        .order_by(Attendee.display_name, Attendee.id)
    )
    if cohort_name is not None:
        query = query.where(Cohort.name == cohort_name)
    by_attendee: dict[int, tuple[Attendee, str | None, dict[str, StepSummary]]] = {}
    for who, cohort_label, summary in db.session.execute(query):
        entry = by_attendee.setdefault(who.id, (who, cohort_label, {}))
        if summary is not None:
            entry[2][summary.step_id] = summary

    now = utcnow()
    fails_limit = int(current_app.config["STUCK_AFTER_FAILS"])
    minutes_limit = timedelta(minutes=int(current_app.config["STUCK_AFTER_MINUTES"]))
    rows: list[GridRow] = []
    stuck: list[Stuck] = []
    counts = {s.id: Counter() for s in pack.steps}
    reasons: dict[str, Counter] = {s.id: Counter() for s in pack.steps}
    done = Counter()
    examples: dict[tuple[str, str], str] = {}
    for who, cohort_label, summaries in by_attendee.values():
        newest = newest_observations(summaries.values())
        cells = {spec.id: _cell(spec, summaries.get(spec.id), now, newest, pack.keep_credit) for spec in pack.steps}
        rows.append(GridRow(who.id, who.external_id, who.display_name, cohort_label, cells,
                            sum(c.done for c in cells.values()), *score(cells.values(), pack.pass_mark)))
        flagged = False
        for spec in pack.steps:
            cell, summary = cells[spec.id], summaries.get(spec.id)
            counts[spec.id][cell.status or "NOT_STARTED"] += 1
            done[spec.id] += cell.done
            if summary is None:
                continue
            if summary.status == Status.FAIL:
                for item in summary.failing_checks or []:
                    reasons[spec.id][item["check_id"]] += 1
                    examples.setdefault((spec.id, item["check_id"]), item["message"])
            reason = _stuck_reason(summary, now, fails_limit, minutes_limit)
            if reason and not flagged:
                flagged = True  # one line per attendee: the first step they are stuck on
                stuck.append(Stuck(who.id, who.external_id, who.display_name, spec.id, spec.task, reason))

    stats = [
        StepStats(
            spec.id, spec.task, spec.title,
            {k: counts[spec.id].get(k, 0) for k in (*Status.__members__, "NOT_STARTED")},
            [FailureReason(check_id, n, examples[(spec.id, check_id)])
             for check_id, n in sorted(reasons[spec.id].items(), key=lambda kv: (-kv[1], kv[0]))],
            started=sum(n for k, n in counts[spec.id].items() if k != "NOT_STARTED"),
            passed=done[spec.id],
        )
        for spec in pack.steps
    ]
    return CohortProgress(lab_id, cohort_name, rows, stats, stuck)


def _stuck_reason(summary: StepSummary, now: datetime, fails_limit: int, minutes_limit: timedelta) -> str | None:
    if summary.status == Status.PASS or summary.attempts == 0:
        return None  # no attempt of the student's on this step (only automatic checks): not stuck on it
    if summary.consecutive_fails >= fails_limit:
        return f"{summary.consecutive_fails} failed attempts in a row"
    spent = now - summary.first_attempt_at
    if spent > minutes_limit:
        return f"{int(spent.total_seconds() // 60)} minutes on this step without passing"
    return None


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value
