"""Pure selections: which account is the lab's training resource, which project is the lab's, which
iteration is the newest. The derived facts' declarations (``checks.facts``) derive with these functions, and
the checks use the same ones, so both always agree.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from checks.expect import NameRule, loose

if TYPE_CHECKING:  # the declarations in checks.facts derive with these functions: no import at run time
    from checks import facts as F

TRAINING_KIND = "CustomVision.Training"
PREDICTION_KIND = "CustomVision.Prediction"
_EPOCH = datetime.min.replace(tzinfo=UTC)


def is_kind(account: F.AccountFact, kind: str) -> bool:
    return (account.kind or "").casefold() == kind.casefold()


def in_group(accounts: Iterable[F.AccountFact], resource_group: str | None) -> list[F.AccountFact]:
    """The accounts in ``resource_group`` (case-insensitive, like ARM); all of them when it is None."""
    if not resource_group:
        return list(accounts)
    return [a for a in accounts if (a.resource_group or "").casefold() == resource_group.casefold()]


def select_training_account(accounts: Sequence[F.AccountFact], rule: Any = None,
                            resource_group: str | None = None) -> F.AccountFact | None:
    """The Custom Vision training account whose name satisfies ``rule`` (any, when None), or None.

    Among several, one whose provisioning Succeeded wins, then the first by name (deterministic).
    """
    name_rule = NameRule.parse(rule) if rule is not None else None
    found = [
        a for a in in_group(accounts, resource_group)
        if is_kind(a, TRAINING_KIND) and (name_rule is None or name_rule.matches(a.name))
    ]
    found.sort(key=lambda a: ((a.provisioning_state or "").casefold() != "succeeded", a.name.casefold()))
    return found[0] if found else None


def select_prediction_account(accounts: Sequence[F.AccountFact],
                              training: F.AccountFact | None) -> F.AccountFact | None:
    """The training account's prediction companion: '<name>-Prediction' (the portal's 'Both' option),
    else one in the same region and resource group, else any prediction account; None if there is none."""
    preds = [a for a in accounts if is_kind(a, PREDICTION_KIND)]
    if training is not None:
        same_group = in_group(preds, training.resource_group) or preds
        companion = f"{training.name}-prediction".casefold()
        for a in same_group:
            if a.name.casefold() == companion:
                return a
        same_region = [a for a in same_group if _region(a.location) == _region(training.location)]
        preds = same_region or same_group
    preds.sort(key=lambda a: a.name.casefold())
    return preds[0] if preds else None


def _region(location: str | None) -> str:
    return "".join((location or "").split()).casefold()


def same_region(a: str | None, b: str | None) -> bool:
    """'East US' and 'eastus' name the same region."""
    return _region(a) == _region(b)


def matching_projects(projects: Sequence[F.ProjectFact], name: str) -> list[F.ProjectFact]:
    """Projects whose name equals ``name`` ignoring case and spaces: exact spellings first, newest first."""
    found = [p for p in projects if loose(p.name) == loose(name)]
    found.sort(key=lambda p: p.created or _EPOCH, reverse=True)
    found.sort(key=lambda p: p.name != name)  # stable: keeps newest-first within each group
    return found


def select_project(projects: Sequence[F.ProjectFact], name: str | None) -> F.ProjectFact | None:
    """The lab's project (see :func:`matching_projects`); with no expected name, the only project or None."""
    if name is None:
        return projects[0] if len(projects) == 1 else None
    found = matching_projects(projects, name)
    return found[0] if found else None


def _newest_key(it: F.IterationFact) -> tuple[datetime, datetime]:
    return (it.created or _EPOCH, it.last_modified or it.created or _EPOCH)


def latest_iteration(iterations: Sequence[F.IterationFact]) -> F.IterationFact | None:
    """The newest iteration by creation time, whatever its status."""
    return max(iterations, key=_newest_key, default=None)


def trained_iteration(iterations: Sequence[F.IterationFact]) -> F.IterationFact | None:
    """The newest iteration whose status is Completed."""
    done = [it for it in iterations if (it.status or "").casefold() == "completed"]
    return max(done, key=_newest_key, default=None)
