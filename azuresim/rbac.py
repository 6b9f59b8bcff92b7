"""Azure RBAC as ARM and the Cognitive Services data plane evaluate it: role definitions, role assignments
at subscription or resource-group scope, and the check of one action (or data action) at one scope.

A principal may perform an action at a scope when some role assigned to it at that scope or an ancestor
lists the action in ``actions`` (``dataActions`` for a data action) and that same role does not exclude it
in ``notActions`` (``notDataActions``). Patterns match case-insensitively and ``*`` stands for any run of
characters, slashes included (``*/read``, ``Microsoft.CognitiveServices/*``). Deny assignments, conditions
and management groups are not modelled.

The built-in roles carry Azure's role ids and the permissions Microsoft documents (Owner, Contributor,
Reader, Cognitive Services Contributor, Cognitive Services User, Cognitive Services Custom Vision Reader);
custom roles are added per simulator (:meth:`azuresim.state.SimState.define_role`).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from functools import lru_cache


class RoleError(ValueError):
    """A role definition or assignment the simulator refuses (the message is shown to the caller)."""


@dataclass(frozen=True)
class RoleDefinition:
    """A role: what it allows (``actions``, ``data_actions``) less what it excludes (``not_*``)."""

    name: str
    id: str
    actions: tuple[str, ...] = ()
    not_actions: tuple[str, ...] = ()
    data_actions: tuple[str, ...] = ()
    not_data_actions: tuple[str, ...] = ()
    description: str = ""
    builtin: bool = False

    def allows(self, action: str, data: bool = False) -> bool:
        granted, excluded = ((self.data_actions, self.not_data_actions) if data
                             else (self.actions, self.not_actions))
        return (any(matches(p, action) for p in granted)
                and not any(matches(p, action) for p in excluded))

    def to_json(self) -> dict:
        """As ``az role definition`` shows a role (the shape a custom role's JSON file has)."""
        return {
            "Name": self.name, "Id": self.id, "IsCustom": not self.builtin, "Description": self.description,
            "Actions": list(self.actions), "NotActions": list(self.not_actions),
            "DataActions": list(self.data_actions), "NotDataActions": list(self.not_data_actions),
        }

    @classmethod
    def from_json(cls, data: object) -> RoleDefinition:
        """A custom role from the JSON ``az role definition create --role-definition`` takes (property names in
        any case; ``Name`` required, ``Actions``/``DataActions`` lists of strings). Raises :class:`RoleError`."""
        if not isinstance(data, dict):
            raise RoleError("A role definition must be a JSON object with 'Name', 'Actions', 'DataActions', ...")
        folded = {str(k).lower(): v for k, v in data.items()}
        name = folded.get("name") or folded.get("rolename")
        if not isinstance(name, str) or not name.strip():
            raise RoleError("A role definition needs a 'Name'.")

        def patterns(key: str) -> tuple[str, ...]:
            value = folded.get(key.lower()) or []
            if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
                raise RoleError(f"'{key}' of role '{name}' must be a list of action strings.")
            return tuple(v.strip() for v in value)

        # ``permissions: [{actions, ...}]`` (the REST shape) is accepted too.
        perms = folded.get("permissions")
        if isinstance(perms, list) and perms and isinstance(perms[0], dict):
            return cls.from_json({"Name": name, "Description": folded.get("description", ""),
                                  **{k: v for p in perms for k, v in p.items()}})
        role_id = folded.get("id") or str(uuid.uuid5(uuid.NAMESPACE_URL, f"azuresim-role:{name.strip().lower()}"))
        return cls(name=name.strip(), id=str(role_id), actions=patterns("Actions"),
                   not_actions=patterns("NotActions"), data_actions=patterns("DataActions"),
                   not_data_actions=patterns("NotDataActions"), description=str(folded.get("description") or ""))


@dataclass(frozen=True)
class RoleAssignment:
    """``role`` (a role definition's name) granted to a principal (its object id) at ``scope``."""

    principal_id: str
    role: str
    scope: str
    id: str = field(default_factory=lambda: str(uuid.uuid4()))


@lru_cache(maxsize=1024)
def _pattern(pattern: str) -> re.Pattern:
    return re.compile("^" + ".*".join(re.escape(p) for p in pattern.split("*")) + "$", re.IGNORECASE)


def matches(pattern: str, action: str) -> bool:
    """Whether an action pattern (``*`` anywhere) covers ``action``, ignoring case as Azure does."""
    return bool(_pattern(pattern).match(action))


def resource_action(resource_type: str, verb: str) -> str:
    """The action ARM checks for ``verb`` (read, write, delete) on a resource of ``resource_type``
    (``Microsoft.Storage/storageAccounts`` -> ``Microsoft.Storage/storageAccounts/read``)."""
    return f"{resource_type.strip('/')}/{verb}"


def normalize_scope(scope: str) -> str:
    """A scope as compared: lower case, no trailing slash (ARM ids are case-insensitive)."""
    return "/" + scope.strip().strip("/").lower()


def within(scope: str, assigned: str) -> bool:
    """Whether ``scope`` is ``assigned`` or below it (a role assigned at a subscription reaches its groups)."""
    scope, assigned = normalize_scope(scope), normalize_scope(assigned)
    return assigned == "/" or scope == assigned or scope.startswith(assigned + "/")


# -- built-in roles (Microsoft's role ids and permissions; see the README for what each grants) ---------------

_CV = "Microsoft.CognitiveServices/accounts/CustomVision"
_MONITORING = ("Microsoft.Insights/alertRules/read", "Microsoft.Insights/diagnosticSettings/read",
               "Microsoft.Insights/logDefinitions/read", "Microsoft.Insights/metricdefinitions/read",
               "Microsoft.Insights/metrics/read", "Microsoft.ResourceHealth/availabilityStatuses/read")

BUILTIN_ROLES: tuple[RoleDefinition, ...] = (
    RoleDefinition(
        "Owner", "8e3af657-a8ff-443c-a75c-2fe8c4bcb635", actions=("*",), builtin=True,
        description="Grants full access to manage all resources, including the ability to assign roles in Azure RBAC."),
    RoleDefinition(
        "Contributor", "b24988ac-6180-42a0-ab88-20f7382dd24c", actions=("*",),
        not_actions=("Microsoft.Authorization/*/Delete", "Microsoft.Authorization/*/Write",
                     "Microsoft.Authorization/elevateAccess/Action", "Microsoft.Blueprint/blueprintAssignments/write",
                     "Microsoft.Blueprint/blueprintAssignments/delete", "Microsoft.Compute/galleries/share/action",
                     "Microsoft.Purview/consents/write", "Microsoft.Purview/consents/delete"),
        builtin=True,
        description="Grants full access to manage all resources, but does not allow you to assign roles in "
                    "Azure RBAC."),
    RoleDefinition(
        "Reader", "acdd72a7-3385-48ef-bd42-f606fba81ae7", actions=("*/read",), builtin=True,
        description="View all resources, but does not allow you to make any changes."),
    RoleDefinition(
        "Cognitive Services Contributor", "25fbc0a9-bd7c-42a3-aa1a-3b75d497ee68",
        actions=("Microsoft.Authorization/*/read", "Microsoft.CognitiveServices/*", "Microsoft.Features/features/read",
                 "Microsoft.Features/providers/features/read", "Microsoft.Features/providers/features/register/action",
                 "Microsoft.Insights/alertRules/*", "Microsoft.Insights/diagnosticSettings/*",
                 "Microsoft.Insights/logDefinitions/read", "Microsoft.Insights/metricdefinitions/read",
                 "Microsoft.Insights/metrics/read", "Microsoft.ResourceHealth/availabilityStatuses/read",
                 "Microsoft.Resources/deployments/*", "Microsoft.Resources/deployments/operations/read",
                 "Microsoft.Resources/subscriptions/operationresults/read", "Microsoft.Resources/subscriptions/read",
                 "Microsoft.Resources/subscriptions/resourcegroups/deployments/*",
                 "Microsoft.Resources/subscriptions/resourceGroups/read", "Microsoft.Support/*"),
        not_actions=("Microsoft.CognitiveServices/raiPolicy/write", "Microsoft.CognitiveServices/raiPolicy/delete",
                     "Microsoft.CognitiveServices/raiExternalSafetyProviders/write",
                     "Microsoft.CognitiveServices/raiExternalSafetyProviders/delete"),
        builtin=True, description="Lets you create, read, update, delete and manage keys of Cognitive Services."),
    RoleDefinition(
        "Cognitive Services User", "a97b65f3-24c7-4388-baec-2e87135dc908",
        actions=("Microsoft.CognitiveServices/*/read", "Microsoft.CognitiveServices/accounts/listkeys/action",
                 *_MONITORING, "Microsoft.Resources/deployments/operations/read",
                 "Microsoft.Resources/subscriptions/operationresults/read", "Microsoft.Resources/subscriptions/read",
                 "Microsoft.Resources/subscriptions/resourceGroups/read", "Microsoft.Support/*"),
        data_actions=("Microsoft.CognitiveServices/*",),
        builtin=True, description="Lets you read and list keys of Cognitive Services."),
    RoleDefinition(
        "Cognitive Services Custom Vision Reader", "93586559-c37d-4a6b-ba08-b9f0940c2d73",
        actions=("Microsoft.CognitiveServices/*/read",),
        data_actions=(f"{_CV}/*/read", f"{_CV}/projects/predictions/query/action"),
        not_data_actions=(f"{_CV}/projects/export/read",),
        builtin=True, description="Read-only actions in the project. Readers can't create or update the project."),
)
BUILTIN_BY_NAME = {r.name.lower(): r for r in BUILTIN_ROLES}


# -- data actions of the Custom Vision operations (Microsoft's "Azure permissions for AI + machine learning") -

DATA_ACTIONS: dict[str, str] = {
    "GetDomains": f"{_CV}/domains/read",
    "GetDomain": f"{_CV}/domains/read",
    "GetProjects": f"{_CV}/projects/read",
    "GetProject": f"{_CV}/projects/read",
    "CreateProject": f"{_CV}/projects/action",
    "UpdateProject": f"{_CV}/projects/write",
    "DeleteProject": f"{_CV}/projects/delete",
    "GetTags": f"{_CV}/projects/tags/read",
    "GetTag": f"{_CV}/projects/tags/read",
    "CreateTag": f"{_CV}/projects/tags/action",
    "UpdateTag": f"{_CV}/projects/tags/write",
    "DeleteTag": f"{_CV}/projects/tags/delete",
    "CreateImagesFromData": f"{_CV}/projects/images/action",
    "CreateImagesFromFiles": f"{_CV}/projects/images/files/action",
    "CreateImagesFromUrls": f"{_CV}/projects/images/urls/action",
    "GetTaggedImageCount": f"{_CV}/projects/images/tagged/count/read",
    "GetUntaggedImageCount": f"{_CV}/projects/images/untagged/count/read",
    "GetImageCount": f"{_CV}/projects/images/count/read",
    "GetImages": f"{_CV}/projects/images/read",
    "GetTaggedImages": f"{_CV}/projects/images/tagged/read",
    "GetUntaggedImages": f"{_CV}/projects/images/untagged/read",
    "GetImagesByIds": f"{_CV}/projects/images/id/read",
    "DeleteImages": f"{_CV}/projects/images/delete",
    "CreateImageRegions": f"{_CV}/projects/images/regions/action",
    "DeleteImageRegions": f"{_CV}/projects/images/regions/delete",
    "GetImageRegionProposals": f"{_CV}/projects/images/regionproposals/action",
    "TrainProject": f"{_CV}/projects/train/action",
    "GetIterations": f"{_CV}/projects/iterations/read",
    "GetIteration": f"{_CV}/projects/iterations/read",
    "UpdateIteration": f"{_CV}/projects/iterations/write",
    "DeleteIteration": f"{_CV}/projects/iterations/delete",
    "GetIterationPerformance": f"{_CV}/projects/iterations/performance/read",
    "GetExports": f"{_CV}/projects/iterations/export/read",
    "ExportIteration": f"{_CV}/projects/iterations/export/action",
    "PublishIteration": f"{_CV}/projects/iterations/publish/action",
    "UnpublishIteration": f"{_CV}/projects/iterations/publish/delete",
    "QuickTestImage": f"{_CV}/projects/quicktest/image/action",
    "QuickTestImageUrl": f"{_CV}/projects/quicktest/url/action",
    "QueryPredictions": f"{_CV}/projects/predictions/query/action",
    # The Prediction API's own (Microsoft lists both a CustomVision/ and a CustomVision.Prediction/ spelling).
    "ClassifyImage": f"{_CV}/classify/iterations/image/action",
    "ClassifyImageWithNoStore": f"{_CV}/classify/iterations/image/nostore/action",
    "ClassifyImageUrl": f"{_CV}/classify/iterations/url/action",
    "ClassifyImageUrlWithNoStore": f"{_CV}/classify/iterations/url/nostore/action",
    "DetectImage": f"{_CV}/detect/iterations/image/action",
    "DetectImageWithNoStore": f"{_CV}/detect/iterations/image/nostore/action",
    "DetectImageUrl": f"{_CV}/detect/iterations/url/action",
    "DetectImageUrlWithNoStore": f"{_CV}/detect/iterations/url/nostore/action",
}
