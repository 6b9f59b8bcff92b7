"""ARM around the accounts (azuresim.arm_meta) and ARM's api-version rules (azuresim.apiversions).

Through the official SDKs where one covers the call (azure-mgmt-cognitiveservices for SKUs, usages and
the availability checks; azure-mgmt-resource for generic resources), with plain HTTPS otherwise (cloud
metadata, subscriptions, tenants and locations: azure-mgmt-resource 26 no longer ships SubscriptionClient).
Cognitive Services answers are validated against the 2021-04-30 and 2025-09-01 swagger.
"""

from __future__ import annotations

import re
import uuid

import pytest
import requests
from azure.core.exceptions import HttpResponseError
from azure.identity import ClientSecretCredential
from azure.mgmt.cognitiveservices import CognitiveServicesManagementClient
from azure.mgmt.cognitiveservices.models import Account, AccountProperties, Sku
from azure.mgmt.resource.resources import ResourceManagementClient

from azuresim import apiversions
from azuresim.errors import ArmError
from azuresim.state import REGIONS

from .swagger import ARM_2021, ARM_2025, SimSession, load_spec, undeclared_fields, validate_response

ACCOUNTS = "Microsoft.CognitiveServices/accounts"


class Clients:
    """An attendee's token and SDK clients."""

    def __init__(self, creds: dict) -> None:
        self.creds = creds
        self.cred = ClientSecretCredential(creds["tenant_id"], creds["client_id"], creds["client_secret"],
                                           authority=creds["authority_host"], disable_instance_discovery=True,
                                           connection_verify=creds["ca_bundle"])
        common = dict(base_url=creds["arm_endpoint"], credential_scopes=[creds["credential_scope"]],
                      connection_verify=creds["ca_bundle"], retry_total=0)
        self.cs = CognitiveServicesManagementClient(self.cred, creds["subscription_id"], **common)
        self.rm = ResourceManagementClient(self.cred, creds["subscription_id"], **common)

    def token(self) -> str:
        return self.cred.get_token(self.creds["credential_scope"]).token

    def get(self, path: str, api_version: str | None = None, token: str | None = "", method: str = "GET", **kw):
        """Raw HTTPS to the simulator; ``token=""`` sends the attendee's, ``None`` none at all."""
        headers = {} if token is None else {"Authorization": f"Bearer {token or self.token()}"}
        params = kw.pop("params", {})
        if api_version:
            params["api-version"] = api_version
        return requests.request(method, self.creds["arm_endpoint"] + path, headers=headers, params=params,
                                verify=self.creds["ca_bundle"], timeout=10, **kw)

    def create(self, name: str, kind: str, sku: str, subdomain: str | None = None) -> dict:
        props = AccountProperties(custom_sub_domain_name=subdomain) if subdomain else None
        body = Account(kind=kind, sku=Sku(name=sku), location=self.creds["region"], properties=props)
        return self.cs.accounts.begin_create(self.creds["resource_group"], name, body, polling_interval=0).result()

    def close(self) -> None:
        self.cs.close()
        self.rm.close()
        self.cred.close()


@pytest.fixture
def clients(attendee):
    c = Clients(attendee)
    yield c
    c.close()


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _error(resp) -> tuple[int, str]:
    return resp.status_code, resp.json()["error"]["code"]


# -- cloud metadata ------------------------------------------------------------------------------------------
def test_metadata_endpoints_describe_the_simulator_without_authentication(sim, attendee):
    base = sim.base_url
    resp = requests.get(f"{base}/metadata/endpoints", params={"api-version": "2022-09-01"},
                        verify=attendee["ca_bundle"], timeout=10)
    assert resp.status_code == 200
    cloud = resp.json()
    assert cloud["resourceManager"] == f"{base}/"
    assert cloud["authentication"]["loginEndpoint"] == f"{base}/"
    assert cloud["authentication"]["audiences"][0] + "/.default" == sim.info["credential_scope"]
    assert (cloud["authentication"]["tenant"], cloud["authentication"]["identityProvider"]) == ("common", "AAD")
    urls = [v for k, v in cloud.items() if isinstance(v, str) and k != "name"]
    assert urls and all(u.startswith(base) for u in urls), "every endpoint must be the simulator's own"
    # What 'az cloud register' reads through the login endpoint: the tenant's OpenID configuration.
    oidc = requests.get(f"{cloud['authentication']['loginEndpoint']}{attendee['tenant_id']}/v2.0/"
                        ".well-known/openid-configuration", verify=attendee["ca_bundle"], timeout=10)
    assert oidc.json()["token_endpoint"].startswith(base)


