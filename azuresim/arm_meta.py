"""ARM around the accounts: cloud metadata, subscriptions and tenants, generic resources, and the
Microsoft.CognitiveServices read endpoints (SKUs, usages, domain and SKU availability).

What a second client such as the Azure CLI needs besides the account operations in ``azuresim.arm``:
``az cloud register`` reads ``/metadata/endpoints`` (no authentication, as on Azure), ``az login`` lists
``/subscriptions``, ``az cognitiveservices account list-skus`` / ``list-kinds`` / ``list-usage`` read the
SKU and usage lists. Every other view authenticates first, then checks the api-version (per provider and
type, see ``azuresim.apiversions``), then the subscription, in ARM's order, and answers ARM's error
envelope. :func:`not_found` and :func:`method_not_allowed` answer ARM paths no route serves.
"""

from __future__ import annotations

import re
from urllib.parse import urlencode

from flask import Blueprint, Response, jsonify, request

from . import apiversions
from .app import operation
from .arm import (
    _SUBDOMAIN,
    ACCOUNT_TYPE,
    KIND_SKUS,
    _authorize,
    _principal,
    _resource_group,
    _sim,
    _sku_json,
    authorization_failed,
    readable,
)
from .errors import ArmError, arm_error
from .rbac import resource_action
from .state import REGIONS, Account, Subscription, normalize_region, utcnow

bp = Blueprint("arm_meta", __name__)

_CS = "providers/Microsoft.CognitiveServices"
# Prediction operations a Custom Vision Prediction account counts as transactions.
_PREDICTIONS = ("ClassifyImage", "ClassifyImageWithNoStore", "ClassifyImageUrl", "ClassifyImageUrlWithNoStore")
# Free tier: 10,000 prediction transactions a month (Custom Vision "Limits and quotas").
_FREE_PREDICTIONS = 10000


def _version() -> str:
    return apiversions.check_request(request, REGIONS)


def _region(location: str, rtype: str) -> str:
    region = normalize_region(location)
    if region not in REGIONS:
        raise ArmError(
            400, "LocationNotAvailableForResourceType",
            f"The provided location '{location}' is not available for resource type '{rtype}'. "
            f"List of available regions for the resource type is '{','.join(REGIONS)}'.",
        )
    return region


def _paged(items: list[dict]) -> Response:
    """One page with an absolute ``nextLink`` that keeps the request's other query parameters."""
    size = max(1, int(_sim().arm_page_size))
    token = request.args.get("$skipToken") or request.args.get("$skiptoken") or "0"
    try:
        start = max(0, int(token))
    except ValueError:
        raise ArmError(400, "InvalidSkipToken", f"The skip token '{token}' is not valid.") from None
    top = request.args.get("$top")
    if top is not None:
        if not top.isdigit() or int(top) < 1:
            raise ArmError(400, "InvalidTopInQueryString",
                           f"The value '{top}' of '$top' in the query string is invalid: use a positive integer.")
        items = items[:int(top)]
    body: dict = {"value": items[start:start + size]}
    if start + size < len(items):
        args = {k: v for k, v in request.args.items() if k.lower() != "$skiptoken"}
        args["$skipToken"] = str(start + size)
        body["nextLink"] = f"{request.host_url.rstrip('/')}{request.path}?{urlencode(args)}"
    return jsonify(body)


