"""The retry policy and the rate limiter, with a fake clock: behaviour, not timing."""

from __future__ import annotations

import pytest

from validator.azure.budget import CallCounter, Deadline, RetryPolicy
from validator.azure.errors import AzureCallError
from validator.azure.ratelimit import RateLimiter, RateLimitTimeout


class FakeTime:
    def __init__(self):
        self.now = 0.0
        self.slept: list[float] = []

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds


def test_rate_limiter_allows_a_burst_then_spaces_calls():
    t = FakeTime()
    limiter = RateLimiter(rate=2.0, burst=2, clock=t.clock, sleep=t.sleep)
    assert limiter.acquire("cv") == 0 and limiter.acquire("cv") == 0
    assert limiter.acquire("cv") == pytest.approx(0.5)
    assert limiter.acquire("other") == 0  # one bucket per key (the validator keys them by resource id)
    with pytest.raises(RateLimitTimeout):
        limiter.acquire("cv", max_wait=0.1)


def _flaky(errors):
    calls = []

    def fn(timeout):
        calls.append(timeout)
        if errors:
            raise errors.pop(0)
        return "answer"

    return fn, calls


def test_retries_throttling_honouring_retry_after(monkeypatch):
    slept = []
    monkeypatch.setattr("validator.azure.budget.time.sleep", slept.append)
    fn, calls = _flaky([AzureCallError("throttled", "GetTags", "429", status=429, retry_after=1.5)])
    counter = CallCounter()
    assert RetryPolicy().run("GetTags", fn, Deadline(20), counter) == "answer"
    assert slept == [1.5] and counter.total == 2 and counter.by_operation == {"GetTags": 2}


def test_does_not_wait_past_the_budget(monkeypatch):
    monkeypatch.setattr("validator.azure.budget.time.sleep", lambda s: pytest.fail("must not sleep"))
    fn, calls = _flaky([AzureCallError("throttled", "GetTags", "429", status=429, retry_after=60)])
    with pytest.raises(AzureCallError) as info:
        RetryPolicy().run("GetTags", fn, Deadline(5), CallCounter())
    assert info.value.kind == "throttled" and len(calls) == 1


def test_student_facing_errors_are_not_retried():
    fn, calls = _flaky([AzureCallError("permission", "Accounts_ListByResourceGroup", "403", status=403)])
    with pytest.raises(AzureCallError):
        RetryPolicy().run("Accounts_ListByResourceGroup", fn, Deadline(5), CallCounter())
    assert len(calls) == 1


def test_each_call_timeout_is_capped_by_the_budget():
    fn, calls = _flaky([])
    RetryPolicy(call_timeout=8).run("GetProjects", fn, Deadline(2), CallCounter())
    assert calls[0] <= 2