@pytest.mark.parametrize(("version", "shape"), [("2019-05-01", list), ("2020-06-01", list), ("2015-01-01", dict)])
def test_metadata_endpoints_older_shapes(sim, attendee, version, shape):
    body = requests.get(f"{sim.base_url}/metadata/endpoints", params={"api-version": version},
                        verify=attendee["ca_bundle"], timeout=10).json()
    assert isinstance(body, shape)
    if shape is list:
        assert [c["resourceManager"] for c in body] == [f"{sim.base_url}/"]
    else:
        assert body["authentication"]["loginEndpoint"] == f"{sim.base_url}/"


@pytest.mark.parametrize(("query", "code"), [({}, "MissingApiVersionParameter"),
                                             ({"api-version": "latest"}, "InvalidApiVersionParameter"),
                                             ({"api-version": "2031-01-01"}, "InvalidApiVersionParameter")])
def test_metadata_endpoints_api_version_errors(sim, attendee, query, code):
    resp = requests.get(f"{sim.base_url}/metadata/endpoints", params=query, verify=attendee["ca_bundle"], timeout=10)
    assert _error(resp) == (400, code)


# -- subscriptions, tenants, locations ------------------------------------------------------------------------
def test_subscriptions_list_shows_only_the_callers(clients, sim):
    sim.create_attendee("someone-else")
    creds = clients.creds
    resp = clients.get("/subscriptions", "2022-12-01")
    assert resp.status_code == 200
    (sub,) = resp.json()["value"]
    assert sub == {
        "id": f"/subscriptions/{creds['subscription_id']}",
        "authorizationSource": "RoleBased",
        "managedByTenants": [],
        "subscriptionId": creds["subscription_id"],
        "tenantId": creds["tenant_id"],
        "displayName": sub["displayName"],
        "state": "Enabled",
        "subscriptionPolicies": {"locationPlacementId": "Public_2014-09-01", "quotaId": "PayAsYouGo_2014-09-01",
                                 "spendingLimit": "Off"},
    }
    assert clients.get(f"/subscriptions/{creds['subscription_id']}", "2022-12-01").json() == sub


def test_subscriptions_get_errors(clients, sim):
    other = sim.create_attendee("stranger")["subscription_id"]
    assert _error(clients.get(f"/subscriptions/{other}", "2022-12-01")) == (403, "AuthorizationFailed")
    assert _error(clients.get(f"/subscriptions/{uuid.uuid4()}", "2022-12-01")) == (404, "SubscriptionNotFound")
    assert _error(clients.get("/subscriptions", "2022-12-01", token=None)) == (401, "AuthenticationFailed")
    assert _error(clients.get("/subscriptions", "2022-12-01", token="nope")) == (401, "InvalidAuthenticationToken")
    assert _error(clients.get("/subscriptions")) == (400, "MissingApiVersionParameter")


def test_tenants_and_locations(clients):
    (tenant,) = clients.get("/tenants", "2022-12-01").json()["value"]
    assert (tenant["tenantId"], tenant["tenantCategory"]) == (clients.creds["tenant_id"], "Home")
    locations = clients.get(f"/subscriptions/{clients.creds['subscription_id']}/locations", "2022-12-01").json()
    assert [loc["name"] for loc in locations["value"]] == list(REGIONS)
    east = next(loc for loc in locations["value"] if loc["name"] == "eastus")
    assert (east["displayName"], east["regionalDisplayName"]) == ("East US", "(US) East US")


