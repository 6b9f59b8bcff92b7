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


def require(condition: bool, reason: str) -> None:
    """Skip with ``reason`` when a service/browser/folder is missing, but fail under CI=true."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    require(SHARED.is_dir(), f"{SHARED} (the project's shared/ folder) is not present")
    return SHARED


@pytest.fixture(scope="session")
def _session_sim():
    with Simulator(training_seconds=0.3, hang_seconds=30) as s:
        yield s


@pytest.fixture
def sim(_session_sim):
    """The session's simulator; fault rules added by a test are cleared after it."""
    yield _session_sim
    _session_sim.faults.clear()


@pytest.fixture
def attendee(sim) -> dict:
    """Credentials JSON for a new attendee with their own tenant, subscription and resource group."""
    return sim.create_attendee(f"attendee-{next(_names)}")
