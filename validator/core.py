"""``validate(attendee, step)``: the one entry point for the UI, the API, the CLI and class sweeps."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

from checks import registry, summarize
from checks.base import Context, internal_error, run_check
from checks.expect import ExpectationError
from checks.found import describe, identities
from checks.outcome import Outcome, Status
from checks.select import lab_parameters
from checks.summary import step_advice
from labguide.packs import LabPack, credential_injects

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
    def from_json(cls, data: dict, lab: LabPack | None = None, use_lab_defaults: bool = False) -> Attendee:
        """From a credentials JSON (plus optional ``injects``).

        A real attendee's injects come from the platform only: a missing one gives the "lab settings
        incomplete" ERROR rather than a lab default that would judge them against someone else's value.
        ``use_lab_defaults`` fills the lab's demo values first (demos and local try-outs only).
        """
        azure = AttendeeAzure.from_json(data)
        injects: dict[str, Any] = {}
        if use_lab_defaults and lab is not None:
            injects.update({k: v for k, v in lab.demo_injects().items() if k not in lab.secret_keys})
        injects.update(credential_injects({"region": azure.region, "resource_group": azure.resource_group}))
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


@dataclass
class Seen:
    """What a validation observed besides its verdicts (``checks.found``): sentences and identities."""

    found: tuple[str, ...] = ()
    observed: dict[str, str | None] = field(default_factory=dict)

    def take(self, facts: dict[str, Any], reads: list[str], resource_group: str | None) -> None:
        # Describing is a courtesy: a bug here is logged and leaves the verdict as it is.
        try:
            self.found = tuple(describe(facts, reads, resource_group))
            self.observed = identities(facts, reads)
        except Exception:  # noqa: BLE001
            log.exception("describing the observed facts failed")


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
    """Validate one step for one attendee. Never raises for Azure or data trouble: that is an ERROR result.

    Raises :class:`UnknownStep` for a step the lab does not define (and nothing else).
    """
    options = options or Options()
    spec = step_for(lab, step)
    started, t0 = now(), time.monotonic()
    counter = CallCounter()
    checks = [(registry.get(c.id), c.expect) for c in spec.checks]
    outcomes: list[Outcome]
    seen = Seen()
    try:
        params = lab_parameters(((c.id, c.expect) for s in lab.steps for c in s.checks), attendee.injects)
    except ExpectationError as exc:
        log.error("lab %s step %s: %s", lab.id, spec.id, exc)
        outcomes = [_lab_misconfigured(str(exc))]
    else:
        try:
            outcomes = _observe_and_judge(attendee, lab, checks, params, options, counter, seen)
        except Exception as exc:  # noqa: BLE001 - an ERROR result, never a crash of the caller
            log.exception("lab %s step %s: validation failed", lab.id, spec.id)
            outcomes = [internal_error("validator", f"{type(exc).__name__}: {exc}"[:300])]
    status, message, hint = summarize(outcomes, spec.title)
    advice = step_advice(outcomes, status)
    return StepResult(
        lab=lab.id, step=spec.id, task=spec.task, title=spec.title, status=status, message=message,
        hint=hint, checks=tuple(outcomes), started_at=started,
        duration_ms=int((time.monotonic() - t0) * 1000), azure_calls=counter.total,
        calls_by_operation=dict(counter.by_operation), advice=advice, found=seen.found, observed=seen.observed,
    )


def _observe_and_judge(attendee: Attendee, lab: LabPack, checks: list, params: dict[str, Any],
                       options: Options, counter: CallCounter, seen: Seen) -> list[Outcome]:
    from .gather import FactGatherer

    arm = ArmGateway(attendee.azure, Deadline(options.budget_seconds), counter, options.retry)
    reads = [name for check, _ in checks for name in check.reads]
    facts = FactGatherer(arm, params).gather(reads)
    seen.take(facts, reads, attendee.azure.resource_group)
    ctx = Context(
        inject=attendee.injects,
        now=now(),
        resource_group=attendee.azure.resource_group,
        task_titles={s.task: s.title for s in lab.steps},
        check_tasks=_check_tasks(lab),
        params=params,
    )
    return [run_check(check, facts, expect, ctx) for check, expect in checks]


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
