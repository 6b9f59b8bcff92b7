"""``labgrader doctor``: prove, before class, that labgrader's Azure identity can grade an attendee's lab.

It signs in, reaches the subscription and the resource group, and for each permission the lab's checks need
makes a harmless call that proves it: listing the group's Cognitive Services accounts, ``listKeys`` (on the
lab's training resource, or on an account name that does not exist: ARM checks the caller's roles before it
looks for the resource, so "not found" means allowed), reading Custom Vision with a Microsoft Entra ID token
(once a training resource exists) and listing deleted accounts, and listing the resources of each type the
lab's declarative resource checks read (``checks.resources``; a lab of those alone needs nothing of Custom
Vision). Each item is PASS, FAIL (grading would
ERROR: the report names the action and the role that grants it), WARN (grading works, something is worth
knowing) or SKIP (not checked: an earlier item failed, or nothing exists yet to check it on).

:func:`run` returns a :class:`DoctorReport`; the command line, the platform API and the proctor pages present it.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from checks import facts as F
from checks import grants
from checks.params import lab_parameters
from labguide.packs import LabPack

from .azure.arm import ArmGateway
from .azure.budget import CallCounter, Deadline, RetryPolicy
from .azure.errors import AzureCallError
from .core import Attendee
from .runtime import Observation

log = logging.getLogger(__name__)

STATUSES = ("PASS", "FAIL", "WARN", "SKIP")


@dataclass(frozen=True)
class Item:
    """One thing doctor checked: ``status`` with what was found (``message``) and, unless PASS, the ``fix``."""

    id: str
    title: str
    status: str
    message: str
    fix: str | None = None
    actions: tuple[str, ...] = ()  # the Azure actions (or data actions) this item is about

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "status": self.status, "message": self.message,
                "fix": self.fix, "actions": list(self.actions)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Item:
        return cls(id=data["id"], title=data["title"], status=data["status"], message=data["message"],
                   fix=data.get("fix"), actions=tuple(data.get("actions") or ()))


@dataclass(frozen=True)
class DoctorReport:
    """Every item, in the order checked; ``ok`` when none FAILed."""

    lab: str
    items: tuple[Item, ...]
    checked_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    duration_ms: int = 0
    azure_calls: int = 0

    @property
    def ok(self) -> bool:
        return all(i.status != "FAIL" for i in self.items)

    @property
    def status(self) -> str:
        return "PASS" if self.ok else "FAIL"

    @property
    def failures(self) -> list[Item]:
        return [i for i in self.items if i.status == "FAIL"]

    def summary(self) -> str:
        """One sentence: what failed first, or that every check passed."""
        failed = self.failures
        if not failed:
            warned = sum(i.status == "WARN" for i in self.items)
            return "labgrader can grade this lab" + (f" ({warned} warning{'s' if warned > 1 else ''})." if warned
                                                     else ".")
        first = failed[0]
        more = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
        return f"{first.title}: {first.message}{more}"

    def to_json(self) -> dict[str, Any]:
        return {"lab": self.lab, "status": self.status, "ok": self.ok, "summary": self.summary(),
                "checked_at": self.checked_at.isoformat(), "duration_ms": self.duration_ms,
                "azure_calls": self.azure_calls, "items": [i.to_json() for i in self.items]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DoctorReport:
        return cls(lab=data["lab"], items=tuple(Item.from_json(i) for i in data.get("items") or ()),
                   checked_at=datetime.fromisoformat(data["checked_at"]), duration_ms=int(data.get("duration_ms", 0)),
                   azure_calls=int(data.get("azure_calls", 0)))


def needed_operations(lab: LabPack) -> list[str]:
    """The Azure operations the lab's checks make, in fact order (every fact each check reads or uses; the
    resources of a type last, once). A stored Quick Test image is read with the address's own SAS token:
    no role is involved, so it is left out."""
    from checks import registry

    from .azure import blobs

    reads = [name for step in lab.steps for c in step.checks
             for name in (*registry.get(c.id).reads_for(c.expect), *registry.get(c.id).uses)]
    observed = [f for f in F.closure(reads) if f.observe and f.observe != blobs.OPERATION]
    return [f.observe for f in observed if f.resource_type is None] + list(
        dict.fromkeys(f.observe for f in observed if f.resource_type is not None))


def resource_types(lab: LabPack) -> dict[str, str]:
    """fact -> the resource type as the lab spells it, for each type the lab's resource checks read."""
    from checks import registry

    out: dict[str, str] = {}
    for step in lab.steps:
        for c in step.checks:
            for fact in registry.get(c.id).reads_for(c.expect):
                if F.resource_type_of(fact) is not None:
                    out.setdefault(fact, str(c.expect.get("type", F.resource_type_of(fact))).strip())
    return out