# -- cloud metadata ---------------------------------------------------------------------------------------
def _cloud(base: str) -> dict:
    """The simulator as a cloud, in the 2022-09-01 shape: every endpoint is the simulator's own."""
    return {
        "name": "azuresim",
        "portal": f"{base}/_sim/",
        "authentication": {
            "loginEndpoint": f"{base}/",
            # The CLI asks for ``{audiences[0]}/.default``: the simulator's credential scope.
            "audiences": [base],
            "tenant": "common",
            "identityProvider": "AAD",
        },
        "media": f"{base}/media/",
        "graphAudience": f"{base}/graph/",
        "graph": f"{base}/graph/",
        "suffixes": {
            "azureDataLakeStoreFileSystem": "datalake.azuresim.local",
            "acrLoginServer": "azurecr.azuresim.local",
            "sqlServerHostname": "database.azuresim.local",
            "azureDataLakeAnalyticsCatalogAndJob": "analytics.azuresim.local",
            "keyVaultDns": "vault.azuresim.local",
            "storage": "storage.azuresim.local",
            "azureFrontDoorEndpointSuffix": "fd.azuresim.local",
            "storageSyncEndpointSuffix": "afs.azuresim.local",
            "mhsmDns": "managedhsm.azuresim.local",
            "mysqlServerEndpoint": "mysql.azuresim.local",
            "postgresqlServerEndpoint": "postgres.azuresim.local",
            "mariadbServerEndpoint": "mariadb.azuresim.local",
            "synapseAnalytics": "synapse.azuresim.local",
            "attestationEndpoint": "attest.azuresim.local",
        },
        "batch": f"{base}/batch/",
        "resourceManager": f"{base}/",
        "vmImageAliasDoc": f"{base}/metadata/vm-image-aliases.json",
        "activeDirectoryDataLake": f"{base}/datalake/",
        "sqlManagement": f"{base}/sql/",
        "microsoftGraphResourceId": f"{base}/graph/",
        "appInsightsResourceId": f"{base}/appinsights",
        "appInsightsTelemetryChannelResourceId": f"{base}/appinsights/v2/track",
        "attestationResourceId": f"{base}/attest",
        "synapseAnalyticsResourceId": f"{base}/synapse",
        "logAnalyticsResourceId": f"{base}/loganalytics",
        "ossrdbmsResourceId": f"{base}/ossrdbms",
    }


@bp.get("/metadata/endpoints")
@operation("MetadataEndpoints_Get")
def metadata_endpoints():
    """The cloud's endpoints, unauthenticated as on Azure (``az cloud register`` reads 2022-09-01)."""
    version = apiversions.check(request.args.get("api-version"), "Microsoft.Resources", "metadata/endpoints")
    base = request.host_url.rstrip("/")
    cloud = _cloud(base)
    if version < "2019-05-01":
        return jsonify({
            "galleryEndpoint": f"{base}/gallery/",
            "graphEndpoint": cloud["graph"],
            "portalEndpoint": cloud["portal"],
            "authentication": {"loginEndpoint": cloud["authentication"]["loginEndpoint"],
                               "audiences": cloud["authentication"]["audiences"]},
        })
    if version < "2022-09-01":
        return jsonify([cloud])  # every cloud ARM knows; this ARM knows itself
    return jsonify(cloud)


# -- subscriptions and tenants --------------------------------------------------------------------------
def subscription_json(sub: Subscription) -> dict:
    return {
        "id": f"/subscriptions/{sub.subscription_id}",
        "authorizationSource": "RoleBased",
        "managedByTenants": [],
        "subscriptionId": sub.subscription_id,
        "tenantId": sub.tenant_id,
        "displayName": sub.display_name,
        "state": "Enabled",
        "subscriptionPolicies": {
            "locationPlacementId": "Public_2014-09-01",
            "quotaId": "PayAsYouGo_2014-09-01",
            "spendingLimit": "Off",
        },
    }


@bp.get("/subscriptions")
@operation("Subscriptions_List")
def subscriptions_list():
    """The subscriptions the caller's principal has a role on."""
    principal = _principal()
    _version()
    state = _sim().state
    with state.lock:
        subs = sorted((s for s in state.subscriptions.values()
                       if state.sees_subscription(principal, s.subscription_id)),
                      key=lambda s: s.display_name.lower())
        return _paged([subscription_json(s) for s in subs])


@bp.get("/subscriptions/<subscription_id>")
@operation("Subscriptions_Get")
def subscriptions_get(subscription_id: str):
    # Any role in the subscription, also at resource-group scope, lets the caller read the subscription.
    _authorize(subscription_id, "Microsoft.Resources/subscriptions/read", f"/subscriptions/{subscription_id}",
               visible=True)
    with _sim().state.lock:
        return jsonify(subscription_json(_sim().state.subscription(subscription_id)))


