"""FactGatherer: fetch the facts a step's checks read, each at most once, independent ones concurrently.

Everything about a fact comes from its declaration (``checks.facts``): facts are gathered level by level
along their dependencies, and facts on one level are fetched in parallel (a fact whose call needs fewer facts
than it depends on, ``Fact.early``, is fetched as early as its call allows). A fact is settled without a call
when its declaration says so (``Fact.settle``: derived, an absent or unavailable source, a rule); otherwise
the Azure operation it names is called through the gateway this module maps it to (:data:`_CALLS`). A fact
that cannot be observed is stored as ``FactUnavailable`` (its dependents inherit it); a fact whose source is
absent (no project yet) is None. Nothing raised while gathering escapes: an unexpected exception becomes an
``internal`` FactUnavailable.

The training resource and the project a run discovers are remembered for the attendee
(:mod:`validator.discovery`); a later run that only reads through them starts from them, and discovers
again, within the same run, when Azure contradicts them.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from checks import facts as F
from checks import grants

from . import discovery
from .azure import blobs
from .azure.arm import ArmGateway
from .azure.errors import AzureCallError
from .discovery import Found

if TYPE_CHECKING:
    from .azure.customvision import TrainingGateway

log = logging.getLogger(__name__)


# Facts read with calls through the training resource (its endpoint and key) or through the project's id,
# which prove (or contradict) a remembered resource or project (``Fact.through``).
_THROUGH_ACCOUNT = frozenset(f for f in F.ALL if F.TRAINING_ACCOUNT in f.through)
_THROUGH_PROJECT = frozenset(f for f in F.ALL if F.PROJECT in f.through)


def _judged_from(remembered: F.Fact) -> frozenset[F.Fact]:
    """The facts a step reads when it judges ``remembered`` itself (Task 1, Task 2): what it is discovered from,
    and facts observed only in its absence. Such a step observes it fresh."""
    return frozenset((*remembered.depends_on, *(f for f in F.ALL if f.only_without == remembered)))


_JUDGES_ACCOUNT = _judged_from(F.TRAINING_ACCOUNT)
_JUDGES_PROJECT = _judged_from(F.PROJECT)

# ARM error codes that mean the attendee's resource group or subscription does not exist.
_MISSING_SCOPE_CODES = {"resourcegroupnotfound", "subscriptionnotfound"}


def unavailable_kind(err: AzureCallError) -> str:
    """The FactUnavailable kind (``checks.facts.UNAVAILABLE_KINDS``) for an Azure call that failed."""
    if err.kind == "not_found":
        if (err.code or "").lower() in _MISSING_SCOPE_CODES:
            return "not_found"
        # Anything else vanishing between two calls (an account, a project): Azure answered
        # inconsistently for a moment, which a retry a little later resolves.
        return "unavailable"
    if err.kind == "rejected":
        return "internal"  # Azure refused a request labgrader made: labgrader's bug
    return err.kind  # throttled, busy, timeout, unavailable, permission, quota, credentials


def _unavailable(name: str, kind: str, detail: str, err: AzureCallError | None = None) -> F.FactUnavailable:
    if err is None or err.kind != "permission":
        return F.FactUnavailable(name, kind, detail[:300])
    action = err.action or grants.ARM_ACTIONS.get(err.operation)
    remedy = err.remedy or (grants.remedy(action, err.scope) if action else None)
    return F.FactUnavailable(name, kind, detail[:300], action=action, remedy=remedy)


def _same_resource(a: F.AccountFact, b: F.AccountFact) -> bool:
    return (a.resource_id or a.name).casefold() == (b.resource_id or b.name).casefold()


class FactGatherer:
    """Gathers facts for one attendee and one validation run.

    What discovery finds is remembered for the attendee (:mod:`validator.discovery`); a run whose steps
    only read through the training resource or the project starts from the remembered ones, and one that
    Azure contradicts is forgotten and discovered again.
    """

    def __init__(self, arm: ArmGateway, params: dict[str, Any], pool: ThreadPoolExecutor | None = None) -> None:
        self.arm = arm
        self.params = params
        # The runtime's long-lived pool and memory (``validator.runtime``), reached through the gateway.
        self.pool = pool or arm.runtime.pool
        self._memory = arm.runtime.caches.discovery
        self.facts: dict[str, Any] = {}
        self._training: TrainingGateway | None = None
        self._lock = threading.Lock()
        self._key = discovery.key_for(arm.azure, params)
        self._recalled: frozenset[str] = frozenset()  # facts taken from memory in this round
        self._contradicted: str | None = None  # the remembered fact Azure contradicted in this round

    def gather(self, reads: Iterable[str]) -> dict[str, Any]:
        """Every fact in ``reads`` and their dependencies, by name."""
        reads = tuple(F.declaration(r) for r in reads)
        found = discovery.recall(self._memory, self._key)
        for again in (False, True):
            self._round(reads, found)
            if self._contradicted is None:
                break
            # Azure said no to a remembered value: forget it and (once) discover again, in this validation.
            log.info("remembered %s contradicted by Azure: discovering again", self._contradicted)
            found = None if self._contradicted == F.TRAINING_ACCOUNT or found is None else Found(found.account)
            discovery.remember(self._memory, self._key, found)
            if not again:
                self.facts, self._training, self._contradicted = {}, None, None
        self._learn(found)
        return self.facts

    def _round(self, reads: tuple[F.Fact, ...], found: Found | None) -> None:
        """Gather ``reads`` level by level, starting from what ``found`` lets this run skip."""
        self._recalled = self._recall(reads, found)
        fetched_early = []
        for level in self._plan(reads):
            to_fetch = [f for f in level if f not in self.facts and self._settle(f)]
            if len(to_fetch) == 1:
                self.facts[to_fetch[0]] = self._fetch(to_fetch[0])
            elif to_fetch:
                for fact, value in zip(to_fetch, self.pool.map(self._fetch, to_fetch), strict=True):
                    self.facts[fact] = value
            fetched_early += [f for f in to_fetch if f.early is not None]
        for fact in fetched_early:  # now that what it depends on besides its call's inputs is known
            self.facts[fact] = fact.judge(self.facts, self.facts[fact])

    # -- memory ----------------------------------------------------------------------------------------
    def _recall(self, reads: tuple[F.Fact, ...], found: Found | None) -> frozenset[str]:
        """Put the remembered training resource and project in the snapshot where this run may use them:
        when no step reads what they are discovered from (a step that judges them observes them fresh), and
        when a call will be made through them (so their use proves them)."""
        if found is None:
            return frozenset()
        needed = F.closure(reads)
        direct = set(reads)
        recalled: set[str] = set()
        if not direct & _JUDGES_ACCOUNT and any(n in _THROUGH_ACCOUNT for n in needed):
            self.facts[F.TRAINING_ACCOUNT] = found.account
            recalled.add(F.TRAINING_ACCOUNT)
            if found.project is not None and not direct & _JUDGES_PROJECT and any(
                    n in _THROUGH_PROJECT for n in needed):
                self.facts[F.PROJECT] = found.project
                recalled.add(F.PROJECT)
        return frozenset(recalled)

    def _contradiction(self, name: str, err: AzureCallError) -> str | None:
        """The remembered fact ``err`` (met fetching ``name``) contradicts, if any: a key Custom Vision refuses
        even after reading it again (the account was deleted, or made again) or an account ARM no longer
        has, or a project Custom Vision no longer has."""
        if F.TRAINING_ACCOUNT in self._recalled and name in _THROUGH_ACCOUNT and (
                (err.kind == "credentials" and err.status == 401)
                or (err.operation == "Accounts_ListKeys" and err.status == 404)):
            return F.TRAINING_ACCOUNT
        if F.PROJECT in self._recalled and name in _THROUGH_PROJECT and err.status == 404 and (
                err.code in (None, "NotFoundProject")):
            return F.PROJECT
        return None

    def _learn(self, found: Found | None) -> None:
        """Remember what this run discovered fresh: a resource or project found, or found to be gone."""
        account, project = self.facts.get(F.TRAINING_ACCOUNT), self.facts.get(F.PROJECT)
        learned = found
        if F.TRAINING_ACCOUNT in self.facts and F.TRAINING_ACCOUNT not in self._recalled:
            if account is None:
                learned = None
            elif isinstance(account, F.AccountFact):  # (unobserved: what was remembered stands)
                same = found is not None and _same_resource(found.account, account)
                learned = Found(account, found.project if same and found is not None else None)
        fresh_project = F.PROJECT in self.facts and F.PROJECT not in self._recalled
        if learned is not None and fresh_project and (project is None or isinstance(project, F.ProjectFact)):
            learned = Found(learned.account, project)
        if learned != found:
            discovery.remember(self._memory, self._key, learned)

    # -- one fact --------------------------------------------------------------------------------------
    def _plan(self, reads: tuple[F.Fact, ...]) -> list[list[F.Fact]]:
        """The facts to settle, by level: a fact comes after the facts its call needs (``Fact.call_needs``);
        a fact already in the snapshot (remembered) needs none of its sources."""
        needed: list[F.Fact] = []

        def visit(fact: F.Fact) -> None:
            if fact in needed:
                return
            if fact not in self.facts:
                for dep in fact.depends_on:
                    visit(dep)
            needed.append(fact)

        for fact in reads:
            visit(fact)
        levels: dict[str, int] = {}
        for fact in needed:  # dependencies first
            deps = () if fact in self.facts else fact.call_needs
            levels[fact] = 1 + max((levels[d] for d in deps if d in levels), default=0)
        return [[f for f in needed if levels[f] == lv] for lv in sorted(set(levels.values()))]

    def _settle(self, fact: F.Fact) -> bool:
        """Settle ``fact`` from the facts it depends on when its declaration allows that without a call to Azure
        (``Fact.settle``); True if it must be fetched."""
        try:
            value = fact.settle(self.facts, self.params.get(fact), self.arm.azure.resource_group)
        except Exception as exc:  # noqa: BLE001 - a bug in a derivation must be an ERROR, not a crash
            log.exception("settling fact %s failed", fact)
            value = _unavailable(fact, "internal", f"settle {fact}: {type(exc).__name__}: {exc}")
        if value is F.OBSERVE:
            return True
        self.facts[fact] = value
        return False

    def _fetch(self, name: F.Fact) -> Any:
        try:
            with self.arm.counter.for_fact(name):
                return _CALLS[name.observe](self, name, self.params.get(name))
        except AzureCallError as err:
            log.warning("fact %s unavailable: %s", name, err)
            wrong = self._contradiction(name, err)
            if wrong is not None:
                with self._lock:
                    # The resource outranks the project: a project is found again through its resource.
                    if self._contradicted != F.TRAINING_ACCOUNT:
                        self._contradicted = wrong
            detail = f"{err.operation}: HTTP {err.status or '-'} {err.code or ''} {err.detail}".strip()
            return _unavailable(name, unavailable_kind(err), detail, err)
        except Exception as exc:  # noqa: BLE001 - validate() never raises for Azure or data problems
            log.exception("fetching fact %s failed", name)
            return _unavailable(name, "internal", f"{name}: {type(exc).__name__}: {exc}")

    def _deleted_accounts(self) -> list:
        """Soft-deleted accounts; none seen when the grader may not list them (deleted accounts live under
        the subscription, so a role at resource-group scope never reaches them): the check then says the
        resource is missing, without the hint about recovering a deleted one."""
        try:
            return self.arm.deleted_accounts()
        except AzureCallError as err:
            if err.kind != "permission":
                raise
            log.info("deleted accounts not visible to the grader (%s): judged as none", err.detail[:200])
            return []

    def _prediction_images(self) -> dict[str, str]:
        """Digests of the images of the newest Quick Tests on the trained iteration whose top prediction is a
        region (``facts.PREDICTION_IMAGES``): one read each, at most ``PREDICTION_IMAGES_LIMIT``."""
        trained = self.facts[F.TRAINED_ITERATION]
        preds = [p for p in self.facts[F.PREDICTIONS] or ()
                 if p.iteration_id in (None, trained.id) and p.top_box is not None and p.image_uri]
        preds.sort(key=lambda p: p.created.timestamp() if p.created else 0.0, reverse=True)
        return {p.id: blobs.image_digest(self.arm, p.image_uri) for p in preds[:F.PREDICTION_IMAGES_LIMIT]}

    def _gateway(self) -> TrainingGateway:
        with self._lock:
            if self._training is None:
                # The Custom Vision SDK (and msrest) load with the first validation that calls Custom Vision:
                # a step that only asks ARM (Task 1) never loads them.
                from .azure.customvision import TrainingGateway

                self._training = TrainingGateway(self.arm, self.facts[F.TRAINING_ACCOUNT])
            return self._training

    def _project(self) -> F.ProjectFact:
        return self.facts[F.PROJECT]

    def _performance(self, thresholds: Any) -> F.PerformanceFact:
        """The trained iteration's performance at the lab's threshold, or (Object Detection) at its probability
        and overlap thresholds (a pair)."""
        at = tuple(thresholds) if isinstance(thresholds, tuple | list) else (0.5 if thresholds is None else thresholds,)
        return self._gateway().performance(self._project().id, self.facts[F.TRAINED_ITERATION].id, *map(float, at))


_CALLS: dict[str, Callable[[FactGatherer, F.Fact, Any], Any]] = {
    # Azure operation a fact's declaration names (``Fact.observe``) -> the gateway call that observes it, given
    # the gatherer (the facts it needs are settled), the fact and its lab parameter.
    "Accounts_ListByResourceGroup": lambda g, fact, param: g.arm.accounts(),
    "DeletedAccounts_List": lambda g, fact, param: g._deleted_accounts(),
    "GetDomains": lambda g, fact, param: g._gateway().domains(),
    "GetProjects": lambda g, fact, param: g._gateway().projects(),
    "GetTags": lambda g, fact, param: g._gateway().tags(g._project().id),
    "GetUntaggedImageCount": lambda g, fact, param: g._gateway().untagged_count(g._project().id),
    "GetIterations": lambda g, fact, param: g._gateway().iterations(g._project().id),
    "GetIterationPerformance": lambda g, fact, param: g._performance(param),
    "QueryPredictions": lambda g, fact, param: g._gateway().predictions(g._project().id),
    "GetImages": lambda g, fact, param: g._gateway().images(g._project().id),
    blobs.OPERATION: lambda g, fact, param: g._prediction_images(),
    # One list call for the type (and a read by id per resource when the lab gives an api-version to read
    # properties with).
    "Resources_ListByResourceGroup": lambda g, fact, param: _resources(g.arm, fact.resource_type, param),
}


def _resources(arm: ArmGateway, resource_type: str, api_version: str | None) -> list[F.ResourceFact]:
    # azure-mgmt-resource's generic resources load only for a lab that judges resources by type.
    from .azure.resources import resources

    return resources(arm, resource_type, api_version)
