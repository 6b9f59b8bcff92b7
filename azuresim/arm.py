"""Azure Resource Manager: resource groups and Microsoft.CognitiveServices accounts.

Paths are matched case-insensitively (the app's middleware canonicalises ARM's fixed segments). Each
view is tagged with its swagger operationId. Every request needs a bearer token from ``entra`` issued for
ARM, and an ``api-version``; then the caller's roles must allow the view's action at its scope
(``azuresim.rbac``: role assignments at subscription or resource-group scope), else ``AuthorizationFailed``
names both. A list at subscription scope answers a caller with access to some of its resource groups with
what it may read there.
"""

from __future__ import annotations

import math
import re
import time
import uuid
from datetime import UTC, datetime

from flask import Blueprint, Response, current_app, g, jsonify, request

from .app import operation
from .errors import ArmError
from .state import (
    ARM_AUDIENCES,
    BUSY_STATES,
    REGIONS,
    SOFT_DELETE_RETENTION,
    Account,
    Operation,
    ResourceGroup,
    ServicePrincipal,
    account_key,
    iso,
    new_key,
    normalize_region,
)

bp = Blueprint("arm", __name__)

ACCOUNT_TYPE = "Microsoft.CognitiveServices/accounts"
_PROVIDER = "providers/Microsoft.CognitiveServices/accounts"
_ACCOUNT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{1,63}$")
_SUBDOMAIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])$")

# Kinds this simulator accepts, with the SKUs each allows (real Azure offers more of both).
KIND_SKUS: dict[str, tuple[str, ...]] = {
    "CustomVision.Training": ("F0", "S0"),
    "CustomVision.Prediction": ("F0", "S0"),
    "CognitiveServices": ("S0",),
    "AIServices": ("S0",),
    "ComputerVision": ("F0", "S1"),
    "Face": ("F0", "S0"),
    "TextAnalytics": ("F0", "S"),
    "SpeechServices": ("F0", "S0"),
    "FormRecognizer": ("F0", "S0"),
}
_TIERS = {"F": "Free", "S": "Standard", "P": "Premium", "E": "Enterprise"}
_IDENTITY_TYPES = ("None", "SystemAssigned", "UserAssigned", "SystemAssigned, UserAssigned")
_USER_IDENTITY = re.compile(
    r"^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.ManagedIdentity/userAssignedIdentities/[^/]+$",
    re.IGNORECASE,
)
# What the account's ``properties.endpoints`` map calls its data-plane endpoint.
_ENDPOINT_NAMES = {"CustomVision.Training": "Custom Vision Training",
                   "CustomVision.Prediction": "Custom Vision Prediction"}


def _sim():
    return current_app.config["SIM"]


# -- authentication and authorisation -----------------------------------------------------------------
def _principal() -> ServicePrincipal:
    """The caller, from ``Authorization: Bearer``; raises ARM's 401 errors."""
    header = request.headers.get("Authorization", "")
    challenge = {"WWW-Authenticate": f'Bearer authorization_uri="{request.host_url}", error="invalid_token", '
                 'error_description="The authentication failed because of missing \'Authorization\' header."'}
    if not header:
        raise ArmError(401, "AuthenticationFailed",
                       "Authentication failed. The 'Authorization' header is missing.", challenge)
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise ArmError(401, "AuthenticationFailed",
                       "Authentication failed. The 'Authorization' header is provided in an invalid format.")
    principal, tok = _sim().state.principal_for_token(value.strip())
    if principal is None or tok is None:
        raise ArmError(401, "InvalidAuthenticationToken",
                       "The access token is invalid. Acquire a new token from Entra ID and retry.")
    if tok.audience is not None and not tok.for_audience(*ARM_AUDIENCES, request.host_url):
        allowed = ",".join(f"'{a}{s}'" for a in ("https://management.core.windows.net", "https://management.azure.com")
                           for s in ("/", ""))
        raise ArmError(401, "InvalidAuthenticationTokenAudience",
                       f"The access token has been obtained for wrong audience or resource '{tok.audience}'. It "
                       f"should exactly match with one of the allowed audiences {allowed}.")
    if tok.expired():
        now = datetime.now(UTC).strftime("%m/%d/%Y %H:%M:%S")
        exp = datetime.fromtimestamp(tok.expires_at, UTC).strftime("%m/%d/%Y %H:%M:%S")
        raise ArmError(401, "ExpiredAuthenticationToken",
                       f"The access token expiry UTC time '{exp}' is earlier than current UTC time '{now}'.")
    return principal


def _api_version() -> str:
    """The request's api-version, checked against what ARM accepts for the type its path addresses."""
    from .apiversions import check_request

    return check_request(request, REGIONS)