# Display names and geography groups of the simulator's regions, as ARM's location list gives them.
_REGION_NAMES = {
    "australiaeast": ("Australia East", "Asia Pacific", "Australia"),
    "brazilsouth": ("Brazil South", "South America", "South America"),
    "centralindia": ("Central India", "Asia Pacific", "Asia Pacific"),
    "centralus": ("Central US", "US", "US"),
    "eastasia": ("East Asia", "Asia Pacific", "Asia Pacific"),
    "eastus": ("East US", "US", "US"),
    "eastus2": ("East US 2", "US", "US"),
    "francecentral": ("France Central", "Europe", "Europe"),
    "japaneast": ("Japan East", "Asia Pacific", "Asia Pacific"),
    "koreacentral": ("Korea Central", "Asia Pacific", "Asia Pacific"),
    "northcentralus": ("North Central US", "US", "US"),
    "northeurope": ("North Europe", "Europe", "Europe"),
    "norwayeast": ("Norway East", "Europe", "Europe"),
    "southafricanorth": ("South Africa North", "Middle East and Africa", "Africa"),
    "southcentralus": ("South Central US", "US", "US"),
    "southeastasia": ("Southeast Asia", "Asia Pacific", "Asia Pacific"),
    "swedencentral": ("Sweden Central", "Europe", "Europe"),
    "switzerlandnorth": ("Switzerland North", "Europe", "Europe"),
    "uksouth": ("UK South", "Europe", "Europe"),
    "westeurope": ("West Europe", "Europe", "Europe"),
    "westus": ("West US", "US", "US"),
    "westus2": ("West US 2", "US", "US"),
    "westus3": ("West US 3", "US", "US"),
}


@bp.get("/subscriptions/<subscription_id>/locations")
@operation("Subscriptions_ListLocations")
def subscriptions_list_locations(subscription_id: str):
    """The regions of the subscription (the simulator's: those with Custom Vision)."""
    _authorize(subscription_id, "Microsoft.Resources/subscriptions/locations/read",
               f"/subscriptions/{subscription_id}", visible=True)
    items = []
    for region in REGIONS:
        display, group, prefix = _REGION_NAMES.get(region, (region, "", ""))
        items.append({
            "id": f"/subscriptions/{subscription_id}/locations/{region}",
            "name": region,
            "type": "Region",
            "displayName": display,
            "regionalDisplayName": f"({prefix}) {display}" if prefix else display,
            "metadata": {"regionType": "Physical", "regionCategory": "Recommended", "geographyGroup": group},
        })
    return jsonify({"value": items})


@bp.get("/tenants")
@operation("Tenants_List")
def tenants_list():
    """The tenants the caller belongs to (a service principal: its own)."""
    principal = _principal()
    _version()
    state = _sim().state
    with state.lock:
        name = state.tenants.get(principal.tenant_id, "")
    domain = f"lab{principal.tenant_id.replace('-', '')[:10]}.onmicrosoft.com"
    return _paged([{
        "id": f"/tenants/{principal.tenant_id}",
        "tenantId": principal.tenant_id,
        "countryCode": "US",
        "displayName": name,
        "domains": [domain],
        "tenantCategory": "Home",
        "defaultDomain": domain,
        "tenantType": "AAD",
    }])


# -- generic resources ------------------------------------------------------------------------------------
_CLAUSE = re.compile(
    r"^\s*(?:(?P<field>resourceType|name|location|resourceGroup)\s+eq\s+'(?P<value>[^']*)'"
    r"|substringof\(\s*'(?P<part>[^']*)'\s*,\s*name\s*\))\s*$",
    re.IGNORECASE,
)


