"""Time budgets, call counting and retrying: the one way every gateway call is made."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TypeVar

from . import tokens
from .errors import AzureCallError, translate

T = TypeVar("T")


@dataclass
class Deadline:
    """A validation's time budget; each call's timeout is capped by what is left of it."""

    seconds: float
    started: float = field(default_factory=time.monotonic)

    def remaining(self) -> float:
        return self.seconds - (time.monotonic() - self.started)

    def call_timeout(self, cap: float) -> float:
        return max(0.5, min(cap, self.remaining()))


class CallCounter:
    """Counts the HTTP calls a validation made to Azure (retries included), thread-safe.

    Calls made while a thread works for a fact (:meth:`for_fact`) are also counted per fact, so a
    snapshot shared by several steps can say which calls each step's facts cost (:meth:`for_facts`).
    """

    def __init__(self) -> None:
        self._n = 0
        self._lock = threading.Lock()
        self._current = threading.local()
        self.by_operation: dict[str, int] = {}
        self.by_fact: dict[str, dict[str, int]] = {}

    def add(self, operation: str) -> None:
        with self._lock:
            self._n += 1
            self.by_operation[operation] = self.by_operation.get(operation, 0) + 1
            fact = getattr(self._current, "fact", None)
            if fact is not None:
                ops = self.by_fact.setdefault(fact, {})
                ops[operation] = ops.get(operation, 0) + 1

    @contextmanager
    def for_fact(self, fact: str) -> Iterator[None]:
        """Count the calls this thread makes inside the block for ``fact`` too."""
        previous = getattr(self._current, "fact", None)
        self._current.fact = fact
        try:
            yield
        finally:
            self._current.fact = previous

    def for_facts(self, facts: Iterable[str]) -> tuple[int, dict[str, int]]:
        """The calls made for ``facts``: their number and their count per operation."""
        ops: dict[str, int] = {}
        with self._lock:
            for fact in facts:
                for op, n in self.by_fact.get(fact, {}).items():
                    ops[op] = ops.get(op, 0) + n
        return sum(ops.values()), ops

    @property
    def total(self) -> int:
        return self._n


@dataclass
class RetryPolicy:
    """Retries throttling, timeouts and 5xx for every method (msrest never retries POST; we do).

    A ``Retry-After`` longer than what is left of the budget is not waited for: the caller reports
    "throttled, try again in N s" instead of leaving the student staring at a spinner.
    """

    attempts: int = 3
    backoff: float = 0.25
    backoff_max: float = 2.0
    call_timeout: float = 8.0

    def run(
        self,
        operation: str,
        fn: Callable[[float], T],
        deadline: Deadline,
        counter: CallCounter,
        before_call: Callable[[], None] | None = None,
        token_calls: tokens.TokenCalls | None = None,
    ) -> T:
        """Call ``fn(timeout)`` until it answers, retrying what is worth retrying within ``deadline``.

        ``token_calls``: where the credentials ``fn`` uses note their token requests' failures (each attempt's
        token requests get its timeout)."""
        last: AzureCallError | None = None
        for attempt in range(self.attempts):
            if deadline.remaining() <= 0.2:
                break
            if before_call is not None:
                before_call()
            counter.add(operation)
            timeout = deadline.call_timeout(self.call_timeout)
            if token_calls is not None:
                token_calls.start(timeout)  # a token request this call makes gets the same timeout
            try:
                return fn(timeout)
            except Exception as exc:  # noqa: BLE001 - translate() re-raises anything that is not Azure's
                last = translate(exc, operation, token_calls)
            if not last.retryable or attempt == self.attempts - 1:
                break
            wait = last.retry_after if last.retry_after is not None else self._backoff(attempt)
            if wait > deadline.remaining() - 0.5:
                break
            time.sleep(wait)
        if last is None:
            last = AzureCallError("timeout", operation, "the time budget for this validation ran out")
        raise last

    def _backoff(self, attempt: int) -> float:
        return min(self.backoff_max, self.backoff * (2**attempt)) * random.uniform(0.8, 1.2)
