"""``labgrader sim serve`` and ``labgrader sim attendee create`` as a user runs them."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from azuresim.cli import sim as sim_cli

from .test_arm import Arm

LABGRADER = Path(sys.executable).with_name("labgrader")


@pytest.fixture
def served(tmp_path):
    """A ``sim serve --port 0 --state DIR`` subprocess and its JSON line."""
    if not LABGRADER.exists():
        pytest.skip(f"{LABGRADER} not installed (pip install -e .)")
    proc = subprocess.Popen([str(LABGRADER), "sim", "serve", "--port", "0", "--state", str(tmp_path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line, proc.stderr.read()
        yield proc, json.loads(line), tmp_path
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)
        proc.stdout.close()
        proc.stderr.close()


def test_serve_prints_the_profile_then_serves_sdk_calls_until_sigint(served):
    proc, info, state_dir = served
    assert set(info) == {"authority_host", "arm_endpoint", "credential_scope", "ca_bundle", "admin_url"}
    assert info["ca_bundle"] == str(state_dir / "azuresim-ca.pem")
    result = CliRunner().invoke(sim_cli, ["attendee", "create", "cli-ada", "--state", str(state_dir)])
    assert result.exit_code == 0, result.output
    creds = json.loads(result.output)
    assert creds["arm_endpoint"] == info["arm_endpoint"]
    clients = Arm(creds)
    try:
        assert clients.rm.resource_groups.get(creds["resource_group"]).name == creds["resource_group"]
    finally:
        clients.close()
    proc.send_signal(signal.SIGINT)
    assert proc.wait(10) == 0
    assert (state_dir / "azuresim-state.pickle").is_file()


def test_state_dir_keeps_the_ca_and_the_world_across_restarts(served, tmp_path_factory):
    proc, info, state_dir = served
    result = CliRunner().invoke(sim_cli, ["attendee", "create", "keeper", "--admin-url", info["admin_url"],
                                          "--ca-bundle", info["ca_bundle"]])
    assert result.exit_code == 0, result.output
    creds = json.loads(result.output)
    ca_before = Path(info["ca_bundle"]).read_bytes()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(10) == 0

    from azuresim.server import Simulator

    with Simulator(state_dir=state_dir) as again:
        assert Path(again.info["ca_bundle"]).read_bytes() == ca_before
        clients = Arm({**creds, **{k: again.info[k] for k in ("authority_host", "arm_endpoint",
                                                                  "credential_scope")}})
        try:
            assert clients.rm.resource_groups.get(creds["resource_group"]).name == creds["resource_group"]
        finally:
            clients.close()


def test_attendee_create_explains_missing_connection_details(monkeypatch, tmp_path):
    monkeypatch.delenv("LABGRADER_SIM_ADMIN_URL", raising=False)
    monkeypatch.delenv("LABGRADER_SIM_CA", raising=False)
    result = CliRunner().invoke(sim_cli, ["attendee", "create", "ada"])
    assert result.exit_code == 2 and "--admin-url" in result.output
    result = CliRunner().invoke(sim_cli, ["attendee", "create", "ada", "--state", str(tmp_path)])
    assert result.exit_code == 2 and "azuresim-info.json" in result.output


def test_attendee_create_reports_the_simulators_refusal(sim):
    result = CliRunner().invoke(sim_cli, ["attendee", "create", "bad name", "--admin-url",
                                          sim.info["admin_url"], "--ca-bundle", sim.info["ca_bundle"]])
    assert result.exit_code == 1
    assert "HTTP 400" in result.output and "is not valid" in result.output