def run(attendee: Attendee, lab: LabPack, budget_seconds: float = 45.0, retry: RetryPolicy | None = None, *,
        runtime: Observation) -> DoctorReport:
    """Check ``attendee``'s grant for ``lab`` (``runtime``: as for ``validate``); never raises for Azure's
    answers (they become items)."""
    t0 = time.monotonic()
    counter = CallCounter()
    arm = ArmGateway(runtime, attendee.azure, Deadline(budget_seconds), counter, retry or RetryPolicy())
    try:
        items = _Doctor(arm, attendee, lab).items()
    except Exception as exc:  # noqa: BLE001 - a bug here is a FAIL item, not a crash of the caller
        log.exception("doctor failed")
        items = [Item("internal", "labgrader", "FAIL", f"labgrader hit an internal error ({type(exc).__name__}: "
                      f"{exc})"[:300], "Run the check again; if it keeps failing, report it with the server log.")]
    return DoctorReport(lab=lab.id, items=tuple(items), duration_ms=int((time.monotonic() - t0) * 1000),
                        azure_calls=counter.total)


class _Doctor:
    def __init__(self, arm: ArmGateway, attendee: Attendee, lab: LabPack) -> None:
        self.arm = arm
        self.azure = attendee.azure
        self.attendee = attendee
        self.lab = lab
        self.ops = needed_operations(lab)
        self.rg_scope = f"/subscriptions/{self.azure.subscription_id}/resourceGroups/{self.azure.resource_group}"
        self.rg = self.azure.resource_group

    def items(self) -> list[Item]:
        out = [self._sign_in()]
        if out[-1].status == "FAIL":
            return out + self._skipped("sign-in to Microsoft Entra ID failed")
        out.append(self._subscription())
        if out[-1].status == "FAIL":
            return out + self._skipped("the subscription is not reachable")
        resource_items = [self._resources(fact, rtype) for fact, rtype in resource_types(self.lab).items()]
        if "Accounts_ListByResourceGroup" not in self.ops:  # a lab of resource checks only: nothing of Custom Vision
            return out + resource_items
        accounts_item, accounts = self._accounts()
        out.append(accounts_item)
        if accounts_item.status == "FAIL":
            return out + self._skipped("the resource group is not reachable")
        out += resource_items
        training = self._training(accounts)
        keys = self._list_keys(training)
        data = self._data_actions(training, keys_ok=keys.status == "PASS")
        if keys.status == "FAIL" and data.status == "PASS":
            keys = _replace(keys, status="WARN", fix=(keys.fix or "") + " labgrader reads Custom Vision with "
                            "Microsoft Entra ID meanwhile, which works only for resources with a custom subdomain.")
        out += [keys, data]
        if "DeletedAccounts_List" in self.ops:
            out.append(self._deleted())
        return out

    # -- items -------------------------------------------------------------------------------------------
    def _sign_in(self) -> Item:
        who = f"service principal '{self.azure.client_id}'" if self.azure.client_id else "the platform's identity"
        title = "Sign in to Microsoft Entra ID"
        try:
            self.arm.sign_in()
        except AzureCallError as err:
            return Item("sign-in", title, "FAIL", f"Entra ID refused {who}: {_short(err.detail)}",
                        _sign_in_fix(err, self.azure.client_id, self.azure.tenant_id))
        return Item("sign-in", title, "PASS", f"Signed in as {who}"
                    + (f" of tenant '{self.azure.tenant_id}'." if self.azure.tenant_id else "."))

    def _subscription(self) -> Item:
        title = "Reach the subscription"
        sub = self.azure.subscription_id
        try:
            name = self.arm.subscription_name()
        except AzureCallError as err:
            if err.status == 404 or err.kind == "permission":
                return Item("subscription", title, "FAIL",
                            f"labgrader's identity has no role in subscription '{sub}' (or it does not exist).",
                            "Check the attendee's subscription id, then give labgrader's service principal its role "
                            f"at the attendee's resource group '{self.rg}': "
                            f"{grants.roles_granting(grants.ACCOUNTS_READ)}.",
                            (grants.SUBSCRIPTION_READ,))
            return _trouble("subscription", title, err)
        return Item("subscription", title, "PASS", f"Subscription '{name}' ({sub}) is reachable.")

    def _accounts(self) -> tuple[Item, list]:
        title = "Read the resource group's Cognitive Services resources"
        try:
            accounts = self.arm.accounts()
        except AzureCallError as err:
            if (err.code or "").lower() == "resourcegroupnotfound":
                return Item("resource-group", title, "FAIL", f"Resource group '{self.rg}' does not exist.",
                            "Check the attendee's resource_group, or create it before class.",
                            (grants.ACCOUNTS_READ,)), []
            if err.kind == "permission":
                where = grants.describe_scope(err.scope or self.rg_scope)
                return Item("resource-group", title, "FAIL",
                            f"Not allowed: {err.action or grants.ACCOUNTS_READ} at {where} (the role is missing, or "
                            "it is assigned at another scope).",
                            grants.remedy(err.action or grants.ACCOUNTS_READ, self.rg_scope),
                            (grants.ACCOUNTS_READ,)), []
            return _trouble("resource-group", title, err, (grants.ACCOUNTS_READ,)), []
        found = [a for a in accounts if a.deleted_at is None]
        return Item("resource-group", title, "PASS",
                    f"Resource group '{self.rg}' is reachable: {len(found)} Cognitive Services resource"
                    f"{'' if len(found) == 1 else 's'} listed ({grants.ACCOUNTS_READ}).",
                    actions=(grants.ACCOUNTS_READ,)), accounts

    def _training(self, accounts: list):
        return _derived(F.TRAINING_ACCOUNT, {F.ACCOUNTS: accounts}, self._params(), self.rg)

    def _list_keys(self, training) -> Item:
        title = "Read the Custom Vision resource's keys"
        acts = (grants.LIST_KEYS,)
        on = f"on '{training.name}'" if training else f"in resource group '{self.rg}'"
        try:
            usable = self.arm.probe_list_keys(training.name if training else None)
        except AzureCallError as err:
            if err.kind == "permission":
                return Item("list-keys", title, "FAIL", f"Not allowed: {grants.LIST_KEYS} {on}.",
                            grants.remedy(grants.LIST_KEYS, self.rg_scope,
                                          alternative=grants.data_action("GetProjects")), acts)
            return _trouble("list-keys", title, err, acts)
        if not usable:
            return Item("list-keys", title, "WARN", f"Allowed, but key access is disabled on '{training.name}' "
                        "(disableLocalAuth): labgrader reads it with Microsoft Entra ID (next item).", None, acts)
        return Item("list-keys", title, "PASS", f"{grants.LIST_KEYS} is allowed {on}.", actions=acts)

    def _data_actions(self, training, keys_ok: bool) -> Item:
        from .azure.customvision import probe_entra

        title = "Read Custom Vision with Microsoft Entra ID"
        cv_ops = [op for op in self.ops if grants.data_action(op)]
        acts = tuple(dict.fromkeys(grants.data_action(op) for op in cv_ops))
        required = not keys_ok or bool(training and training.disable_local_auth)
        if not cv_ops:
            return Item("data-actions", title, "SKIP", "The lab's checks do not read Custom Vision.")
        if training is None:
            return Item("data-actions", title, "SKIP",
                        "Not checked yet: there is no Custom Vision training resource in the resource group. Run "
                        "this check again after Task 1 to prove the data actions.", None, acts)
        if not training.custom_subdomain:
            status = "FAIL" if required else "SKIP"
            return Item("data-actions", title, status,
                        f"'{training.name}' has no custom subdomain, so Microsoft Entra ID cannot reach it"
                        + (" and keys are not available either." if required else "; labgrader uses its key."),
                        "Grant listKeys (previous item), or recreate the resource with a custom subdomain."
                        if required else None, acts)
        params = self._params()
        results = probe_entra(
            self.arm, training, cv_ops,
            pick_project=lambda found: _derived(F.PROJECT, {F.PROJECTS: found}, params, self.rg),
            pick_iteration=lambda found: _derived(F.TRAINED_ITERATION, {F.ITERATIONS: found}, params, self.rg))
        refused = [op for op, err in results.items() if err is not None and err.kind in ("permission", "credentials")]
        other = [err for err in results.values() if err is not None and err.kind not in ("permission", "credentials")]
        if refused:
            missing = tuple(dict.fromkeys(grants.data_action(op) for op in refused))
            status = "FAIL" if required else "WARN"
            why = (f"key access is disabled on '{training.name}' (disableLocalAuth), so labgrader needs them"
                   if training.disable_local_auth else
                   "labgrader needs them when keys are refused" if not keys_ok else
                   "labgrader reads with keys today, and needs these only if key access gets disabled")
            return Item("data-actions", title, status, f"Not allowed on '{training.name}': {', '.join(missing)} "
                        f"({why}).", grants.remedy(missing[0], self.rg_scope), missing)
        if other:
            return _trouble("data-actions", title, other[0], acts)
        untested = [grants.data_action(op) for op in cv_ops if op not in results]
        note = (f" Not proven yet (nothing to read them on until later tasks): {', '.join(dict.fromkeys(untested))}."
                if untested else "")
        return Item("data-actions", title, "PASS",
                    f"{len(results)} read{'s' if len(results) != 1 else ''} of '{training.name}' with an Entra ID "
                    f"token answered.{note}", None, acts)

    def _resources(self, fact: str, rtype: str) -> Item:
        """List the lab's resources of ``rtype`` as grading does (``validator.azure.resources``): with the lab's
        api-version, an empty list is followed by a read that proves the grader may read the type."""
        from .azure.resources import resources

        title = f"Read the resource group's {rtype} resources"
        action = f"{rtype}/read"
        version = self._params().get(fact)
        try:
            found = resources(self.arm, rtype, version)
        except AzureCallError as err:
            if (err.code or "").lower() == "resourcegroupnotfound":
                return Item(f"resources:{rtype}", title, "FAIL", f"Resource group '{self.rg}' does not exist.",
                            "Check the attendee's resource_group, or create it before class.", (action,))
            if err.kind == "permission":
                refused = err.action or action
                return Item(f"resources:{rtype}", title, "FAIL", f"Not allowed: {refused} at "
                            f"{grants.describe_scope(err.scope or self.rg_scope)}.",
                            grants.remedy(refused, self.rg_scope), (refused,))
            return _trouble(f"resources:{rtype}", title, err, (action,))
        if not found and not version:
            return Item(f"resources:{rtype}", title, "WARN",
                        f"Listed none. ARM leaves out of a list what the caller may not read, and without an "
                        f"api_version for {rtype} in the lab labgrader cannot prove it may read them.",
                        f"Make sure labgrader's role allows {action} (Reader does), or give the lab's checks an "
                        "api_version for this type.", (action,))
        return Item(f"resources:{rtype}", title, "PASS",
                    f"{len(found)} listed; {action} is allowed in resource group '{self.rg}'.", None, (action,))

    def _params(self) -> dict[str, Any]:
        return lab_parameters(((c.id, c.expect) for s in self.lab.steps for c in s.checks), self.attendee.injects)

    def _deleted(self) -> Item:
        title = "List deleted Custom Vision resources"
        acts = (grants.DELETED_READ,)
        try:
            self.arm.deleted_accounts()
        except AzureCallError as err:
            if err.kind == "permission":
                sub = f"/subscriptions/{self.azure.subscription_id}"
                return Item("deleted-accounts", title, "WARN",
                            f"Not allowed: {grants.DELETED_READ} at subscription scope. Grading works; Task 1 just "
                            "cannot tell a student that a resource they deleted is waiting to be recovered.",
                            grants.remedy(grants.DELETED_READ, sub) + " (It works only at subscription scope: "
                            "deleted resources live under the subscription, not the resource group.)", acts)
            return _trouble("deleted-accounts", title, err, acts, status="WARN")
        return Item("deleted-accounts", title, "PASS", f"{grants.DELETED_READ} is allowed.", actions=acts)

    def _skipped(self, why: str) -> list[Item]:
        return [Item("rest", "The remaining checks", "SKIP", f"Not checked: {why}.")]