def authorization_failed(principal: ServicePrincipal, action: str, scope: str) -> ArmError:
    """ARM's 403 naming the action and the scope it was refused at."""
    return ArmError(
        403, "AuthorizationFailed",
        f"The client '{principal.client_id}' with object id '{principal.object_id}' does not have "
        f"authorization to perform action '{action}' over scope '{scope}' or the scope is invalid. "
        "If access was recently granted, please refresh your credentials.",
    )


def _authorize(subscription_id: str, action: str, scope: str, *, listing: bool = False,
               visible: bool = False) -> ServicePrincipal:
    """Check token, api-version, subscription and the principal's roles; raises ARM errors in ARM's order.

    ``listing``: a collection read, allowed when ``action`` is allowed at ``scope`` or at some scope below it
    (the view then answers only what the caller may read, see :func:`readable`). ``visible``: allowed for
    any principal with a role somewhere in the subscription (reading the subscription, polling operations).
    """
    principal = _principal()
    _api_version()
    state = _sim().state
    sub = state.subscription(subscription_id)
    if sub is None:
        raise ArmError(404, "SubscriptionNotFound",
                       f"The subscription '{subscription_id}' could not be found.")
    if visible:
        allowed = state.sees_subscription(principal, sub.subscription_id)
    elif listing:
        allowed = state.permitted_below(principal, action, scope)
    else:
        allowed = state.permitted(principal, action, scope)
    if not allowed:
        raise authorization_failed(principal, action, scope)
    return principal


def readable(principal: ServicePrincipal, action: str, items: list, scope_of) -> list:
    """The items of a list the caller may read (``scope_of(item)`` is each item's resource id)."""
    state = _sim().state
    return [i for i in items if state.permitted(principal, action, scope_of(i))]


def _resource_group(subscription_id: str, name: str) -> ResourceGroup:
    rg = _sim().state.resource_group(subscription_id, name)
    if rg is None:
        raise ArmError(404, "ResourceGroupNotFound", f"Resource group '{name}' could not be found.")
    return rg


def _account(subscription_id: str, rg: ResourceGroup, name: str) -> Account:
    acct = _sim().state.find_account(subscription_id, rg.name, name)
    if acct is None:
        raise ArmError(
            404, "ResourceNotFound",
            f"The Resource '{ACCOUNT_TYPE}/{name}' under resource group '{rg.name}' was not found. For more "
            "details please go to https://aka.ms/ARMResourceNotFoundFix",
        )
    return acct


def _account_scope(sub: str, rg: str, name: str | None = None) -> str:
    scope = f"/subscriptions/{sub}/resourceGroups/{rg}/{_PROVIDER}"
    return f"{scope}/{name}" if name else scope


# -- JSON shapes ----------------------------------------------------------------------------------------
def _sku_json(sku: str) -> dict:
    return {"name": sku, "tier": _TIERS.get(sku[:1].upper(), "Standard")}


def account_json(acct: Account) -> dict:
    """An Account as the 2025-09-01 spec writes it."""
    endpoint_name = _ENDPOINT_NAMES.get(acct.kind, acct.kind)
    body = {
        "id": acct.resource_id(),
        "name": acct.name,
        "type": ACCOUNT_TYPE,
        "etag": acct.etag,
        "location": acct.location,
        "kind": acct.kind,
        "sku": _sku_json(acct.sku),
        "tags": dict(acct.tags),
        "systemData": {
            "createdBy": acct.created_by,
            "createdByType": "Application",
            "createdAt": iso(acct.created),
            "lastModifiedBy": acct.last_modified_by or acct.created_by,
            "lastModifiedByType": "Application",
            "lastModifiedAt": iso(acct.last_modified),
        },
        "properties": {
            "endpoint": acct.endpoint,
            "endpoints": {endpoint_name: acct.endpoint},
            "internalId": acct.internal_id,
            "dateCreated": iso(acct.created),
            "provisioningState": acct.provisioning_state,
            "publicNetworkAccess": "Enabled",
            "isMigrated": False,
            "capabilities": [],
            "networkAcls": {"defaultAction": "Allow", "virtualNetworkRules": [], "ipRules": []},
        },
    }
    if acct.custom_subdomain:
        body["properties"]["customSubDomainName"] = acct.custom_subdomain
    if acct.disable_local_auth:
        body["properties"]["disableLocalAuth"] = True
    if acct.deleted_at is not None:
        body["id"] = acct.deleted_id()
        if request.args.get("api-version", "") > "2021-04-30":  # 2021-04-30 does not have these fields yet
            body["properties"]["deletionDate"] = iso(acct.deleted_at)
            body["properties"]["scheduledPurgeDate"] = iso(acct.deleted_at + SOFT_DELETE_RETENTION)
    identity = account_identity(acct)
    if identity is not None:
        body["identity"] = identity
    return body


