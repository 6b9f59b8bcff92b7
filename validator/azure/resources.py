"""Azure Resource Manager's generic resources: the attendee's resources of any type, through azure-mgmt-resource.

One list call per resource type (``Resources_ListByResourceGroup`` filtered by ``resourceType``, with the
provisioning state), then, when the lab reads properties, one ``Resources_GetById`` per listed resource
with the api-version the lab gives for that type (the resource provider's own version: ARM has none of its
own for another provider's resources). An empty list with an api-version known is followed by one read of a
name no resource has, which tells "none" from "labgrader may not read this type" (ARM lists only what the
caller may read); without an api-version the two cannot be told apart. Every call goes through the
ArmGateway's retry policy, deadline and call counter; SDK errors become
:class:`~validator.azure.errors.AzureCallError` there.
"""

from __future__ import annotations

from typing import Any

from azure.core.exceptions import HttpResponseError
from azure.mgmt.resource.resources import ResourceManagementClient

from checks.facts import ResourceFact

from .arm import ArmGateway, _options, _resource_group_of
from .errors import AzureCallError


def _client(arm: ArmGateway) -> ResourceManagementClient:
    azure = arm.azure
    credential = arm.runtime.credentials.get(azure)
    key = (azure.profile, azure.subscription_id, credential)
    return arm.runtime.resource_clients.get_or_create(
        key, lambda: ResourceManagementClient(credential, azure.subscription_id, **_options(arm.runtime, azure)))


def resources(arm: ArmGateway, resource_type: str, api_version: str | None = None) -> list[ResourceFact]:
    """The resources of ``resource_type`` in the attendee's resource group, by name; with ``api_version``,
    each with its properties (one more call per resource)."""
    client = _client(arm)
    rg = arm.azure.resource_group
    wanted = f"resourceType eq '{resource_type}'"

    def listing(timeout: float) -> list[Any]:
        pager = client.resources.list_by_resource_group(rg, filter=wanted, expand="provisioningState",
                                                        connection_timeout=timeout, read_timeout=timeout)
        # ARM filters already; the type test keeps a lenient server's other types out of the judgement.
        return [r for r in pager if (r.type or "").casefold() == resource_type.casefold()]

    listed = arm.run("Resources_ListByResourceGroup", listing)
    listed.sort(key=lambda r: (r.name or "").casefold())
    if not api_version:
        return [_fact(r, rg) for r in listed]
    if not listed:
        _prove_readable(arm, client, resource_type, api_version)

    def properties(resource_id: str):
        def fetch(timeout: float) -> Any:
            return client.resources.get_by_id(resource_id, api_version=api_version, connection_timeout=timeout,
                                              read_timeout=timeout)
        return arm.run("Resources_GetById", fetch)

    return [_fact(r, rg, properties(r.id)) for r in listed]


# A name no resource has: reading it proves the grader may read the type (ARM checks the caller's roles at the
# request's scope before it passes the request to the provider, so any answer but 403 means "allowed").
# Lower-case letters and digits only, 3-24 long: a valid name for most providers (storage accounts included).
PROBE_NAME = "labgraderprobe0"


# ARM's answers that say the lab's resource type or api-version is wrong, not that the resource is missing.
_LAB_MISTAKES = {"InvalidResourceType", "InvalidResourceNamespace", "NoRegisteredProviderFound",
                 "InvalidApiVersionParameter"}


def _prove_readable(arm: ArmGateway, client: ResourceManagementClient, resource_type: str, api_version: str) -> None:
    """Raise the permission error when an empty list only means the grader may not read the type: ARM
    leaves out of a list what the caller may not read, so "none" and "not allowed" look alike there."""
    probe = (f"/subscriptions/{arm.azure.subscription_id}/resourceGroups/{arm.azure.resource_group}/providers/"
             f"{resource_type}/{PROBE_NAME}")

    def fetch(timeout: float) -> None:
        try:
            client.resources.get_by_id(probe, api_version=api_version, connection_timeout=timeout,
                                       read_timeout=timeout)
        except HttpResponseError as exc:
            code = getattr(getattr(exc, "error", None), "code", None) or ""
            if code in _LAB_MISTAKES:
                # The lab's type or api-version is wrong: every student would see "none found" forever.
                raise AzureCallError("rejected", "Resources_GetById", f"the lab's {resource_type} "
                                     f"(api-version {api_version}): {code}", status=exc.status_code,
                                     code=code) from None
            if exc.status_code in (400, 404) or code == "MissingSubscriptionRegistration":
                # Allowed: no such resource (or a name the provider refuses; or nothing of the namespace was
                # ever made in the subscription, which registers it).
                return None
            raise
        return None

    arm.run("Resources_GetById", fetch)


def _fact(listed: Any, resource_group: str, full: Any = None) -> ResourceFact:
    """A ResourceFact from a listed GenericResourceExpanded (and the GenericResource read by id, if any)."""
    source = full or listed
    sku = source.sku
    props = full.properties if full is not None else None
    state = getattr(listed, "provisioning_state", None)
    if isinstance(props, dict) and isinstance(props.get("provisioningState"), str):
        state = props["provisioningState"]  # read after the list: the newer of the two
    return ResourceFact(
        name=source.name or "",
        type=source.type or "",
        location=source.location or "",
        resource_group=_resource_group_of(source.id) or resource_group,
        resource_id=source.id or "",
        kind=source.kind,
        sku_name=sku.name if sku else None,
        sku_tier=sku.tier if sku else None,
        tags=dict(source.tags or {}),
        provisioning_state=state,
        properties=dict(props) if isinstance(props, dict) else ({} if full is not None else None),
    )
