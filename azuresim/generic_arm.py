"""ARM's provider paths for generic resources (``azuresim.generic``): PUT, GET, DELETE and the lists.

See ``azuresim.generic`` for what is stored and ARM's errors, in its order.
"""

from __future__ import annotations

import math
import time

from flask import Blueprint, jsonify, request

from . import apiversions
from .app import operation
from .errors import ArmError
from .generic import GenericResource, ResourceType
from .rbac import resource_action
from .state import normalize_region

bp = Blueprint("generic", __name__)


# -- the ARM views ---------------------------------------------------------------------------------------
def _sim():
    from .arm import _sim as sim

    return sim()


def _registered(namespace: str, rtype: str) -> ResourceType:
    """The registration a request addresses, after authentication; raises ARM's routing errors.

    A namespace azuresim serves itself (Microsoft.CognitiveServices) answers as any unrouted path there.
    """
    from .arm import _principal
    from .arm_meta import _unrouted

    _principal()
    store = _sim().state.generic
    with _sim().state.lock:
        known_ns = store.namespace(namespace)
        found = store.type_of(namespace, rtype) if known_ns else None
    if known_ns is None:
        raise _unrouted()
    version = request.args.get("api-version")
    if not version:
        raise ArmError(400, "MissingApiVersionParameter",
                       "The api-version query parameter (?api-version=) is required for all requests.")
    if found is None:
        raise ArmError(404, "InvalidResourceType",
                       f"The resource type '{rtype}' could not be found in the namespace '{known_ns}' for api "
                       f"version '{version}'.")
    location = None
    if request.method == "PUT":
        body = request.get_json(silent=True)
        if isinstance(body, dict) and isinstance(body.get("location"), str):
            location = normalize_region(body["location"])
    apiversions.check(version, found.namespace, found.type, location, found.locations, versions=found.api_versions)
    return found


def _scope(sub: str, rg: str | None, rtype: ResourceType, name: str | None = None) -> str:
    scope = f"/subscriptions/{sub}" + (f"/resourceGroups/{rg}" if rg else "")
    scope += f"/providers/{rtype.full}"
    return f"{scope}/{name}" if name else scope


def _not_found(rtype: ResourceType, name: str, rg: str) -> ArmError:
    return ArmError(404, "ResourceNotFound",
                    f"The Resource '{rtype.full}/{name}' under resource group '{rg}' was not found. For more "
                    "details please go to https://aka.ms/ARMResourceNotFoundFix")


_ONE = "/subscriptions/<subscription_id>/resourceGroups/<rg_name>/providers/<namespace>/<rtype>/<resource_name>"


@bp.get(_ONE)
@operation("GenericResources_Get")
def resource_get(subscription_id: str, rg_name: str, namespace: str, rtype: str, resource_name: str):
    from .arm import _authorize, _resource_group

    found = _registered(namespace, rtype)
    _authorize(subscription_id, resource_action(found.full, "read"),
               _scope(subscription_id, rg_name, found, resource_name))
    rg = _resource_group(subscription_id, rg_name)
    state = _sim().state
    with state.lock:
        res = state.generic.find(subscription_id, rg.name, found, resource_name)
        if res is None:
            raise _not_found(found, resource_name, rg.name)
        return jsonify(res.to_json())


@bp.put(_ONE)
@operation("GenericResources_CreateOrUpdate")
def resource_put(subscription_id: str, rg_name: str, namespace: str, rtype: str, resource_name: str):
    """Create or replace: 201 (200 for a replacement) with provisioningState Creating (Updating); the client
    polls the resource itself until the state is terminal (``Retry-After`` says when)."""
    from .arm import _authorize, _json_body, _resource_group

    found = _registered(namespace, rtype)
    principal = _authorize(subscription_id, resource_action(found.full, "write"),
                           _scope(subscription_id, rg_name, found, resource_name))
    rg = _resource_group(subscription_id, rg_name)
    body = _json_body()
    sim = _sim()
    with sim.state.lock:
        res, created = sim.state.generic.put(subscription_id.lower(), rg.name, found, resource_name, body,
                                             principal.client_id, sim.provisioning_seconds)
        sim.state.changed()
        resp = jsonify(res.to_json())
    resp.status_code = 201 if created else 200
    resp.headers["Retry-After"] = str(max(1, math.ceil(res.ready_at - time.time())))
    return resp


@bp.delete(_ONE)
@operation("GenericResources_Delete")
def resource_delete(subscription_id: str, rg_name: str, namespace: str, rtype: str, resource_name: str):
    """200 when the resource was deleted, 204 when there was none (as ARM answers)."""
    from .arm import _authorize, _resource_group

    found = _registered(namespace, rtype)
    _authorize(subscription_id, resource_action(found.full, "delete"),
               _scope(subscription_id, rg_name, found, resource_name))
    rg = _resource_group(subscription_id, rg_name)
    state = _sim().state
    with state.lock:
        res = state.generic.find(subscription_id, rg.name, found, resource_name)
        if res is None:
            return "", 204
        state.generic.delete(res)
        state.changed()
    return "", 200


def _listed(subscription_id: str, rg: str | None, found: ResourceType, principal) -> list[dict]:
    from .arm import readable

    state = _sim().state
    with state.lock:
        items = state.generic.where(subscription_id, rg, found)
        items = readable(principal, resource_action(found.full, "read"), items, GenericResource.resource_id)
        return [r.to_json() for r in items]


@bp.get("/subscriptions/<subscription_id>/resourceGroups/<rg_name>/providers/<namespace>/<rtype>")
@operation("GenericResources_ListByResourceGroup")
def resources_by_group(subscription_id: str, rg_name: str, namespace: str, rtype: str):
    from .arm import _authorize, _page, _resource_group

    found = _registered(namespace, rtype)
    principal = _authorize(subscription_id, resource_action(found.full, "read"),
                           _scope(subscription_id, rg_name, found))
    rg = _resource_group(subscription_id, rg_name)
    return _page(_listed(subscription_id, rg.name, found, principal))


@bp.get("/subscriptions/<subscription_id>/providers/<namespace>/<rtype>")
@operation("GenericResources_List")
def resources_by_subscription(subscription_id: str, namespace: str, rtype: str):
    from .arm import _authorize, _page

    found = _registered(namespace, rtype)
    principal = _authorize(subscription_id, resource_action(found.full, "read"),
                           f"/subscriptions/{subscription_id}", listing=True)
    return _page(_listed(subscription_id, None, found, principal))


@bp.get("/subscriptions/<subscription_id>/providers/<namespace>")
@operation("Providers_Get")
def providers_get(subscription_id: str, namespace: str):
    """A registered namespace with its types, their locations and api-versions (``az resource show`` reads
    this to pick an api-version when it is given none)."""
    from .arm import _authorize, _principal
    from .arm_meta import _unrouted

    _principal()
    state = _sim().state
    with state.lock:
        types = [t for (ns, _), t in state.generic.types.items() if ns == namespace.lower()]
    if not types:
        raise _unrouted()
    _authorize(subscription_id, "Microsoft.Resources/subscriptions/providers/read", f"/subscriptions/{subscription_id}",
               visible=True)
    ns = types[0].namespace
    return jsonify({
        "id": f"/subscriptions/{subscription_id}/providers/{ns}",
        "namespace": ns,
        "registrationState": "Registered",
        "registrationPolicy": "RegistrationRequired",
        "resourceTypes": [{"resourceType": t.type, "locations": list(t.locations),
                           "apiVersions": sorted(t.api_versions, reverse=True), "capabilities": "None"}
                          for t in types],
    })
