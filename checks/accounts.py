"""Task 1: the Custom Vision training resource (name, region, tier, provisioning) and its prediction companion."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from checks import facts as F
from checks.base import Context, check, failed, passed, pending
from checks.expect import NAME_RULE, TEMPLATE, TEXT, Key, NameRule
from checks.outcome import Outcome
from checks.select import (
    PREDICTION_KIND,
    TRAINING_KIND,
    in_group,
    is_kind,
    same_region,
    select_prediction_account,
    select_training_account,
)
from checks.wording import joined, quoted

_IN_PROGRESS = {"accepted", "creating", "updating", "provisioning", "moving", "resolvingdns"}
# Deleted Cognitive Services accounts are soft-deleted and keep their name until purged.
_PURGE = "purge it (Azure AI services > Manage deleted resources) so its name is free again"
_PURGE_TO_FREE = "purge it (Azure AI services > Manage deleted resources) to free that slot"


_RESOURCE_GROUP = Key("resource_group", TEMPLATE, "The resource group to look in (default: the attendee's, from the "
                      "lab platform).", example="{ResourceGroup}")
SKUS = ("F0", "S0")  # Custom Vision's pricing tiers (Free, Standard)
_SKU = Key("sku", TEXT, "The pricing tier the resource must use.", default="F0", allowed=SKUS, example="F0")


TIER_NAMES = {"f0": "Free F0", "s0": "Standard S0"}  # as the portal's pricing tier list names them


def tier_name(sku: str) -> str:
    return TIER_NAMES.get(sku.casefold(), sku)


def _tiers(ctx: Context) -> tuple[str, str]:
    """The pricing tiers the lab asks for: (training, prediction), from its tier checks' expectations."""
    return ctx.expected("account_training_tier", "sku"), ctx.expected("account_prediction_exists", "sku")


def _create_hint(where: str, rule: NameRule | None, ctx: Context) -> str:
    """How to create the lab's Custom Vision resources, with the lab's name and pricing tiers."""
    name = f"name it '{rule.suggestion()}'" if rule else "name it as the lab guide says"
    training, prediction = _tiers(ctx)
    tiers = (f"pick {tier_name(training)} for both pricing tiers" if training.casefold() == prediction.casefold()
             else f"pick {tier_name(training)} for the training pricing tier and {tier_name(prediction)} for the "
                  "prediction one")
    return (f"In the Azure portal, search for Custom Vision, select + Create, choose {where}, {name}, keep Create "
            f"options: Both, {tiers}, then select Review + create.")


def describe(a: F.AccountFact) -> str:
    """"'cv-casting' (S0, westus2)"; the kind is named when it is not a training resource."""
    parts = [a.sku, a.location]
    if not is_kind(a, TRAINING_KIND):
        parts.insert(0, a.kind)
    return f"'{a.name}' ({', '.join(p for p in parts if p)})"


def _evidence(a: F.AccountFact) -> dict[str, Any]:
    return {"name": a.name, "kind": a.kind, "sku": a.sku, "location": a.location,
            "resource_group": a.resource_group, "provisioning_state": a.provisioning_state}


def _where(rg: str | None) -> str:
    return f"resource group '{rg}'" if rg else "your resource group"


def _as_described(ctx: Context) -> str:
    """"as Task 1 describes": the task of the lab's step that creates the training resource."""
    task = ctx.check_tasks.get("account_training_exists")
    return f"as Task {task} describes" if task else "as the lab guide describes"


def _missing_training(what: str, ctx: Context) -> Outcome:
    return failed(
        f"No Custom Vision training resource was found, so its {what} cannot be checked.",
        f"Create the Custom Vision resource {_as_described(ctx)}, then validate again.",
        follows_from="account_training_exists",
    )


