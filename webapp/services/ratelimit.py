"""Rate limits ("5 per minute"): shared through Redis when ``REDIS_URL`` is configured, in-process otherwise.

``hit(key)`` counts one event for ``key`` (e.g. ``"validate:<attendee id>"``) and says whether it is
allowed and, when not, how many seconds until it will be. The in-process limiter is per web process,
so with several instances configure Redis.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections import deque
from dataclasses import dataclass

from flask import current_app

from . import cache

_UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
_SPEC = re.compile(r"^\s*(\d+)\s*(?:per|/)\s*(\d+\s*)?(second|minute|hour|day)s?\s*$", re.IGNORECASE)
_KEY = "labgrader.ratelimit"


@dataclass(frozen=True)
class Limit:
    count: int
    seconds: int

    def __str__(self) -> str:
        return f"{self.count} per {self.seconds} seconds"


@dataclass(frozen=True)
class Decision:
    allowed: bool
    remaining: int
    retry_after: int  # seconds; 0 when allowed


def parse(spec: str) -> Limit:
    """``"5 per minute"``, ``"10/hour"``, ``"3 per 10 seconds"`` -> :class:`Limit`; raises ``ValueError``."""
    m = _SPEC.match(spec or "")
    if not m or int(m.group(1)) < 1:
        raise ValueError(f"rate limit {spec!r} is not like '5 per minute' or '3 per 10 seconds'")
    return Limit(int(m.group(1)), int(m.group(2) or 1) * _UNITS[m.group(3).lower()])


class _Local:
    """A sliding-window log per key, for one process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: dict[str, deque[float]] = {}

    def hit(self, key: str, limit: Limit) -> Decision:
        now = time.monotonic()
        with self._lock:
            events = self._events.setdefault(key, deque())
            while events and events[0] <= now - limit.seconds:
                events.popleft()
            if len(events) >= limit.count:
                return Decision(False, 0, max(1, math.ceil(events[0] + limit.seconds - now)))
            events.append(now)
            return Decision(True, limit.count - len(events), 0)


def _redis_hit(client, key: str, limit: Limit) -> Decision:
    """A fixed window per key in Redis (INCR + EXPIRE in one transaction)."""
    name = f"labgrader:rl:{key}"
    pipe = client.pipeline()
    pipe.incr(name)
    pipe.expire(name, limit.seconds, nx=True)
    pipe.ttl(name)
    count, _, ttl = pipe.execute()
    if count > limit.count:
        return Decision(False, 0, max(1, int(ttl)))
    return Decision(True, limit.count - int(count), 0)


def hit(key: str, spec: str | None = None) -> Decision:
    """Count one event for ``key`` against ``spec`` (default: VALIDATE_RATE_LIMIT)."""
    limit = parse(spec or current_app.config["VALIDATE_RATE_LIMIT"])
    client = cache.redis_client()
    if client is not None:
        return _redis_hit(client, key, limit)
    local = current_app.extensions.get(_KEY)
    if local is None:
        local = current_app.extensions.setdefault(_KEY, _Local())
    return local.hit(key, limit)
