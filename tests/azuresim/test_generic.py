"""Generic resources of registered types (azuresim.generic), through azure-mgmt-resource and ARM's errors."""

from __future__ import annotations

import json
import uuid

import pytest
import requests
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.resource.resources.models import GenericResource, Sku

from .test_arm_meta import Clients

STORAGE = "Microsoft.Storage/storageAccounts"
VERSION = "2023-05-01"


@pytest.fixture
def storage(sim):
    """Microsoft.Storage/storageAccounts registered with two api-versions."""
    resp = requests.post(f"{sim.info['admin_url']}/resource-types", verify=sim.info["ca_bundle"], timeout=10,
                         json={"type": STORAGE, "api_versions": ["2022-09-01", VERSION]})
    assert resp.status_code == 201, resp.text
    return resp.json()


@pytest.fixture
def clients(attendee):
    c = Clients(attendee)
    yield c
    c.close()


def _id(clients, name: str, rtype: str = STORAGE) -> str:
    return (f"/subscriptions/{clients.creds['subscription_id']}/resourceGroups/{clients.creds['resource_group']}"
            f"/providers/{rtype}/{name}")


def _account(clients, https: bool = True) -> GenericResource:
    return GenericResource(location=clients.creds["region"], kind="StorageV2", sku=Sku(name="Standard_LRS"),
                           tags={"course": "az-900"}, properties={"supportsHttpsTrafficOnly": https,
                                                                  "minimumTlsVersion": "TLS1_2"})


def _name() -> str:
    return f"st{uuid.uuid4().hex[:10]}"


def test_create_is_long_running_then_get_list_delete(clients, storage, sim, monkeypatch):
    # Long enough that the GET below finds it deploying on a loaded machine too (0.5 s could pass before it);
    # the SDK's poller then sleeps the Retry-After (whole seconds) and finds it done.
    monkeypatch.setattr(sim, "provisioning_seconds", 2.0)
    name = _name()
    poller = clients.rm.resources.begin_create_or_update_by_id(
        _id(clients, name), _account(clients), api_version=VERSION, polling_interval=0.1)
    first = clients.rm.resources.get_by_id(_id(clients, name), api_version=VERSION)
    assert first.properties["provisioningState"] == "Creating"
    done = poller.result()
    assert done.properties["provisioningState"] == "Succeeded"
    got = clients.rm.resources.get_by_id(_id(clients, name), api_version=VERSION)
    assert (got.name, got.type, got.kind, got.sku.name, got.location, got.tags) == (
        name, STORAGE, "StorageV2", "Standard_LRS", clients.creds["region"], {"course": "az-900"})
    assert got.properties["supportsHttpsTrafficOnly"] is True
    assert got.id.lower() == _id(clients, name).lower()

    rg = clients.creds["resource_group"]
    listed = list(clients.rm.resources.list_by_resource_group(rg, filter=f"resourceType eq '{STORAGE}'",
                                                              expand="provisioningState"))
    assert [(r.name, r.type, r.provisioning_state) for r in listed] == [(name, STORAGE, "Succeeded")]
    # The filter keeps other types out, and Cognitive Services accounts out of a storage filter.
    assert list(clients.rm.resources.list_by_resource_group(
        rg, filter="resourceType eq 'Microsoft.Web/sites'")) == []
    # The provider's own list (case-insensitive path, as ARM).
    body = clients.get(f"/subscriptions/{clients.creds['subscription_id']}/resourcegroups/{rg}/providers/"
                       f"microsoft.storage/STORAGEACCOUNTS", VERSION).json()
    assert [r["name"] for r in body["value"]] == [name]

    clients.rm.resources.begin_delete_by_id(_id(clients, name), api_version=VERSION, polling_interval=0).result()
    with pytest.raises(ResourceNotFoundError) as info:
        clients.rm.resources.get_by_id(_id(clients, name), api_version=VERSION)
    assert info.value.error.code == "ResourceNotFound"
    assert clients.get(_id(clients, name), VERSION, method="DELETE").status_code == 204


def test_arm_errors_for_types_and_versions(clients, storage):
    name = _name()
    with pytest.raises(HttpResponseError) as info:
        clients.rm.resources.get_by_id(_id(clients, name), api_version="2019-01-01")
    assert (info.value.status_code, info.value.error.code) == (400, "NoRegisteredProviderFound")
    assert "2022-09-01, 2023-05-01" in info.value.error.message
    assert "storageAccounts" in info.value.error.message
    with pytest.raises(HttpResponseError) as info:
        clients.rm.resources.get_by_id(_id(clients, name, "Microsoft.Storage/blobThings"), api_version=VERSION)
    assert (info.value.status_code, info.value.error.code) == (404, "InvalidResourceType")
    with pytest.raises(HttpResponseError) as info:
        clients.rm.resources.get_by_id(_id(clients, name, "Contoso.Nothing/things"), api_version=VERSION)
    assert (info.value.status_code, info.value.error.code) == (400, "InvalidResourceNamespace")
    resp = clients.get(_id(clients, name), None)
    assert (resp.status_code, resp.json()["error"]["code"]) == (400, "MissingApiVersionParameter")
    resp = clients.get(_id(clients, name), "latest")  # not a version at all
    assert (resp.status_code, resp.json()["error"]["code"]) == (400, "InvalidApiVersionParameter")
    assert "'2023-05-01,2022-09-01'" in resp.json()["error"]["message"]
    resp = clients.get(_id(clients, name), VERSION, token="not-a-token")
    assert resp.status_code == 401
    # A create without a location, and one in a location the type is not offered in.
    resp = clients.get(_id(clients, name), VERSION, method="PUT", json={"kind": "StorageV2"})
    assert (resp.status_code, resp.json()["error"]["code"]) == (400, "LocationRequired")
    resp = clients.get(_id(clients, name), VERSION, method="PUT", json={"location": "mars"})
    assert (resp.status_code, resp.json()["error"]["code"]) == (400, "LocationNotAvailableForResourceType")


