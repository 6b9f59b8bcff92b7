"""ARM as Azure runs it for Cognitive Services accounts: long-running operations, endpoints, soft delete."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
import requests
from azure.core.exceptions import HttpResponseError
from azure.mgmt.cognitiveservices.models import Account, AccountProperties

from .test_arm import API, Arm, raw, unique

TERMINAL = ("Succeeded", "Failed", "Canceled")


@pytest.fixture
def arm(attendee):
    clients = Arm(attendee)
    yield clients
    clients.close()


def slow_provisioning(sim) -> Callable[[], None]:
    """Operations begun from now on run for a minute, until the function returned ends them: what a test checks
    while one runs cannot race its end on a loaded machine (as with a second of it). The sim fixture restores
    the tests' timing afterwards."""
    sim.provisioning_seconds = 60

    def end_now() -> None:
        with sim.state.lock:
            for op in sim.state.operations.values():
                op.done_at = min(op.done_at, time.time())

    return end_now


def _path(creds: dict, name: str) -> str:
    return (f"/subscriptions/{creds['subscription_id']}/resourceGroups/{creds['resource_group']}/providers/"
            f"Microsoft.CognitiveServices/accounts/{name}?api-version={API}")


def _poll(creds: dict, url: str, token: str, end: Callable[[], None]) -> list[dict]:
    """Every status answer of an Azure-AsyncOperation URL until it is terminal; ``end`` ends the operation
    after the first answer."""
    seen = []
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        resp = requests.get(url, headers={"Authorization": f"Bearer {token}"}, verify=creds["ca_bundle"], timeout=10)
        assert resp.status_code == 200, resp.text
        seen.append(resp.json())
        if seen[-1]["status"] in TERMINAL:
            return seen
        assert float(resp.headers["Retry-After"]) > 0
        end()
        time.sleep(0.1)
    raise AssertionError(f"operation did not end: {seen[-1]}")


def test_create_is_a_long_running_operation(arm, attendee, sim):
    name = unique("lro")
    end = slow_provisioning(sim)
    body = {"kind": "CustomVision.Training", "sku": {"name": "S0"}, "location": "eastus",
            "properties": {"customSubDomainName": name}}
    first = raw(attendee, "PUT", _path(attendee, name), arm.token(), json=body)
    assert first.status_code == 201
    assert first.json()["properties"]["provisioningState"] == "Creating"
    assert float(first.headers["Retry-After"]) > 0
    # While it deploys: no second change, and no data plane yet.
    again = raw(attendee, "PUT", _path(attendee, name), arm.token(), json=body)
    assert (again.status_code, again.json()["error"]["code"]) == (409, "RequestConflict")
    key = arm.cs.accounts.list_keys(arm.rg, name).key1
    endpoint = first.json()["properties"]["endpoint"]
    domains = f"{endpoint}customvision/v3.3/training/domains"
    assert requests.get(domains, headers={"Training-Key": key}, verify=attendee["ca_bundle"],
                        timeout=10).status_code == 401
    statuses = _poll(attendee, first.headers["Azure-AsyncOperation"], arm.token(), end)
    assert statuses[0]["status"] == "Creating" and statuses[-1]["status"] == "Succeeded"
    assert statuses[-1]["name"] and statuses[-1]["startTime"] <= statuses[-1]["endTime"]
    assert arm.cs.accounts.get(arm.rg, name).properties.provisioning_state == "Succeeded"
    assert requests.get(domains, headers={"Training-Key": key}, verify=attendee["ca_bundle"],
                        timeout=10).status_code == 200


def test_a_provisioning_failure_ends_failed(arm, sim):
    sim.faults.add({"operation": "Accounts_Create", "fail_provisioning": True, "count": 1})
    name = unique("fails")
    with pytest.raises(HttpResponseError, match="ResourceProvisioningFailed"):
        arm.create(name, sku="S0")
    assert arm.cs.accounts.get(arm.rg, name).properties.provisioning_state == "Failed"
    # Putting it again retries the deployment, as on Azure.
    assert arm.create(name, sku="S0").properties.provisioning_state == "Succeeded"


def test_delete_is_long_running_and_soft_deletes(arm, attendee, sim):
    name = unique("gone")
    arm.create(name, sku="S0")
    end = slow_provisioning(sim)
    resp = raw(attendee, "DELETE", _path(attendee, name), arm.token())
    assert resp.status_code == 202 and "Location" in resp.headers
    assert arm.cs.accounts.get(arm.rg, name).properties.provisioning_state == "Deleting"
    _poll(attendee, resp.headers["Azure-AsyncOperation"], arm.token(), end)
    done = requests.get(resp.headers["Location"], headers={"Authorization": f"Bearer {arm.token()}"},
                        verify=attendee["ca_bundle"], timeout=10)
    assert done.status_code == 204
    assert name not in [a.name for a in arm.cs.accounts.list_by_resource_group(arm.rg)]
    deleted = arm.cs.deleted_accounts.get(attendee["region"], arm.rg, name)
    assert deleted.id.endswith(f"/locations/eastus/resourceGroups/{arm.rg}/deletedAccounts/{name}")
    assert deleted.properties.deletion_date and deleted.properties.scheduled_purge_date
    assert name in [a.name for a in arm.cs.deleted_accounts.list()]


