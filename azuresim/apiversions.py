"""The api-versions ARM accepts, per resource provider and resource type, and ARM's errors for the rest.

ARM checks ``api-version`` before a request reaches a resource provider: a missing one is
``MissingApiVersionParameter``, one that is not a date is ``InvalidApiVersionParameter``. A well-formed
version the type does not support is ``NoRegisteredProviderFound`` for a provider's types (ARM found no
registration of that provider for the version) and ``InvalidApiVersionParameter`` for ARM's own types
(subscriptions, tenants, resource groups, resources), each naming the versions that are supported.

    versions = supported("Microsoft.CognitiveServices", "accounts")
    check_request(request)          # raises ArmError; returns the api-version

The lists hold what the official SDKs and the Azure CLI send (the CLI's azure-mgmt-cognitiveservices
sends a newer preview than the project's SDK) plus the released versions around them. Versions are
compared case-insensitively, as ARM does.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from .errors import ArmError

_VERSION = re.compile(r"^\d{4}-\d{2}-\d{2}(-[A-Za-z]+)?$")

# Microsoft.CognitiveServices: one list for every type it registers (accounts, deleted accounts, SKUs,
# usages, availability checks, operation statuses), as its registration does. azure-mgmt-cognitiveservices
# 14.1.0 sends 2025-09-01; the Azure CLI 2.91 (azure-mgmt-cognitiveservices 15.0.0b4) sends 2026-05-15-preview.
COGNITIVE_SERVICES = (
    "2016-02-01-preview", "2017-04-18", "2021-04-30", "2021-10-01", "2022-03-01", "2022-10-01",
    "2022-12-01", "2023-05-01", "2023-10-01-preview", "2024-04-01-preview", "2024-06-01-preview",
    "2024-10-01", "2025-04-01-preview", "2025-06-01", "2025-07-01-preview", "2025-09-01",
    "2025-10-01-preview", "2026-01-15-preview", "2026-05-15-preview",
)

# ARM's own types. azure-mgmt-resource 26 sends 2025-04-01 (resource groups, resources); the Azure CLI 2.91
# sends 2022-12-01 for subscriptions and tenants and 2024-11-01 for resource groups and resources.
RESOURCES = (
    "2014-04-01", "2014-04-01-preview", "2015-01-01", "2015-11-01", "2016-02-01", "2016-06-01",
    "2016-07-01", "2016-09-01", "2017-05-10", "2018-02-01", "2018-05-01", "2019-03-01", "2019-05-01",
    "2019-05-10", "2019-07-01", "2019-08-01", "2019-10-01", "2020-06-01", "2020-10-01", "2021-01-01",
    "2021-04-01", "2022-09-01", "2023-07-01", "2024-03-01", "2024-07-01", "2024-11-01", "2025-01-01",
    "2025-03-01", "2025-04-01",
)
SUBSCRIPTIONS = (
    "2014-04-01", "2015-01-01", "2016-06-01", "2018-06-01", "2019-06-01", "2019-11-01", "2020-01-01",
    "2021-01-01", "2022-01-01", "2022-12-01", "2023-07-01", "2024-11-01",
)
# GET /metadata/endpoints: 2015-01-01 and 2018-01-01 answer the old single-cloud shape, 2019-05-01 and
# 2020-06-01 a list of clouds, 2022-09-01 one cloud (what ``az cloud register`` reads).
METADATA_ENDPOINTS = ("2015-01-01", "2018-01-01", "2019-05-01", "2020-06-01", "2022-09-01")

# Namespace (lower case) -> (spelling, {type (lower case) -> (spelling, versions)}).
_PROVIDERS: dict[str, tuple[str, dict[str, tuple[str, tuple[str, ...]]]]] = {
    "microsoft.cognitiveservices": ("Microsoft.CognitiveServices", {
        t.lower(): (t, COGNITIVE_SERVICES) for t in (
            "accounts", "deletedAccounts", "skus", "operations", "checkDomainAvailability", "locations",
            "locations/usages", "locations/checkSkuAvailability", "locations/operationResults",
            "locations/operationStatuses", "locations/resourceGroups", "locations/resourceGroups/deletedAccounts",
            "locations/models", "accounts/skus", "accounts/usages", "accounts/listKeys",
            "accounts/regenerateKey", "accounts/models", "accounts/deployments",
            "accounts/privateEndpointConnections", "accounts/privateLinkResources", "commitmentPlans",
            "commitmentTiers", "locations/commitmentTiers",
        )
    }),
    "microsoft.resources": ("Microsoft.Resources", {
        "subscriptions": ("subscriptions", SUBSCRIPTIONS),
        "tenants": ("tenants", SUBSCRIPTIONS),
        "locations": ("locations", SUBSCRIPTIONS),
        "resourcegroups": ("resourceGroups", RESOURCES),
        "resources": ("resources", RESOURCES),
        "providers": ("providers", RESOURCES),
        "metadata/endpoints": ("metadata/endpoints", METADATA_ENDPOINTS),
    }),
}
# ARM's own types are validated by ARM itself (InvalidApiVersionParameter), not routed to a provider.
_ARM_NAMESPACE = "microsoft.resources"


def namespace(name: str) -> str | None:
    """The registered spelling of a provider namespace, or None when ARM knows no such namespace."""
    entry = _PROVIDERS.get(name.lower())
    return entry[0] if entry else None


def resource_type(ns: str, rtype: str) -> str | None:
    """The registered spelling of ``rtype`` (``accounts``, ``locations/usages``...) in ``ns``, or None."""
    entry = _PROVIDERS.get(ns.lower())
    found = entry[1].get(rtype.lower()) if entry else None
    return found[0] if found else None


def supported(ns: str, rtype: str) -> tuple[str, ...]:
    """The api-versions of ``rtype`` in ``ns`` (its nearest registered parent type's when it has none).

    Raises KeyError for a namespace or type ARM does not know.
    """
    types = _PROVIDERS[ns.lower()][1]
    parts = rtype.lower().split("/")
    while parts:
        found = types.get("/".join(parts))
        if found:
            return found[1]
        parts.pop()
    raise KeyError(f"{ns}/{rtype}")


def check(version: str | None, ns: str, rtype: str, location: str | None = None,
          locations: Iterable[str] = (), versions: Iterable[str] | None = None) -> str:
    """Validate ``version`` for ``ns``/``rtype``; returns it, or raises ARM's :class:`ArmError`.

    ``location`` is the one ARM names in ``NoRegisteredProviderFound`` (the resource's or the request's),
    ``locations`` the type's supported locations, which that message lists too. ``versions``: the type's
    api-versions when it is not one of this module's (a generic type registered in ``azuresim.generic``).
    """
    if not version:
        raise ArmError(400, "MissingApiVersionParameter",
                       "The api-version query parameter (?api-version=) is required for all requests.")
    versions = tuple(versions) if versions is not None else supported(ns, rtype)
    if not _VERSION.match(version):
        raise ArmError(400, "InvalidApiVersionParameter",
                       f"The api-version '{version}' is invalid. The supported versions are "
                       f"'{','.join(reversed(versions))}'.")
    if version.lower() in (v.lower() for v in versions):
        return version
    if ns.lower() == _ARM_NAMESPACE:
        raise ArmError(400, "InvalidApiVersionParameter",
                       f"The api-version '{version}' is invalid. The supported versions are "
                       f"'{','.join(reversed(versions))}'.")
    short = (resource_type(ns, rtype) if namespace(ns) else None) or rtype
    raise ArmError(
        400, "NoRegisteredProviderFound",
        f"No registered resource provider found for location '{location or 'global'}' and API version "
        f"'{version}' for type '{short}'. The supported api-versions are '{', '.join(versions)}'. "
        f"The supported locations are '{', '.join(locations)}'.",
    )


# -- from a request path -------------------------------------------------------------------------------
def type_of_path(path: str) -> tuple[str, str]:
    """(namespace, resource type) an ARM path addresses, e.g. ('Microsoft.CognitiveServices', 'accounts').

    ``.../providers/NS/a/{x}/b`` is type ``a/b``; a trailing action or child collection counts as a type
    segment (``accounts/listKeys``, ``locations/usages``). Paths without a provider are ARM's own
    (``subscriptions``, ``resourceGroups``, ``resources``, ``tenants``, ``metadata/endpoints``).
    """
    parts = [p for p in path.split("/") if p]
    lowered = [p.lower() for p in parts]
    if "providers" in lowered:
        at = len(lowered) - 1 - lowered[::-1].index("providers")
        if at + 1 < len(parts):
            ns, rest = parts[at + 1], parts[at + 2:]
            types = rest[0::2]
            return ns, "/".join(types) if types else ""
        # /subscriptions/{id}/providers: the provider list itself
        return "Microsoft.Resources", "providers"
    if lowered[:2] == ["metadata", "endpoints"]:
        return "Microsoft.Resources", "metadata/endpoints"
    if not lowered or lowered[0] == "tenants":
        return "Microsoft.Resources", "tenants"
    if len(lowered) <= 2:
        return "Microsoft.Resources", "subscriptions"
    if lowered[2] == "resourcegroups" and len(lowered) >= 5:
        return "Microsoft.Resources", lowered[4]
    if lowered[2] == "resourcegroups":
        return "Microsoft.Resources", "resourceGroups"
    return "Microsoft.Resources", lowered[2]


_LOCATION_IN_PATH = re.compile(r"/locations/([^/?]+)", re.IGNORECASE)


def check_request(request, regions: Iterable[str] = ()) -> str:
    """Validate the api-version of a Flask ``request`` against the type its path addresses.

    The location named in ``NoRegisteredProviderFound`` is the path's (``locations/{location}``), else the
    body's ``location``, else 'global'. A namespace or type ARM does not know leaves the version to the
    caller's own not-found handling; only its form is checked here.
    """
    version = request.args.get("api-version")
    ns, rtype = type_of_path(request.path)
    try:
        supported(ns, rtype)
    except KeyError:
        if not version:
            raise ArmError(400, "MissingApiVersionParameter",
                           "The api-version query parameter (?api-version=) is required for all requests.") from None
        if not _VERSION.match(version):
            raise ArmError(400, "InvalidApiVersionParameter",
                           f"The api-version '{version}' is invalid. The supported versions are of the form "
                           "'yyyy-mm-dd' or 'yyyy-mm-dd-preview'.") from None
        return version
    m = _LOCATION_IN_PATH.search(request.path)
    location = m.group(1) if m else None
    if location is None and request.method in ("PUT", "PATCH"):
        body = request.get_json(silent=True)
        if isinstance(body, dict) and isinstance(body.get("location"), str):
            location = "".join(body["location"].split()).lower()
    return check(version, ns, rtype, location, regions)
