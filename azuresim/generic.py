"""Generic ARM resources: any provider namespace and resource type a test or a lab author registers.

This module holds them (``SimState.generic``); ``azuresim.generic_arm`` serves them.

A registration names a namespace, a resource type and the api-versions ARM accepts for it
(``Microsoft.Storage/storageAccounts`` with ``2023-05-01``, ...); resources of a registered type are then
created (PUT, long-running: provisioningState Creating, then Succeeded), read, listed per resource group
or subscription, and deleted through ARM's provider paths, as ``az resource`` and azure-mgmt-resource's
``resources.*_by_id`` reach them. They appear in ``Resources_List`` / ``Resources_ListByResourceGroup``
too (``azuresim.arm_meta``). The simulator stores what a PUT sends (kind, sku, tags, properties) and
validates only what ARM itself validates: the resource provider's own rules are not modelled.

ARM's errors, in its order: authentication, then ``InvalidResourceNamespace`` (400) for a namespace ARM
does not know, ``InvalidResourceType`` (404) for a type the namespace does not register,
``NoRegisteredProviderFound`` (400, naming the supported api-versions and locations) for a version the
type does not support, then subscription, role (``<namespace>/<type>/read|write|delete``, see
``azuresim.rbac.resource_action``) and resource group. Microsoft.CognitiveServices stays in ``azuresim.arm``.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from datetime import datetime

from . import apiversions
from .errors import ArmError
from .state import REGIONS, iso, normalize_region, utcnow

_NAMESPACE = re.compile(r"^[A-Za-z][A-Za-z0-9]*(\.[A-Za-z][A-Za-z0-9]*)+$")
_TYPE = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")
_VERSION = re.compile(r"^\d{4}-\d{2}-\d{2}(-[A-Za-z]+)?$")
# What ARM refuses in any resource name, whatever the provider allows.
_BAD_NAME = re.compile(r"[<>%&:\\?/#*]|^\s|\s$|\.$")


class RegistrationError(ValueError):
    """A resource type registration or an admin-created resource the simulator refuses (message shown)."""


@dataclass(frozen=True)
class ResourceType:
    """A registered top-level resource type: ``namespace``/``type`` with its api-versions and locations."""

    namespace: str
    type: str
    api_versions: tuple[str, ...]
    locations: tuple[str, ...] = REGIONS

    @property
    def full(self) -> str:
        """``Microsoft.Storage/storageAccounts``: how ARM writes the resource's ``type``."""
        return f"{self.namespace}/{self.type}"

    def supports(self, version: str) -> bool:
        return version.lower() in (v.lower() for v in self.api_versions)

    def to_json(self) -> dict:
        return {"namespace": self.namespace, "type": self.type, "api_versions": list(self.api_versions),
                "locations": list(self.locations)}