def _resource_filter(text: str | None):
    """A predicate over accounts for ARM's ``$filter`` (``resourceType eq '...'``, ``name eq``,
    ``location eq``, ``resourceGroup eq`` and ``substringof('...', name)``, joined with ``and``)."""
    if not text:
        return lambda _a: True
    tests = []
    for clause in re.split(r"\s+and\s+", text.strip(), flags=re.IGNORECASE):
        m = _CLAUSE.match(clause)
        if m is None:
            raise ArmError(400, "InvalidFilterInQueryString",
                           f"Invalid $filter '{text}' specified in the query string.")
        if m.group("part") is not None:
            part = m.group("part").lower()
            tests.append(lambda a, p=part: p in a.name.lower())
            continue
        field, value = m.group("field").lower(), m.group("value").lower()
        # Accounts are Cognitive Services accounts; generic resources (azuresim.generic) say their type.
        get = {"resourcetype": lambda a: getattr(a, "resource_type", ACCOUNT_TYPE), "name": lambda a: a.name,
               "location": lambda a: a.location, "resourcegroup": lambda a: a.resource_group}[field]
        if field == "location":
            value = normalize_region(value)
        tests.append(lambda a, g=get, v=value: g(a).lower() == v)
    return lambda a: all(t(a) for t in tests)


def generic_resource_json(acct: Account) -> dict:
    """An account as Resources_List shows it (a GenericResourceExpanded)."""
    body = {
        "id": acct.resource_id(),
        "name": acct.name,
        "type": ACCOUNT_TYPE,
        "sku": _sku_json(acct.sku),
        "kind": acct.kind,
        "location": acct.location,
        "tags": dict(acct.tags),
    }
    if getattr(acct, "identity", None):
        body["identity"] = acct.identity
    expand = {e.strip().lower() for e in (request.args.get("$expand") or "").split(",")}
    if "createdtime" in expand:
        body["createdTime"] = acct.created.isoformat().replace("+00:00", "Z")
    if "changedtime" in expand:
        body["changedTime"] = acct.last_modified.isoformat().replace("+00:00", "Z")
    if "provisioningstate" in expand:
        body["provisioningState"] = acct.provisioning_state
    return body


def _resources(subscription_id: str, rg: str | None, principal) -> Response:
    keep = _resource_filter(request.args.get("$filter"))
    sub = subscription_id.lower()
    state = _sim().state
    expand = {e.strip().lower() for e in (request.args.get("$expand") or "").split(",")}
    with state.lock:
        found = [a for a in state.accounts.values()
                 if a.subscription_id.lower() == sub and (rg is None or a.resource_group.lower() == rg.lower())]
        found = readable(principal, f"{ACCOUNT_TYPE}/read", found, Account.resource_id)
        found += [r for r in state.generic.where(subscription_id, rg)
                  if state.permitted(principal, resource_action(r.resource_type, "read"), r.resource_id())]
        found = sorted((a for a in found if keep(a)), key=lambda a: (a.resource_group.lower(), a.name.lower()))
        return _paged([generic_resource_json(a) if isinstance(a, Account) else a.to_expanded_json(expand)
                       for a in found])


@bp.get("/subscriptions/<subscription_id>/resources")
@operation("Resources_List")
def resources_list(subscription_id: str):
    principal = _authorize(subscription_id, "Microsoft.Resources/subscriptions/resources/read",
                           f"/subscriptions/{subscription_id}", listing=True)
    return _resources(subscription_id, None, principal)


@bp.get("/subscriptions/<subscription_id>/resourceGroups/<rg_name>/resources")
@operation("Resources_ListByResourceGroup")
def resources_list_by_resource_group(subscription_id: str, rg_name: str):
    principal = _authorize(subscription_id, "Microsoft.Resources/subscriptions/resourceGroups/resources/read",
                           f"/subscriptions/{subscription_id}/resourceGroups/{rg_name}")
    rg = _resource_group(subscription_id, rg_name)
    return _resources(subscription_id, rg.name, principal)


# -- Microsoft.CognitiveServices: SKUs -----------------------------------------------------------------------
@bp.get(f"/subscriptions/<subscription_id>/{_CS}/skus")
@operation("ResourceSkus_List")
def resource_skus_list(subscription_id: str):
    """Every (kind, SKU) in every region, one entry per region, as ARM lists them."""
    _authorize(subscription_id, "Microsoft.CognitiveServices/skus/read", f"/subscriptions/{subscription_id}")
    items = [{"resourceType": "accounts", "name": sku, "tier": _sku_json(sku)["tier"], "kind": kind,
              "locations": [region.upper()], "restrictions": []}
             for kind, skus in KIND_SKUS.items() for sku in skus for region in REGIONS]
    return jsonify({"value": items})


