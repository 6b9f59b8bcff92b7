"""The scripted student for a pack's declarative resource steps (``checks.resources``): it makes the resources
the step's checks describe, through azure-mgmt-resource, right or with a named mistake.

    labgrader sim act --lab PACK --attendee ada.json 1                 # the resources of Task 1, right
    labgrader sim act --lab PACK --attendee ada.json 1 --mistake wrong-location

What it makes comes from the step's expectations alone: one resource per (type, name rule), named by the rule's
suggestion, in the rule's location (else the attendee's region), with the kind, SKU, tags and a property value
satisfying each rule (equals: that value, one_of: the first, at_least/at_most: the bound, exists: true/absent).
A ``matches`` rule cannot be satisfied from a regex and is left to the lab author. The type is registered in the
simulator first, with the pack's api-version, when the simulator does not serve it yet.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

RESOURCE_CHECKS = ("resource_exists", "resource_location", "resource_sku", "resource_kind", "resource_tags",
                   "resource_properties")

MISTAKES: dict[str, str] = {
    "missing": "make nothing (and delete what an earlier run made)",
    "wrong-name": "name the resource differently from the lab's rule",
    "wrong-location": "create it in another region",
    "wrong-kind": "create it with another kind",
    "wrong-sku": "create it with another SKU",
    "missing-tags": "create it without tags",
    "wrong-properties": "create it with every property rule broken",
}


_POLL = 0.5  # seconds between polls of a create or delete (the portal refreshes about as often)


class ResourceStudentError(ValueError):
    """The step cannot be done from the pack's expectations (the message says what is missing)."""


@dataclass
class Wanted:
    """One resource the step's checks describe."""

    type: str
    name: str
    api_version: str | None = None
    location: str | None = None
    kind: str | None = None
    sku: dict = field(default_factory=dict)
    tags: dict = field(default_factory=dict)
    properties: dict = field(default_factory=dict)
    unsatisfied: list[str] = field(default_factory=list)


def is_resource_step(step) -> bool:
    """Whether every check of a pack step is a declarative resource check."""
    return bool(step.checks) and all(c.id in RESOURCE_CHECKS for c in step.checks)


def plan(step, injects: Mapping[str, Any]) -> list[Wanted]:
    """The resources ``step``'s checks describe, rendered with ``injects``."""
    from checks import registry
    from checks.expect import NameRule

    wanted: dict[tuple[str, str], Wanted] = {}
    for c in step.checks:
        e = registry.get(c.id).expectations(c.expect, injects)
        name = NameRule.parse(e["name"]).suggestion() if e.get("name") is not None else "resource1"
        w = wanted.setdefault((e["type"].casefold(), name.casefold()), Wanted(e["type"], name))
        w.api_version = w.api_version or e.get("api_version")
        if c.id == "resource_location":
            w.location = e["location"]
        elif c.id == "resource_kind":
            w.kind = e["kind"]
        elif c.id == "resource_sku":
            w.sku.update({k: e[k] for k in ("sku", "tier") if e.get(k) is not None})
        elif c.id == "resource_tags":
            w.tags.update({k: (v if v is not None else "yes") for k, v in e["tags"].items()})
        elif c.id == "resource_properties":
            for rule in e["properties"]:
                _satisfy(w, rule)
    return list(wanted.values())


def _satisfy(w: Wanted, rule: Mapping[str, Any]) -> None:
    path = [p for p in str(rule["path"]).split(".") if p]
    if path and path[0] == "properties":
        path = path[1:]
    if "equals" in rule:
        value: Any = rule["equals"]
    elif "one_of" in rule:
        value = rule["one_of"][0]
    elif "at_least" in rule:
        value = rule["at_least"]
    elif "at_most" in rule:
        value = rule["at_most"]
    elif "exists" in rule:
        if not rule["exists"]:
            return
        value = True
    else:
        w.unsatisfied.append(str(rule["path"]))
        return
    target = w.properties
    for part in path[:-1]:
        target = target.setdefault(part, {})
    target[path[-1]] = value


def _region(location: str | None) -> str:
    return "".join((location or "").split()).lower()


def _merged(base: dict, over: Mapping[str, Any]) -> dict:
    """``base`` with ``over`` laid on it, nested mappings merged."""
    out = dict(base)
    for k, v in over.items():
        out[k] = _merged(out[k], v) if isinstance(v, Mapping) and isinstance(out.get(k), dict) else v
    return out


