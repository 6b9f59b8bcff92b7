"""One status, message and hint for a step, from its checks' outcomes."""

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


def summarize(outcomes: Sequence[Outcome], step_title: str | None = None) -> Summary:
    """The step's status (by ``PRECEDENCE``), the first outcome with that status's message and hint, or a
    PASS sentence naming the step when all passed.

    Advisory outcomes (``Outcome.advisory``) never decide the status: what they found is already in their
    ``advice``, which the step shows whatever its status.
    """
    if not outcomes:
        return Summary(Status.ERROR, "labgrader found no checks to run for this step.",
                       "This is not a problem with your work: tell your proctor.")
    outcomes = [o for o in outcomes if not o.advisory]
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