def account_identity(acct: Account) -> dict | None:
    """The account's managed identity as ARM shows it, or None when none was ever requested."""
    return acct.identity


def _identity_from(body: dict, old: dict | None, tenant_id: str) -> dict | None:
    """The identity a create or update asks for (``old`` when the body names none), as ARM stores it.

    A system-assigned identity gets a service principal in the subscription's tenant and keeps it while
    it stays on; each user-assigned one is answered with its principal and client ids.
    """
    if "identity" not in body:
        return old
    ident = body["identity"]
    if ident is None:
        return None
    kind = ident.get("type") if isinstance(ident, dict) else None
    match = next((t for t in _IDENTITY_TYPES if isinstance(kind, str) and t.lower() == kind.lower()), None)
    if match is None:
        raise ArmError(400, "InvalidIdentityType",
                       f"The identity type '{kind}' is not valid. Use one of: "
                       + ", ".join(f"'{t}'" for t in _IDENTITY_TYPES) + ".")
    out: dict = {"type": match}
    if "SystemAssigned" in match:
        kept = (old or {}).get("principalId") if "SystemAssigned" in (old or {}).get("type", "") else None
        out["principalId"] = kept or str(uuid.uuid4())
        out["tenantId"] = tenant_id
    if "UserAssigned" in match:
        wanted = ident.get("userAssignedIdentities")
        if not isinstance(wanted, dict) or not wanted:
            raise ArmError(400, "InvalidUserAssignedIdentities",
                           f"Identity type '{match}' needs 'userAssignedIdentities': an object keyed by the "
                           "resource ids of the user-assigned identities.")
        bad = [rid for rid in wanted if not _USER_IDENTITY.match(rid)]
        if bad:
            raise ArmError(400, "InvalidUserAssignedIdentities",
                           f"'{bad[0]}' is not the resource id of a user-assigned identity "
                           "(/subscriptions/.../providers/Microsoft.ManagedIdentity/userAssignedIdentities/NAME).")
        # The ids are derived from the identity's resource id, so the same identity always answers the same.
        out["userAssignedIdentities"] = {
            rid: {"principalId": str(uuid.uuid5(uuid.NAMESPACE_URL, rid.lower() + "#principal")),
                  "clientId": str(uuid.uuid5(uuid.NAMESPACE_URL, rid.lower() + "#client"))}
            for rid in wanted
        }
    return out


def _tenant_of(subscription_id: str) -> str:
    sub = _sim().state.subscription(subscription_id)
    return sub.tenant_id if sub else ""


def resource_group_json(rg: ResourceGroup) -> dict:
    return {
        "id": rg.resource_id(),
        "name": rg.name,
        "type": "Microsoft.Resources/resourceGroups",
        "location": rg.location,
        "tags": dict(rg.tags),
        "properties": {"provisioningState": "Succeeded"},
    }


def _page(items: list[dict]):
    """One page of a list answer, with an absolute ``nextLink`` carrying ``$skipToken`` when more remain."""
    size = max(1, int(_sim().arm_page_size))
    token = request.args.get("$skipToken") or request.args.get("$skiptoken") or "0"
    try:
        start = max(0, int(token))
    except ValueError:
        raise ArmError(400, "InvalidSkipToken", f"The skip token '{token}' is not valid.") from None
    body: dict = {"value": items[start:start + size]}
    if start + size < len(items):
        body["nextLink"] = (f"{request.host_url.rstrip('/')}{request.path}?api-version="
                            f"{request.args['api-version']}&$skipToken={start + size}")
    return jsonify(body)


# -- resource groups -------------------------------------------------------------------------------------
@bp.get("/subscriptions/<subscription_id>/resourceGroups/<rg_name>")
@operation("ResourceGroups_Get")
def resource_groups_get(subscription_id: str, rg_name: str):
    _authorize(subscription_id, "Microsoft.Resources/subscriptions/resourceGroups/read",
               f"/subscriptions/{subscription_id}/resourceGroups/{rg_name}")
    return jsonify(resource_group_json(_resource_group(subscription_id, rg_name)))


@bp.get("/subscriptions/<subscription_id>/resourceGroups")
@operation("ResourceGroups_List")
def resource_groups_list(subscription_id: str):
    action = "Microsoft.Resources/subscriptions/resourceGroups/read"
    principal = _authorize(subscription_id, action, f"/subscriptions/{subscription_id}", listing=True)
    state = _sim().state
    with state.lock:
        groups = [rg for (sub, _), rg in sorted(state.resource_groups.items()) if sub == subscription_id.lower()]
        groups = readable(principal, action, groups, lambda rg: rg.resource_id())
        return _page([resource_group_json(rg) for rg in groups])


