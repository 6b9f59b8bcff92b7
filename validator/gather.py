"""FactGatherer: fetch the facts a step's checks read, each at most once, independent ones concurrently.

Facts are gathered level by level along ``checks.facts.DEPENDS_ON``; facts on one level do not depend
on each other and are fetched in parallel (a fact whose call needs fewer facts than it depends on is
fetched as early as its call allows: ``_EARLY``). A fact that cannot be observed is stored as
``FactUnavailable`` (its dependents inherit it); a fact whose source is absent (no project yet) is None.
Nothing raised while gathering escapes: an unexpected exception becomes an ``internal`` FactUnavailable.

The training resource and the project a run discovers are remembered for the attendee
(:mod:`validator.discovery`); a later run that only reads through them starts from them, and discovers
again, within the same run, when Azure contradicts them.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from checks import facts as F
from checks import grants
from checks.base import closure
from checks.select import derive, latest_iteration

from . import discovery
from .azure import blobs
from .azure.arm import ArmGateway
from .azure.customvision import TrainingGateway
from .azure.errors import AzureCallError
from .azure.resources import resources
from .discovery import Found

log = logging.getLogger(__name__)

# Facts fetched before all their dependencies are known, as soon as what their call needs is: the stored
# predictions are judged against the trained iteration, but listing them needs only the project, so they are
# read together with the iterations (and set aside if there is no trained iteration).
_EARLY: dict[str, tuple[str, ...]] = {F.PREDICTIONS: (F.TRAINING_ACCOUNT, F.PROJECT)}

# Facts read with calls through the training resource (its endpoint and key) or through the project's id,
# which prove (or contradict) a remembered resource or project. The domain list is the cloud's, not the
# resource's, and is usually cached: it proves nothing.
_THROUGH_ACCOUNT = frozenset(n for n, deps in F.DEPENDS_ON.items()
                             if F.TRAINING_ACCOUNT in deps and n not in F.DERIVED) - {F.DELETED_ACCOUNTS, F.DOMAINS}
_THROUGH_PROJECT = frozenset(n for n, deps in F.DEPENDS_ON.items() if F.PROJECT in deps and n not in F.DERIVED)

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
        """The snapshot of every fact in ``reads`` and their dependencies."""
        reads = tuple(reads)
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

    def _round(self, reads: tuple[str, ...], found: Found | None) -> None:
        """Gather ``reads`` level by level, starting from what ``found`` lets this run skip."""
        self._recalled = self._recall(reads, found)
        for names in self._plan(reads):
            to_fetch = [n for n in names if n not in self.facts and self._settle_without_fetch(n)]
            if len(to_fetch) == 1:
                self.facts[to_fetch[0]] = self._fetch(to_fetch[0])
            elif to_fetch:
                for name, value in zip(to_fetch, self.pool.map(self._fetch, to_fetch), strict=True):
                    self.facts[name] = value
        for name in _EARLY:
            if name in self.facts:
                self._judge_early(name)

    # -- memory ----------------------------------------------------------------------------------------
    def _recall(self, reads: tuple[str, ...], found: Found | None) -> frozenset[str]:
        """Put the remembered training resource and project in the snapshot where this run may use them:
        when no step reads what they are discovered from (a step that judges them observes them fresh), and
        when a call will be made through them (so their use proves them)."""
        if found is None:
            return frozenset()
        needed = closure(reads)
        direct = set(reads)
        recalled: set[str] = set()
        if not direct & {F.ACCOUNTS, F.DELETED_ACCOUNTS} and any(n in _THROUGH_ACCOUNT for n in needed):
            self.facts[F.TRAINING_ACCOUNT] = found.account
            recalled.add(F.TRAINING_ACCOUNT)
            if found.project is not None and F.PROJECTS not in direct and any(n in _THROUGH_PROJECT for n in needed):
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
    def _plan(self, reads: tuple[str, ...]) -> list[list[str]]:
        """The facts to settle, by level: a fact comes after the facts its fetch needs (``_EARLY``, else
        ``DEPENDS_ON``); a fact already in the snapshot (remembered) needs none of its sources."""
        needed: list[str] = []

        def visit(name: str) -> None:
            if name in needed:
                return
            if name not in self.facts:
                for dep in F.DEPENDS_ON.get(name, ()):
                    visit(dep)
            needed.append(name)

        for name in reads:
            visit(name)
        levels: dict[str, int] = {}
        for name in needed:  # dependencies first
            deps = () if name in self.facts else _EARLY.get(name, F.DEPENDS_ON.get(name, ()))
            levels[name] = 1 + max((levels[d] for d in deps if d in levels), default=0)
        return [[n for n in needed if levels[n] == lv] for lv in sorted(set(levels.values()))]

    def _settle_without_fetch(self, name: str) -> bool:
        """Fill ``name`` from its dependencies when that needs no Azure call; True if it must be fetched."""
        if name == F.DELETED_ACCOUNTS:
            training = self.facts.get(F.TRAINING_ACCOUNT)
            if isinstance(training, F.FactUnavailable):
                self.facts[name] = training.relabel(name)
                return False
            if training is not None:
                self.facts[name] = []  # the lab's resource exists: what was deleted does not matter
                return False
            return True
        if name in F.DERIVED:
            try:
                self.facts[name] = derive(name, self.facts, self.params.get(name), self.arm.azure.resource_group)
            except Exception as exc:  # noqa: BLE001 - a bug in derive must be an ERROR, not a crash
                log.exception("deriving fact %s failed", name)
                self.facts[name] = _unavailable(name, "internal", f"derive {name}: {type(exc).__name__}: {exc}")
            return False
        if not self._sources_allow(name, _EARLY.get(name, F.DEPENDS_ON.get(name, ()))):
            return False
        if name in (F.PERFORMANCE, F.DETECTION_PERFORMANCE) and self._retraining():
            # The check says PENDING from the running iteration and never reads the old performance.
            self.facts[name] = None
            return False
        return True

    def _sources_allow(self, name: str, deps: Iterable[str]) -> bool:
        """False (with ``name`` settled) when a source is unavailable (so is ``name``) or absent (so is it)."""
        for dep in deps:
            value = self.facts.get(dep)
            if isinstance(value, F.FactUnavailable):
                self.facts[name] = value.relabel(name)
                return False
            if value is None:
                self.facts[name] = None  # its source does not exist (yet): the checks name the task
                return False
        return True

    def _judge_early(self, name: str) -> None:
        """A fact fetched before all of its dependencies were known takes their verdict now: None when one is
        absent, unavailable when one is."""
        self._sources_allow(name, F.DEPENDS_ON.get(name, ()))

    def _retraining(self) -> bool:
        """True if the project's newest iteration is still training (Training, Queued, ...)."""
        iterations = self.facts.get(F.ITERATIONS)
        if not isinstance(iterations, list):
            return False
        latest = latest_iteration(iterations)
        return latest is not None and (latest.status or "").casefold() not in ("completed", "failed")

    def _fetch(self, name: str) -> Any:
        try:
            with self.arm.counter.for_fact(name):
                if F.resource_type_of(name) is not None:
                    return self._resources(name)()
                return self._fetchers()[name]()
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
                self._training = TrainingGateway(self.arm, self.facts[F.TRAINING_ACCOUNT])
            return self._training

    def _resources(self, name: str) -> Callable[[], Any]:
        """The fetcher of a :func:`checks.facts.resources` fact: one list call for its type (and a read by id
        per resource when the lab gives an api-version to read properties with)."""
        rtype = F.resource_type_of(name)
        return lambda: resources(self.arm, rtype, self.params.get(name))

    def _fetchers(self) -> dict[str, Callable[[], Any]]:
        project = self.facts.get(F.PROJECT)
        trained = self.facts.get(F.TRAINED_ITERATION)
        return {
            F.ACCOUNTS: self.arm.accounts,
            F.DELETED_ACCOUNTS: self._deleted_accounts,
            F.DOMAINS: lambda: self._gateway().domains(),
            F.PROJECTS: lambda: self._gateway().projects(),
            F.TAGS: lambda: self._gateway().tags(project.id),
            F.UNTAGGED_COUNT: lambda: self._gateway().untagged_count(project.id),
            F.ITERATIONS: lambda: self._gateway().iterations(project.id),
            F.PERFORMANCE: lambda: self._gateway().performance(
                project.id, trained.id, float(self.params.get(F.PERFORMANCE, 0.5))
            ),
            F.PREDICTIONS: lambda: self._gateway().predictions(project.id),
            F.IMAGES: lambda: self._gateway().images(project.id),
            F.DETECTION_PERFORMANCE: lambda: self._gateway().performance(
                project.id, trained.id, *map(float, self.params.get(F.DETECTION_PERFORMANCE, (0.5, 0.3)))
            ),
            F.PREDICTION_IMAGES: self._prediction_images,
        }
