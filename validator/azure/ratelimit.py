"""Per-resource pacing: a Free (F0) Custom Vision resource allows 2 transactions per second.

Both limiters promise the same thing: at most ``calls`` calls per key in any window of ``window`` seconds,
kept apart by ``margin`` more, so the calls still keep the promise when they reach Azure after a little
network or scheduling jitter. Each caller reserves the first free slot, in the order they asked, and sleeps
until it: two calls at once go at once, a third goes one window (plus the margin) after the first.
(A token bucket refilling at ``calls`` per second lets three through in one second: two at once, a third
half a second later.)

:class:`RateLimiter` serves a single instance; :class:`RedisRateLimiter` shares the pace between web
instances (same ``acquire(key, max_wait)`` interface); :class:`TierLimiters` picks one by the resource's
tier. The caller passes the resource's identity, its ARM resource id (``customvision.resource_key``), never
its endpoint: accounts without a custom subdomain share one regional endpoint but each has its own budget.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from checks.facts import AccountFact

log = logging.getLogger(__name__)

# Network and scheduling jitter between taking a slot and the request reaching Azure (a fresh TLS
# connection, a busy core): the third call of a burst may arrive that much sooner after the first than it left.
MARGIN = 0.1


class RateLimitTimeout(Exception):
    """Waiting for a slot would overrun the caller's budget."""


class _Pace:
    """What both limiters share: the pace's figures and the arithmetic callers (benchmarks) use."""

    calls: int
    window: float
    margin: float

    @property
    def span(self) -> float:
        """Seconds between a call and the ``calls``-th call after it."""
        return self.window + self.margin

    @property
    def burst(self) -> int:
        """Calls that go at once on an idle key."""
        return self.calls

    @property
    def rate(self) -> float:
        """Calls per second once the burst is spent."""
        return self.calls / self.span


class RateLimiter(_Pace):
    """At most ``calls`` calls per key in any ``window`` seconds (plus ``margin``), in this process."""

    # Keys idle for a whole span hold nothing worth keeping: forget them once this many are held.
    PRUNE_AT = 4096

    def __init__(self, calls: int = 2, window: float = 1.0, margin: float = MARGIN, clock=time.monotonic,
                 sleep=time.sleep) -> None:
        self.calls, self.window, self.margin = calls, window, margin
        self._clock, self._sleep = clock, sleep
        self._slots: dict[str, deque[float]] = {}  # key -> the last ``calls`` slots taken (times, ascending)
        self._lock = threading.Lock()

    def acquire(self, key: str, max_wait: float = 10.0) -> float:
        """Take the first free slot for ``key`` and sleep until it; returns seconds waited.

        Raises :class:`RateLimitTimeout` (taking nothing) when that slot is more than ``max_wait`` away."""
        with self._lock:
            now = self._clock()
            slots = self._slots.get(key)
            if slots is None:
                if len(self._slots) >= self.PRUNE_AT:
                    self._prune(now)
                slots = self._slots[key] = deque(maxlen=self.calls)
            at = now if len(slots) < self.calls else max(now, slots[0] + self.span)
            wait = at - now
            if wait > max_wait:
                raise RateLimitTimeout(key)
            slots.append(at)  # slots are taken in time order, so the oldest of the last ``calls`` is slots[0]
        if wait > 0:
            self._sleep(wait)
        return wait

    def _prune(self, now: float) -> None:
        for key in [k for k, slots in self._slots.items() if slots[-1] + self.span <= now]:
            del self._slots[key]


# One atomic step in Redis, on Redis's clock (instances' clocks need not agree): the list holds the last
# ``calls`` slots taken, oldest first. Takes the first free slot unless it is more than ARGV[3] s away.
# Returns the seconds until the slot taken, or "-1" when none was taken.
_TAKE = """
local calls, span, max_wait = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local at = now
if redis.call('LLEN', KEYS[1]) >= calls then
  at = math.max(now, tonumber(redis.call('LINDEX', KEYS[1], -calls)) + span)
end
if at - now > max_wait then return '-1' end
redis.call('RPUSH', KEYS[1], string.format('%.6f', at))
redis.call('LTRIM', KEYS[1], -calls, -1)
redis.call('PEXPIRE', KEYS[1], math.ceil((at - now + span) * 1000) + 500)
return string.format('%.6f', at - now)
"""

KEY_PREFIX = "labgrader:cvrate:"


class RedisRateLimiter(_Pace):
    """The same pace kept in Redis (``labgrader:cvrate:<resource id>``), shared by every instance.

    ``redis`` is a ``redis.Redis`` client. If Redis cannot be reached the call is let through: the
    Azure side still throttles with 429 (retried), which beats failing every validation.
    """

    def __init__(self, redis, calls: int = 2, window: float = 1.0, margin: float = MARGIN, sleep=time.sleep,
                 prefix: str = KEY_PREFIX) -> None:
        self.calls, self.window, self.margin = calls, window, margin
        self.prefix = prefix
        self._redis = redis
        self._take = redis.register_script(_TAKE)
        self._sleep = sleep

    def acquire(self, key: str, max_wait: float = 10.0) -> float:
        """Take the first free slot for ``key`` and sleep until it; returns seconds waited.

        Raises :class:`RateLimitTimeout` (taking nothing) when that slot is more than ``max_wait`` away."""
        import redis as redis_lib

        try:
            wait = float(self._take(keys=[self.prefix + key], args=[self.calls, self.span, max(0.0, max_wait)]))
        except redis_lib.RedisError as exc:
            log.warning("rate limiter: Redis unreachable, letting the call through: %s", exc)
            return 0.0
        if wait < 0:
            raise RateLimitTimeout(key)
        if wait > 0:
            self._sleep(wait)
        return wait


@dataclass
class TierLimiters:
    """Custom Vision's per-resource transaction limits: Free F0 allows 2 per second, Standard S0 10."""

    free: RateLimiter | RedisRateLimiter
    standard: RateLimiter | RedisRateLimiter

    @classmethod
    def in_process(cls) -> TierLimiters:
        return cls(free=RateLimiter(calls=2), standard=RateLimiter(calls=10))

    @classmethod
    def shared(cls, redis) -> TierLimiters:
        """Limiters every web instance draws from, kept in Redis (``redis``: a ``redis.Redis`` client)."""
        return cls(free=RedisRateLimiter(redis, calls=2), standard=RedisRateLimiter(redis, calls=10))

    def for_account(self, account: AccountFact) -> RateLimiter | RedisRateLimiter:
        return self.free if (account.sku or "F0").upper() == "F0" else self.standard