# -- accounts: lists -------------------------------------------------------------------------------------
def _accounts_where(pred, principal: ServicePrincipal) -> list[dict]:
    state = _sim().state
    with state.lock:
        found = sorted((a for a in state.accounts.values() if pred(a)), key=lambda a: a.name.lower())
        return [account_json(a) for a in readable(principal, f"{ACCOUNT_TYPE}/read", found, Account.resource_id)]


@bp.get(f"/subscriptions/<subscription_id>/{_PROVIDER}")
@operation("Accounts_List")
def accounts_list(subscription_id: str):
    principal = _authorize(subscription_id, f"{ACCOUNT_TYPE}/read", f"/subscriptions/{subscription_id}",
                           listing=True)
    sub = subscription_id.lower()
    return _page(_accounts_where(lambda a: a.subscription_id == sub, principal))


@bp.get(f"/subscriptions/<subscription_id>/resourceGroups/<rg_name>/{_PROVIDER}")
@operation("Accounts_ListByResourceGroup")
def accounts_list_by_resource_group(subscription_id: str, rg_name: str):
    principal = _authorize(subscription_id, f"{ACCOUNT_TYPE}/read", _account_scope(subscription_id, rg_name))
    rg = _resource_group(subscription_id, rg_name)
    sub = subscription_id.lower()
    return _page(_accounts_where(
        lambda a: a.subscription_id == sub and a.resource_group.lower() == rg.name.lower(), principal))


# -- accounts: one -----------------------------------------------------------------------------------------
@bp.get(f"/subscriptions/<subscription_id>/resourceGroups/<rg_name>/{_PROVIDER}/<account_name>")
@operation("Accounts_Get")
def accounts_get(subscription_id: str, rg_name: str, account_name: str):
    _authorize(subscription_id, f"{ACCOUNT_TYPE}/read",
               _account_scope(subscription_id, rg_name, account_name))
    rg = _resource_group(subscription_id, rg_name)
    with _sim().state.lock:
        return jsonify(account_json(_account(subscription_id, rg, account_name)))


def _json_body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ArmError(400, "InvalidRequestContent",
                       "The request content was invalid and could not be deserialized: "
                       "expected a JSON object.")
    return body


def _sku_of(body: dict) -> str | None:
    sku = body.get("sku")
    if sku is None:
        return None
    if not isinstance(sku, dict) or not isinstance(sku.get("name"), str):
        raise ArmError(400, "InvalidRequestContent", "The 'sku' property must be an object with a 'name'.")
    return sku["name"]


def _check_sku(kind: str, sku: str) -> str:
    allowed = KIND_SKUS[kind]
    match = next((s for s in allowed if s.lower() == sku.lower()), None)
    if match is None:
        raise ArmError(400, "InvalidSkuId",
                       f"The SKU '{sku}' is not valid for account type '{kind}'. "
                       f"Valid SKUs are: {', '.join(allowed)}.")
    return match


def _check_free_limit(subscription_id: str, kind: str, sku: str, except_key: str | None) -> None:
    """One F0 account per kind per subscription, as Azure enforces; a soft-deleted one still counts
    until it is purged (students meet this after deleting a Free resource to make it again)."""
    if sku != "F0":
        return
    state = _sim().state
    holders = [(k, a) for k, a in (*state.accounts.items(), *state.deleted_accounts.items())
               if a.subscription_id == subscription_id and a.kind == kind and a.sku == "F0" and k != except_key]
    if holders:
        raise ArmError(409, "CanNotCreateMultipleFreeAccounts",
                       f"Operation failed. Only one free account is allowed for account type '{kind}'.")


def _subdomain_of(body: dict) -> str | None:
    """The ``properties.customSubDomainName`` asked for, validated (None when not asked for)."""
    props = body.get("properties") or {}
    if not isinstance(props, dict):
        raise ArmError(400, "InvalidRequestContent", "The 'properties' property must be an object.")
    name = props.get("customSubDomainName")
    if name is None or name == "":
        return None
    if not isinstance(name, str) or not _SUBDOMAIN.match(name):
        raise ArmError(400, "InvalidSubdomainName",
                       f"The custom subdomain name '{name}' is invalid. It must be 2 to 64 characters long, "
                       "contain only letters, digits and hyphens, and start and end with a letter or digit.")
    return name.lower()


