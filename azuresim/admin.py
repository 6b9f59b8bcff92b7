"""The simulator's own control API under ``/_sim`` (loopback callers only).

Attendees, a state overview without secrets, reset, fault rules and the call log; custom roles, a
principal's role assignments and its secret's expiry; generic resource types and resources
(``azuresim.generic``). Errors use one envelope: ``{"error": {"code", "message"}}``.
"""

from __future__ import annotations

import ipaddress
import time

from flask import Blueprint, current_app, jsonify, request

from .errors import ArmError, arm_error
from .faults import FaultRuleError
from .generic import RegistrationError
from .rbac import RoleError
from .state import AttendeeError, ServicePrincipal

bp = Blueprint("admin", __name__, url_prefix="/_sim")


def _sim():
    return current_app.config["SIM"]


def _bad_request(message: str):
    return arm_error(400, "BadRequest", message)


@bp.before_request
def _loopback_only():
    try:
        loopback = ipaddress.ip_address((request.remote_addr or "").split("%")[0]).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        return arm_error(403, "Forbidden", "The azuresim admin API answers loopback callers only.")
    return None


def _json_object() -> dict | None:
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else None


@bp.get("/info")
def info():
    """The cloud profile (authority host, ARM endpoint, scope, CA bundle path, admin URL)."""
    return jsonify(_sim().info)


@bp.post("/attendees")
def create_attendee():
    body = _json_object()
    if body is None:
        return _bad_request('Send a JSON object such as {"name": "ada", "region": "eastus"}.')
    unknown = set(body) - {"name", "region", "grader_role", "grader_scope"}
    if unknown:
        return _bad_request(f"Unknown field(s): {', '.join(sorted(unknown))}. Allowed: name, region, grader_role, "
                            "grader_scope.")
    try:
        creds = _sim().create_attendee(body.get("name"), body.get("region"), body.get("grader_role"),
                                       body.get("grader_scope"))
    except AttendeeError as exc:
        return _bad_request(str(exc))
    resp = jsonify(creds)
    resp.status_code = 201
    return resp


@bp.post("/roles")
def define_role():
    """A custom role from its JSON definition (``Name``, ``Actions``, ``NotActions``, ``DataActions``, ...)."""
    try:
        role = _sim().state.define_role(_json_object())
    except RoleError as exc:
        return _bad_request(str(exc))
    resp = jsonify(role.to_json())
    resp.status_code = 201
    return resp


def _principal(client_id: str) -> ServicePrincipal | None:
    return _sim().state.principals.get(client_id.lower())


def _scope_for(principal: ServicePrincipal, scope: str) -> str:
    """``subscription`` / ``resource_group`` name the principal's own lab; anything else is a scope id."""
    state = _sim().state
    if scope not in ("subscription", "resource_group"):
        return scope
    sub = next((s for s in state.subscriptions.values() if s.tenant_id == principal.tenant_id), None)
    if sub is None:
        raise RoleError(f"No subscription of tenant '{principal.tenant_id}' to assign a role in.")
    if scope == "subscription":
        return f"/subscriptions/{sub.subscription_id}"
    rg = next((rg for (sid, _), rg in state.resource_groups.items() if sid == sub.subscription_id), None)
    if rg is None:
        raise RoleError(f"Subscription '{sub.subscription_id}' has no resource group.")
    return rg.resource_id()


@bp.put("/principals/<client_id>/roles")
def set_roles(client_id: str):
    """Replace a principal's role assignments: ``{"assignments": [{"role": NAME, "scope": SCOPE}, ...]}``
    where SCOPE is ``subscription``, ``resource_group`` (the principal's lab) or a scope id. ``[]``: no access."""
    principal = _principal(client_id)
    if principal is None:
        return arm_error(404, "NotFound", f"No service principal has client id '{client_id}'.")
    body = _json_object()
    wanted = body.get("assignments") if body else None
    if not isinstance(wanted, list) or not all(isinstance(a, dict) and isinstance(a.get("role"), str)
                                               and isinstance(a.get("scope"), str) for a in wanted):
        return _bad_request('Send {"assignments": [{"role": "Reader", "scope": "resource_group"}, ...]}.')
    state = _sim().state
    try:
        resolved = [(state.role(a["role"]).name, _scope_for(principal, a["scope"])) for a in wanted]
    except RoleError as exc:
        return _bad_request(str(exc))
    with state.lock:
        state.unassign_roles(principal)
        try:
            for role, scope in resolved:
                state.assign_role(principal, role, scope)
        except RoleError as exc:
            state.unassign_roles(principal)
            return _bad_request(str(exc))
    return jsonify({"assignments": [{"role": a.role, "scope": a.scope} for a in state.assignments_of(principal)]})


def _split_type(full) -> tuple[str, str]:
    if not isinstance(full, str) or full.count("/") != 1:
        raise RegistrationError(f"'type' must be NAMESPACE/TYPE such as 'Microsoft.Storage/storageAccounts', "
                                f"not {full!r}.")
    ns, rtype = full.split("/")
    return ns, rtype


