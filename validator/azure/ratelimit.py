"""Per-endpoint rate limiting: a Free (F0) Custom Vision resource allows 2 transactions per second.

The in-process limiter serves a single instance; :class:`RedisRateLimiter` shares the budget between
web instances (same interface). Both are token buckets keyed by endpoint.
"""

from __future__ import annotations

import threading
import time


class RateLimitTimeout(Exception):
    """Waiting for a slot would overrun the caller's budget."""


class RateLimiter:
    """Token bucket per key: ``rate`` calls per second with bursts of ``burst``."""

    def __init__(self, rate: float = 2.0, burst: int = 2, clock=time.monotonic, sleep=time.sleep) -> None:
        self.rate = rate
        self.burst = burst
        self._clock, self._sleep = clock, sleep
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, last refill time)
        self._lock = threading.Lock()

    def acquire(self, key: str, max_wait: float = 10.0) -> float:
        """Take one slot for ``key``, sleeping as needed; returns seconds waited."""
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                tokens, last = self._buckets.get(key, (float(self.burst), now))
                tokens = min(float(self.burst), tokens + (now - last) * self.rate)
                if tokens >= 1.0:
                    self._buckets[key] = (tokens - 1.0, now)
                    return waited
                self._buckets[key] = (tokens, now)
                need = (1.0 - tokens) / self.rate
            if waited + need > max_wait:
                raise RateLimitTimeout(key)
            self._sleep(need)
            waited += need