def _local_auth_of(body: dict) -> bool | None:
    """``properties.disableLocalAuth`` asked for (None when the body does not name it)."""
    value = (body.get("properties") or {}).get("disableLocalAuth")
    if value is None:
        return None
    if not isinstance(value, bool):
        raise ArmError(400, "InvalidRequestContent", "The 'disableLocalAuth' property must be true or false.")
    return value


def _claim_subdomain(subdomain: str | None, acct_key: str, current: str | None) -> None:
    """Refuse a subdomain another account holds (live or soft-deleted) or a change of an existing one."""
    if subdomain is None or subdomain == (current or "").lower():
        return
    if current:
        raise ArmError(400, "CustomSubDomainNameCannotBeChanged",
                       f"The custom subdomain name of this account is '{current}' and cannot be changed.")
    owner = _sim().state.subdomain_owner(subdomain)
    if owner is not None and account_key(owner.subscription_id, owner.resource_group, owner.name) != acct_key:
        raise ArmError(409, "CustomDomainInUse",
                       f"Custom domain name '{subdomain}' is already in use. Choose another subdomain name.")


def _not_while_busy(acct: Account) -> None:
    """ARM refuses to change a resource whose provisioning has not reached a terminal state."""
    if acct.provisioning_state in BUSY_STATES:
        raise ArmError(409, "RequestConflict",
                       f"Cannot modify resource with id '{acct.resource_id()}' because the resource entity "
                       "provisioning state is not terminal. Please wait for the provisioning state to become "
                       "terminal and then retry the request.")


def _long_running(action: str, acct: Account, status: int):
    """Start ``action`` on ``acct`` and answer as ARM does: the resource (or nothing) with
    ``Azure-AsyncOperation`` (and ``Location`` for deletes) to poll, and ``Retry-After``."""
    sim = _sim()
    fail = None
    if getattr(g, "sim_fail_provisioning", False):
        fail = ("ResourceProvisioningFailed",
                f"The {action} of account '{acct.name}' failed (simulated provisioning failure).")
    op = sim.state.start_operation(action, acct, sim.provisioning_seconds, fail)
    if action != "purge":
        acct.provisioning_state = op.in_progress_state()
    removal = action in ("delete", "purge")
    resp = Response(status=status) if removal else jsonify(account_json(acct))
    resp.status_code = status
    return _polling(resp, op, location=removal)


def _polling(resp: Response, op: Operation, location: bool) -> Response:
    """Add what a client polls ``op`` with: ``Azure-AsyncOperation``, ``Location`` (deletes), ``Retry-After``."""
    resp.headers["Azure-AsyncOperation"] = _operation_url(op, "operationStatuses")
    if location:
        resp.headers["Location"] = _operation_url(op, "operationResults")
    resp.headers["Retry-After"] = _retry_after(op)
    return resp


def _operation_url(op: Operation, kind: str) -> str:
    return (f"{request.host_url.rstrip('/')}/subscriptions/{op.subscription_id}/providers/"
            f"Microsoft.CognitiveServices/locations/{op.location}/{kind}/{op.id}"
            f"?api-version={request.args.get('api-version', '')}")


def _retry_after(op: Operation) -> str:
    # Whole seconds, as HTTP defines the header (the Azure CLI's SDK parses an integer), and never 0:
    # azure-core would then fall back to its 30-second default interval.
    return str(max(1, math.ceil(op.done_at - time.time())))