# -- generic resources -------------------------------------------------------------------------------------------
def test_resources_list_through_the_sdk(clients, sim, monkeypatch):
    train, pred = _name("res-train"), _name("res-pred")
    clients.create(train, "CustomVision.Training", "S0")
    clients.create(pred, "CustomVision.Prediction", "S0")
    monkeypatch.setattr(sim, "arm_page_size", 1)  # nextLinks must keep the $filter
    found = list(clients.rm.resources.list(filter=f"resourceType eq '{ACCOUNTS}'"))
    assert sorted(r.name for r in found) == sorted([train, pred])
    one = next(r for r in found if r.name == train)
    assert (one.type, one.kind, one.location, one.sku.name, one.sku.tier) == (
        ACCOUNTS, "CustomVision.Training", clients.creds["region"], "S0", "Standard")
    assert one.id.endswith(f"/resourceGroups/{clients.creds['resource_group']}/providers/{ACCOUNTS}/{train}")
    assert list(clients.rm.resources.list(filter="resourceType eq 'Microsoft.Storage/storageAccounts'")) == []
    assert [r.name for r in clients.rm.resources.list(filter=f"name eq '{pred.upper()}'")] == [pred]
    by_rg = clients.rm.resources.list_by_resource_group(clients.creds["resource_group"], expand="provisioningState")
    assert {r.name: r.provisioning_state for r in by_rg} == {train: "Succeeded", pred: "Succeeded"}
    with pytest.raises(HttpResponseError) as info:
        list(clients.rm.resources.list(filter="tagName eq 'x' or bogus"))
    assert (info.value.status_code, info.value.error.code) == (400, "InvalidFilterInQueryString")


# -- Microsoft.CognitiveServices reads through the SDK ----------------------------------------------------------
def test_skus_through_the_sdk(clients):
    skus = list(clients.cs.resource_skus.list())
    training = {(s.name, s.tier) for s in skus if s.kind == "CustomVision.Training" and s.locations == ["EASTUS"]}
    assert training == {("F0", "Free"), ("S0", "Standard")}
    assert all(s.resource_type == "accounts" and s.restrictions == [] for s in skus)
    name = _name("skus")
    clients.create(name, "CustomVision.Prediction", "S0")
    account_skus = clients.cs.accounts.list_skus(clients.creds["resource_group"], name).value
    assert [(s.resource_type, s.sku.name, s.sku.tier) for s in account_skus] == [
        (ACCOUNTS, "F0", "Free"), (ACCOUNTS, "S0", "Standard")]


def test_usages_through_the_sdk(clients):
    name = _name("usage")
    clients.create(name, "CustomVision.Training", "F0")
    region = clients.creds["region"]
    usages = {u.name.value: u for u in clients.cs.usages.list(region)}
    assert usages["AccountCount"].current_value == 1
    assert usages["FreeAccounts.CustomVision.Training"].current_value == 1
    assert usages["FreeAccounts.CustomVision.Training"].status == "Blocked"  # the one Free slot is used
    only = list(clients.cs.usages.list(region, filter="name.value eq 'AccountCount'"))
    assert [u.name.value for u in only] == ["AccountCount"]
    acct = clients.cs.accounts.list_usages(clients.creds["resource_group"], name).value
    projects = next(u for u in acct if u.name.value == "CustomVision.Training.Projects")
    assert (projects.current_value, projects.limit, projects.unit) == (0, 2, "Count")
    with pytest.raises(HttpResponseError) as info:
        list(clients.cs.usages.list("atlantis"))
    assert info.value.error.code == "LocationNotAvailableForResourceType"


