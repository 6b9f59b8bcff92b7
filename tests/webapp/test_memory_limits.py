"""The rate limits' in-process storage: limits' counting, no thread started per hit, expired entries purged."""

from __future__ import annotations

import threading
import time

from limits import parse
from limits.strategies import MovingWindowRateLimiter

from webapp import memory_limits
from webapp.memory_limits import KeptMemoryStorage
from webapp.security import limiter


def test_the_app_counts_in_it_without_redis(app):
    assert app.config["RATELIMIT_STORAGE_URI"] == "labgrader-memory://"
    assert isinstance(limiter.storage, KeptMemoryStorage)


def test_hits_are_counted_as_limits_counts_them_and_start_no_thread():
    storage = KeptMemoryStorage("labgrader-memory://")
    window = MovingWindowRateLimiter(storage)
    two_a_second = parse("2 per 1 second")
    window.hit(two_a_second, "attendee")  # the parent's first timer, started in its __init__, ends meanwhile
    time.sleep(0.05)
    started = threading.active_count()
    assert [window.hit(two_a_second, "attendee") for _ in range(2)] == [True, False]
    assert window.hit(two_a_second, "another attendee")
    assert threading.active_count() == started
    time.sleep(1.05)
    assert window.hit(two_a_second, "attendee")  # the window moved on


def test_expired_entries_are_purged(monkeypatch):
    monkeypatch.setattr(memory_limits, "PURGE_SECONDS", 0.05)
    storage = KeptMemoryStorage("labgrader-memory://")
    window = MovingWindowRateLimiter(storage)
    window.hit(parse("5 per 1 second"), "attendee")
    assert sum(len(e) for e in storage.events.values()) == 1
    deadline = time.monotonic() + 5
    while any(storage.events.values()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(storage.events.values())


def test_the_purger_ends_with_its_storage(monkeypatch):
    monkeypatch.setattr(memory_limits, "PURGE_SECONDS", 0.02)
    purger = KeptMemoryStorage("labgrader-memory://").timer
    purger.join(timeout=5)  # the storage was dropped at once: nothing keeps the thread
    assert not purger.is_alive()