@bp.put(f"/subscriptions/<subscription_id>/resourceGroups/<rg_name>/{_PROVIDER}/<account_name>")
@operation("Accounts_Create")
def accounts_create(subscription_id: str, rg_name: str, account_name: str):
    principal = _authorize(subscription_id, f"{ACCOUNT_TYPE}/write",
                           _account_scope(subscription_id, rg_name, account_name))
    rg = _resource_group(subscription_id, rg_name)
    body = _json_body()
    sub = subscription_id.lower()
    if (body.get("properties") or {}).get("restore") is True:
        # A restore names the soft-deleted account; its kind and SKU come back with it (the CLI's
        # `account recover` sends only the location and the flag).
        with _sim().state.lock:
            deleted = _sim().state.find_deleted(sub, rg.name, account_name)
            if deleted is not None and _sim().state.find_account(sub, rg.name, account_name) is None:
                return _restore(deleted, normalize_region(str(body.get("location") or deleted.location)),
                                principal.client_id)
    if not _ACCOUNT_NAME.match(account_name):
        raise ArmError(400, "InvalidResourceName",
                       f"The resource name '{account_name}' is invalid. The name must be 2 to 64 characters "
                       "long, contain only letters, digits and hyphens, and start with a letter or digit.")
    kind = body.get("kind")
    known_kind = next((k for k in KIND_SKUS if isinstance(kind, str) and k.lower() == kind.lower()), None)
    if known_kind is None:
        raise ArmError(400, "InvalidApiSetId",
                       f"The account type '{kind}' is either invalid or unavailable in given region.")
    location = body.get("location")
    if not isinstance(location, str) or normalize_region(location) not in REGIONS:
        raise ArmError(
            400, "LocationNotAvailableForResourceType",
            f"The provided location '{location}' is not available for resource type '{ACCOUNT_TYPE}'. "
            f"List of available regions for the resource type is '{','.join(REGIONS)}'.",
        )
    sku_name = _sku_of(body)
    if sku_name is None:
        raise ArmError(400, "InvalidRequestContent", "The 'sku' property is required to create an account.")
    sku = _check_sku(known_kind, sku_name)
    tags = body.get("tags") or {}
    if not isinstance(tags, dict):
        raise ArmError(400, "InvalidRequestContent", "The 'tags' property must be an object.")
    subdomain = _subdomain_of(body)
    no_local_auth = bool(_local_auth_of(body))
    region = normalize_region(location)
    key = account_key(sub, rg.name, account_name)
    state = _sim().state
    with state.lock:
        existing = state.find_account(sub, rg.name, account_name)
        deleted = state.find_deleted(sub, rg.name, account_name)
        if existing is None and deleted is not None:  # (a restore was answered above)
            raise ArmError(
                409, "FlagMustBeSetForRestore",
                f"An existing resource with ID '{deleted.resource_id()}' has been soft-deleted. To restore "
                "the resource, you must specify 'restore' to be 'true' in the property. If you don't want "
                "to restore existing resource, please purge it first.")
        if existing is not None and existing.kind != known_kind:
            raise ArmError(409, "CannotChangeAccountKind",
                           f"The kind of account '{existing.name}' is '{existing.kind}' and cannot "
                           f"be changed to '{known_kind}'.")
        if existing is not None:
            _not_while_busy(existing)
            if region != existing.location:
                raise ArmError(409, "LocationCannotBeChanged",
                               f"The location of account '{existing.name}' is '{existing.location}' and "
                               "cannot be changed.")
        _claim_subdomain(subdomain, key, existing.custom_subdomain if existing else None)
        _check_free_limit(sub, known_kind, sku, key)
        # A PUT replaces the resource: no 'identity' in the body means none.
        identity = _identity_from({"identity": body.get("identity")},
                                  account_identity(existing) if existing else None, _tenant_of(sub))
        if existing is None:
            acct = Account(sub, rg.name, account_name, known_kind, sku, region, "", tags=tags,
                           created_by=principal.client_id, custom_subdomain=subdomain,
                           disable_local_auth=no_local_auth)
            acct.endpoint = _sim().account_endpoint(acct)
            state.accounts[key] = acct
            action, status = "create", 201
        else:
            existing.sku, existing.tags = sku, tags
            existing.disable_local_auth = no_local_auth  # a PUT replaces the properties
            existing.custom_subdomain = subdomain or existing.custom_subdomain
            existing.endpoint = _sim().account_endpoint(existing)
            existing.touch(principal.client_id)
            acct, action, status = existing, "update", 200
        acct.identity = identity
        state.changed()
        return _long_running(action, acct, status)


def _restore(acct: Account, region: str, by: str):
    """Bring a soft-deleted account back as it was (keys, endpoint, Custom Vision data and all)."""
    state = _sim().state
    if region != acct.location:
        raise ArmError(409, "LocationCannotBeChanged",
                       f"The soft-deleted account '{acct.name}' is in '{acct.location}'; restore it there.")
    key = account_key(acct.subscription_id, acct.resource_group, acct.name)
    _check_free_limit(acct.subscription_id, acct.kind, acct.sku, key)
    del state.deleted_accounts[key]
    acct.deleted_at = None
    acct.endpoint = _sim().account_endpoint(acct)
    acct.touch(by)
    state.accounts[key] = acct
    state.changed()
    return _long_running("create", acct, 201)