def _broken(value: Any) -> Any:
    """A value that breaks the rule ``value`` satisfied (true -> false, a number -> far off, text -> other)."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return -1 if value > 0 else value + 1000
    if isinstance(value, dict):
        return {k: _broken(v) for k, v in value.items()}
    return f"not-{value}"


def api_versions(pack) -> dict[str, str]:
    """resource type (casefolded) -> the api-version the pack gives for it (the first check that does)."""
    out: dict[str, str] = {}
    for s in pack.steps:
        for c in s.checks:
            rtype, version = (c.expect or {}).get("type"), (c.expect or {}).get("api_version")
            if c.id in RESOURCE_CHECKS and isinstance(rtype, str) and version:
                out.setdefault(rtype.strip().casefold(), str(version))
    return out


def act(creds: dict, pack, step, injects: Mapping[str, Any], mistake: str | None = None) -> str:
    """Make (or, for ``missing``, remove) the resources of ``pack``'s ``step`` as a student would; returns what
    was done. The api-version of a type is the one any check of the pack gives (as grading uses)."""
    import requests
    from azure.core.exceptions import ResourceNotFoundError
    from azure.identity import ClientSecretCredential
    from azure.mgmt.resource.resources import ResourceManagementClient
    from azure.mgmt.resource.resources.models import GenericResource, Sku

    if mistake is not None and mistake not in MISTAKES:
        raise ResourceStudentError(f"unknown mistake {mistake!r}: use one of {', '.join(MISTAKES)}")
    wanted = plan(step, injects)
    versions = api_versions(pack)
    for w in wanted:
        w.api_version = w.api_version or versions.get(w.type.casefold())
    missing_version = [w.type for w in wanted if not w.api_version]
    if missing_version:
        raise ResourceStudentError(f"the pack gives no api_version for {', '.join(missing_version)}: the scripted "
                                   "student needs one to create the resource (add api_version to a check of it)")
    cred = ClientSecretCredential(creds["tenant_id"], creds["client_id"], creds["client_secret"],
                                  authority=creds["authority_host"], disable_instance_discovery=True,
                                  connection_verify=creds["ca_bundle"])
    rm = ResourceManagementClient(cred, creds["subscription_id"], base_url=creds["arm_endpoint"],
                                  credential_scopes=[creds["credential_scope"]], connection_verify=creds["ca_bundle"])
    admin = creds["arm_endpoint"].rstrip("/") + "/_sim"
    done = []
    try:
        known = requests.get(f"{admin}/resource-types", verify=creds["ca_bundle"], timeout=30).json()["value"]
        for w in wanted:
            if not any(f"{t['namespace']}/{t['type']}".casefold() == w.type.casefold() for t in known):
                requests.post(f"{admin}/resource-types", verify=creds["ca_bundle"], timeout=30,
                              json={"type": w.type, "api_versions": [w.api_version]}).raise_for_status()
            name = f"{w.name}x" if mistake == "wrong-name" else w.name
            rid = (f"/subscriptions/{creds['subscription_id']}/resourceGroups/{creds['resource_group']}"
                   f"/providers/{w.type}/{name}")
            if mistake == "missing":
                rm.resources.begin_delete_by_id(rid, api_version=w.api_version, polling_interval=_POLL).result()
                done.append(f"made no {w.type} '{name}'")
                continue
            location = w.location or creds["region"]
            if mistake == "wrong-location":
                location = "westeurope" if _region(location) != "westeurope" else "eastus"
            existing = None
            with contextlib.suppress(ResourceNotFoundError):
                existing = rm.resources.get_by_id(rid, api_version=w.api_version)
            if existing is not None and _region(existing.location) != _region(location):
                # A resource cannot move: the student deletes it and makes it again where it belongs.
                rm.resources.begin_delete_by_id(rid, api_version=w.api_version, polling_interval=_POLL).result()
                done.append(f"deleted {w.type} '{name}' from {existing.location}")
            # What the portal keeps when the student changes a setting: the resource's other settings.
            kind = w.kind or (existing.kind if existing else None)
            sku = existing.sku if existing else None
            if w.sku:
                sku = Sku(name=w.sku.get("sku") or w.sku.get("tier"), tier=w.sku.get("tier"))
            tags = {**dict((existing.tags or {}) if existing else {}), **w.tags}
            props = _merged(dict((existing.properties or {}) if existing else {}), w.properties)
            props.pop("provisioningState", None)
            if mistake == "wrong-kind":
                kind = f"Not{kind or 'Expected'}"
            elif mistake == "wrong-sku":
                sku = Sku(name=f"{(w.sku.get('sku') if w.sku else None) or 'Basic'}_Other", tier="Premium")
            elif mistake == "missing-tags":
                tags = {}
            elif mistake == "wrong-properties":
                props = _merged(props, _broken(w.properties))
            body = GenericResource(location=location, kind=kind, sku=sku, tags=tags, properties=props)
            rm.resources.begin_create_or_update_by_id(rid, body, api_version=w.api_version,
                                                      polling_interval=_POLL).result()
            note = f" (a 'matches' rule of {', '.join(w.unsatisfied)} is left as is)" if w.unsatisfied else ""
            done.append(f"created {w.type} '{name}' in {location}{note}")
    finally:
        rm.close()
        cred.close()
    return "; ".join(done) + "."