def test_check_domain_availability_through_the_sdk(clients, sim):
    taken = _name("domain").lower()
    clients.create(_name("dom-acct"), "CustomVision.Training", "S0", subdomain=taken)
    answer = clients.cs.check_domain_availability(subdomain_name=taken, type=ACCOUNTS)
    assert (answer.is_subdomain_available, answer.subdomain_name) == (False, taken)
    assert taken in answer.reason
    # Another attendee sees it taken too: subdomains are global.
    other = Clients(sim.create_attendee("domain-rival"))
    try:
        assert other.cs.check_domain_availability(subdomain_name=taken.upper(), type=ACCOUNTS,
                                                  kind="CustomVision.Training").is_subdomain_available is False
    finally:
        other.close()
    free = clients.cs.check_domain_availability(subdomain_name=_name("free"), type=ACCOUNTS)
    assert (free.is_subdomain_available, free.reason) == (True, None)
    bad = clients.cs.check_domain_availability(subdomain_name="-bad-", type=ACCOUNTS)
    assert bad.is_subdomain_available is False and "not valid" in bad.reason


def test_a_soft_deleted_account_keeps_its_subdomain(clients, sim):
    if not hasattr(sim.state, "deleted_accounts"):
        pytest.skip("azuresim has no soft delete yet")
    sub = _name("kept").lower()
    name = _name("deleted")
    clients.create(name, "CustomVision.Prediction", "S0", subdomain=sub)
    clients.cs.accounts.begin_delete(clients.creds["resource_group"], name, polling_interval=0).result()
    assert clients.cs.check_domain_availability(subdomain_name=sub, type=ACCOUNTS).is_subdomain_available is False


def test_check_sku_availability_through_the_sdk(clients):
    region = clients.creds["region"]
    result = clients.cs.check_sku_availability(region, skus=["F0", "S0", "P9"], kind="CustomVision.Training",
                                               type=ACCOUNTS).value
    assert [(r.sku_name, r.sku_available) for r in result] == [("F0", True), ("S0", True), ("P9", False)]
    assert result[2].reason == "SkuNotAvailable" and "P9" in result[2].message
    (unknown,) = clients.cs.check_sku_availability(region, skus=["S0"], kind="NoSuchKind", type=ACCOUNTS).value
    assert unknown.sku_available is False


# -- conformance: the spec's schemas -----------------------------------------------------------------------------
CONFORMING = ["ResourceSkus_List", "Accounts_ListSkus", "Usages_List", "Accounts_ListUsages",
              "CheckDomainAvailability", "CheckSkuAvailability"]


@pytest.mark.parametrize("spec_rel", [ARM_2021, ARM_2025], ids=["2021-04-30", "2025-09-01"])
def test_answers_conform_to_the_spec(attendee, shared_dir, spec_rel):
    spec = load_spec(shared_dir / spec_rel)
    version = spec.doc["info"]["version"]
    s = SimSession(attendee)
    try:
        name = _name("conf")
        s.create_account(name, "CustomVision.Training", "S0", version)
        sub = f"/subscriptions/{attendee['subscription_id']}/providers/Microsoft.CognitiveServices"
        region = attendee["region"]
        calls = {
            "ResourceSkus_List": [s.arm("GET", f"{sub}/skus", version)],
            "Accounts_ListSkus": [s.arm("GET", s.account_path(name) + "/skus", version),
                                  s.arm("GET", s.account_path("missing") + "/skus", version)],
            "Usages_List": [s.arm("GET", f"{sub}/locations/{region}/usages", version),
                            s.arm("GET", f"{sub}/locations/atlantis/usages", version)],
            "Accounts_ListUsages": [s.arm("GET", s.account_path(name) + "/usages", version)],
            "CheckDomainAvailability": [
                s.arm("POST", f"{sub}/checkDomainAvailability", version,
                      json={"subdomainName": name.lower(), "type": ACCOUNTS}),
                s.arm("POST", f"{sub}/checkDomainAvailability", version, json={"type": ACCOUNTS})],
            "CheckSkuAvailability": [
                s.arm("POST", f"{sub}/locations/{region}/checkSkuAvailability", version,
                      json={"skus": ["F0", "X1"], "kind": "CustomVision.Training", "type": ACCOUNTS})],
        }
    finally:
        s.close()
    for op, responses in calls.items():
        if op not in spec.operations:  # Usages_List came after 2021-04-30
            continue
        assert any(r.status_code == 200 for r in responses), op
        for r in responses:
            body = r.json()
            validate_response(spec, op, r.status_code, body)
            assert not undeclared_fields(spec, op, r.status_code, body), (op, undeclared_fields(spec, op, 200, body))