@bp.patch(f"/subscriptions/<subscription_id>/resourceGroups/<rg_name>/{_PROVIDER}/<account_name>")
@operation("Accounts_Update")
def accounts_update(subscription_id: str, rg_name: str, account_name: str):
    principal = _authorize(subscription_id, f"{ACCOUNT_TYPE}/write",
                           _account_scope(subscription_id, rg_name, account_name))
    rg = _resource_group(subscription_id, rg_name)
    body = _json_body()
    state = _sim().state
    with state.lock:
        acct = _account(subscription_id, rg, account_name)
        _not_while_busy(acct)
        key = account_key(acct.subscription_id, acct.resource_group, acct.name)
        sku_name = _sku_of(body)
        sku = None
        if sku_name is not None:
            sku = _check_sku(acct.kind, sku_name)
            _check_free_limit(acct.subscription_id, acct.kind, sku, key)
        if "tags" in body and not isinstance(body["tags"], dict):
            raise ArmError(400, "InvalidRequestContent", "The 'tags' property must be an object.")
        subdomain = _subdomain_of(body)
        _claim_subdomain(subdomain, key, acct.custom_subdomain)
        no_local_auth = _local_auth_of(body)
        # A PATCH changes only what it names: no 'identity' keeps the account's.
        identity = _identity_from(body, account_identity(acct), _tenant_of(acct.subscription_id))
        # Checked everything first, so a rejected PATCH changes nothing.
        if sku is not None:
            acct.sku = sku
        if "tags" in body:
            acct.tags = dict(body["tags"])
        if subdomain:
            acct.custom_subdomain = subdomain
            acct.endpoint = _sim().account_endpoint(acct)
        if no_local_auth is not None:
            acct.disable_local_auth = no_local_auth
        acct.identity = identity
        acct.touch(principal.client_id)
        state.changed()
        return _long_running("update", acct, 200)


@bp.delete(f"/subscriptions/<subscription_id>/resourceGroups/<rg_name>/{_PROVIDER}/<account_name>")
@operation("Accounts_Delete")
def accounts_delete(subscription_id: str, rg_name: str, account_name: str):
    _authorize(subscription_id, f"{ACCOUNT_TYPE}/delete",
               _account_scope(subscription_id, rg_name, account_name))
    rg = _resource_group(subscription_id, rg_name)
    state = _sim().state
    with state.lock:
        acct = state.find_account(subscription_id, rg.name, account_name)
        if acct is None:
            return "", 204  # ARM: deleting what is not there succeeds with No Content
        if acct.provisioning_state == "Deleting":
            op = state.operations.get(acct.operation_id or "")
            if op is not None:  # already on its way: answer with the same operation
                return _polling(Response(status=202), op, location=True)
        state.changed()
        return _long_running("delete", acct, 202)


# -- long-running operations --------------------------------------------------------------------------
def _operation_for(subscription_id: str, op_id: str) -> Operation:
    op = _sim().state.operations.get(op_id.lower())
    if op is None or op.subscription_id != subscription_id.lower():
        raise ArmError(404, "OperationNotFound", f"The operation '{op_id}' could not be found.")
    return op


def _operation_status(op: Operation) -> dict:
    running = op.running()
    body: dict = {
        "id": request.path,
        "name": op.id,
        "status": op.in_progress_state() if running else op.outcome,
        "startTime": iso(op.started),
    }
    if not running:
        body["endTime"] = iso(datetime.fromtimestamp(op.done_at, UTC))
        if op.error:
            body["error"] = {"code": op.error[0], "message": op.error[1]}
    return body


@bp.get("/subscriptions/<subscription_id>/providers/Microsoft.CognitiveServices/locations/<location>"
        "/operationStatuses/<op_id>")
@operation("OperationStatuses_Get")
def operation_statuses_get(subscription_id: str, location: str, op_id: str):
    """The ``Azure-AsyncOperation`` of an account operation: always 200, with its status."""
    # Whoever started an operation polls it, also with a role at resource-group scope only.
    _authorize(subscription_id, "Microsoft.CognitiveServices/locations/operationStatuses/read",
               f"/subscriptions/{subscription_id}", visible=True)
    with _sim().state.lock:
        op = _operation_for(subscription_id, op_id)
        resp = jsonify(_operation_status(op))
        if op.running():
            resp.headers["Retry-After"] = _retry_after(op)
        return resp


@bp.get("/subscriptions/<subscription_id>/providers/Microsoft.CognitiveServices/locations/<location>"
        "/operationResults/<op_id>")
@operation("OperationResults_Get")
def operation_results_get(subscription_id: str, location: str, op_id: str):
    """The ``Location`` of a delete or purge: 202 while it runs, 204 when done, the error if it failed."""
    _authorize(subscription_id, "Microsoft.CognitiveServices/locations/operationResults/read",
               f"/subscriptions/{subscription_id}", visible=True)
    with _sim().state.lock:
        op = _operation_for(subscription_id, op_id)
        if op.running():
            resp = Response(status=202)
            resp.headers["Location"] = request.url
            resp.headers["Retry-After"] = _retry_after(op)
            return resp
        if op.error:
            raise ArmError(500, op.error[0], op.error[1])
        return "", 204


# -- soft-deleted accounts ------------------------------------------------------------------------------
_DELETED = "providers/Microsoft.CognitiveServices/locations/<location>/resourceGroups/<rg_name>/deletedAccounts"


