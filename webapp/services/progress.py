"""Where people stand: one attendee's steps, and a whole class at once (the proctor grid, a page at a time).

Both read StepSummary rows only (never Attempts): however many attempts there were, and however large the
class, a class view is a fixed number of queries.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import and_, case, func, or_, select

from checks.outcome import Status

from ..extensions import db
from ..models import Attendee, AttendeeStanding, Cohort, StepSummary, utcnow
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
    current_step: str | None = None  # the first step (lab order) not passed; None when all passed
    stuck: str | None = None  # why the attendee is flagged stuck, when they are


@dataclass(frozen=True)
class CohortProgress:
    lab_id: str
    cohort: str | None
    rows: list[GridRow]  # the page shown (every attendee when the view has no page)
    steps: list[StepStats]  # the whole class, like ``stuck``
    stuck: list[Stuck] = field(default_factory=list)
    attendees: int = 0  # in the class
    matching: int = 0  # of them, those the view's filters select
    page: int = 1
    per_page: int | None = None

    @property
    def pages(self) -> int:
        return max(1, -(-self.matching // self.per_page)) if self.per_page else 1

    @property
    def funnel(self) -> list[tuple[str, int]]:
        """(task, attendees who passed it) in lab order."""
        return [(s.task, s.passed) for s in self.steps]

    def to_json(self) -> dict[str, Any]:
        data = _jsonable(asdict(self))
        data["funnel"] = [{"task": t, "passed": n} for t, n in self.funnel]
        return data


SORTS = ("name", "progress", "time")
CURRENT_STATUSES = ("PASS", "FAIL", "PENDING", "ERROR", "NOT_STARTED")  # PASS: finished the lab


@dataclass(frozen=True)
class Standing:
    """Where one attendee is in the lab, as the class view filters and sorts them (from light columns)."""

    attendee_id: int
    external_id: str
    display_name: str
    cohort: str | None
    done: int
    score: float
    passes: bool | None
    current_step: str | None  # None: every step passed
    current_status: str | None  # of the current step; None: not started
    seconds_on_current: int | None  # since the current step's first attempt
    stuck: str | None

    @property
    def name(self) -> str:
        return self.display_name or self.external_id


@dataclass(frozen=True)
class ClassView:
    """Which attendees of a class to show: the filters and the sort apply to the whole class, then the page.

    ``status`` is the status of the task each attendee is on now (PASS: they finished the lab); ``step`` the
    step they are on now; ``q`` a part of their name or id; ``per_page`` None shows every attendee.
    """

    sort: str = "name"
    status: str = ""
    step: str = ""
    stuck: bool = False
    q: str = ""
    page: int = 1
    per_page: int | None = None

    def select(self, standings: list[Standing]) -> list[Standing]:
        chosen = standings
        if self.q:
            needle = self.q.lower()
            chosen = [s for s in chosen if needle in s.name.lower() or needle in s.external_id.lower()]
        if self.stuck:
            chosen = [s for s in chosen if s.stuck]
        if self.step:
            chosen = [s for s in chosen if s.current_step == self.step]
        if self.status:
            want = None if self.status == "NOT_STARTED" else self.status
            chosen = [s for s in chosen if (s.current_status if s.current_step else Status.PASS.value) == want]
        if self.sort == "progress":
            return sorted(chosen, key=lambda s: (-s.done, s.name.lower(), s.attendee_id))
        if self.sort == "time":
            return sorted(chosen, key=lambda s: (-(s.seconds_on_current or -1), s.name.lower(), s.attendee_id))
        return sorted(chosen, key=lambda s: (s.name.lower(), s.attendee_id))


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


MASK_BITS = 62  # steps per bit-mask column: a sum of distinct powers of two stays a 64-bit integer on every backend


def cohort(lab_id: str, cohort_name: str | None = None, view: ClassView | None = None) -> CohortProgress:
    """The grid of lab ``lab_id`` (one class, or every attendee when ``cohort_name`` is None): the rows ``view``
    selects (its filters, sort and page apply across the whole class; every attendee when it has no page), and
    for the whole class the per-step counts, the most common failing checks, stuck attendees and the funnel.

    Three queries whatever the class size. The whole class is read as one row per attendee (which steps they
    passed and have credit for, as bit masks summed in SQL; the steps whose PASS is out of date, from
    :class:`AttendeeStanding`) and the light columns of their summaries that are not a PASS (where they are,
    whether they are stuck, which checks fail); full summaries (observations, messages) only for the rows shown.
    """
    view = view or ClassView()
    pack, now = labs.pack(lab_id), utcnow()
    standings, stats, stuck = _whole_class(pack, lab_id, cohort_name, now)
    matching = view.select(standings)
    page, shown = 1, matching
    if view.per_page is not None:
        page = max(1, min(view.page, -(-len(matching) // view.per_page)))  # past the last page: the last
        shown = matching[(page - 1) * view.per_page:page * view.per_page]
    return CohortProgress(lab_id, cohort_name, _rows(pack, shown, now), stats, stuck, attendees=len(standings),
                          matching=len(matching), page=page, per_page=view.per_page)


def every_row(lab_id: str, cohort_name: str | None = None, chunk: int = 500) -> Iterator[GridRow]:
    """Every attendee's row of the grid, by name, their full summaries read ``chunk`` attendees at a time (the
    CSV export streams a class of any size)."""
    pack, now = labs.pack(lab_id), utcnow()
    standings = ClassView().select(_whole_class(pack, lab_id, cohort_name, now)[0])
    for start in range(0, len(standings), chunk):
        yield from _rows(pack, standings[start:start + chunk], now)


def _whole_class(pack: Any, lab_id: str, cohort_name: str | None,
                 now: datetime) -> tuple[list[Standing], list[StepStats], list[Stuck]]:
    """Every attendee's standing, the per-step statistics and the stuck attendees (two queries)."""
    steps = list(pack.steps)
    index = {spec.id: i for i, spec in enumerate(steps)}
    fails_limit = int(current_app.config["STUCK_AFTER_FAILS"])
    minutes_limit = timedelta(minutes=int(current_app.config["STUCK_AFTER_MINUTES"]))

    in_lab = [Attendee.lab_id == lab_id]
    if cohort_name is not None:
        in_lab.append(Attendee.cohort_id == select(Cohort.id).where(Cohort.lab_id == lab_id, Cohort.name == cohort_name)
                      .scalar_subquery())
    of_pack = StepSummary.step_id.in_(list(index))
    masks = []
    for chunk in range(0, len(steps), MASK_BITS):
        bit = case({spec.id: 1 << (i - chunk) for i, spec in enumerate(steps[chunk:chunk + MASK_BITS], chunk)},
                   value=StepSummary.step_id, else_=0)
        masks += [func.sum(case((StepSummary.status == Status.PASS.value, bit), else_=0)),
                  func.sum(case((or_(StepSummary.status == Status.PASS.value, StepSummary.first_passed_at.is_not(None)),
                                 bit), else_=0))]
    # Grouped by the primary keys, which the other columns depend on (a JSON column cannot be grouped by).
    people = (
        select(Attendee.id, Attendee.external_id, Attendee.display_name, Cohort.name.label("cohort"),
               AttendeeStanding.out_of_date, *masks)
        .outerjoin(Cohort, Attendee.cohort_id == Cohort.id)
        .outerjoin(AttendeeStanding, AttendeeStanding.attendee_id == Attendee.id)
        .outerjoin(StepSummary, and_(StepSummary.attendee_id == Attendee.id, of_pack))
        .where(*in_lab)
        .group_by(Attendee.id, Cohort.id, AttendeeStanding.attendee_id)
    )
    unpassed = (
        select(StepSummary.attendee_id, StepSummary.step_id, StepSummary.status, StepSummary.attempts,
               StepSummary.consecutive_fails, StepSummary.first_attempt_at, StepSummary.failing_checks)
        .join(Attendee, StepSummary.attendee_id == Attendee.id)
        .where(*in_lab, of_pack, StepSummary.status != Status.PASS.value)
    )

    open_steps: dict[int, list[Any]] = {}
    for s in db.session.execute(unpassed):
        open_steps.setdefault(s.attendee_id, [None] * len(steps))[index[s.step_id]] = s
    counts = {spec.id: Counter() for spec in steps}
    for own in open_steps.values():
        for spec, s in zip(steps, own, strict=True):
            if s is not None:
                counts[spec.id][s.status] += 1
    passes, passed = Counter(), Counter()
    standings: list[Standing] = []
    stuck: list[Stuck] = []
    total_weight = sum(spec.weight for spec in steps)
    for who in db.session.execute(people):
        passed_mask = credit_mask = 0
        for chunk in range(0, len(masks), 2):
            passed_mask |= int(who[5 + chunk] or 0) << (MASK_BITS * chunk // 2)
            credit_mask |= int(who[6 + chunk] or 0) << (MASK_BITS * chunk // 2)
        stale = sum(1 << index[step_id] for step_id in who.out_of_date or () if step_id in index)
        done_mask = passed_mask & ~stale
        if not pack.keep_credit:
            credit_mask = done_mask
        credited = 0.0
        for i, spec in enumerate(steps):
            if passed_mask >> i & 1:
                passes[spec.id] += 1
                passed[spec.id] += done_mask >> i & 1
            if credit_mask >> i & 1:
                credited += spec.weight
        own = open_steps.get(who.id) or [None] * len(steps)
        current = next((i for i in range(len(steps)) if not passed_mask >> i & 1), None)
        summary = own[current] if current is not None else None
        flagged = None
        for spec, s in zip(steps, own, strict=True):
            reason = s is not None and _stuck_reason(s, now, fails_limit, minutes_limit)
            if reason:  # one line per attendee: the first step they are stuck on
                flagged = Stuck(who.id, who.external_id, who.display_name, spec.id, spec.task, reason)
                stuck.append(flagged)
                break
        value = round(100 * credited / total_weight, 1) if total_weight else 0.0
        standings.append(Standing(
            who.id, who.external_id, who.display_name, who.cohort, done_mask.bit_count(), value,
            None if pack.pass_mark is None else value >= pack.pass_mark,
            steps[current].id if current is not None else None, summary.status if summary is not None else None,
            int((now - summary.first_attempt_at).total_seconds()) if summary is not None else None,
            flagged.reason if flagged else None,
        ))
    for spec in steps:
        counts[spec.id][Status.PASS.value] = passes[spec.id]
        counts[spec.id]["NOT_STARTED"] = len(standings) - sum(counts[spec.id].values())

    reasons: dict[str, Counter] = {spec.id: Counter() for spec in steps}
    examples: dict[tuple[str, str], tuple[str, int, str]] = {}  # each reason's: the first attendee's, by name
    names = {s.attendee_id: s.display_name for s in standings}
    for attendee_id, own in open_steps.items():
        for s in own:
            if s is None or s.status != Status.FAIL:
                continue
            for item in s.failing_checks or []:
                reasons[s.step_id][item["check_id"]] += 1
                key, example = (s.step_id, item["check_id"]), (names[attendee_id], attendee_id, item["message"])
                examples[key] = min(examples.get(key, example), example)
    stats = [
        StepStats(
            spec.id, spec.task, spec.title,
            {k: counts[spec.id].get(k, 0) for k in (*Status.__members__, "NOT_STARTED")},
            [FailureReason(check_id, n, examples[(spec.id, check_id)][2])
             for check_id, n in sorted(reasons[spec.id].items(), key=lambda kv: (-kv[1], kv[0]))],
            started=len(standings) - counts[spec.id]["NOT_STARTED"],
            passed=passed[spec.id],
        )
        for spec in steps
    ]
    stuck.sort(key=lambda s: (s.display_name.lower(), s.attendee_id))
    return standings, stats, stuck


def _rows(pack: Any, shown: list[Standing], now: datetime) -> list[GridRow]:
    """The full rows of the attendees shown: their summaries read whole (one query), each cell as the attendee's
    own page shows it."""
    by_attendee: dict[int, dict[str, StepSummary]] = {s.attendee_id: {} for s in shown}
    if shown:
        for summary in db.session.scalars(select(StepSummary).where(StepSummary.attendee_id.in_(list(by_attendee)))):
            by_attendee[summary.attendee_id][summary.step_id] = summary
    rows = []
    for standing in shown:
        summaries = by_attendee[standing.attendee_id]
        newest = newest_observations(summaries.values())
        cells = {spec.id: _cell(spec, summaries.get(spec.id), now, newest, pack.keep_credit) for spec in pack.steps}
        rows.append(GridRow(standing.attendee_id, standing.external_id, standing.display_name, standing.cohort, cells,
                            sum(c.done for c in cells.values()), *score(cells.values(), pack.pass_mark),
                            current_step=standing.current_step, stuck=standing.stuck))
    return rows


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