# -- api-versions ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("ns", "rtype", "versions"), [
    ("Microsoft.CognitiveServices", "accounts",
     ["2017-04-18", "2021-04-30", "2021-10-01", "2022-03-01", "2022-10-01", "2022-12-01", "2023-05-01",
      "2023-10-01-preview", "2024-10-01", "2025-06-01", "2025-09-01", "2026-05-15-preview"]),
    ("Microsoft.CognitiveServices", "locations/usages", ["2025-09-01", "2026-05-15-preview"]),
    ("Microsoft.Resources", "resourceGroups", ["2024-11-01", "2025-04-01"]),
    ("Microsoft.Resources", "resources", ["2024-11-01", "2025-04-01"]),
    ("Microsoft.Resources", "subscriptions", ["2016-06-01", "2022-12-01"]),
    ("Microsoft.Resources", "metadata/endpoints", ["2019-05-01", "2022-09-01"]),
])
def test_supported_versions_include_what_clients_send(ns, rtype, versions):
    for v in versions:
        assert apiversions.check(v, ns, rtype) == v


def test_an_unsupported_provider_version_is_no_registered_provider_found():
    with pytest.raises(ArmError) as info:
        apiversions.check("2019-01-01", "Microsoft.CognitiveServices", "accounts", "eastus", REGIONS)
    err = info.value
    assert (err.status, err.code) == (400, "NoRegisteredProviderFound")
    m = re.fullmatch(r"No registered resource provider found for location 'eastus' and API version '2019-01-01' "
                     r"for type 'accounts'\. The supported api-versions are '([^']+)'\. "
                     r"The supported locations are '([^']+)'\.", err.message)
    assert m, err.message
    assert "2025-09-01" in m.group(1).split(", ")
    assert m.group(2).split(", ") == list(REGIONS)


@pytest.mark.parametrize(("version", "code"), [(None, "MissingApiVersionParameter"),
                                               ("", "MissingApiVersionParameter"),
                                               ("2025-9-1", "InvalidApiVersionParameter"),
                                               ("2031-01-01", "InvalidApiVersionParameter")])
def test_arms_own_types_refuse_with_invalid_api_version(version, code):
    with pytest.raises(ArmError) as info:
        apiversions.check(version, "Microsoft.Resources", "resourceGroups")
    assert (info.value.status, info.value.code) == (400, code)
    if version == "2031-01-01":
        assert "The supported versions are '2025-" in info.value.message


@pytest.mark.parametrize(("path", "expected"), [
    ("/subscriptions", ("Microsoft.Resources", "subscriptions")),
    ("/subscriptions/s", ("Microsoft.Resources", "subscriptions")),
    ("/subscriptions/s/resourcegroups/rg", ("Microsoft.Resources", "resourceGroups")),
    ("/subscriptions/s/resourceGroups/rg/resources", ("Microsoft.Resources", "resources")),
    ("/subscriptions/s/resources", ("Microsoft.Resources", "resources")),
    ("/tenants", ("Microsoft.Resources", "tenants")),
    ("/metadata/endpoints", ("Microsoft.Resources", "metadata/endpoints")),
    ("/subscriptions/s/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/a/listKeys",
     ("Microsoft.CognitiveServices", "accounts/listKeys")),
    ("/subscriptions/s/providers/Microsoft.CognitiveServices/locations/eastus/usages",
     ("Microsoft.CognitiveServices", "locations/usages")),
    ("/subscriptions/s/providers/Microsoft.CognitiveServices/locations/eastus/resourceGroups/rg/deletedAccounts/a",
     ("Microsoft.CognitiveServices", "locations/resourceGroups/deletedAccounts")),
])
def test_type_of_path(path, expected):
    assert apiversions.type_of_path(path) == expected