def _deleted_scope(subscription_id: str, location: str, rg_name: str, name: str) -> str:
    return (f"/subscriptions/{subscription_id}/providers/Microsoft.CognitiveServices/locations/{location}"
            f"/resourceGroups/{rg_name}/deletedAccounts/{name}")


def _deleted_account(subscription_id: str, location: str, rg_name: str, name: str) -> Account:
    acct = _sim().state.find_deleted(subscription_id, rg_name, name)
    if acct is None or acct.location != normalize_region(location):
        raise ArmError(404, "ResourceNotFound",
                       f"The deleted account '{name}' in resource group '{rg_name}' and location '{location}' "
                       "was not found. It may have been purged, restored, or deleted more than 48 hours ago.")
    return acct


@bp.get("/subscriptions/<subscription_id>/providers/Microsoft.CognitiveServices/deletedAccounts")
@operation("DeletedAccounts_List")
def deleted_accounts_list(subscription_id: str):
    # Deleted accounts live under the subscription, not under their resource group: a role at
    # resource-group scope does not reach them.
    _authorize(subscription_id, "Microsoft.CognitiveServices/deletedAccounts/read",
               f"/subscriptions/{subscription_id}")
    sub = subscription_id.lower()
    state = _sim().state
    with state.lock:
        found = sorted((a for a in state.deleted_accounts.values() if a.subscription_id == sub),
                       key=lambda a: a.name.lower())
        return _page([account_json(a) for a in found])


@bp.get(f"/subscriptions/<subscription_id>/{_DELETED}/<account_name>")
@operation("DeletedAccounts_Get")
def deleted_accounts_get(subscription_id: str, location: str, rg_name: str, account_name: str):
    _authorize(subscription_id, "Microsoft.CognitiveServices/locations/resourceGroups/deletedAccounts/read",
               _deleted_scope(subscription_id, location, rg_name, account_name))
    with _sim().state.lock:
        return jsonify(account_json(_deleted_account(subscription_id, location, rg_name, account_name)))


@bp.delete(f"/subscriptions/<subscription_id>/{_DELETED}/<account_name>")
@operation("DeletedAccounts_Purge")
def deleted_accounts_purge(subscription_id: str, location: str, rg_name: str, account_name: str):
    _authorize(subscription_id, "Microsoft.CognitiveServices/locations/resourceGroups/deletedAccounts/delete",
               _deleted_scope(subscription_id, location, rg_name, account_name))
    state = _sim().state
    with state.lock:
        acct = _deleted_account(subscription_id, location, rg_name, account_name)
        op = state.operations.get(acct.operation_id or "")
        if op is not None and op.action == "purge" and op.running():
            return _polling(Response(status=202), op, location=True)
        state.changed()
        return _long_running("purge", acct, 202)


@bp.post(f"/subscriptions/<subscription_id>/resourceGroups/<rg_name>/{_PROVIDER}/<account_name>/listKeys")
@operation("Accounts_ListKeys")
def accounts_list_keys(subscription_id: str, rg_name: str, account_name: str):
    _authorize(subscription_id, f"{ACCOUNT_TYPE}/listKeys/action",
               _account_scope(subscription_id, rg_name, account_name))
    rg = _resource_group(subscription_id, rg_name)
    with _sim().state.lock:
        acct = _account(subscription_id, rg, account_name)
        if acct.disable_local_auth:
            raise ArmError(400, "BadRequest", "Failed to list key. disableLocalAuth is set to be true")
        return jsonify({"key1": acct.key1, "key2": acct.key2})


@bp.post(f"/subscriptions/<subscription_id>/resourceGroups/<rg_name>/{_PROVIDER}/<account_name>/regenerateKey")
@operation("Accounts_RegenerateKey")
def accounts_regenerate_key(subscription_id: str, rg_name: str, account_name: str):
    _authorize(subscription_id, f"{ACCOUNT_TYPE}/regenerateKey/action",
               _account_scope(subscription_id, rg_name, account_name))
    rg = _resource_group(subscription_id, rg_name)
    body = _json_body()
    key_name = body.get("keyName")
    if not isinstance(key_name, str) or key_name.lower() not in ("key1", "key2"):
        raise ArmError(400, "InvalidRequestContent",
                       f"The 'keyName' property must be 'Key1' or 'Key2' (got {key_name!r}).")
    state = _sim().state
    with state.lock:
        acct = _account(subscription_id, rg, account_name)
        setattr(acct, key_name.lower(), new_key())
        state.changed()
        return jsonify({"key1": acct.key1, "key2": acct.key2})


