"""Fixtures shared by every test package: the simulator, a fresh attendee, the shared/ folder."""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import pytest

from azuresim.server import Simulator

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
IN_CI = os.environ.get("CI", "").lower() == "true"

_names = itertools.count(1)

# Under pytest-xdist each worker ("gw0", "gw1", ...) gets Redis databases of its own, so a test that
# empties its database never pulls the rug from under a test running on another worker.
# TEST_REDIS_SLOT=k (k >= 1) instead gives a serial run its own pair, for several checkouts testing at once on
# one machine (slot k uses databases 14-2k and 15-2k; slot 0 and the xdist workers start from the top).
_WORKER = int(os.environ.get("TEST_REDIS_SLOT")
              or os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)


def redis_url(db: int) -> str:
    """``redis://127.0.0.1:6379/<n>`` for the test database ``db`` (14 or 15), private to this worker."""
    if db not in (14, 15):
        raise ValueError("tests use Redis databases 14 and 15 (each worker shifts them down by two)")
    shifted = db - 2 * _WORKER
    if shifted < 0:
        raise RuntimeError("too many pytest-xdist workers for Redis' 16 databases")
    return f"redis://127.0.0.1:6379/{shifted}"


def require(condition: bool, reason: str) -> None:
    """Skip with ``reason`` when a service/browser/folder is missing, but fail under CI=true."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)


def reachable_redis(url: str):
    """A client of the Redis at ``url`` (the caller closes it); skips when it does not answer, fails under CI=true."""
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=0.5)
    try:
        client.ping()
    except redis.RedisError:
        client.close()
        require(False, f"Redis is not reachable at {url}")
    return client


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    require(SHARED.is_dir(), f"{SHARED} (the project's shared/ folder) is not present")
    return SHARED


# Tests' simulators: training ends in 0.3 s, and ARM's long-running operations (create, update, delete,
# purge) end as soon as they begin. They still answer 201/202 "Creating"/"Deleting" with Azure-AsyncOperation
# and Retry-After, and the SDK's poller still makes its status poll, but its first poll finds the operation
# done: at 0.2 s it found it running and slept the whole-second Retry-After (1 s per operation, about 40% of
# the suite's time). Tests about an operation in progress set their own duration (``sim.provisioning_seconds``).
SIM_TIMINGS = {"training_seconds": 0.3, "provisioning_seconds": 0.0}


def simulator(**options) -> Simulator:
    """A simulator with the tests' timings (``options`` override them)."""
    return Simulator(**{**SIM_TIMINGS, **options})


@pytest.fixture(scope="session")
def _session_sim():
    with simulator(hang_seconds=30) as s:
        yield s


@pytest.fixture
def sim(_session_sim):
    """The session's simulator; fault rules and timings a test changes are restored after it."""
    yield _session_sim
    _session_sim.faults.clear()
    for name, seconds in SIM_TIMINGS.items():
        setattr(_session_sim, name, seconds)


@pytest.fixture
def attendee(sim) -> dict:
    """Credentials JSON for a new attendee with their own tenant, subscription and resource group."""
    return sim.create_attendee(f"attendee-{next(_names)}")