def _account(subscription_id: str, rg_name: str, name: str) -> Account:
    """The live account ``name`` in the resource group (names compared case-insensitively, as ARM does)."""
    rg = _resource_group(subscription_id, rg_name)
    state = _sim().state
    with state.lock:
        acct = next((a for a in state.accounts.values()
                     if a.subscription_id.lower() == subscription_id.lower()
                     and a.resource_group.lower() == rg.name.lower() and a.name.lower() == name.lower()), None)
    if acct is None:
        raise ArmError(
            404, "ResourceNotFound",
            f"The Resource '{ACCOUNT_TYPE}/{name}' under resource group '{rg.name}' was not found. For more "
            "details please go to https://aka.ms/ARMResourceNotFoundFix",
        )
    return acct


def _account_scope(subscription_id: str, rg_name: str, name: str) -> str:
    return f"/subscriptions/{subscription_id}/resourceGroups/{rg_name}/{_CS}/accounts/{name}"


@bp.get(f"/subscriptions/<subscription_id>/resourceGroups/<rg_name>/{_CS}/accounts/<account_name>/skus")
@operation("Accounts_ListSkus")
def accounts_list_skus(subscription_id: str, rg_name: str, account_name: str):
    """The SKUs the account may move to: those of its kind."""
    _authorize(subscription_id, f"{ACCOUNT_TYPE}/skus/read", _account_scope(subscription_id, rg_name, account_name))
    acct = _account(subscription_id, rg_name, account_name)
    return jsonify({"value": [{"resourceType": ACCOUNT_TYPE, "sku": _sku_json(sku)}
                              for sku in KIND_SKUS.get(acct.kind, ())]})


# -- Microsoft.CognitiveServices: usages ----------------------------------------------------------------------
def _usage(name: str, localized: str, current: float, limit: float, monthly: bool = False) -> dict:
    """A usage; a ``monthly`` one has a 30-day quota period that resets on the 1st of next month (UTC)."""
    reset = None
    if monthly:
        now = utcnow()
        year, month = (now.year + 1, 1) if now.month == 12 else (now.year, now.month + 1)
        reset = f"{year:04d}-{month:02d}-01T00:00:00Z"
    return {"unit": "Count", "name": {"value": name, "localizedValue": localized},
            "limit": float(limit), "currentValue": float(current),
            "quotaPeriod": "30.00:00:00" if monthly else None, "nextResetTime": reset,
            "status": "Blocked" if current >= limit else "Included"}


_NAME_CLAUSE = re.compile(r"^\s*name\.value\s+eq\s+'([^']*)'\s*$", re.IGNORECASE)


def _usage_filter(usages: list[dict]) -> list[dict]:
    """``$filter=name.value eq 'A' or name.value eq 'B'`` (the one filter the spec names)."""
    text = request.args.get("$filter")
    if not text:
        return usages
    wanted = set()
    for clause in re.split(r"\s+or\s+", text.strip(), flags=re.IGNORECASE):
        m = _NAME_CLAUSE.match(clause)
        if m is None:
            raise ArmError(400, "InvalidFilterInQueryString",
                           f"Invalid $filter '{text}' specified in the query string. Filter on name.value.")
        wanted.add(m.group(1).lower())
    return [u for u in usages if u["name"]["value"].lower() in wanted]


@bp.get(f"/subscriptions/<subscription_id>/{_CS}/locations/<location>/usages")
@operation("Usages_List")
def usages_list(subscription_id: str, location: str):
    """The subscription's quota in a region: its Cognitive Services accounts there, and the free ones."""
    _authorize(subscription_id, "Microsoft.CognitiveServices/locations/usages/read",
               f"/subscriptions/{subscription_id}")
    region = _region(location, "Microsoft.CognitiveServices/locations/usages")
    sub = subscription_id.lower()
    state = _sim().state
    with state.lock:
        here = [a for a in state.accounts.values() if a.subscription_id.lower() == sub and a.location == region]
        free = [a for a in (*state.accounts.values(), *getattr(state, "deleted_accounts", {}).values())
                if a.subscription_id.lower() == sub and a.sku == "F0"]
    usages = [_usage("AccountCount", "Cognitive Services accounts", len(here), 200)]
    # One free account per kind per subscription, in any region, until purged.
    usages += [_usage(f"FreeAccounts.{kind}", f"Free (F0) {kind} accounts",
                      sum(1 for a in free if a.kind == kind), 1)
               for kind, skus in KIND_SKUS.items() if "F0" in skus]
    return jsonify({"value": _usage_filter(usages)})


