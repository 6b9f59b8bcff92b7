"""Fault rules: how the simulator misbehaves on purpose (latency, throttling, outages, resets, hangs).

A rule matches an ``operation`` (a swagger operationId such as ``GetTags`` or ``Accounts_ListKeys``,
``token`` for Entra ID, or ``*``) and optionally an ``account`` name, and has one effect. ``count`` limits
how many matching calls it affects; without it the rule stays until cleared.
"""

from __future__ import annotations

import itertools
import random
import threading
from dataclasses import asdict, dataclass, field

EFFECTS = ("status", "latency_ms", "hang", "reset", "revoke_keys", "fail_training", "fail_provisioning")


class FaultRuleError(ValueError):
    """A fault rule that cannot be applied (unknown field, no effect, bad value)."""


_BOOLS = {"hang", "reset", "revoke_keys", "fail_training", "fail_provisioning"}
_NUMBERS = {"retry_after", "latency_ms", "jitter_ms"}
_INTS = {"status", "count"}
_STRINGS = {"operation", "account", "message"}


def _check_type(name: str, value) -> None:
    """Reject a field whose JSON type is wrong, naming the field (bool is not a number here)."""
    if value is None and name in {"account", "message", "status", "retry_after", "count"}:
        return
    if name in _BOOLS and not isinstance(value, bool):
        raise FaultRuleError(f"'{name}' must be true or false.")
    if name in _INTS and (isinstance(value, bool) or not isinstance(value, int)):
        raise FaultRuleError(f"'{name}' must be an integer.")
    if name in _NUMBERS and (isinstance(value, bool) or not isinstance(value, int | float) or value < 0):
        raise FaultRuleError(f"'{name}' must be a number of at least 0.")
    if name in _STRINGS and not isinstance(value, str):
        raise FaultRuleError(f"'{name}' must be a string.")


@dataclass
class FaultRule:
    operation: str = "*"
    account: str | None = None
    status: int | None = None
    retry_after: float | None = None
    message: str | None = None
    latency_ms: float = 0
    jitter_ms: float = 0
    hang: bool = False
    reset: bool = False
    revoke_keys: bool = False
    # The TrainProject call succeeds but the iteration ends Failed (a "training failed" student case).
    fail_training: bool = False
    # An account create/update/delete is accepted, then its provisioning ends Failed.
    fail_provisioning: bool = False
    count: int | None = None
    id: str = ""
    hits: int = field(default=0)

    @classmethod
    def from_json(cls, body: dict) -> FaultRule:
        if not isinstance(body, dict):
            raise FaultRuleError("A fault rule is a JSON object.")
        known = set(cls.__dataclass_fields__) - {"id", "hits"}
        unknown = set(body) - known
        if unknown:
            raise FaultRuleError(f"Unknown fault rule field(s): {', '.join(sorted(unknown))}.")
        if not isinstance(body.get("operation"), str) or not body["operation"]:
            raise FaultRuleError("A fault rule needs an 'operation' (an operationId, 'token' or '*').")
        for name, value in body.items():
            _check_type(name, value)
        rule = cls(**body)
        if not any([rule.status, rule.latency_ms, rule.jitter_ms, rule.hang, rule.reset, rule.revoke_keys,
                    rule.fail_training, rule.fail_provisioning]):
            raise FaultRuleError(f"A fault rule needs one effect: {', '.join(EFFECTS)}.")
        if rule.status is not None and not (400 <= rule.status <= 599):
            raise FaultRuleError("'status' must be an HTTP error status (400-599).")
        if rule.count is not None and rule.count < 1:
            raise FaultRuleError("'count' must be at least 1.")
        if rule.revoke_keys and not rule.account:
            raise FaultRuleError("'revoke_keys' needs the 'account' whose keys to revoke.")
        if rule.retry_after is not None and rule.status is None:
            raise FaultRuleError("'retry_after' goes with a 'status' (such as 429 or 503).")
        return rule

    def matches(self, operation: str, account: str | None) -> bool:
        if self.operation not in ("*", operation):
            return False
        if self.account is None:
            return True
        return account is not None and account.lower() == self.account.lower()

    @property
    def answers(self) -> bool:
        """True if this rule's effect ends the call (no later rule or the real view runs)."""
        return bool(self.status or self.hang or self.reset)

    def delay_seconds(self) -> float:
        jitter = random.uniform(-self.jitter_ms, self.jitter_ms) if self.jitter_ms else 0.0
        return max(0.0, self.latency_ms + jitter) / 1000.0

    def to_json(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v not in (None, False, 0, 0.0) or k == "hits"}


class FaultBook:
    """Thread-safe list of active rules. ``take`` consumes one use of each matching counted rule."""

    def __init__(self) -> None:
        self._rules: list[FaultRule] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)

    def add(self, rule: FaultRule | dict) -> str:
        if isinstance(rule, dict):
            rule = FaultRule.from_json(rule)
        with self._lock:
            rule.id = f"fault-{next(self._ids)}"
            self._rules.append(rule)
        return rule.id

    def remove(self, rule_id: str) -> bool:
        with self._lock:
            before = len(self._rules)
            self._rules = [r for r in self._rules if r.id != rule_id]
            return len(self._rules) != before

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def list(self) -> list[dict]:
        with self._lock:
            return [r.to_json() for r in self._rules]

    def take(self, operation: str, account: str | None) -> list[FaultRule]:
        """The rules that apply to this call, in the order they were added; counted ones are used up.

        A rule that answers the call (a status, a hang, a reset) ends the list: later matching rules
        never get to act on this call, so they are neither counted as hit nor used up.
        """
        hit: list[FaultRule] = []
        with self._lock:
            for rule in self._rules:
                if not rule.matches(operation, account):
                    continue
                rule.hits += 1
                hit.append(rule)
                if rule.count is not None:
                    rule.count -= 1
                if rule.answers:
                    break
            self._rules = [r for r in self._rules if r.count is None or r.count > 0]
        return hit
