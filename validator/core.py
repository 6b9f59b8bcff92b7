"""``validate(attendee, step)``: the one entry point for the UI, the API, the CLI and class sweeps."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from checks import facts as F
from checks import registry, summarize
from checks.base import Context, internal_error, run_check
from checks.expect import ExpectationError
from checks.found import describe, identities
from checks.outcome import Outcome, Status
from checks.params import lab_parameters
from checks.summary import step_advice
from labguide.packs import LabPack, credential_injects

from .azure.arm import ArmGateway
from .azure.budget import CallCounter, Deadline, RetryPolicy
from .azure.cloud import AttendeeAzure
from .result import StepResult, now

if TYPE_CHECKING:
    from .runtime import Observation

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


def validate(attendee: Attendee, step: str, lab: LabPack, options: Options | None = None, *,
             runtime: Observation) -> StepResult:
    """Validate one step for one attendee. Never raises for Azure or data trouble: that is an ERROR result.

    ``runtime`` holds what validations keep between them (``validator.runtime``): the app or the command
    builds one and passes it to every validation. Raises :class:`UnknownStep` for a step the lab does not
    define (and nothing else).
    """
    return validate_many(attendee, [step], lab, options, runtime=runtime)[0]


def validate_many(attendee: Attendee, steps: Sequence[str] | None, lab: LabPack,
                  options: Options | None = None, *, runtime: Observation,
                  counter: CallCounter | None = None) -> list[StepResult]:
    """Validate several steps (``None``: every step of the lab, in order) for one attendee from one snapshot.

    The facts every step reads are gathered once (each fact at most once, independent ones concurrently),
    and each step is judged from the part of the snapshot it would have gathered alone, so its result is
    the one :func:`validate` gives for it. A step's ``azure_calls`` counts the calls made for the facts it
    reads (a call serving several steps counts in each); ``duration_ms`` is the whole run's.
    ``counter``, when given, counts the run's calls (each once) for the caller (a fresh one per run).
    Raises :class:`UnknownStep` for a step the lab does not define, before any call to Azure.
    """
    options = options or Options()
    specs = list(lab.steps) if steps is None else [step_for(lab, s) for s in steps]
    started, t0 = now(), time.monotonic()
    counter = CallCounter() if counter is None else counter
    # A check id the registry lacks is the lab pack's fault (``guide lint`` reports it): its step is an ERROR
    # saying so, and the lab's other steps are graded as usual.
    known = set(registry.all_ids())
    unknown = [[c.id for c in s.checks if c.id not in known] for s in specs]
    per_step: list[list[tuple[Any, Any]]] = [[(registry.get(c.id), c.expect) for c in s.checks if c.id in known]
                                             for s in specs]
    judged: list[tuple[list[Outcome], Seen, tuple[str, ...]]]
    try:
        params = lab_parameters(((c.id, c.expect) for s in lab.steps for c in s.checks), attendee.injects)
    except ExpectationError as exc:
        log.error("lab %s steps %s: %s", lab.id, ",".join(s.id for s in specs), exc)
        judged = [([_lab_misconfigured(str(exc))], Seen(), ()) for _ in specs]
    else:
        try:
            judged = _observe_and_judge(runtime, attendee, lab, per_step, params, options, counter)
        except Exception as exc:  # noqa: BLE001 - an ERROR result, never a crash of the caller
            log.exception("lab %s steps %s: validation failed", lab.id, ",".join(s.id for s in specs))
            error = internal_error("validator", f"{type(exc).__name__}: {exc}"[:300])
            judged = [([error], Seen(), ()) for _ in specs]
    judged = [([_unknown_checks(lab, ids)], Seen(), ()) if ids else j for ids, j in zip(unknown, judged, strict=True)]
    duration_ms = int((time.monotonic() - t0) * 1000)
    results = []
    for spec, (outcomes, seen, needed) in zip(specs, judged, strict=True):
        status, message, hint = summarize(outcomes, spec.title)
        if len(specs) == 1:
            calls, by_operation = counter.total, dict(counter.by_operation)
        else:
            calls, by_operation = counter.for_facts(needed)
        results.append(StepResult(
            lab=lab.id, step=spec.id, task=spec.task, title=spec.title, status=status, message=message,
            hint=hint, checks=tuple(outcomes), started_at=started, duration_ms=duration_ms, azure_calls=calls,
            calls_by_operation=by_operation, advice=step_advice(outcomes, status), found=seen.found,
            observed=seen.observed,
        ))
    return results


def _observe_and_judge(runtime: Observation, attendee: Attendee, lab: LabPack, per_step: list[list[tuple[Any, Any]]],
                       params: dict[str, Any], options: Options,
                       counter: CallCounter) -> list[tuple[list[Outcome], Seen, tuple[str, ...]]]:
    from .gather import FactGatherer

    arm = ArmGateway(runtime, attendee.azure, Deadline(options.budget_seconds), counter, options.retry)
    all_reads = [name for checks in per_step for check, expect in checks for name in check.reads_for(expect)]
    snapshot = FactGatherer(arm, params).gather(all_reads)
    ctx = Context(
        inject=attendee.injects,
        now=now(),
        resource_group=attendee.azure.resource_group,
        task_titles={s.task: s.title for s in lab.steps},
        check_tasks=_check_tasks(lab),
        params=params,
        lab=lab.check_expectations(),
    )
    judged = []
    for checks in per_step:
        reads = [name for check, expect in checks for name in check.reads_for(expect)]
        needed = F.closure(reads)
        # Only what this step would have gathered alone: Check.uses reads a fact only if the step has it.
        facts = F.Snapshot({name: snapshot[name] for name in needed if name in snapshot})
        seen = Seen()
        seen.take(facts, reads, attendee.azure.resource_group)
        judged.append(([run_check(check, facts, expect, ctx) for check, expect in checks], seen, needed))
    return judged


def _check_tasks(lab: LabPack) -> dict[str, str]:
    """check id -> the task of the first step that runs it (names the task a prerequisite points to)."""
    out: dict[str, str] = {}
    for s in lab.steps:
        for c in s.checks:
            out.setdefault(c.id, s.task)
    return out


def _unknown_checks(lab: LabPack, check_ids: list[str]) -> Outcome:
    log.error("lab %s names check(s) that are not registered: %s", lab.id, ", ".join(check_ids))
    return Outcome(
        "lab", Status.ERROR,
        "labgrader cannot check this step because the lab's definition names a check labgrader does not have.",
        "This is not a problem with your work: tell your proctor (the lab pack needs fixing).",
        {"unknown_checks": list(check_ids)},
    )


def _lab_misconfigured(detail: str) -> Outcome:
    return Outcome(
        "lab", Status.ERROR,
        "labgrader cannot check this step because the lab's settings for you are incomplete.",
        "This is not a problem with your work: tell your proctor (a lab value is missing).",
        {"detail": detail},
    )
