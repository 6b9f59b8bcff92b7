"""ARM through the official SDKs: resource groups and Microsoft.CognitiveServices accounts."""

from __future__ import annotations

import itertools
import time

import pytest
import requests
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.identity import ClientSecretCredential
from azure.mgmt.cognitiveservices import CognitiveServicesManagementClient
from azure.mgmt.cognitiveservices.models import Account, AccountProperties, Sku
from azure.mgmt.resource.resources import ResourceManagementClient

API = "2025-09-01"
_names = itertools.count(1)


def unique(prefix: str) -> str:
    return f"{prefix}-{next(_names)}-{int(time.time() * 1000) % 100000}"


class Arm:
    """An attendee's SDK clients (credential, Cognitive Services and Resource Management)."""

    def __init__(self, creds: dict, subscription_id: str | None = None, **client_kwargs) -> None:
        self.creds, self.ca, self.rg = creds, creds["ca_bundle"], creds["resource_group"]
        self.cred = ClientSecretCredential(creds["tenant_id"], creds["client_id"], creds["client_secret"],
                                           authority=creds["authority_host"], disable_instance_discovery=True,
                                           connection_verify=self.ca)
        common = dict(base_url=creds["arm_endpoint"], credential_scopes=[creds["credential_scope"]],
                      connection_verify=self.ca, retry_backoff_factor=0.01, **client_kwargs)
        sub = subscription_id or creds["subscription_id"]
        self.cs = CognitiveServicesManagementClient(self.cred, sub, **common)
        self.rm = ResourceManagementClient(self.cred, sub, **common)

    def create(self, name: str, kind: str = "CustomVision.Training", sku: str = "F0",
               location: str | None = None, **kw):
        body = Account(kind=kind, sku=Sku(name=sku), location=location or self.creds["region"], **kw)
        return self.cs.accounts.begin_create(self.rg, name, body, polling_interval=0).result()

    def token(self) -> str:
        return self.cred.get_token(self.creds["credential_scope"]).token

    def close(self) -> None:
        self.cs.close()
        self.rm.close()
        self.cred.close()


@pytest.fixture
def arm(attendee):
    clients = Arm(attendee)
    yield clients
    clients.close()


def raw(creds: dict, method: str, path: str, token: str | None, **kw) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.request(method, creds["arm_endpoint"] + path, headers=headers, verify=creds["ca_bundle"],
                            timeout=10, **kw)


def wait_provisioned(creds: dict, path: str, token: str, timeout: float = 10) -> dict:
    """GET the account at ``path`` until its provisioning state is terminal; returns its JSON."""
    deadline = time.monotonic() + timeout
    while True:
        body = raw(creds, "GET", path, token).json()
        if body["properties"]["provisioningState"] in ("Succeeded", "Failed") or time.monotonic() > deadline:
            return body
        time.sleep(0.05)


def test_resource_group_is_read_back(arm, attendee):
    rg = arm.rm.resource_groups.get(attendee["resource_group"])
    assert rg.name == attendee["resource_group"]
    assert rg.location == attendee["region"] == "eastus"
    assert rg.properties.provisioning_state == "Succeeded"
    assert rg.id == f"/subscriptions/{attendee['subscription_id']}/resourceGroups/{rg.name}"


def test_create_training_and_prediction_accounts_and_read_them_back(arm, sim):
    name = unique("castcv")
    created = arm.create(name, "CustomVision.Training", "F0", location="East US")
    pred = arm.create(f"{name}-Prediction", "CustomVision.Prediction", "F0")
    assert created.kind == "CustomVision.Training" and pred.kind == "CustomVision.Prediction"
    got = arm.cs.accounts.get(arm.rg, name)
    assert got.location == "eastus"  # ARM answers the short name for a display name
    assert (got.sku.name, got.sku.tier) == ("F0", "Free")
    assert got.properties.provisioning_state == "Succeeded"
    assert got.properties.endpoint == sim.account_endpoint(sim.state.account(name))
    assert got.id.endswith(f"/resourceGroups/{arm.rg}/providers/Microsoft.CognitiveServices/accounts/{name}")
    assert got.system_data.created_by == arm.creds["client_id"]
    assert got.etag
    assert sim.state.account(name).cv is None  # Custom Vision data is created lazily by its own module


