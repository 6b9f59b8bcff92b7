"""FactGatherer: fetch the facts a step's checks read, each at most once, independent ones concurrently.

Facts are gathered level by level along ``checks.facts.DEPENDS_ON``; facts on one level do not depend
on each other and are fetched in parallel. A fact that cannot be observed is stored as
``FactUnavailable`` (its dependents inherit it); a fact whose source is absent (no project yet) is None.
Nothing raised while gathering escapes: an unexpected exception becomes an ``internal`` FactUnavailable.
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

from .azure import blobs
from .azure.arm import ArmGateway
from .azure.customvision import TrainingGateway
from .azure.errors import AzureCallError
from .azure.resources import resources

log = logging.getLogger(__name__)

# One long-lived pool for every validation in the process: msrest keeps a requests.Session per thread,
# so reused threads reuse their TLS connections. Only leaf fetches are submitted (never a task that
# waits on another task), so a bounded pool cannot deadlock; it only queues under load.
_POOL = ThreadPoolExecutor(max_workers=8, thread_name_prefix="labgrader-fetch")

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


class FactGatherer:
    """Gathers facts for one attendee and one validation run."""

    def __init__(self, arm: ArmGateway, params: dict[str, Any], pool: ThreadPoolExecutor | None = None) -> None:
        self.arm = arm
        self.params = params
        self.pool = pool or _POOL
        self.facts: dict[str, Any] = {}
        self._training: TrainingGateway | None = None
        self._lock = threading.Lock()

    def gather(self, reads: Iterable[str]) -> dict[str, Any]:
        """The snapshot of every fact in ``reads`` and their dependencies."""
        levels: dict[str, int] = {}
        for name in closure(tuple(reads)):
            levels[name] = 1 + max((levels[d] for d in F.DEPENDS_ON.get(name, ())), default=0)
        for level in sorted(set(levels.values())):
            names = [n for n, lv in levels.items() if lv == level and n not in self.facts]
            to_fetch = [n for n in names if self._settle_without_fetch(n)]
            if len(to_fetch) == 1:
                self.facts[to_fetch[0]] = self._fetch(to_fetch[0])
            elif to_fetch:
                for name, value in zip(to_fetch, self.pool.map(self._fetch, to_fetch), strict=True):
                    self.facts[name] = value
        return self.facts

    # -- one fact --------------------------------------------------------------------------------------
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
        for dep in F.DEPENDS_ON.get(name, ()):
            value = self.facts.get(dep)
            if isinstance(value, F.FactUnavailable):
                self.facts[name] = value.relabel(name)
                return False
            if value is None:
                self.facts[name] = None  # its source does not exist (yet): the checks name the task
                return False
        if name in (F.PERFORMANCE, F.DETECTION_PERFORMANCE) and self._retraining():
            # The check says PENDING from the running iteration and never reads the old performance.
            self.facts[name] = None
            return False
        return True

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
