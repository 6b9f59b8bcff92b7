"""Caches for slow-changing facts: an account's endpoint and key, and the Custom Vision domain list.

In-process TTL caches (one web instance); the interface is small (``get``/``set``/``delete``) so a
shared backend can replace it when several instances run. Keys are held in memory only.
"""

from __future__ import annotations

import threading
import time
from typing import Any


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