@check(
    "account_training_exists",
    title="A Custom Vision training resource with the lab's name exists in the resource group",
    reads=(F.ACCOUNTS, F.DELETED_ACCOUNTS),
    expects=(
        _RESOURCE_GROUP,
        Key("name", NAME_RULE, "The name rule of the training resource (default: any training resource in the "
                               "group).", example={"pattern": "customvision-?casting(-?{DeploymentID})?",
                                                   "example": "customvision-casting-{DeploymentID}"}),
    ),
)
def account_training_exists(facts: F.Snapshot, expect: Mapping[str, Any], ctx: Context) -> Outcome:
    accounts: list[F.AccountFact] = list(facts[F.ACCOUNTS] or [])
    rg = expect["resource_group"] or ctx.resource_group
    rule: NameRule | None = expect["name"]
    group = in_group(accounts, rg)
    chosen = select_training_account(group, rule)
    where = _where(rg)
    if chosen is not None:
        others = [a for a in group if is_kind(a, TRAINING_KIND) and a is not chosen
                  and (rule is None or rule.matches(a.name))]
        advice = [f"Also found {describe(a)}; labgrader checks '{chosen.name}'." for a in others]
        return passed(f"Found Custom Vision training resource '{chosen.name}' in {where}.",
                      _evidence(chosen), advice)

    wanted = f" {rule.describe()}" if rule else ""
    create = _create_hint(where, rule, ctx)
    # The subscription's one Free (F0) training and prediction resource matter only when the lab asks for F0.
    free_tier = any(t.casefold() == "f0" for t in _tiers(ctx))
    evidence = {"resource_group": rg, "found": [_evidence(a) for a in group]}
    deleted = [a for a in in_group(facts[F.DELETED_ACCOUNTS] or [], rg) if is_kind(a, TRAINING_KIND)]
    wanted_deleted = next((a for a in deleted if rule is None or rule.matches(a.name)), None)
    if wanted_deleted is not None:
        return _soft_deleted(wanted_deleted, ctx, {**evidence, "deleted": _evidence(wanted_deleted)})
    # A deleted Free resource keeps its Free slot until purged, so creating the new one on F0 would fail.
    advice = [f"Deleted training resource '{a.name}' ({a.sku}) still counts toward the one Free (F0) "
              f"Custom Vision training resource a subscription may have: {_PURGE_TO_FREE}."
              for a in deleted if free_tier and (a.sku or "").upper() == "F0"]
    if not group:
        return failed(f"No Custom Vision training resource was found in {where}.", create, evidence, advice)
    return failed(
        f"No Custom Vision training resource{wanted} was found in {where}; found "
        f"{joined(describe(a) for a in group)}.",
        _make_room(group, rule, create, free_tier),
        evidence,
        advice,
    )


def _make_room(group: list[F.AccountFact], rule: NameRule | None, create: str, free_tier: bool) -> str:
    """The fix when the resource group holds resources but not the lab's: create it, first deleting (and
    purging) what would stand in its way. A resource of another kind that holds the lab's name keeps the
    name taken; Free (F0) Custom Vision resources under other names keep the subscription's one Free
    training and one Free prediction resource taken, so creating the lab's on F0 would be refused (which
    matters only when the lab asks for F0: ``free_tier``)."""
    companion = f"{rule.suggestion()}-prediction".casefold() if rule else None
    named = [a for a in group if not is_kind(a, TRAINING_KIND) and not is_kind(a, PREDICTION_KIND)
             and rule is not None and rule.matches(a.name)]
    free = [a for a in group if free_tier and a not in named and (a.sku or "").upper() == "F0"
            and (is_kind(a, TRAINING_KIND) or (is_kind(a, PREDICTION_KIND) and a.name.casefold() != companion))]
    if not named and not free:
        return f"A resource cannot be renamed. {create}"
    gone = named + free
    them = "it" if len(gone) == 1 else "them"
    if not free:
        why = "a resource cannot change its kind, and the new Custom Vision resource needs its name"
    elif not named:
        held = "it holds that place" if len(free) == 1 else "they hold those places"
        why = (f"a subscription may have one Free (F0) Custom Vision training resource and one prediction "
               f"resource, and {held}")
    else:
        why = (f"the new Custom Vision resource needs the name {quoted(a.name for a in named)} holds, and "
               f"{quoted(a.name for a in free)} {'holds' if len(free) == 1 else 'hold'} the subscription's Free "
               "(F0) Custom Vision places")
    renamed = "A resource cannot be renamed. " if any(is_kind(a, TRAINING_KIND) for a in group) else ""
    return (f"{renamed}Delete {quoted(a.name for a in gone)} in the Azure portal and purge {them} (Azure AI "
            f"services > Manage deleted resources): {why}. Then, {create[0].lower()}{create[1:]}")


def _soft_deleted(acct: F.AccountFact, ctx: Context, evidence: dict[str, Any]) -> Outcome:
    when = f" on {acct.deleted_at:%d %B at %H:%M} UTC" if acct.deleted_at else ""
    return failed(
        f"Custom Vision training resource '{acct.name}' was deleted{when}. Azure keeps a deleted resource "
        "for 48 hours, and its name cannot be used again until it is purged.",
        f"To get it back with its projects and images, open Azure AI services in the Azure portal, select "
        f"Manage deleted resources, choose '{acct.name}' and select Recover. To start over instead, select "
        f"Purge there, then create the resource again {_as_described(ctx)}.",
        evidence,
    )