def _account_usages(acct: Account) -> list[dict]:
    from .customvision.store import IMAGES_PER_PROJECT, PROJECTS_PER_ACCOUNT

    sku = acct.sku.upper()
    if acct.kind == "CustomVision.Training":
        projects = list(acct.cv.projects.values()) if acct.cv is not None else []
        return [
            _usage("CustomVision.Training.Projects", "Projects", len(projects), PROJECTS_PER_ACCOUNT.get(sku, 100)),
            _usage("CustomVision.Training.ImagesPerProject", "Training images in the largest project",
                   max((len(p.images) for p in projects), default=0), IMAGES_PER_PROJECT.get(sku, 100000)),
        ]
    if acct.kind == "CustomVision.Prediction":
        calls = sum(_sim().call_count(op, acct.name) for op in _PREDICTIONS)
        limit = _FREE_PREDICTIONS if sku == "F0" else 1_000_000_000
        return [_usage("CustomVision.Prediction.Transactions", "Prediction transactions", calls, limit,
                       monthly=True)]
    return []


@bp.get(f"/subscriptions/<subscription_id>/resourceGroups/<rg_name>/{_CS}/accounts/<account_name>/usages")
@operation("Accounts_ListUsages")
def accounts_list_usages(subscription_id: str, rg_name: str, account_name: str):
    _authorize(subscription_id, f"{ACCOUNT_TYPE}/usages/read", _account_scope(subscription_id, rg_name, account_name))
    acct = _account(subscription_id, rg_name, account_name)
    with _sim().state.lock:
        usages = _account_usages(acct)
    return jsonify({"value": _usage_filter(usages)})


# -- Microsoft.CognitiveServices: availability checks -----------------------------------------------------------
def _json_object() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ArmError(400, "InvalidRequestContent",
                       "The request content was invalid and could not be deserialized: expected a JSON object.")
    return body


