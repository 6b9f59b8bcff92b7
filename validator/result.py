"""StepResult: the one result of a Validate press, feeding the badge, the API, the CLI and the database."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from checks.outcome import RECHECK_AFTER, Outcome, Status, jsonable


@dataclass(frozen=True)
class StepResult:
    """What validating one step found.

    ``message`` is the sentence the student reads; ``hint`` the one action that fixes it (or when to
    retry); ``checks`` the per-check outcomes; ``advice`` notes that do not change the status;
    ``azure_calls`` the HTTP calls made to Azure (retries included); ``calls_by_operation`` the same by
    operationId; :attr:`recheck_after` when a PENDING step is worth validating again. Nothing in here
    holds a key or a secret.
    """

    lab: str
    step: str
    task: str
    title: str
    status: Status
    message: str
    hint: str | None
    checks: tuple[Outcome, ...]
    started_at: datetime
    duration_ms: int
    azure_calls: int
    calls_by_operation: dict[str, int] = field(default_factory=dict)
    advice: tuple[str, ...] = ()
    found: tuple[str, ...] = ()
    """Plain sentences on what labgrader observed (``checks.found.describe``): the student's "What was found"."""
    observed: dict[str, str | None] = field(default_factory=dict)
    """fact -> identity of the derived facts this result was judged on (``checks.found.identities``)."""

    @property
    def counts_against_student(self) -> bool:
        return self.status is Status.FAIL

    @property
    def recheck_after(self) -> int | None:
        """For PENDING, the seconds after which validating again may find the work finished (the soonest
        its PENDING checks name; ``RECHECK_AFTER`` for results recorded before checks named one); else None."""
        if self.status is not Status.PENDING:
            return None
        named = [o.recheck_after for o in self.checks
                 if o.status is Status.PENDING and not o.advisory and o.recheck_after]
        return min(named, default=RECHECK_AFTER)

    def to_json(self) -> dict[str, Any]:
        return {
            "lab": self.lab,
            "step": self.step,
            "task": self.task,
            "title": self.title,
            "status": self.status.value,
            "message": self.message,
            "hint": self.hint,
            "advice": list(self.advice),
            "found": list(self.found),
            "observed": dict(self.observed),
            "checks": [o.to_json() for o in self.checks],
            "azure_calls": self.azure_calls,
            "calls_by_operation": dict(self.calls_by_operation),
            "duration_ms": self.duration_ms,
            "started_at": self.started_at.isoformat(),
            "recheck_after": self.recheck_after,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StepResult:
        return cls(
            lab=data["lab"], step=data["step"], task=data["task"], title=data["title"],
            status=Status(data["status"]), message=data["message"], hint=data.get("hint"),
            checks=tuple(Outcome.from_json(c) for c in data.get("checks", ())),
            started_at=datetime.fromisoformat(data["started_at"]),
            duration_ms=int(data["duration_ms"]), azure_calls=int(data["azure_calls"]),
            calls_by_operation=dict(data.get("calls_by_operation") or {}),
            advice=tuple(data.get("advice") or ()),
            found=tuple(data.get("found") or ()),
            observed=dict(data.get("observed") or {}),
        )


def now() -> datetime:
    return datetime.now(UTC)


def redact(value: Any, secrets: set[str]) -> Any:
    """``value`` (JSON-ready) with every occurrence of a secret replaced by ``***``."""
    # Longest first: a secret inside another is masked with it, whatever order the set iterates in.
    ordered = sorted({s for s in secrets if s and len(s) >= 6}, key=len, reverse=True)
    if not ordered:
        return value

    def walk(v: Any) -> Any:
        if isinstance(v, str):
            for s in ordered:
                v = v.replace(s, "***")
            return v
        if isinstance(v, dict):
            return {k: walk(x) for k, x in v.items()}
        if isinstance(v, list):
            return [walk(x) for x in v]
        return v

    return walk(jsonable(value))
