"""Azure Resource Manager: resource groups and Microsoft.CognitiveServices accounts.

Paths are matched case-insensitively (the app's middleware canonicalises ARM's fixed segments). Each
view is tagged with its swagger operationId. Every request needs a bearer token from ``entra`` whose
principal has access to the subscription, and an ``api-version``.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

from flask import Blueprint, current_app, jsonify, request

from .app import operation
from .errors import ArmError
from .state import REGIONS, Account, ResourceGroup, ServicePrincipal, iso, new_key, normalize_region

bp = Blueprint("arm", __name__)

ACCOUNT_TYPE = "Microsoft.CognitiveServices/accounts"
_PROVIDER = "providers/Microsoft.CognitiveServices/accounts"
_API_VERSION = re.compile(r"^\d{4}-\d{2}-\d{2}(-preview)?$")
_ACCOUNT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{1,63}$")

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


@bp.errorhandler(ArmError)
def _arm_error(exc: ArmError):
    return exc.response()


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
    if tok.expired():
        now = datetime.now(UTC).strftime("%m/%d/%Y %H:%M:%S")
        exp = datetime.fromtimestamp(tok.expires_at, UTC).strftime("%m/%d/%Y %H:%M:%S")
        raise ArmError(401, "ExpiredAuthenticationToken",
                       f"The access token expiry UTC time '{exp}' is earlier than current UTC time '{now}'.")
    return principal


def _api_version() -> str:
    version = request.args.get("api-version")
    if not version:
        raise ArmError(400, "MissingApiVersionParameter",
                       "The api-version query parameter (?api-version=) is required for all requests.")
    if not _API_VERSION.match(version):
        raise ArmError(400, "InvalidApiVersionParameter",
                       f"The api-version '{version}' is invalid. The supported versions are of the form "
                       "'yyyy-mm-dd' or 'yyyy-mm-dd-preview'.")
    return version


def _authorize(subscription_id: str, action: str, scope: str) -> ServicePrincipal:
    """Check token, api-version, subscription and the principal's access; raises ARM errors in ARM's order."""
    principal = _principal()
    _api_version()
    sub = _sim().state.subscription(subscription_id)
    if sub is None:
        raise ArmError(404, "SubscriptionNotFound",
                       f"The subscription '{subscription_id}' could not be found.")
    if principal.object_id not in sub.principals:
        raise ArmError(
            403, "AuthorizationFailed",
            f"The client '{principal.client_id}' with object id '{principal.object_id}' does not have "
            f"authorization to perform action '{action}' over scope '{scope}' or the scope is invalid. "
            "If access was recently granted, please refresh your credentials.",
        )
    return principal


def _resource_group(subscription_id: str, name: str) -> ResourceGroup:
    rg = _sim().state.resource_group(subscription_id, name)
    if rg is None:
        raise ArmError(404, "ResourceGroupNotFound", f"Resource group '{name}' could not be found.")
    return rg


def _account(subscription_id: str, rg: ResourceGroup, name: str) -> Account:
    acct = _sim().state.account(name)
    if (acct is None or acct.subscription_id != subscription_id.lower()
            or acct.resource_group.lower() != rg.name.lower()):
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
            "customSubDomainName": acct.name.lower(),
            "publicNetworkAccess": "Enabled",
            "isMigrated": False,
            "capabilities": [],
            "networkAcls": {"defaultAction": "Allow", "virtualNetworkRules": [], "ipRules": []},
        },
    }
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
    _authorize(subscription_id, "Microsoft.Resources/subscriptions/resourceGroups/read",
               f"/subscriptions/{subscription_id}")
    state = _sim().state
    with state.lock:
        groups = [resource_group_json(rg) for (sub, _), rg in sorted(state.resource_groups.items())
                  if sub == subscription_id.lower()]
    return _page(groups)


# -- accounts: lists -------------------------------------------------------------------------------------
def _accounts_where(pred) -> list[dict]:
    state = _sim().state
    with state.lock:
        found = sorted((a for a in state.accounts.values() if pred(a)), key=lambda a: a.name.lower())
        return [account_json(a) for a in found]


@bp.get(f"/subscriptions/<subscription_id>/{_PROVIDER}")
@operation("Accounts_List")
def accounts_list(subscription_id: str):
    _authorize(subscription_id, f"{ACCOUNT_TYPE}/read", f"/subscriptions/{subscription_id}")
    sub = subscription_id.lower()
    return _page(_accounts_where(lambda a: a.subscription_id == sub))


@bp.get(f"/subscriptions/<subscription_id>/resourceGroups/<rg_name>/{_PROVIDER}")
@operation("Accounts_ListByResourceGroup")
def accounts_list_by_resource_group(subscription_id: str, rg_name: str):
    _authorize(subscription_id, f"{ACCOUNT_TYPE}/read", _account_scope(subscription_id, rg_name))
    rg = _resource_group(subscription_id, rg_name)
    sub = subscription_id.lower()
    return _page(_accounts_where(
        lambda a: a.subscription_id == sub and a.resource_group.lower() == rg.name.lower()))


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


def _check_free_limit(subscription_id: str, kind: str, sku: str, except_name: str | None) -> None:
    """One F0 account per kind per subscription, as Azure enforces."""
    if sku != "F0":
        return
    state = _sim().state
    taken = any(a.subscription_id == subscription_id and a.kind == kind and a.sku == "F0"
                and a.name.lower() != (except_name or "").lower() for a in state.accounts.values())
    if taken:
        raise ArmError(409, "CanNotCreateMultipleFreeAccounts",
                       f"Operation failed. Only one free account is allowed for account type '{kind}'.")


@bp.put(f"/subscriptions/<subscription_id>/resourceGroups/<rg_name>/{_PROVIDER}/<account_name>")
@operation("Accounts_Create")
def accounts_create(subscription_id: str, rg_name: str, account_name: str):
    principal = _authorize(subscription_id, f"{ACCOUNT_TYPE}/write",
                           _account_scope(subscription_id, rg_name, account_name))
    rg = _resource_group(subscription_id, rg_name)
    body = _json_body()
    sub = subscription_id.lower()
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
    state = _sim().state
    with state.lock:
        existing = state.account(account_name)
        if existing is not None and (existing.subscription_id != sub
                                     or existing.resource_group.lower() != rg.name.lower()):
            # Account names are custom subdomains here, so they are unique across all of Azure.
            raise ArmError(409, "CustomDomainInUse",
                           f"Custom domain name '{account_name.lower()}' is already in use. Choose another "
                           "name for the resource.")
        if existing is not None and existing.kind != known_kind:
            raise ArmError(409, "CannotChangeAccountKind",
                           f"The kind of account '{existing.name}' is '{existing.kind}' and cannot "
                           f"be changed to '{known_kind}'.")
        _check_free_limit(sub, known_kind, sku, account_name)
        region = normalize_region(location)
        # A PUT replaces the resource: no 'identity' in the body means none.
        identity = _identity_from({"identity": body.get("identity")},
                                  account_identity(existing) if existing else None, _tenant_of(sub))
        if existing is None:
            acct = Account(sub, rg.name, account_name, known_kind, sku, region,
                           _sim().account_endpoint(account_name), tags=tags, created_by=principal.client_id)
            state.accounts[account_name.lower()] = acct
            status = 201
        else:
            if region != existing.location:
                raise ArmError(409, "LocationCannotBeChanged",
                               f"The location of account '{existing.name}' is '{existing.location}' and "
                               "cannot be changed.")
            existing.sku, existing.tags = sku, tags
            existing.touch(principal.client_id)
            acct, status = existing, 200
        acct.identity = identity
        state.changed()
        resp = jsonify(account_json(acct))
    resp.status_code = status
    return resp


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
        sku_name = _sku_of(body)
        sku = None
        if sku_name is not None:
            sku = _check_sku(acct.kind, sku_name)
            _check_free_limit(acct.subscription_id, acct.kind, sku, acct.name)
        if "tags" in body and not isinstance(body["tags"], dict):
            raise ArmError(400, "InvalidRequestContent", "The 'tags' property must be an object.")
        # A PATCH changes only what it names: no 'identity' keeps the account's.
        identity = _identity_from(body, account_identity(acct), _tenant_of(acct.subscription_id))
        # Checked everything first, so a rejected PATCH changes nothing.
        if sku is not None:
            acct.sku = sku
        if "tags" in body:
            acct.tags = dict(body["tags"])
        acct.identity = identity
        acct.touch(principal.client_id)
        state.changed()
        return jsonify(account_json(acct))


@bp.delete(f"/subscriptions/<subscription_id>/resourceGroups/<rg_name>/{_PROVIDER}/<account_name>")
@operation("Accounts_Delete")
def accounts_delete(subscription_id: str, rg_name: str, account_name: str):
    _authorize(subscription_id, f"{ACCOUNT_TYPE}/delete",
               _account_scope(subscription_id, rg_name, account_name))
    rg = _resource_group(subscription_id, rg_name)
    state = _sim().state
    with state.lock:
        acct = state.account(account_name)
        if (acct is None or acct.subscription_id != subscription_id.lower()
                or acct.resource_group.lower() != rg.name.lower()):
            return "", 204  # ARM: deleting what is not there succeeds with No Content
        del state.accounts[account_name.lower()]
        state.changed()
    return "", 200


@bp.post(f"/subscriptions/<subscription_id>/resourceGroups/<rg_name>/{_PROVIDER}/<account_name>/listKeys")
@operation("Accounts_ListKeys")
def accounts_list_keys(subscription_id: str, rg_name: str, account_name: str):
    _authorize(subscription_id, f"{ACCOUNT_TYPE}/listKeys/action",
               _account_scope(subscription_id, rg_name, account_name))
    rg = _resource_group(subscription_id, rg_name)
    with _sim().state.lock:
        acct = _account(subscription_id, rg, account_name)
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


