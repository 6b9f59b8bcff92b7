"""Caches for slow-changing facts (an account's key, the Custom Vision domain list) and for SDK clients.

In-process TTL caches (one web instance); the interface is small (``get``/``set``/``delete``) so a
shared backend can replace it when several instances run. Keys are held in memory only.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)


class TTLCache:
    """A thread-safe dict whose entries expire after ``ttl`` seconds."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._data: dict[Any, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: Any) -> Any | None:
        with self._lock:
            hit = self._data.get(key)
            if hit is None:
                return None
            expires, value = hit
            if expires < time.monotonic():
                del self._data[key]
                return None
            return value

    def set(self, key: Any, value: Any) -> None:
        with self._lock:
            self._data[key] = (time.monotonic() + self.ttl, value)

    def delete(self, key: Any) -> None:
        with self._lock:
            self._data.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


# Keys change only when someone regenerates them (then Custom Vision answers 401 and we drop the entry).
account_keys = TTLCache(ttl=15 * 60)
# The domain list is the same for every resource of a cloud and changes a few times a year.
domains = TTLCache(ttl=6 * 3600)


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
