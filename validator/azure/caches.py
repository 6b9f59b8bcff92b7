"""Caches for what rarely changes (an account's key, the domain list, what discovery found, the performance
of a trained iteration) and for SDK clients.

Every value kept here is proven by use: a caller that finds it contradicted by Azure (401 for a key, 404
for a project) deletes it and looks again. In-process caches are bounded LRUs with a time limit;
:class:`ValueCaches` keeps them in Redis when given a client, shared by every web instance, each value sealed
with the app's encryption key (:mod:`.sealed`: keys are secrets). SDK clients always stay in the process.
The caches of one process live in its :class:`~validator.runtime.Observation`.
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from .sealed import Sealer, Unsealable

log = logging.getLogger(__name__)


class TTLCache:
    """A thread-safe LRU of at most ``maxsize`` entries, each kept ``ttl`` seconds after it was set."""

    def __init__(self, ttl: float, maxsize: int = 10_000, clock=time.monotonic) -> None:
        self.ttl = ttl
        self.maxsize = maxsize
        self._clock = clock
        self._data: OrderedDict[Any, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any) -> Any | None:
        with self._lock:
            hit = self._data.get(key)
            if hit is None:
                return None
            expires, value = hit
            if expires < self._clock():
                del self._data[key]
                return None
            self._data.move_to_end(key)
            return value

    def set(self, key: Any, value: Any) -> None:
        with self._lock:
            self._data[key] = (self._clock() + self.ttl, value)
            self._data.move_to_end(key)
            while len(self._data) > self.maxsize:
                self._data.popitem(last=False)

    def delete(self, key: Any) -> None:
        with self._lock:
            self._data.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()

    def __len__(self) -> int:
        return len(self._data)


class RedisCache:
    """The same interface over Redis, shared by every instance: ``<prefix><sha256 of the key>`` -> the value,
    sealed, expiring after ``ttl`` seconds. Redis trouble is a miss (logged), never a failed validation."""

    def __init__(self, client, prefix: str, ttl: float, sealer: Sealer) -> None:
        self.ttl = ttl
        self.prefix = prefix
        self._redis = client
        self._sealer = sealer

    def _name(self, key: Any) -> str:
        return self.prefix + hashlib.sha256(repr(key).encode("utf-8")).hexdigest()

    def get(self, key: Any) -> Any | None:
        import redis

        try:
            token = self._redis.get(self._name(key))
            return None if token is None else self._sealer.open(token)
        except redis.RedisError as exc:
            log.warning("cache %s: Redis unreachable, treated as a miss: %s", self.prefix, exc)
        except Unsealable as exc:
            log.warning("cache %s: an entry cannot be opened (%s; the encryption key changed?)", self.prefix, exc)
        return None

    def set(self, key: Any, value: Any) -> None:
        import redis

        try:
            self._redis.set(self._name(key), self._sealer.seal(value), ex=max(1, math.ceil(self.ttl)))
        except redis.RedisError as exc:
            log.warning("cache %s: Redis unreachable, value not shared: %s", self.prefix, exc)

    def delete(self, key: Any) -> None:
        import redis

        try:
            self._redis.delete(self._name(key))
        except redis.RedisError as exc:
            log.warning("cache %s: Redis unreachable, entry not deleted: %s", self.prefix, exc)

    def clear(self) -> None:
        """Delete every entry of this cache (tests, benchmarks)."""
        for name in self._redis.scan_iter(self.prefix + "*", count=500):
            self._redis.delete(name)


Cache = TTLCache | RedisCache

KEY_PREFIX = "labgrader:cache:"
# name -> (ttl seconds, in-process bound). Keys change only when someone regenerates them (Custom Vision then
# answers 401 and the key is read again); the domain list is a cloud's and changes a few times a year; what
# discovery found and a trained iteration's performance are dropped when Azure contradicts them.
_SPECS: dict[str, tuple[float, int]] = {
    "account_keys": (2 * 3600, 5_000),
    "domains": (6 * 3600, 16),
    "discovery": (2 * 3600, 5_000),
    "performance": (6 * 3600, 5_000),
}



class ValueCaches:
    """The caches of what rarely changes, in this process or, given a Redis client and the app's encryption
    keys, in Redis (every value sealed with them: keys are secrets)."""

    account_keys: Cache
    """(ARM endpoint, account resource id) -> the training key (or ``customvision.ENTRA``)."""
    domains: Cache
    """(ARM endpoint, "domains") -> list[DomainFact]."""
    discovery: Cache
    """An attendee's discovery key (``validator.discovery``) -> what discovery found for them."""
    performance: Cache
    """(ARM endpoint, resource id, project id, iteration id, threshold) -> PerformanceFact of a trained iteration."""

    def __init__(self, redis=None, encryption_keys: str | None = None) -> None:
        sealer = Sealer(encryption_keys) if redis is not None and encryption_keys else None
        for name, (ttl, maxsize) in _SPECS.items():
            # Never a training key in Redis unsealed: without the encryption keys they stay in this process.
            setattr(self, name, TTLCache(ttl, maxsize) if sealer is None
                    else RedisCache(redis, f"{KEY_PREFIX}{name}:", ttl, sealer))

    @property
    def shared(self) -> bool:
        """True when the values live in Redis."""
        return isinstance(self.account_keys, RedisCache)

    def clear(self) -> None:
        """Forget every remembered value: the next validation of anyone starts cold (benchmarks)."""
        for name in _SPECS:
            getattr(self, name).clear()


class ClientCache:
    """A bounded LRU cache of SDK clients or credentials that hold secrets and connections.

    At most ``maxsize`` entries, each kept ``ttl`` seconds after it was created; an entry that leaves
    (evicted, expired, dropped) is closed so its sockets and its secret do not linger in memory.
    """

    def __init__(self, maxsize: int = 512, ttl: float = 3600.0, clock=time.monotonic) -> None:
        self.maxsize = maxsize
        self.ttl = ttl
        self._clock = clock
        self._data: OrderedDict[Any, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_create(self, key: Any, create: Callable[[], Any]) -> Any:
        """The cached value for ``key``, or ``create()`` stored under it."""
        retired: list[Any] = []
        with self._lock:
            hit = self._data.get(key)
            if hit is not None and hit[0] > self._clock():
                self._data.move_to_end(key)
                return hit[1]
            if hit is not None:
                retired.append(self._data.pop(key)[1])
            value = create()
            self._data[key] = (self._clock() + self.ttl, value)
            while len(self._data) > self.maxsize:
                retired.append(self._data.popitem(last=False)[1][1])
        _close_all(retired)
        return value

    def discard(self, match: Callable[[Any], bool]) -> int:
        """Drop (and close) every entry whose key satisfies ``match``; returns how many."""
        with self._lock:
            keys = [k for k in self._data if match(k)]
            retired = [self._data.pop(k)[1] for k in keys]
        _close_all(retired)
        return len(retired)

    def clear(self) -> None:
        self.discard(lambda _key: True)

    def __len__(self) -> int:
        return len(self._data)


def _close_all(values: list[Any]) -> None:
    # A client still in use by another validation's thread fails that one call at worst (retried).
    for value in values:
        close = getattr(value, "close", None)
        if close is not None:
            try:
                close()
            except Exception:  # noqa: BLE001 - closing is best effort; never fail a validation on it
                log.debug("closing %r failed", value, exc_info=True)
