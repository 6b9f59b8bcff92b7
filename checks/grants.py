"""What labgrader's identity must be allowed to do in Azure, and which roles allow it.

Pure data about Azure RBAC, shared by the ERROR a missing permission gives (``checks.base``), by
``labgrader doctor`` and by the README: every Azure operation the validator makes, the action (ARM) or data
action (Custom Vision, when it signs in with Microsoft Entra ID instead of a key) that operation needs, the
built-in roles that grant it, and the minimal custom role that grants exactly what the lab's checks need.
"""

from __future__ import annotations

CV = "Microsoft.CognitiveServices/accounts/CustomVision"
LIST_KEYS = "Microsoft.CognitiveServices/accounts/listKeys/action"
ACCOUNTS_READ = "Microsoft.CognitiveServices/accounts/read"
DELETED_READ = "Microsoft.CognitiveServices/deletedAccounts/read"
SUBSCRIPTION_READ = "Microsoft.Resources/subscriptions/read"
GROUP_READ = "Microsoft.Resources/subscriptions/resourceGroups/read"

# ARM operations the validator (and doctor) call -> the action each needs.
ARM_ACTIONS: dict[str, str] = {
    "Subscriptions_Get": SUBSCRIPTION_READ,
    "ResourceGroups_Get": GROUP_READ,
    "Accounts_ListByResourceGroup": ACCOUNTS_READ,
    "DeletedAccounts_List": DELETED_READ,
    "Accounts_ListKeys": LIST_KEYS,
}

# Custom Vision Training operations the validator calls -> the data action each needs with an Entra ID token
# (Microsoft's "Azure permissions for AI + machine learning", Microsoft.CognitiveServices data actions).
DATA_ACTIONS: dict[str, str] = {
    "GetDomains": f"{CV}/domains/read",
    "GetProjects": f"{CV}/projects/read",
    "GetTags": f"{CV}/projects/tags/read",
    "GetUntaggedImageCount": f"{CV}/projects/images/untagged/count/read",
    "GetImages": f"{CV}/projects/images/read",
    "GetIterations": f"{CV}/projects/iterations/read",
    "GetIterationPerformance": f"{CV}/projects/iterations/performance/read",
    "QueryPredictions": f"{CV}/projects/predictions/query/action",
}

# The built-in roles that grant each action, least powerful first (Microsoft's built-in role definitions).
GRANTED_BY: dict[str, tuple[str, ...]] = {
    SUBSCRIPTION_READ: ("Reader", "Cognitive Services User"),
    GROUP_READ: ("Reader", "Cognitive Services User"),
    ACCOUNTS_READ: ("Reader", "Cognitive Services Custom Vision Reader", "Cognitive Services User"),
    DELETED_READ: ("Reader", "Cognitive Services User"),
    LIST_KEYS: ("Cognitive Services User", "Cognitive Services Contributor"),
    **{a: ("Cognitive Services Custom Vision Reader", "Cognitive Services User") for a in DATA_ACTIONS.values()},
}

ROLE_NAME = "labgrader grader"
ROLE_DESCRIPTION = ("Lets labgrader read a lab's Custom Vision resources and projects to grade them. It can read "
                    "the resources' keys (the validator's default way in) but changes nothing.")

MINIMAL_ROLE: dict = {
    "Name": ROLE_NAME,
    "IsCustom": True,
    "Description": ROLE_DESCRIPTION,
    "Actions": [ACCOUNTS_READ, LIST_KEYS, DELETED_READ],
    "NotActions": [],
    "DataActions": sorted(set(DATA_ACTIONS.values())),
    "NotDataActions": [],
    "AssignableScopes": ["/subscriptions/00000000-0000-0000-0000-000000000000"],
}
"""The custom role that grants exactly what the checks need (README: "The grader's Azure role"). At
resource-group scope ``deletedAccounts/read`` grants nothing (deleted accounts live under the subscription):
Task 1 then cannot tell a student their deleted resource is waiting to be recovered, and says it is missing."""


def data_action(operation: str) -> str | None:
    return DATA_ACTIONS.get(operation)


def roles_granting(action: str) -> str:
    """"the labgrader grader role (README), or the built-in role Reader" for ``action``."""
    if action not in GRANTED_BY and action.casefold().endswith("/read"):
        # A read a lab's declarative resource checks need (checks.resources): not in the custom role as shipped.
        return f"the built-in 'Reader', or the '{ROLE_NAME}' custom role (README) with {action} added to its Actions"
    builtins = GRANTED_BY.get(action, ())
    named = " or ".join(f"'{r}'" for r in builtins[:2])
    return f"the '{ROLE_NAME}' custom role (README)" + (f", or the built-in {named}" if named else "")


def remedy(action: str, scope: str | None, *, alternative: str | None = None) -> str:
    """One sentence for the proctor: which role to give labgrader's identity, where, to allow ``action``
    (``alternative``: a data action that would do instead, through Microsoft Entra ID)."""
    where = f" at {describe_scope(scope)}" if scope else ""
    text = f"Give labgrader's service principal a role that allows {action}{where}: {roles_granting(action)}."
    if alternative:
        text += (f" Or, to read Custom Vision with Microsoft Entra ID instead of keys, one that allows the data "
                 f"action {alternative}: {roles_granting(alternative)}.")
    return text + " `labgrader doctor` checks every permission at once."


def describe_scope(scope: str) -> str:
    """"resource group 'ODL-ada-1'" / "subscription '...'" for an ARM scope or resource id."""
    parts = [p for p in (scope or "").split("/") if p]
    low = [p.lower() for p in parts]
    if "resourcegroups" in low[:-1]:
        return f"resource group '{parts[low.index('resourcegroups') + 1]}'"
    if low[:1] == ["subscriptions"] and len(parts) > 1:
        return f"subscription '{parts[1]}'"
    return f"scope '{scope}'"