def test_moving_an_existing_resource_is_refused(clients, storage):
    name = _name()
    clients.rm.resources.begin_create_or_update_by_id(
        _id(clients, name), _account(clients), api_version=VERSION, polling_interval=0).result()
    other = "westus" if clients.creds["region"] != "westus" else "eastus"
    resp = clients.get(_id(clients, name), VERSION, method="PUT", json={"location": other})
    assert (resp.status_code, resp.json()["error"]["code"]) == (409, "InvalidResourceLocation")
    # A replacement changes the definition (and answers 200).
    resp = clients.get(_id(clients, name), VERSION, method="PUT",
                       json={"location": clients.creds["region"], "properties": {"supportsHttpsTrafficOnly": False}})
    assert resp.status_code == 200
    assert resp.json()["properties"]["supportsHttpsTrafficOnly"] is False


def test_reading_needs_the_types_read_action(sim, storage):
    """A grader holding a custom role without Microsoft.Storage reads is refused with the action named."""
    role = {"Name": f"cv-only-{uuid.uuid4().hex[:6]}", "Actions": ["Microsoft.CognitiveServices/*/read",
                                                                    "Microsoft.Resources/*/read"]}
    creds = sim.create_attendee("generic-rbac", grader_role=role, grader_scope="resource_group")
    student = Clients(creds | creds["student"])
    grader = Clients(creds)
    try:
        name = _name()
        student.rm.resources.begin_create_or_update_by_id(
            _id(student, name), _account(student), api_version=VERSION, polling_interval=0).result()
        with pytest.raises(HttpResponseError) as info:
            grader.rm.resources.get_by_id(_id(grader, name), api_version=VERSION)
        assert (info.value.status_code, info.value.error.code) == (403, "AuthorizationFailed")
        assert f"'{STORAGE}/read'" in info.value.error.message
        # The generic list answers only what the caller may read: the storage account is left out.
        assert list(grader.rm.resources.list_by_resource_group(creds["resource_group"])) == []
        assert [r.name for r in student.rm.resources.list_by_resource_group(creds["resource_group"])] == [name]
    finally:
        student.close()
        grader.close()


def test_admin_creates_a_resource_for_an_attendee(sim, storage, clients):
    admin, ca = sim.info["admin_url"], sim.info["ca_bundle"]
    name = _name()
    resp = requests.post(f"{admin}/resources", verify=ca, timeout=10, json={
        "subscription_id": clients.creds["subscription_id"], "resource_group": clients.creds["resource_group"],
        "type": STORAGE, "name": name, "kind": "StorageV2", "properties": {"supportsHttpsTrafficOnly": False}})
    assert resp.status_code == 201, resp.text
    got = clients.rm.resources.get_by_id(_id(clients, name), api_version=VERSION)
    assert (got.kind, got.location, got.properties["provisioningState"]) == (
        "StorageV2", clients.creds["region"], "Succeeded")
    bad = requests.post(f"{admin}/resources", verify=ca, timeout=10, json={
        "subscription_id": clients.creds["subscription_id"], "resource_group": clients.creds["resource_group"],
        "type": "Microsoft.Web/sites", "name": "x"})
    assert bad.status_code == 400 and "not registered" in bad.json()["error"]["message"]
    refused = requests.post(f"{admin}/resource-types", verify=ca, timeout=10,
                            json={"type": "Microsoft.CognitiveServices/things", "api_versions": ["2024-01-01"]})
    assert refused.status_code == 400 and "served by azuresim itself" in refused.json()["error"]["message"]


def test_cli_registers_a_type_and_creates_a_resource(sim, attendee, tmp_path):
    from click.testing import CliRunner

    from azuresim.cli import sim as sim_cli

    connection = ["--admin-url", sim.info["admin_url"], "--ca-bundle", sim.info["ca_bundle"]]
    result = CliRunner().invoke(sim_cli, ["resource-type", "register", "Contoso.Widgets/gadgets",
                                          "--api-version", "2024-01-01", *connection])
    assert result.exit_code == 0, result.output
    creds = tmp_path / "creds.json"
    creds.write_text(json.dumps(attendee))
    result = CliRunner().invoke(sim_cli, ["resource", "create", "--attendee", str(creds), "Contoso.Widgets/gadgets",
                                          "g1", "--kind", "Small", "--tag", "course=az-900",
                                          "--properties", '{"size": 3}', *connection])
    assert result.exit_code == 0, result.output
    clients = Clients(attendee)
    try:
        got = clients.rm.resources.get_by_id(_id(clients, "g1", "Contoso.Widgets/gadgets"), api_version="2024-01-01")
        assert (got.kind, got.tags, got.properties["size"]) == ("Small", {"course": "az-900"}, 3)
    finally:
        clients.close()
    result = CliRunner().invoke(sim_cli, ["resource", "create", "--attendee", str(creds), "Contoso.Widgets/gadgets",
                                          "g2", "--properties", "{not json", *connection])
    assert result.exit_code == 2 and "--properties" in result.output