@dataclass
class GenericResource:
    """A resource of a registered type in a resource group; ``properties`` is what its creator sent."""

    subscription_id: str
    resource_group: str
    rtype: ResourceType
    name: str
    location: str
    kind: str | None = None
    sku: dict | None = None
    tags: dict = field(default_factory=dict)
    properties: dict = field(default_factory=dict)
    created: datetime = field(default_factory=utcnow)
    created_by: str | None = None
    last_modified: datetime = field(default_factory=utcnow)
    # Epoch seconds when the create or update in progress finishes; ``updating``: it is an update.
    ready_at: float = 0.0
    updating: bool = False
    failed: bool = False

    @property
    def resource_type(self) -> str:
        return self.rtype.full

    @property
    def provisioning_state(self) -> str:
        if time.time() < self.ready_at:
            return "Updating" if self.updating else "Creating"
        return "Failed" if self.failed else "Succeeded"

    def resource_id(self) -> str:
        return (f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}/providers/"
                f"{self.rtype.namespace}/{self.rtype.type}/{self.name}")

    def to_json(self) -> dict:
        """The resource as its provider's GET answers it (a GenericResource)."""
        body: dict = {"id": self.resource_id(), "name": self.name, "type": self.resource_type,
                      "location": self.location, "tags": dict(self.tags)}
        if self.kind is not None:
            body["kind"] = self.kind
        if self.sku is not None:
            body["sku"] = dict(self.sku)
        body["systemData"] = {"createdBy": self.created_by, "createdByType": "Application",
                              "createdAt": iso(self.created), "lastModifiedBy": self.created_by,
                              "lastModifiedByType": "Application", "lastModifiedAt": iso(self.last_modified)}
        body["properties"] = {**self.properties, "provisioningState": self.provisioning_state}
        return body

    def to_expanded_json(self, expand: set[str]) -> dict:
        """The resource as ``Resources_List`` shows it (a GenericResourceExpanded: no properties)."""
        body = {k: v for k, v in self.to_json().items() if k not in ("properties", "systemData")}
        if "createdtime" in expand:
            body["createdTime"] = iso(self.created)
        if "changedtime" in expand:
            body["changedTime"] = iso(self.last_modified)
        if "provisioningstate" in expand:
            body["provisioningState"] = self.provisioning_state
        return body


def _key(subscription_id: str, resource_group: str, rtype: ResourceType, name: str) -> str:
    return f"/subscriptions/{subscription_id}/resourcegroups/{resource_group}/{rtype.full}/{name}".lower()