def test_a_soft_deleted_name_needs_restore_or_purge(arm, attendee):
    name = unique("again")
    made = arm.create(name, sku="S0", properties=AccountProperties(custom_sub_domain_name=name))
    key = arm.cs.accounts.list_keys(arm.rg, name).key1
    arm.cs.accounts.begin_delete(arm.rg, name, polling_interval=0).result()
    with pytest.raises(HttpResponseError) as refused:
        arm.create(name, sku="S0")
    assert refused.value.status_code == 409 and refused.value.error.code == "FlagMustBeSetForRestore"
    assert "has been soft-deleted" in refused.value.error.message
    restored = arm.create(name, sku="S0", properties=AccountProperties(restore=True))
    assert restored.properties.endpoint == made.properties.endpoint  # its subdomain came back with it
    assert arm.cs.accounts.list_keys(arm.rg, name).key1 == key
    arm.cs.accounts.begin_delete(arm.rg, name, polling_interval=0).result()
    arm.cs.deleted_accounts.begin_purge(attendee["region"], arm.rg, name, polling_interval=0).result()
    assert arm.create(name, sku="S0").name == name  # purged: the name is free again
    assert arm.cs.accounts.list_keys(arm.rg, name).key1 != key


def test_a_soft_deleted_free_account_still_holds_the_free_slot(arm, attendee):
    first, second = unique("free"), unique("free")
    arm.create(first, sku="F0")
    arm.cs.accounts.begin_delete(arm.rg, first, polling_interval=0).result()
    with pytest.raises(HttpResponseError) as refused:
        arm.create(second, sku="F0")
    assert refused.value.error.code == "CanNotCreateMultipleFreeAccounts"
    arm.cs.deleted_accounts.begin_purge(attendee["region"], arm.rg, first, polling_interval=0).result()
    assert arm.create(second, sku="F0").sku.name == "F0"


def test_soft_deleted_accounts_are_purged_after_48_hours(arm, attendee, sim):
    name = unique("old")
    arm.create(name, sku="S0")
    arm.cs.accounts.begin_delete(arm.rg, name, polling_interval=0).result()
    sim.state.settle(time.time() + 48 * 3600 + 1)
    assert name not in [a.name for a in arm.cs.deleted_accounts.list()]
    assert arm.create(name, sku="S0").name == name


def test_a_custom_subdomain_stays_taken_while_its_account_is_soft_deleted(arm, sim):
    name = unique("held")
    arm.create(name, sku="S0", properties=AccountProperties(custom_sub_domain_name=name))
    arm.cs.accounts.begin_delete(arm.rg, name, polling_interval=0).result()
    other = Arm(sim.create_attendee("other"))
    try:
        with pytest.raises(HttpResponseError) as refused:
            other.create(unique("mine"), sku="S0", properties=AccountProperties(custom_sub_domain_name=name))
        assert refused.value.error.code == "CustomDomainInUse"
    finally:
        other.close()


def test_the_regional_endpoint_is_shared_and_the_key_picks_the_account(arm, sim):
    a, b = unique("shared"), unique("shared")
    first = arm.create(a, sku="S0")
    second = arm.create(b, sku="S0")
    assert first.properties.endpoint == second.properties.endpoint == f"{sim.base_url}/cv/eastus.api/"
    assert first.properties.custom_sub_domain_name is None
    url = f"{first.properties.endpoint}customvision/v3.4-preview/training/projects"
    for name in (a, b):
        key = arm.cs.accounts.list_keys(arm.rg, name).key1
        made = requests.post(url, params={"name": f"p-{name}"}, headers={"Training-Key": key}, json={},
                             verify=arm.ca, timeout=10)
        assert made.status_code == 200, made.text
        listed = requests.get(url, headers={"Training-Key": key}, verify=arm.ca, timeout=10).json()
        assert [p["name"] for p in listed] == [f"p-{name}"]  # each key sees its own account only
    assert requests.get(url, headers={"Training-Key": "0" * 32}, verify=arm.ca, timeout=10).status_code == 401
    # Another region's shared endpoint does not answer for this account.
    elsewhere = url.replace("/cv/eastus.api/", "/cv/westeurope.api/")
    assert requests.get(elsewhere, headers={"Training-Key": key}, verify=arm.ca, timeout=10).status_code == 401


def test_a_subdomain_can_be_added_later_but_not_changed(arm):
    name = unique("later")
    arm.create(name, sku="S0")
    updated = arm.cs.accounts.begin_update(
        arm.rg, name, Account(properties=AccountProperties(custom_sub_domain_name=name)), polling_interval=0
    ).result()
    assert updated.properties.endpoint.endswith(f"/cv/{name.lower()}/")
    with pytest.raises(HttpResponseError) as refused:
        arm.cs.accounts.begin_update(arm.rg, name, Account(properties=AccountProperties(
            custom_sub_domain_name=f"{name}-x")), polling_interval=0).result()
    assert refused.value.status_code == 400
    assert arm.cs.accounts.get(arm.rg, name).properties.custom_sub_domain_name == name
