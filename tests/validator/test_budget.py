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
    limiter = RateLimiter(calls=2, window=1.0, margin=0.1, clock=t.clock, sleep=t.sleep)
    assert limiter.acquire("cv") == 0 and limiter.acquire("cv") == 0
    assert limiter.acquire("cv") == pytest.approx(1.1)  # a whole window (and the margin) after the first
    assert limiter.acquire("cv") == 0  # with the third: the second is a whole span ago
    assert limiter.acquire("other") == 0  # one pace per key (the validator keys them by resource id)
    with pytest.raises(RateLimitTimeout):
        limiter.acquire("cv", max_wait=0.1)


def _concurrent_slots(limiter: RateLimiter, t: FakeTime, arrivals: list[float]) -> list[float]:
    """The times ``arrivals`` (callers asking at those times, each in its own thread) are let through: each
    slot is reserved when asked for, so the callers are served in the order they asked."""
    slots = []
    for asked in sorted(arrivals):
        t.now = asked
        slots.append(asked + limiter.acquire("cv", max_wait=60))
    return slots


@pytest.mark.parametrize("arrivals", [
    [0.0] * 10,  # ten presses at once on one F0 resource
    [0.0, 0.0, 0.5, 0.5, 1.0, 1.0, 1.2, 2.9, 3.0, 3.05, 7.0],  # the presses of a busy class
    [0.0, 0.3, 0.6, 0.9, 1.2, 1.5, 1.8],  # a steady trickle faster than the pace
])
def test_never_more_than_two_calls_in_any_window(arrivals):
    t = FakeTime()
    limiter = RateLimiter(calls=2, window=1.0, margin=0.1, clock=t.clock, sleep=lambda s: None)
    slots = _concurrent_slots(limiter, t, arrivals)
    assert all(b >= a - 1e-9 for a, b in zip(slots, slots[1:], strict=False))  # first asked, first served
    # Any window of 1 s + the margin holds at most 2 slots: the call two after any call is at least that late.
    assert all(b - a >= 1.1 - 1e-9 for a, b in zip(slots, slots[2:], strict=False)), slots
    # And nobody waits longer than that needs: each slot is when the caller asked, or one span after the
    # slot two before it.
    for i, (asked, slot) in enumerate(zip(sorted(arrivals), slots, strict=True)):
        earliest = max(asked, slots[i - 2] + 1.1) if i >= 2 else asked
        assert slot == pytest.approx(earliest), (i, slots)


def test_two_calls_at_once_never_wait_and_an_idle_key_starts_afresh():
    t = FakeTime()
    limiter = RateLimiter(calls=2, window=1.0, margin=0.1, clock=t.clock, sleep=t.sleep)
    assert [limiter.acquire("cv") for _ in range(2)] == [0, 0]
    t.now += 1.1  # a press a window later: its two calls go at once again
    assert [limiter.acquire("cv") for _ in range(2)] == [0, 0]
    assert t.slept == []


def test_a_call_that_would_wait_too_long_takes_no_slot():
    t = FakeTime()
    limiter = RateLimiter(calls=2, window=1.0, margin=0.1, clock=t.clock, sleep=t.sleep)
    limiter.acquire("cv"), limiter.acquire("cv")
    with pytest.raises(RateLimitTimeout):
        limiter.acquire("cv", max_wait=0.5)
    assert limiter.acquire("cv") == pytest.approx(1.1)  # the refused caller left the next slot free


def test_idle_keys_are_forgotten(monkeypatch):
    t = FakeTime()
    limiter = RateLimiter(calls=2, window=1.0, margin=0.1, clock=t.clock, sleep=t.sleep)
    monkeypatch.setattr(RateLimiter, "PRUNE_AT", 3)
    for key in ("a", "b", "c"):
        limiter.acquire(key)
    t.now = 5.0
    limiter.acquire("d")
    assert set(limiter._slots) == {"d"}


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