@dataclass
class GenericStore:
    """The registered types and the resources of them (part of ``SimState``; use under ``state.lock``)."""

    types: dict[tuple[str, str], ResourceType] = field(default_factory=dict)  # (ns, type), lower case
    resources: dict[str, GenericResource] = field(default_factory=dict)

    def register(self, namespace: str, rtype: str, api_versions, locations=None) -> ResourceType:
        """Register (or replace) a type; raises :class:`RegistrationError` on a malformed one."""
        if not isinstance(namespace, str) or not _NAMESPACE.match(namespace):
            raise RegistrationError(f"'{namespace}' is not a provider namespace such as 'Microsoft.Storage'.")
        if not isinstance(rtype, str) or not _TYPE.match(rtype):
            raise RegistrationError(f"'{rtype}' is not a top-level resource type such as 'storageAccounts'.")
        if apiversions.namespace(namespace) is not None:
            raise RegistrationError(f"'{namespace}' is served by azuresim itself and cannot be registered.")
        if isinstance(api_versions, str):
            api_versions = [api_versions]
        versions = tuple(api_versions or ())
        if not versions or not all(isinstance(v, str) and _VERSION.match(v) for v in versions):
            raise RegistrationError("'api_versions' must list one or more versions such as '2023-05-01'.")
        regions = tuple(normalize_region(r) for r in (locations or REGIONS))
        unknown = [r for r in regions if r not in REGIONS]
        if unknown:
            raise RegistrationError(f"Unknown location(s) {', '.join(unknown)}: use some of {', '.join(REGIONS)}.")
        # The namespace keeps the spelling it was first registered with, as ARM has one per provider.
        known = next((t.namespace for (ns, _), t in self.types.items() if ns == namespace.lower()), namespace)
        found = ResourceType(known, rtype, versions, regions)
        self.types[(namespace.lower(), rtype.lower())] = found
        return found

    def namespace(self, name: str) -> str | None:
        return next((t.namespace for (ns, _), t in self.types.items() if ns == name.lower()), None)

    def type_of(self, namespace: str, rtype: str) -> ResourceType | None:
        return self.types.get((namespace.lower(), rtype.lower()))

    def find(self, subscription_id: str, resource_group: str, rtype: ResourceType, name: str
             ) -> GenericResource | None:
        return self.resources.get(_key(subscription_id, resource_group, rtype, name))

    def where(self, subscription_id: str, resource_group: str | None = None,
              rtype: ResourceType | None = None) -> list[GenericResource]:
        """Resources of a subscription (in a group, of a type), by group then name."""
        sub = subscription_id.lower()
        found = [r for r in self.resources.values()
                 if r.subscription_id.lower() == sub
                 and (resource_group is None or r.resource_group.lower() == resource_group.lower())
                 and (rtype is None or r.rtype == rtype)]
        return sorted(found, key=lambda r: (r.resource_group.lower(), r.name.lower()))

    def put(self, subscription_id: str, resource_group: str, rtype: ResourceType, name: str, body: dict,
            by: str | None, seconds: float) -> tuple[GenericResource, bool]:
        """Create or replace a resource from a PUT body; (resource, created). Raises :class:`ArmError`."""
        if not name or len(name) > 260 or _BAD_NAME.search(name):
            raise ArmError(400, "InvalidResourceName",
                           f"Resource name {name} is invalid. The name can be up to 260 characters long and "
                           "cannot contain <, >, %, &, :, \\, ?, /, # or *, or end with a dot or a space.")
        location = body.get("location")
        if not isinstance(location, str) or not location.strip():
            raise ArmError(400, "LocationRequired", "The location property is required for this definition.")
        region = normalize_region(location)
        if region not in rtype.locations:
            raise ArmError(400, "LocationNotAvailableForResourceType",
                           f"The provided location '{location}' is not available for resource type "
                           f"'{rtype.full}'. List of available regions for the resource type is "
                           f"'{','.join(rtype.locations)}'.")
        for prop, kind in (("tags", dict), ("properties", dict), ("sku", dict), ("kind", str)):
            if body.get(prop) is not None and not isinstance(body[prop], kind):
                what = "an object" if kind is dict else "a string"
                raise ArmError(400, "InvalidRequestContent", f"The '{prop}' property must be {what}.")
        sku = body.get("sku")
        if sku is not None and not isinstance(sku.get("name"), str):
            raise ArmError(400, "InvalidRequestContent", "The 'sku' property must be an object with a 'name'.")
        props = {k: v for k, v in (body.get("properties") or {}).items() if k != "provisioningState"}
        existing = self.find(subscription_id, resource_group, rtype, name)
        if existing is not None and existing.location != region:
            raise ArmError(409, "InvalidResourceLocation",
                           f"The resource '{existing.name}' already exists in location '{existing.location}' in "
                           f"resource group '{existing.resource_group}'. A resource with the same name cannot "
                           f"be created in location '{region}'. Please select a new resource name.")
        ready = time.time() + max(0.0, seconds)
        if existing is None:
            res = GenericResource(subscription_id, resource_group, rtype, name, region, body.get("kind"),
                                  dict(sku) if sku else None, dict(body.get("tags") or {}), props,
                                  created_by=by, ready_at=ready)
            self.resources[_key(subscription_id, resource_group, rtype, name)] = res
            return res, True
        # A PUT replaces the resource's definition.
        existing.kind, existing.sku = body.get("kind"), (dict(sku) if sku else None)
        existing.tags, existing.properties = dict(body.get("tags") or {}), props
        existing.last_modified, existing.ready_at, existing.updating = utcnow(), ready, True
        return existing, False

    def delete(self, res: GenericResource) -> None:
        self.resources.pop(_key(res.subscription_id, res.resource_group, res.rtype, res.name), None)

    def drop_group(self, subscription_id: str, resource_group: str) -> None:
        for res in self.where(subscription_id, resource_group):
            self.delete(res)

    def snapshot(self) -> dict:
        return {"resource_types": [t.to_json() for t in self.types.values()],
                "resources": [{"id": r.resource_id(), "type": r.resource_type, "location": r.location,
                               "kind": r.kind, "sku": r.sku, "provisioning_state": r.provisioning_state}
                              for r in self.resources.values()]}

    def clear(self) -> None:
        self.types.clear()
        self.resources.clear()