def _required_string(body: dict, name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise ArmError(400, "InvalidRequestContent", f"The '{name}' property is required and must be a string.")
    return value


def _known_kind(kind) -> str | None:
    return next((k for k in KIND_SKUS if isinstance(kind, str) and k.lower() == kind.lower()), None)


@bp.post(f"/subscriptions/<subscription_id>/{_CS}/checkDomainAvailability")
@operation("CheckDomainAvailability")
def check_domain_availability(subscription_id: str):
    """Whether a custom subdomain is free: taken while any account, live or soft-deleted, holds it."""
    _authorize(subscription_id, "Microsoft.CognitiveServices/checkDomainAvailability/action",
               f"/subscriptions/{subscription_id}")
    body = _json_object()
    name = _required_string(body, "subdomainName")
    rtype = _required_string(body, "type")
    answer: dict = {"isSubdomainAvailable": True, "reason": None, "subdomainName": name, "type": rtype}
    if isinstance(body.get("kind"), str):
        answer["kind"] = body["kind"]
    if not _SUBDOMAIN.match(name):
        answer.update(isSubdomainAvailable=False, reason=f"Sub domain name '{name}' is not valid")
        return jsonify(answer)
    state = _sim().state
    with state.lock:
        holders = (*state.accounts.values(), *getattr(state, "deleted_accounts", {}).values())
        taken = any((getattr(a, "custom_subdomain", None) or "").lower() == name.lower() for a in holders)
    if taken:
        answer.update(isSubdomainAvailable=False, reason=f"Sub domain name '{name}' is already used")
    return jsonify(answer)


@bp.post(f"/subscriptions/<subscription_id>/{_CS}/locations/<location>/checkSkuAvailability")
@operation("CheckSkuAvailability")
def check_sku_availability(subscription_id: str, location: str):
    """For each SKU asked about, whether an account of that kind can have it in the region."""
    _authorize(subscription_id, "Microsoft.CognitiveServices/locations/checkSkuAvailability/action",
               f"/subscriptions/{subscription_id}")
    region = _region(location, "Microsoft.CognitiveServices/locations/checkSkuAvailability")
    body = _json_object()
    skus = body.get("skus")
    if not isinstance(skus, list) or not skus or not all(isinstance(s, str) for s in skus):
        raise ArmError(400, "InvalidRequestContent", "The 'skus' property is required: a list of SKU names.")
    kind = _required_string(body, "kind")
    rtype = _required_string(body, "type")
    known = _known_kind(kind)
    value = []
    for sku in skus:
        item = {"kind": kind, "type": rtype, "skuName": sku, "skuAvailable": True, "reason": None, "message": None}
        if rtype.lower() != ACCOUNT_TYPE.lower():
            item.update(skuAvailable=False, reason="InvalidResourceType",
                        message=f"The resource type '{rtype}' has no SKUs here: use '{ACCOUNT_TYPE}'.")
        elif known is None:
            item.update(skuAvailable=False, reason="InvalidKind",
                        message=f"The account kind '{kind}' is not available in location '{region}'.")
        elif sku.upper() not in (s.upper() for s in KIND_SKUS[known]):
            item.update(skuAvailable=False, reason="SkuNotAvailable",
                        message=f"The SKU '{sku}' is not available for kind '{known}' in location '{region}'. "
                                f"Available SKUs: {', '.join(KIND_SKUS[known])}.")
        value.append(item)
    return jsonify({"value": value})


# -- paths no route serves ----------------------------------------------------------------------------------
def is_arm_path(path: str) -> bool:
    """Whether ARM (rather than Entra ID, Custom Vision or the admin API) owns ``path``."""
    low = path.lower()
    return any(low == p or low.startswith(p + "/") for p in ("/subscriptions", "/providers", "/tenants"))


def _unrouted() -> ArmError:
    """The error ARM gives for a path it cannot route, after authenticating the caller."""
    principal = _principal()
    version = request.args.get("api-version")
    if not version:
        return ArmError(400, "MissingApiVersionParameter",
                        "The api-version query parameter (?api-version=) is required for all requests.")
    parts = [p for p in request.path.split("/") if p]
    if len(parts) >= 2 and parts[0].lower() == "subscriptions":
        sub = _sim().state.subscription(parts[1])
        if sub is None:
            return ArmError(404, "SubscriptionNotFound", f"The subscription '{parts[1]}' could not be found.")
        if not _sim().state.sees_subscription(principal, sub.subscription_id):
            return authorization_failed(principal, "read", request.path)
    ns, rtype = apiversions.type_of_path(request.path)
    if "providers" in (p.lower() for p in parts[:-1]):
        known_ns = apiversions.namespace(ns)
        if known_ns is None:
            return ArmError(400, "InvalidResourceNamespace", f"The resource namespace '{ns}' is invalid.")
        if rtype and apiversions.resource_type(known_ns, rtype) is None:
            return ArmError(404, "InvalidResourceType",
                            f"The resource type '{rtype}' could not be found in the namespace '{known_ns}' "
                            f"for api version '{version}'.")
    try:
        _version()
    except ArmError as exc:
        return exc
    return ArmError(404, "NotFound", f"The requested resource '{request.path}' was not found.")


def not_found() -> Response:
    """ARM's answer to a path no route serves: 401 without a valid token, then ARM's routing errors."""
    try:
        return _unrouted().response()
    except ArmError as exc:  # authentication failed
        return exc.response()


def method_not_allowed() -> Response:
    """ARM's answer to a method a path does not support, after authenticating the caller."""
    try:
        _principal()
    except ArmError as exc:
        return exc.response()
    return arm_error(405, "MethodNotAllowed", f"The requested resource does not support http method "
                                              f"'{request.method}'.")