@bp.post("/resource-types")
def register_resource_type():
    """Register a generic resource type: ``{"type": "Microsoft.Storage/storageAccounts", "api_versions":
    ["2023-05-01"], "locations": [...]}`` (locations: default every region of the simulator)."""
    body = _json_object()
    if body is None or not {"type", "api_versions"} <= set(body) or set(body) - {"type", "api_versions", "locations"}:
        return _bad_request('Send {"type": "Microsoft.Storage/storageAccounts", "api_versions": ["2023-05-01"]} '
                            '(and optionally "locations").')
    state = _sim().state
    try:
        ns, rtype = _split_type(body["type"])
        with state.lock:
            found = state.generic.register(ns, rtype, body["api_versions"], body.get("locations"))
            state.changed()
    except RegistrationError as exc:
        return _bad_request(str(exc))
    resp = jsonify(found.to_json())
    resp.status_code = 201
    return resp


@bp.get("/resource-types")
def resource_types():
    with _sim().state.lock:
        return jsonify({"value": [t.to_json() for t in _sim().state.generic.types.values()]})


_RESOURCE_FIELDS = {"subscription_id", "resource_group", "type", "name", "location", "kind", "sku", "tags",
                    "properties"}


@bp.post("/resources")
def create_resource():
    """Create a generic resource in an attendee's resource group at once (provisioning Succeeded), as if
    the student had: ``{"subscription_id", "resource_group", "type", "name", "location", "kind", "sku",
    "tags", "properties"}`` (location: the resource group's by default)."""
    body = _json_object()
    if body is None or not {"subscription_id", "resource_group", "type", "name"} <= set(body):
        return _bad_request('Send {"subscription_id", "resource_group", "type": "NAMESPACE/TYPE", "name", ...}.')
    unknown = set(body) - _RESOURCE_FIELDS
    if unknown:
        return _bad_request(f"Unknown field(s): {', '.join(sorted(unknown))}. Allowed: "
                            f"{', '.join(sorted(_RESOURCE_FIELDS))}.")
    state = _sim().state
    try:
        ns, rtype = _split_type(body["type"])
        with state.lock:
            found = state.generic.type_of(ns, rtype)
            if found is None:
                raise RegistrationError(f"Resource type '{body['type']}' is not registered: POST /_sim/resource-types "
                                        "first.")
            rg = state.resource_group(str(body["subscription_id"]), str(body["resource_group"]))
            if rg is None:
                raise RegistrationError(f"No resource group '{body['resource_group']}' in subscription "
                                        f"'{body['subscription_id']}'.")
            definition = {k: body[k] for k in ("kind", "sku", "tags", "properties") if k in body}
            definition["location"] = body.get("location") or rg.location
            res, _ = state.generic.put(rg.subscription_id, rg.name, found, str(body["name"]), definition,
                                       "azuresim-admin", 0)
            state.changed()
            answer = res.to_json()
    except RegistrationError as exc:
        return _bad_request(str(exc))
    except ArmError as exc:
        return _bad_request(exc.message)
    resp = jsonify(answer)
    resp.status_code = 201
    return resp


@bp.patch("/principals/<client_id>")
def update_principal(client_id: str):
    """``{"secret_expires_in": SECONDS}`` (negative or 0: expired now) or ``{"secret_expires_in": null}``."""
    principal = _principal(client_id)
    if principal is None:
        return arm_error(404, "NotFound", f"No service principal has client id '{client_id}'.")
    body = _json_object()
    if body is None or set(body) != {"secret_expires_in"}:
        return _bad_request('Send {"secret_expires_in": SECONDS} (0 expires the secret now; null: never).')
    seconds = body["secret_expires_in"]
    if seconds is not None and (isinstance(seconds, bool) or not isinstance(seconds, (int, float))):
        return _bad_request("'secret_expires_in' must be a number of seconds or null.")
    with _sim().state.lock:
        principal.secret_expires_at = None if seconds is None else time.time() + seconds
        _sim().state.changed()
    return "", 204


@bp.get("/state")
def state():
    return jsonify(_sim().state.snapshot())


@bp.post("/reset")
def reset():
    _sim().reset()
    return "", 204


@bp.post("/faults")
def add_fault():
    body = request.get_json(silent=True)
    try:
        rule_id = _sim().faults.add(body)
    except FaultRuleError as exc:
        return _bad_request(str(exc))
    resp = jsonify({"id": rule_id})
    resp.status_code = 201
    return resp


@bp.get("/faults")
def list_faults():
    return jsonify({"value": _sim().faults.list()})


@bp.delete("/faults")
def clear_faults():
    _sim().faults.clear()
    return "", 204


@bp.delete("/faults/<rule_id>")
def remove_fault(rule_id: str):
    if not _sim().faults.remove(rule_id):
        return arm_error(404, "NotFound", f"No fault rule has id '{rule_id}'.")
    return "", 204


@bp.get("/calls")
def calls():
    """Counts of Azure calls served, by operation and account (``?operation=`` / ``?account=`` filter)."""
    op, account = request.args.get("operation"), request.args.get("account")
    rows = [r for r in _sim().call_log()
            if (op is None or r["operation"] == op) and (account is None or r["account"] == account.lower())]
    return jsonify({"value": rows, "total": sum(r["count"] for r in rows)})


@bp.delete("/calls")
def clear_calls():
    _sim().clear_calls()
    return "", 204