def _derived(name: str, facts: dict[str, Any], params: dict[str, Any], rg: str):
    """The lab's training account / project / trained iteration among ``facts``, as the checks select it."""
    try:
        value = F.declaration(name).settle(facts, params.get(name), rg)
    except Exception:  # noqa: BLE001 - without a selection the probes do less, they do not crash
        log.exception("selecting %s failed", name)
        return None
    return None if isinstance(value, F.FactUnavailable) else value


def _replace(item: Item, **changes) -> Item:
    from dataclasses import replace

    return replace(item, **changes)


def _short(text: str) -> str:
    first = (text or "").split(" Trace ID:")[0].strip()
    return first[:240] + ("" if first.endswith(".") else ".")


def _trouble(item_id: str, title: str, err: AzureCallError, actions: tuple[str, ...] = (), status: str = "FAIL"
             ) -> Item:
    """Azure did not give a verdict (an outage, throttling, a timeout): say so, and that a retry may do."""
    return Item(item_id, title, status, f"Azure did not answer this check ({err.kind}: {_short(err.detail)})",
                "This says nothing about the grant: run the check again in a minute.", actions)


_SIGN_IN_FIXES = {
    "7000215": "The client secret is wrong. Send the secret's Value (not its Secret ID) in the attendee's "
               "credentials.",
    "7000222": "The client secret has expired. Create a new one (az ad app credential reset --id {client}) and "
               "send it in the attendee's credentials.",
    "700016": "No application '{client}' exists in tenant '{tenant}'. Check client_id and tenant_id.",
    "90002": "Tenant '{tenant}' does not exist. Check tenant_id.",
    "7000218": "The credentials carry no client secret. Send client_secret with client_id.",
}


def _sign_in_fix(err: AzureCallError, client: str | None, tenant: str | None) -> str:
    import re

    if err.kind != "credentials":
        return "Microsoft Entra ID did not answer; this says nothing about the credentials: run the check again."
    for code in re.findall(r"AADSTS(\d+)", err.detail):
        if code in _SIGN_IN_FIXES:
            return _SIGN_IN_FIXES[code].format(client=client or "", tenant=tenant or "")
    return "Check tenant_id, client_id and client_secret in the attendee's credentials."