@check(
    "account_training_region",
    title="The training resource is in the lab's region",
    reads=(F.TRAINING_ACCOUNT,),
    expects=(Key("region", TEMPLATE, "The Azure region the resource must be in (e.g. eastus).", required=True,
                 example="{Region}"),),
)
def account_training_region(facts: F.Snapshot, expect: Mapping[str, Any], ctx: Context) -> Outcome:
    acct: F.AccountFact | None = facts[F.TRAINING_ACCOUNT]
    if acct is None:
        return _missing_training("region", ctx)
    want = expect["region"]
    ev = {**_evidence(acct), "expected_region": want}
    if same_region(acct.location, want):
        return passed(f"Custom Vision training resource '{acct.name}' is in region {acct.location}.", ev)
    return failed(
        f"Custom Vision training resource '{acct.name}' is in region {acct.location}; this lab needs {want}.",
        f"A resource cannot move to another region: delete '{acct.name}' in the Azure portal, {_PURGE}, "
        f"then create it again in {want}.",
        ev,
    )


@check(
    "account_training_tier",
    title="The training resource uses the lab's pricing tier",
    reads=(F.TRAINING_ACCOUNT,),
    expects=(_SKU,),
)
def account_training_tier(facts: F.Snapshot, expect: Mapping[str, Any], ctx: Context) -> Outcome:
    acct: F.AccountFact | None = facts[F.TRAINING_ACCOUNT]
    if acct is None:
        return _missing_training("pricing tier", ctx)
    want = expect["sku"]
    ev = {**_evidence(acct), "expected_sku": want}
    if (acct.sku or "").casefold() == want.casefold():
        return passed(f"Custom Vision training resource '{acct.name}' uses pricing tier {acct.sku}.", ev)
    return failed(
        f"Custom Vision training resource '{acct.name}' uses pricing tier {acct.sku}; this lab needs {want}.",
        f"In the Azure portal, open '{acct.name}', select Pricing tier, choose {want}, and save.",
        ev,
    )


@check(
    "account_training_provisioned",
    title="The training resource finished deploying",
    reads=(F.TRAINING_ACCOUNT,),
    expects=(),
)
def account_training_provisioned(facts: F.Snapshot, expect: Mapping[str, Any], ctx: Context) -> Outcome:
    acct: F.AccountFact | None = facts[F.TRAINING_ACCOUNT]
    if acct is None:
        return _missing_training("deployment state", ctx)
    state = acct.provisioning_state or "unknown"
    ev = _evidence(acct)
    if state.casefold() == "succeeded":
        return passed(f"Custom Vision training resource '{acct.name}' is deployed (provisioning Succeeded).", ev)
    if state.casefold() == "deleting":
        return failed(
            f"Custom Vision training resource '{acct.name}' is being deleted.",
            "When the deletion has finished, either recover it (Azure AI services > Manage deleted resources > "
            f"Recover) or purge it there and create it again {_as_described(ctx)}.",
            ev,
        )
    if state.casefold() in _IN_PROGRESS:
        return pending(
            f"Custom Vision training resource '{acct.name}' is still being deployed (provisioning state {state}).",
            "Wait for the deployment to finish; it usually takes a minute or two.",
            ev,
            recheck_after=10,
        )
    return failed(
        f"Custom Vision training resource '{acct.name}' has provisioning state {state}; it needs to be "
        f"Succeeded.",
        f"Delete '{acct.name}' in the Azure portal, {_PURGE}, then create it again.",
        ev,
    )


@check(
    "account_prediction_exists",
    title="The training resource's prediction companion exists on the lab's tier",
    reads=(F.ACCOUNTS, F.TRAINING_ACCOUNT),
    expects=(_RESOURCE_GROUP, _SKU),
)
def account_prediction_exists(facts: F.Snapshot, expect: Mapping[str, Any], ctx: Context) -> Outcome:
    training: F.AccountFact | None = facts[F.TRAINING_ACCOUNT]
    rg = training.resource_group if training else (expect["resource_group"] or ctx.resource_group)
    group = in_group(facts[F.ACCOUNTS] or [], rg)
    pred = select_prediction_account(group, training)
    want = expect["sku"]
    where = _where(rg)
    if pred is None:
        companion = f" (the portal creates '{training.name}-Prediction' with it when Create options is Both)" \
            if training else ""
        # Without a training resource, the one fix is creating both at once (Create options: Both), which
        # account_training_exists already says: this outcome only follows from it.
        return failed(
            f"No Custom Vision prediction resource was found in {where}{companion}.",
            f"In the Azure portal, search for Custom Vision, select + Create, choose Create options "
            f"Prediction, {where}, and Prediction pricing tier {want}, then select Review + create.",
            {"resource_group": rg, "expected_sku": want},
            follows_from=None if training else "account_training_exists",
        )
    ev = {**_evidence(pred), "expected_sku": want}
    if (pred.sku or "").casefold() != want.casefold():
        return failed(
            f"Custom Vision prediction resource '{pred.name}' uses pricing tier {pred.sku}; this lab needs {want}.",
            f"In the Azure portal, open '{pred.name}', select Pricing tier, choose {want}, and save.",
            ev,
        )
    return passed(f"Found Custom Vision prediction resource '{pred.name}' ({pred.sku}) in {where}.", ev)
