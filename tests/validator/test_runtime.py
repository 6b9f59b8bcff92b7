"""The validator's state lives in the Observation passed in: two runtimes share nothing, and closing one
releases its pool, clients and credentials."""

from __future__ import annotations

import pytest

from checks.outcome import Status
from validator import Observation, validate

DISCOVERY = {"Accounts_ListByResourceGroup", "Accounts_ListKeys", "GetProjects"}


def test_two_runtimes_remember_nothing_for_each_other(sim, who, student, small_lab, runtime):
    for task in ("1", "2", "3.1"):
        student.do(task)
    first = validate(who, "3.1", small_lab, runtime=runtime)
    assert set(first.calls_by_operation) >= DISCOVERY and first.status is Status.PASS
    assert validate(who, "3.1", small_lab, runtime=runtime).calls_by_operation == {"GetTags": 1}
    tokens = sim.call_count("token")
    with Observation() as other:  # another process: it signs in and discovers for itself
        elsewhere = validate(who, "3.1", small_lab, runtime=other)
    assert set(elsewhere.calls_by_operation) >= DISCOVERY and elsewhere.status is Status.PASS
    assert sim.call_count("token") > tokens
    assert validate(who, "3.1", small_lab, runtime=runtime).calls_by_operation == {"GetTags": 1}


def test_closing_releases_the_pool_clients_and_credentials(sim, who, student, small_lab):
    student.do_all()
    runtime = Observation()
    assert validate(who, "4", small_lab, runtime=runtime).status is Status.PASS
    assert len(runtime.arm_clients) and len(runtime.training_clients)
    runtime.close()
    assert len(runtime.arm_clients) == len(runtime.training_clients) == len(runtime.credentials) == 0
    with pytest.raises(RuntimeError):
        runtime.pool.submit(print)  # no fetch runs on a closed runtime
