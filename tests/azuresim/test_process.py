"""``SimulatorProcess``: azuresim in a process of its own, with the Simulator's interface over the admin API."""

from __future__ import annotations

import os

import pytest
from azure.core.exceptions import HttpResponseError

from azuresim.process import SimulatorError, SimulatorProcess

from .test_arm import Arm


@pytest.fixture(scope="module")
def proc_sim():
    with SimulatorProcess(training_seconds=0.2) as sim:
        yield sim
    assert sim.proc is None  # stopped and reaped


def test_it_serves_from_another_process_and_counts_the_sdks_calls(proc_sim):
    assert proc_sim.pid not in (None, os.getpid())
    creds = proc_sim.create_attendee("ada", region="westeurope")
    assert creds["ca_bundle"] == proc_sim.ca_bundle and creds["arm_endpoint"] == proc_sim.base_url
    before = proc_sim.call_count()
    clients = Arm(creds)
    try:
        assert clients.rm.resource_groups.get(creds["resource_group"]).location == "westeurope"
    finally:
        clients.close()
    assert proc_sim.call_count() > before
    assert proc_sim.call_count("token") >= 1
    assert any(row["operation"] == "token" for row in proc_sim.call_log())
    proc_sim.clear_calls()
    assert proc_sim.call_count() == 0 and proc_sim.call_log() == []


def test_fault_rules_reach_the_process(proc_sim):
    creds = proc_sim.create_attendee("grace")
    rule = proc_sim.faults.add({"operation": "ResourceGroups_Get", "status": 403, "count": 1})
    assert [r["id"] for r in proc_sim.faults.list()] == [rule]
    clients = Arm(creds)
    try:
        with pytest.raises(HttpResponseError) as failed:
            clients.rm.resource_groups.get(creds["resource_group"])
        assert failed.value.status_code == 403
        assert clients.rm.resource_groups.get(creds["resource_group"])  # the rule was spent
    finally:
        clients.close()
    other = proc_sim.faults.add({"operation": "*", "latency_ms": 1})
    assert proc_sim.faults.remove(other) is True
    assert proc_sim.faults.remove(other) is False  # gone
    proc_sim.faults.add({"operation": "*", "latency_ms": 1})
    proc_sim.faults.clear()
    assert proc_sim.faults.list() == []


def test_admin_errors_carry_the_simulators_message(proc_sim):
    with pytest.raises(SimulatorError, match="not a region with Custom Vision") as refused:
        proc_sim.create_attendee("ada", region="atlantis")
    assert refused.value.status == 400
