"""One status, message and hint for a step, from its checks' outcomes; and which outcomes a step shows.

One cause, one sentence: an outcome that only follows from another check's outcome in the same step ("no
project was found, so its domain cannot be checked": ``Outcome.follows_from``) is a *follow-on*. It never
decides the step's message, its advice is not repeated, and pages show it as not checked rather than as a
second FAIL.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from checks.outcome import Outcome, Status

PRECEDENCE = (Status.FAIL, Status.ERROR, Status.PENDING, Status.PASS)
"""Which status a step takes when its checks disagree, first wins. Why FAIL before ERROR: ``run_check``
turns any check whose facts (or their dependencies) could not be observed into ERROR, so every FAIL rests on
something labgrader did observe; the step is certainly not done, and the student can fix it now instead of
retrying in vain. The grader's trouble is still mentioned in the hint, and never causes the FAIL. ERROR
before PENDING: while part of the step is unobservable, "in progress" is not a claim labgrader can make.
PENDING before PASS: the step is not done until the work in progress finishes."""

class Summary(NamedTuple):
    status: Status
    message: str
    hint: str | None


def is_follow_on(outcome: Outcome, outcomes: Sequence[Outcome]) -> bool:
    """Whether ``outcome`` follows from another outcome of ``outcomes`` (the same step) that did not pass.

    Such an outcome says nothing the cause does not: the cause's message and hint are the one sentence and
    the one fix. A follow-on whose cause is not in the step stands on its own (it is the only sentence
    there is), and so counts like any other outcome.
    """
    cause = outcome.follows_from
    if cause is None or outcome.status is Status.PASS:
        return False
    return any(o is not outcome and o.check_id == cause and o.status is not Status.PASS and not o.advisory
               for o in outcomes)


def causes(outcomes: Sequence[Outcome]) -> list[Outcome]:
    """``outcomes`` without advisory ones and without follow-ons (:func:`is_follow_on`), in order."""
    return [o for o in outcomes if not o.advisory and not is_follow_on(o, outcomes)]


def summarize(outcomes: Sequence[Outcome], step_title: str | None = None) -> Summary:
    """The step's status (by ``PRECEDENCE``), the first outcome with that status's message and hint, or a
    PASS sentence naming the step when all passed.

    Advisory outcomes (``Outcome.advisory``) never decide the status: what they found is already in their
    ``advice``. Follow-ons (:func:`is_follow_on`) never give the message: their cause does.
    """
    if not outcomes:
        return Summary(Status.ERROR, "labgrader found no checks to run for this step.",
                       "This is not a problem with your work: tell your proctor.")
    outcomes = causes(outcomes)
    status = next((s for s in PRECEDENCE if any(o.status is s for o in outcomes)), Status.PASS)
    if status is Status.PASS:
        named = f"'{step_title}'" if step_title else "this step"
        return Summary(Status.PASS, f"Everything labgrader checks for {named} is in place.", None)
    first = next(o for o in outcomes if o.status is status)
    hint = first.hint
    if status is Status.FAIL:
        err = next((o for o in outcomes if o.status is Status.ERROR), None)
        if err is not None:
            note = (f"Some other checks could not run this time ({err.message.rstrip('.')}); "
                    "they run again when you press Validate.")
            hint = f"{hint} {note}" if hint else note
    return Summary(status, first.message, hint)


def step_advice(outcomes: Sequence[Outcome], status: Status) -> tuple[str, ...]:
    """The advice a step shows: every outcome's advice, once, except

    - a follow-on's (its cause speaks for it), and
    - while the step FAILs, an advisory check's: the fix comes first, and a tidy-up note beside it (delete a
      tag, tag untagged images) could contradict it; those notes return once the step's own checks pass.
    """
    shown: list[str] = []
    for o in outcomes:
        if is_follow_on(o, outcomes) or (o.advisory and status is Status.FAIL):
            continue
        shown.extend(a for a in o.advice if a not in shown)
    return tuple(shown)
