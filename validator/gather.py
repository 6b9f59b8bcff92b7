"""FactGatherer: fetch the facts a step's checks read, each at most once, independent ones concurrently.

Facts are gathered level by level along ``checks.facts.DEPENDS_ON``; facts on one level do not depend
on each other and are fetched in parallel. A fact that cannot be observed is stored as
``FactUnavailable`` (its dependents inherit it); a fact whose source is absent (no project yet) is None.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from checks import facts as F
from checks.base import closure
from checks.select import derive

from .azure.arm import ArmGateway
from .azure.customvision import TrainingGateway
from .azure.errors import AzureCallError

log = logging.getLogger(__name__)

_UNAVAILABLE_KIND = {"not_found": "unavailable", "rejected": "unavailable"}


class FactGatherer:
    """Gathers facts for one attendee and one validation run."""

    def __init__(self, arm: ArmGateway, params: dict[str, Any], max_workers: int = 4) -> None:
        self.arm = arm
        self.params = params
        self.max_workers = max_workers
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
                with ThreadPoolExecutor(max_workers=min(self.max_workers, len(to_fetch))) as pool:
                    for name, value in zip(to_fetch, pool.map(self._fetch, to_fetch), strict=True):
                        self.facts[name] = value
        return self.facts

    # -- one fact --------------------------------------------------------------------------------------
    def _settle_without_fetch(self, name: str) -> bool:
        """Fill ``name`` from its dependencies when that needs no Azure call; True if it must be fetched."""
        if name in F.DERIVED:
            self.facts[name] = derive(name, self.facts, self.params.get(name), self.arm.azure.resource_group)
            return False
        for dep in F.DEPENDS_ON.get(name, ()):
            value = self.facts.get(dep)
            if isinstance(value, F.FactUnavailable):
                self.facts[name] = F.FactUnavailable(name, value.kind, value.detail)
                return False
            if value is None:
                self.facts[name] = None  # its source does not exist (yet): the checks name the task
                return False
        return True

    def _fetch(self, name: str) -> Any:
        try:
            return self._fetchers()[name]()
        except AzureCallError as err:
            log.warning("fact %s unavailable: %s", name, err)
            kind = _UNAVAILABLE_KIND.get(err.kind, err.kind)
            detail = f"{err.operation}: HTTP {err.status or '-'} {err.code or ''} {err.detail}".strip()
            return F.FactUnavailable(name, kind, detail[:300])

    def _gateway(self) -> TrainingGateway:
        with self._lock:
            if self._training is None:
                self._training = TrainingGateway(self.arm, self.facts[F.TRAINING_ACCOUNT])
            return self._training

    def _fetchers(self) -> dict[str, Callable[[], Any]]:
        project = self.facts.get(F.PROJECT)
        trained = self.facts.get(F.TRAINED_ITERATION)
        return {
            F.ACCOUNTS: self.arm.accounts,
            F.DOMAINS: lambda: self._gateway().domains(),
            F.PROJECTS: lambda: self._gateway().projects(),
            F.TAGS: lambda: self._gateway().tags(project.id),
            F.UNTAGGED_COUNT: lambda: self._gateway().untagged_count(project.id),
            F.ITERATIONS: lambda: self._gateway().iterations(project.id),
            F.PERFORMANCE: lambda: self._gateway().performance(
                project.id, trained.id, float(self.params.get(F.PERFORMANCE, 0.5))
            ),
            F.PREDICTIONS: lambda: self._gateway().predictions(project.id, trained.id),
            F.EXPORTS: lambda: self._gateway().exports(project.id, trained.id),
        }
