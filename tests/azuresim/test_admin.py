"""The admin API under /_sim: attendees, state, reset, fault rules, call log, loopback-only."""

from __future__ import annotations

import uuid
from types import SimpleNamespace

import pytest
import requests

from azuresim.server import Simulator
from azuresim.student import Student

from .test_arm import Arm, unique


def admin(sim, method: str, path: str, **kw) -> requests.Response:
    return requests.request(method, sim.info["admin_url"] + path, verify=sim.info["ca_bundle"], timeout=10, **kw)


def test_created_attendee_can_use_the_sdks(sim):
    resp = admin(sim, "POST", "/attendees", json={"name": "grace", "region": "West Europe"})
    assert resp.status_code == 201
    creds = resp.json()
    assert set(creds) == {"tenant_id", "client_id", "client_secret", "subscription_id", "resource_group",
                          "region", "authority_host", "arm_endpoint", "credential_scope", "ca_bundle",
                          "injects"}
    assert creds["injects"]["DeploymentID"]  # the lab platform's per-attendee suffix
    assert creds["region"] == "westeurope" and creds["resource_group"].startswith("ODL-grace-")
    clients = Arm(creds)
    try:
        assert clients.rm.resource_groups.get(creds["resource_group"]).location == "westeurope"
    finally:
        clients.close()


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({}, "'name' is required"),
        ({"name": ""}, "'name' is required"),
        ({"name": 42}, "'name' is required"),
        ({"name": "has space"}, "is not valid"),
        ({"name": "ada", "region": "atlantis"}, "not a region with Custom Vision"),
        ({"name": "ada", "tier": "gold"}, "Unknown field(s): tier"),
        ([1, 2], "JSON object"),
    ],
)
def test_bad_attendee_requests_are_400_with_a_reason(sim, body, fragment):
    resp = admin(sim, "POST", "/attendees", json=body)
    assert resp.status_code == 400
    assert fragment in resp.json()["error"]["message"]


def test_state_lists_the_world_without_secrets(sim, attendee):
    clients = Arm(attendee)
    name = unique("seen")
    try:
        clients.create(name, sku="S0")
        keys = clients.cs.accounts.list_keys(clients.rg, name)
    finally:
        clients.close()
    resp = admin(sim, "GET", "/state")
    assert resp.status_code == 200
    state = resp.json()
    assert attendee["subscription_id"] in {s["subscription_id"] for s in state["subscriptions"]}
    assert name in {a["name"] for a in state["accounts"]}
    for secret in (attendee["client_secret"], keys.key1, keys.key2):
        assert secret not in resp.text


def test_fault_rules_round_trip(sim):
    bad = admin(sim, "POST", "/faults", json={"operation": "Accounts_Get"})
    assert bad.status_code == 400 and "one effect" in bad.json()["error"]["message"]
    rule = {"operation": "Accounts_Get", "account": "x", "status": 503, "count": 2}
    first = admin(sim, "POST", "/faults", json=rule).json()["id"]
    second = admin(sim, "POST", "/faults", json={"operation": "*", "latency_ms": 10}).json()["id"]
    listed = admin(sim, "GET", "/faults").json()["value"]
    assert [r["id"] for r in listed] == [first, second]
    assert listed[0]["status"] == 503 and listed[0]["count"] == 2
    assert admin(sim, "DELETE", f"/faults/{first}").status_code == 204
    assert admin(sim, "DELETE", f"/faults/{first}").status_code == 404
    assert [r["id"] for r in admin(sim, "GET", "/faults").json()["value"]] == [second]
    assert admin(sim, "DELETE", "/faults").status_code == 204
    assert admin(sim, "GET", "/faults").json()["value"] == []


def test_call_log_counts_by_operation_and_account(sim, attendee):
    clients = Arm(attendee)
    name = unique("counted")
    try:
        clients.create(name, sku="S0")
        for _ in range(3):
            clients.cs.accounts.get(clients.rg, name)
    finally:
        clients.close()
    resp = admin(sim, "GET", "/calls", params={"account": name})
    rows = {r["operation"]: r["count"] for r in resp.json()["value"]}
    # The create is a long-running operation: its poller ends with one GET of the account.
    assert rows == {"Accounts_Create": 1, "Accounts_Get": 1 + 3}
    assert resp.json()["total"] == 5


def test_reset_forgets_everything():
    with Simulator() as own:
        creds = own.create_attendee("temp")
        own.faults.add({"operation": "*", "latency_ms": 1})
        assert admin(own, "POST", "/reset").status_code == 204
        assert own.state.subscription(creds["subscription_id"]) is None
        assert admin(own, "GET", "/state").json()["tenants"] == []
        assert own.faults.list() == []


def test_non_loopback_callers_are_refused(sim):
    client = sim.app.test_client()
    far = client.get("/_sim/state", environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert far.status_code == 403
    assert "loopback" in far.get_json()["error"]["message"]
    near = client.get("/_sim/state", environ_base={"REMOTE_ADDR": "::1"})
    assert near.status_code == 200


def test_each_attendee_gets_a_deployment_id_of_their_own(sim, monkeypatch):
    """The DeploymentID (the subscription id's first six characters) names the student's Custom Vision resource
    and its subdomain, unique across Azure: a random subscription id sharing them with an earlier attendee's
    (one pair in 16.7 million) is drawn again rather than handed out."""
    first = sim.create_attendee(f"deploy-{unique('a')}")
    real, clashing = uuid.uuid4, iter(range(20))

    def uuid4() -> uuid.UUID:  # the next 20 ids begin with the first attendee's six characters
        n = next(clashing, None)
        return real() if n is None else uuid.UUID(first["subscription_id"][:6] + f"{n:02x}" + real().hex[8:])

    monkeypatch.setattr("azuresim.state.uuid", SimpleNamespace(uuid4=uuid4))
    second = sim.create_attendee(f"deploy-{unique('b')}")
    monkeypatch.undo()
    assert second["injects"]["DeploymentID"] != first["injects"]["DeploymentID"]
    assert next(clashing, None) is None, "the simulator drew fewer than 20 ids: the clash was not tried"
    Student(first).do("1")
    Student(second).do("1")  # its Custom Vision subdomain is free