def test_put_answers_201_then_200_and_updates(arm, attendee):
    name = unique("putcv")
    path = (f"/subscriptions/{attendee['subscription_id']}/resourceGroups/{arm.rg}/providers/"
            f"Microsoft.CognitiveServices/accounts/{name}?api-version={API}")
    body = {"kind": "CustomVision.Training", "sku": {"name": "S0"}, "location": "eastus"}
    first = raw(attendee, "PUT", path, arm.token(), json=body)
    assert first.status_code == 201, first.text
    assert first.json()["properties"]["provisioningState"] == "Creating"
    wait_provisioned(attendee, path, arm.token())
    again = raw(attendee, "PUT", path, arm.token(), json={**body, "tags": {"lab": "spot"}})
    assert again.status_code == 200
    assert again.json()["tags"] == {"lab": "spot"}
    assert again.json()["etag"] != first.json()["etag"]


def test_list_keys_and_regenerate(arm, sim):
    name = unique("keys")
    arm.create(name, sku="S0")
    keys = arm.cs.accounts.list_keys(arm.rg, name)
    assert len(keys.key1) == 32 and keys.key1 != keys.key2
    assert sim.state.account(name).key_matches(keys.key2)
    new = arm.cs.accounts.regenerate_key(arm.rg, name, key_name="Key1")
    assert new.key1 != keys.key1 and new.key2 == keys.key2
    assert not sim.state.account(name).key_matches(keys.key1)


def test_second_free_account_of_a_kind_is_refused(arm):
    arm.create(unique("free"), "CustomVision.Training", "F0")
    with pytest.raises(HttpResponseError) as info:
        arm.create(unique("free"), "CustomVision.Training", "F0")
    assert info.value.status_code == 409
    assert info.value.error.code == "CanNotCreateMultipleFreeAccounts"
    assert "CustomVision.Training" in info.value.error.message
    # The limit is per kind, and standard accounts are not limited.
    arm.create(unique("free"), "CustomVision.Prediction", "F0")
    arm.create(unique("paid"), "CustomVision.Training", "S0")


def test_names_are_per_resource_group_and_custom_subdomains_global(arm, sim):
    name = unique("taken")
    arm.create(name, sku="S0", properties=AccountProperties(custom_sub_domain_name=name))
    other = Arm(sim.create_attendee("rival"))
    try:
        # Another resource group may use the same resource name...
        assert other.create(name.upper(), sku="S0").properties.provisioning_state == "Succeeded"
        # ...but not the same custom subdomain, which is a DNS name across all of Azure.
        with pytest.raises(HttpResponseError) as info:
            other.create(f"{name}-2", sku="S0", properties=AccountProperties(custom_sub_domain_name=name.upper()))
        assert info.value.status_code == 409
        assert info.value.error.code == "CustomDomainInUse"
    finally:
        other.close()


def test_another_attendees_subscription_is_forbidden(arm, sim):
    victim = sim.create_attendee("victim")
    snoop = Arm(arm.creds, subscription_id=victim["subscription_id"])
    try:
        with pytest.raises(HttpResponseError) as info:
            snoop.cs.accounts.list_by_resource_group(victim["resource_group"]).next()
        assert info.value.status_code == 403
        assert info.value.error.code == "AuthorizationFailed"
        assert f"The client '{arm.creds['client_id']}'" in info.value.error.message
        assert "Microsoft.CognitiveServices/accounts/read" in info.value.error.message
    finally:
        snoop.close()


def test_lists_page_with_absolute_next_links(arm, sim, monkeypatch):
    monkeypatch.setattr(sim, "arm_page_size", 2)
    names = sorted(unique("page") for _ in range(5))
    for name in names:
        arm.create(name, sku="S0")
    before = sim.call_count("Accounts_ListByResourceGroup")
    assert sorted(a.name for a in arm.cs.accounts.list_by_resource_group(arm.rg)) == names
    assert sim.call_count("Accounts_ListByResourceGroup") - before == 3  # 2 + 2 + 1
    assert sorted(a.name for a in arm.cs.accounts.list()) == names
    first = raw(arm.creds, "GET", f"/subscriptions/{arm.creds['subscription_id']}/providers/"
                f"Microsoft.CognitiveServices/accounts?api-version={API}", arm.token()).json()
    assert first["nextLink"].startswith(arm.creds["arm_endpoint"] + "/subscriptions/")
    assert "$skipToken=2" in first["nextLink"]


