"""The rate limits' in-process storage (``labgrader-memory://``, used when no Redis is configured): limits'
own memory storage, with its expired entries purged by one long-lived thread.

limits' ``MemoryStorage`` purges from a ``threading.Timer`` that lives 10 ms and is started again by the first
hit after it ended: with presses seconds apart, every Validate started a thread, and ``Thread.start`` waits
until the new thread runs (0.8 ms at the median on the 2-CPU bench machine under load 3-4, up to 5 ms). The
counting itself is limits' own, unchanged; an entry past its window is ignored whether purged yet or not.
"""

from __future__ import annotations

import threading
import time
import weakref

from limits.storage import MemoryStorage

PURGE_SECONDS = 1.0  # how long an expired entry may still take memory


class KeptMemoryStorage(MemoryStorage):
    STORAGE_SCHEME = ["labgrader-memory"]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options: str) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self._keep_purger()

    def __setstate__(self, state: dict) -> None:
        super().__setstate__(state)
        self._keep_purger()

    def _keep_purger(self) -> None:
        # What the parent checks before each hit: a purger that is always alive, so it never starts a timer. The
        # purge is limits' private method: should a release of limits rename it, its own timers stay in charge.
        if hasattr(self, "_MemoryStorage__expire_events"):
            self.timer = _Purger(self)  # type: ignore[assignment]
            self.timer.start()

    def purge(self) -> None:
        """Drop the entries whose window has passed (limits' own purge)."""
        self._MemoryStorage__expire_events()  # type: ignore[attr-defined]


class _Purger(threading.Thread):
    """Purges its storage every :data:`PURGE_SECONDS` while the storage exists (held weakly: an app that is
    dropped, as tests drop theirs, takes its storage and this thread with it)."""

    def __init__(self, storage: KeptMemoryStorage) -> None:
        super().__init__(name="labgrader-rate-limit-purge", daemon=True)
        self.storage = weakref.ref(storage)

    def run(self) -> None:
        while True:
            time.sleep(PURGE_SECONDS)
            storage = self.storage()
            if storage is None:
                return
            storage.purge()
            del storage