@pytest.mark.parametrize("version", ["2021-04-30", "2025-09-01", "2026-05-15-preview", "2017-04-18"])
def test_account_calls_accept_every_listed_version(clients, version):
    path = f"/subscriptions/{clients.creds['subscription_id']}/providers/{ACCOUNTS}"
    assert clients.get(path, version).status_code == 200


def test_account_calls_refuse_an_unsupported_version(clients):
    path = (f"/subscriptions/{clients.creds['subscription_id']}/resourceGroups/{clients.creds['resource_group']}"
            f"/providers/{ACCOUNTS}/x")
    resp = clients.get(path, "2019-01-01", method="PUT",
                       json={"kind": "CustomVision.Training", "sku": {"name": "S0"}, "location": "westeurope"})
    assert _error(resp) == (400, "NoRegisteredProviderFound")
    assert ("for location 'westeurope' and API version '2019-01-01' for type 'accounts'"
            in resp.json()["error"]["message"])
    rg = f"/subscriptions/{clients.creds['subscription_id']}/resourceGroups/{clients.creds['resource_group']}"
    assert _error(clients.get(rg, "2031-01-01")) == (400, "InvalidApiVersionParameter")
    assert clients.get(rg, "2025-04-01").status_code == 200


# -- paths no route serves ---------------------------------------------------------------------------------------
def test_unknown_arm_paths_authenticate_first(clients):
    sub = f"/subscriptions/{clients.creds['subscription_id']}"
    for path in (f"{sub}/nothingHere", f"{sub}/providers/Microsoft.Foo/bars", "/providers/Microsoft.Foo/bars",
                 f"{sub}/providers/Microsoft.CognitiveServices/widgets"):
        assert _error(clients.get(path, "2025-09-01", token=None)) == (401, "AuthenticationFailed"), path
        assert _error(clients.get(path, "2025-09-01", token="nope")) == (401, "InvalidAuthenticationToken"), path


def test_unknown_arm_paths_answer_arms_routing_errors(clients, sim):
    sub = f"/subscriptions/{clients.creds['subscription_id']}"
    assert _error(clients.get(f"{sub}/providers/Microsoft.Foo/bars", "2025-09-01")) == (
        400, "InvalidResourceNamespace")
    resp = clients.get(f"{sub}/providers/Microsoft.CognitiveServices/widgets", "2025-09-01")
    assert _error(resp) == (404, "InvalidResourceType")
    assert resp.json()["error"]["message"] == ("The resource type 'widgets' could not be found in the namespace "
                                               "'Microsoft.CognitiveServices' for api version '2025-09-01'.")
    assert _error(clients.get(f"{sub}/nothingHere", "2025-09-01")) == (404, "NotFound")
    assert _error(clients.get(f"{sub}/nothingHere")) == (400, "MissingApiVersionParameter")
    assert _error(clients.get(f"/subscriptions/{uuid.uuid4()}/nothingHere", "2025-09-01")) == (
        404, "SubscriptionNotFound")
    other = sim.create_attendee("not-yours")["subscription_id"]
    assert _error(clients.get(f"/subscriptions/{other}/nothingHere", "2025-09-01")) == (403, "AuthorizationFailed")


def test_a_method_arm_does_not_serve_authenticates_first(clients):
    path = f"/subscriptions/{clients.creds['subscription_id']}/providers/Microsoft.CognitiveServices/skus"
    assert _error(clients.get(path, "2025-09-01", token=None, method="DELETE")) == (401, "AuthenticationFailed")
    assert _error(clients.get(path, "2025-09-01", method="DELETE")) == (405, "MethodNotAllowed")


def test_other_unknown_paths_keep_their_own_envelope(clients):
    resp = requests.get(f"{clients.creds['arm_endpoint']}/cv/nowhere/customvision/v3.3/training/nothing",
                        verify=clients.creds["ca_bundle"], timeout=10)
    assert resp.status_code == 404
    assert resp.json()["code"] == "NotFound"
