"""``validate(attendee, step)``: the one entry point for the UI, the API, the CLI and class sweeps."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

from checks import registry, summarize
from checks.base import Context, run_check
from checks.expect import ExpectationError
from checks.outcome import Outcome, Status
from checks.select import lab_parameters
from labguide.packs import LabPack

from .azure.arm import ArmGateway
from .azure.budget import CallCounter, Deadline, RetryPolicy
from .azure.cloud import AttendeeAzure
from .result import StepResult, now

log = logging.getLogger(__name__)


class UnknownStep(LookupError):
    """The lab has no validation step with this id (or no task with this number)."""


@dataclass(frozen=True)
class Attendee:
    """Who is validated: their Azure side and their inject values (Region, DeploymentID, ...)."""

    azure: AttendeeAzure
    injects: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: dict, lab: LabPack | None = None) -> Attendee:
        """From a credentials JSON (plus optional ``injects``); lab defaults fill injects it lacks."""
        azure = AttendeeAzure.from_json(data)
        injects: dict[str, Any] = {}
        if lab is not None:
            injects.update({k: v for k, v in lab.demo_injects().items() if k not in lab.secret_keys})
        if azure.region:
            injects["Region"] = azure.region
        injects["ResourceGroup"] = azure.resource_group
        extra = data.get("injects") or {}
        if not isinstance(extra, dict):
            raise ValueError("'injects' must be a JSON object of key -> value")
        injects.update({str(k): v for k, v in extra.items()})
        return cls(azure=azure, injects=injects)


@dataclass(frozen=True)
class Options:
    """How hard to try: the time budget of one validation and the retry policy inside it."""

    budget_seconds: float = 20.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)


def step_for(lab: LabPack, step: str) -> Any:
    """The lab step with this id, or the first step of this task number ("1", "3.1")."""
    for s in lab.steps:
        if s.id == step:
            return s
    for s in lab.steps:
        if s.task == step:
            return s
    raise UnknownStep(f"lab '{lab.id}' has no validation step or task '{step}'")


def validate(attendee: Attendee, step: str, lab: LabPack, options: Options | None = None) -> StepResult:
    """Validate one step for one attendee. Never raises for Azure trouble: that is an ERROR result.

    Raises :class:`UnknownStep` for a step the lab does not define.
    """
    options = options or Options()
    spec = step_for(lab, step)
    started, t0 = now(), time.monotonic()
    counter = CallCounter()
    checks = [(registry.get(c.id), c.expect) for c in spec.checks]
    outcomes: list[Outcome]
    try:
        params = lab_parameters(((c.id, c.expect) for s in lab.steps for c in s.checks), attendee.injects)
    except ExpectationError as exc:
        log.error("lab %s step %s: %s", lab.id, spec.id, exc)
        outcomes = [_lab_misconfigured(str(exc))]
    else:
        from .gather import FactGatherer

        arm = ArmGateway(attendee.azure, Deadline(options.budget_seconds), counter, options.retry)
        gatherer = FactGatherer(arm, params)
        facts = gatherer.gather(name for check, _ in checks for name in check.reads)
        ctx = Context(
            inject=attendee.injects,
            now=now(),
            resource_group=attendee.azure.resource_group,
            task_titles={s.task: s.title for s in lab.steps},
            check_tasks=_check_tasks(lab),
            params=params,
        )
        outcomes = [run_check(check, facts, expect, ctx) for check, expect in checks]
    status, message, hint = summarize(outcomes, spec.title)
    advice = tuple(a for o in outcomes for a in o.advice)
    return StepResult(
        lab=lab.id, step=spec.id, task=spec.task, title=spec.title, status=status, message=message,
        hint=hint, checks=tuple(outcomes), started_at=started,
        duration_ms=int((time.monotonic() - t0) * 1000), azure_calls=counter.total,
        calls_by_operation=dict(counter.by_operation), advice=advice,
    )


def _check_tasks(lab: LabPack) -> dict[str, str]:
    """check id -> the task of the first step that runs it (names the task a prerequisite points to)."""
    out: dict[str, str] = {}
    for s in lab.steps:
        for c in s.checks:
            out.setdefault(c.id, s.task)
    return out


def _lab_misconfigured(detail: str) -> Outcome:
    return Outcome(
        "lab", Status.ERROR,
        "labgrader cannot check this step because the lab's settings for you are incomplete.",
        "This is not a problem with your work: tell your proctor (a lab value is missing).",
        {"detail": detail},
    )
