"""What a check concludes: a :class:`Status` and an :class:`Outcome` a student can act on."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum, StrEnum
from typing import Any


class Status(StrEnum):
    """PASS: requirement met. FAIL: the student's resources miss it. PENDING: work in progress.
    ERROR: labgrader could not observe (never the student's fault)."""

    PASS = "PASS"
    FAIL = "FAIL"
    PENDING = "PENDING"
    ERROR = "ERROR"


RECHECK_AFTER = 30
"""Seconds after which a PENDING outcome is worth observing again, unless its check names its own."""


@dataclass(frozen=True)
class Outcome:
    """One check's verdict.

    ``message`` is a full sentence naming the resource, the observed and the expected value. ``hint`` is
    the one portal action that fixes a FAIL (or when to retry, for PENDING/ERROR). ``evidence`` holds what
    was observed (names, skus, regions, counts, ids), never keys or secrets. ``advice`` lists things worth
    telling the student that do not change the status (a stray quote in a tag name, untagged images).
    ``advisory``: the outcome comes from an advisory check and never decides its step's status
    (``checks.base.run_check`` sets it; ``checks.summary.summarize`` honours it). ``recheck_after``: for
    PENDING, the seconds after which looking again may find the work finished. The hint never says when
    to retry: each surface says it in its own words (the page checks again by itself, the CLI names the
    command, the API gives the number). ``follows_from``: the id of the check this outcome only follows
    from ("no project was found, so its domain cannot be checked" follows from ``project_exists``), or None
    when it stands on its own (``checks.summary.is_follow_on``).
    """

    check_id: str
    status: Status
    message: str
    hint: str | None = None
    evidence: Mapping[str, Any] = field(default_factory=dict)
    advice: tuple[str, ...] = ()
    advisory: bool = False
    recheck_after: int | None = None
    follows_from: str | None = None

    def __post_init__(self) -> None:
        if FOLLOWS_FROM in self.evidence:
            raise ValueError(f"outcome of {self.check_id or 'a check'}: say follows_from with the field, not "
                             "in evidence")
        # Accept a list for convenience but keep the stored value immutable.
        if not isinstance(self.advice, tuple):
            object.__setattr__(self, "advice", tuple(self.advice))
        if not isinstance(self.status, Status):
            object.__setattr__(self, "status", Status(self.status))

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (datetimes as ISO 8601 strings, tuples as lists)."""
        return {
            "check_id": self.check_id,
            "status": self.status.value,
            "message": self.message,
            "hint": self.hint,
            "evidence": jsonable(dict(self.evidence)),
            "advice": list(self.advice),
            "advisory": self.advisory,
            "recheck_after": self.recheck_after,
            "follows_from": self.follows_from,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Outcome:
        """The outcome :meth:`to_json` gave, or one recorded before a field existed. Attempts recorded before
        ``follows_from`` was a field carry it as an evidence key: it is moved to the field."""
        evidence = dict(data.get("evidence") or {})
        follows_from = data.get("follows_from") or evidence.pop(FOLLOWS_FROM, None)
        return cls(data["check_id"], Status(data["status"]), data["message"], data.get("hint"), evidence,
                   tuple(data.get("advice") or ()), bool(data.get("advisory", False)), data.get("recheck_after"),
                   str(follows_from) if follows_from else None)


FOLLOWS_FROM = "follows_from"
"""The evidence key that held :attr:`Outcome.follows_from` in attempts recorded before it was a field."""


def jsonable(value: Any) -> Any:
    """``value`` with datetimes, enums, dataclasses and tuples turned into JSON types."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return jsonable(dataclasses.asdict(value))
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    return value