def test_paths_are_case_insensitive(arm):
    name = unique("Case")
    arm.create(name, sku="S0")
    sub = arm.creds["subscription_id"]
    path = (f"/SUBSCRIPTIONS/{sub.upper()}/resourcegroups/{arm.rg.lower()}/PROVIDERS/"
            f"microsoft.cognitiveservices/Accounts/{name.lower()}?api-version={API}")
    resp = raw(arm.creds, "GET", path, arm.token())
    assert resp.status_code == 200, resp.text
    assert resp.json()["name"] == name
    keys = raw(arm.creds, "POST", path.replace("?", "/LISTKEYS?"), arm.token())
    assert keys.status_code == 200 and set(keys.json()) == {"key1", "key2"}


def test_not_found_shapes(arm, sim):
    with pytest.raises(ResourceNotFoundError) as info:
        arm.cs.accounts.get(arm.rg, "no-such-account")
    assert info.value.error.code == "ResourceNotFound"
    assert "no-such-account" in info.value.error.message
    with pytest.raises(ResourceNotFoundError) as info:
        arm.rm.resource_groups.get("no-such-group")
    assert info.value.error.code == "ResourceGroupNotFound"
    ghost = Arm(arm.creds, subscription_id="00000000-0000-0000-0000-000000000000")
    try:
        with pytest.raises(ResourceNotFoundError) as info:
            ghost.rm.resource_groups.get(arm.rg)
        assert info.value.error.code == "SubscriptionNotFound"
    finally:
        ghost.close()


def test_create_validates_kind_sku_location_and_name(arm, attendee):
    def put(name: str, body: dict) -> requests.Response:
        path = (f"/subscriptions/{attendee['subscription_id']}/resourceGroups/{arm.rg}/providers/"
                f"Microsoft.CognitiveServices/accounts/{name}?api-version={API}")
        return raw(attendee, "PUT", path, arm.token(), json=body)

    good = {"kind": "CustomVision.Training", "sku": {"name": "S0"}, "location": "eastus"}
    cases = [
        (unique("v"), {**good, "location": "moon"}, 400, "LocationNotAvailableForResourceType"),
        (unique("v"), {**good, "kind": "Telepathy"}, 400, "InvalidApiSetId"),
        (unique("v"), {**good, "sku": {"name": "P9"}}, 400, "InvalidSkuId"),
        (unique("v"), {**good, "kind": "CognitiveServices", "sku": {"name": "F0"}}, 400, "InvalidSkuId"),
        ("x", good, 400, "InvalidResourceName"),
        ("-lead", good, 400, "InvalidResourceName"),
        ("a" * 65, good, 400, "InvalidResourceName"),
    ]
    for name, body, status, code in cases:
        resp = put(name, body)
        assert (resp.status_code, resp.json()["error"]["code"]) == (status, code), (name, body, resp.text)
    assert "available regions" in put(unique("v"), {**good, "location": "moon"}).json()["error"]["message"]


def test_authentication_and_api_version_errors(arm, attendee):
    path = f"/subscriptions/{attendee['subscription_id']}/resourcegroups/{arm.rg}"
    version = "2025-04-01"  # Microsoft.Resources' own api-version for resource groups
    assert raw(attendee, "GET", f"{path}?api-version={version}", arm.token()).status_code == 200
    cases = [
        (f"{path}?api-version={version}", None, 401, "AuthenticationFailed"),
        (f"{path}?api-version={version}", "not-a-token", 401, "InvalidAuthenticationToken"),
        (path, arm.token(), 400, "MissingApiVersionParameter"),
        (f"{path}?api-version=latest", arm.token(), 400, "InvalidApiVersionParameter"),
        # The Cognitive Services version is not one of Microsoft.Resources' own.
        (f"{path}?api-version={API}", arm.token(), 400, "InvalidApiVersionParameter"),
    ]
    for url, token, status, code in cases:
        resp = raw(attendee, "GET", url, token)
        assert (resp.status_code, resp.json()["error"]["code"]) == (status, code), url


def test_update_and_delete(arm):
    name = unique("upd")
    arm.create(name, sku="S0")
    updated = arm.cs.accounts.begin_update(arm.rg, name, Account(sku=Sku(name="F0"), tags={"a": "b"}),
                                           polling_interval=0).result()
    assert updated.sku.name == "F0" and updated.tags == {"a": "b"}
    arm.cs.accounts.begin_delete(arm.rg, name, polling_interval=0).result()
    with pytest.raises(ResourceNotFoundError):
        arm.cs.accounts.get(arm.rg, name)
