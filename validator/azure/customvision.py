"""Custom Vision Training: the attendee's projects, tags, iterations and stored predictions.

The endpoint and training key are discovered through ARM (``listKeys``) once and cached; a 401 from
Custom Vision drops the cached key and the call is retried once with a fresh one (keys get regenerated).

Everything per resource (the rate limit, the cached key, the cached client) is keyed on the account's
ARM resource id (:func:`resource_key`), never on its endpoint: accounts made without a custom subdomain
share their region's endpoint (``https://<region>.api.cognitive.microsoft.com/``, the key picks the
account), and keying on it would make a whole class in one region share one F0 budget.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from azure.cognitiveservices.vision.customvision.training import CustomVisionTrainingClient
from azure.cognitiveservices.vision.customvision.training.models import PredictionQueryToken
from msrest.authentication import ApiKeyCredentials

from checks.facts import (
    AccountFact,
    DomainFact,
    IterationFact,
    PerformanceFact,
    PredictionFact,
    ProjectFact,
    TagFact,
    TagPerformance,
)

from . import caches
from .arm import ArmGateway
from .budget import RetryPolicy
from .caches import ClientCache
from .cloud import AttendeeAzure
from .errors import AzureCallError
from .ratelimit import RateLimiter, RateLimitTimeout, RedisRateLimiter

T = TypeVar("T")


@dataclass
class TierLimiters:
    """Custom Vision's per-resource transaction limits: Free F0 allows 2 per second, Standard S0 10.

    In-process by default; :func:`use_redis` swaps in limiters shared by every web instance.
    """

    free: RateLimiter | RedisRateLimiter
    standard: RateLimiter | RedisRateLimiter


limiters = TierLimiters(free=RateLimiter(rate=2.0, burst=2), standard=RateLimiter(rate=10.0, burst=10))


def use_redis(url: str) -> None:
    """Share the per-resource rate limits through Redis at ``url`` (call once at start-up, e.g. REDIS_URL)."""
    import redis

    client = redis.Redis.from_url(url)
    limiters.free = RedisRateLimiter(client, rate=2.0, burst=2)
    limiters.standard = RedisRateLimiter(client, rate=10.0, burst=10)


def use_in_process() -> None:
    """Back to per-process limiters (tests, or Redis no longer configured)."""
    limiters.free = RateLimiter(rate=2.0, burst=2)
    limiters.standard = RateLimiter(rate=10.0, burst=10)


def limiter_for(account: AccountFact) -> RateLimiter | RedisRateLimiter:
    return limiters.free if (account.sku or "F0").upper() == "F0" else limiters.standard


def resource_key(account: AccountFact, azure: AttendeeAzure) -> str:
    """The account's identity for per-resource limits and caches: its ARM resource id, lower-cased (ARM
    ids are case-insensitive). A fact without an id gets the one ARM gives such an account."""
    rid = account.resource_id or (
        f"/subscriptions/{azure.subscription_id}/resourceGroups/{account.resource_group or azure.resource_group}"
        f"/providers/Microsoft.CognitiveServices/accounts/{account.name}"
    )
    return rid.lower()


# Bounded, closed on eviction: each client holds a training key and a connection pool.
# Keyed (resource, endpoint, key, ca): the resource is the identity; a changed endpoint or key builds anew.
_clients = ClientCache(maxsize=512, ttl=3600)


def _client(resource: str, endpoint: str, key: str, ca_bundle: str | None) -> CustomVisionTrainingClient:
    return _clients.get_or_create((resource, endpoint, key, ca_bundle), lambda: _build(endpoint, key, ca_bundle))


def _build(endpoint: str, key: str, ca_bundle: str | None) -> CustomVisionTrainingClient:
    client = CustomVisionTrainingClient(endpoint, ApiKeyCredentials(in_headers={"Training-key": key}))
    client.config.retry_policy.retries = 0  # RetryPolicy (budget.py) retries, for POST too
    if ca_bundle:
        client.config.connection.verify = ca_bundle
    return client


class TrainingGateway:
    """Custom Vision Training calls against one training resource, found through ARM."""

    def __init__(self, arm: ArmGateway, account: AccountFact, limiter: RateLimiter | RedisRateLimiter | None = None,
                 retry: RetryPolicy | None = None) -> None:
        self.arm = arm
        self.account = account
        self.limiter = limiter or limiter_for(account)
        self.retry = retry or arm.retry
        self.resource = resource_key(account, arm.azure)
        self._key_id = (arm.azure.profile.arm_endpoint, self.resource)
        self._key_lock = threading.Lock()

    # -- plumbing --------------------------------------------------------------------------------------
    def _key(self) -> str:
        key = caches.account_keys.get(self._key_id)
        if key is None:
            with self._key_lock:  # facts fetched in parallel share one listKeys call
                key = caches.account_keys.get(self._key_id)
                if key is None:
                    key = self.arm.training_key(self.account.name)
                    caches.account_keys.set(self._key_id, key)
        return key

    def _wait_slot(self) -> None:
        try:
            self.limiter.acquire(self.resource, self.arm.deadline.remaining())
        except RateLimitTimeout:
            raise AzureCallError("busy", "rate-limit", "too many calls queued for this resource") from None

    def _call(self, operation: str, fn: Callable[[CustomVisionTrainingClient, dict], T]) -> T:
        """Run ``fn(client, timeout_kwargs)``; on 401 re-read the key once (it may have been regenerated)."""
        ca = self.arm.azure.profile.ca_bundle
        for attempt in (1, 2):
            client = _client(self.resource, self.account.endpoint or "", self._key(), ca)
            try:
                return self.retry.run(
                    operation,
                    lambda timeout, c=client: fn(c, {"timeout": timeout}),
                    self.arm.deadline,
                    self.arm.counter,
                    before_call=self._wait_slot,
                )
            except AzureCallError as err:
                if err.status == 401 and attempt == 1:
                    caches.account_keys.delete(self._key_id)
                    continue
                raise
        raise AssertionError("unreachable")

    # -- facts -----------------------------------------------------------------------------------------
    def domains(self) -> list[DomainFact]:
        cache_key = (self.arm.azure.profile.arm_endpoint, "domains")
        cached = caches.domains.get(cache_key)
        if cached is not None:
            return cached
        result = self._call("GetDomains", lambda c, kw: [_domain(d) for d in c.get_domains(**kw)])
        caches.domains.set(cache_key, result)
        return result

    def projects(self) -> list[ProjectFact]:
        return self._call("GetProjects", lambda c, kw: [_project(p) for p in c.get_projects(**kw)])

    def tags(self, project_id: str) -> list[TagFact]:
        return self._call("GetTags", lambda c, kw: [_tag(t) for t in c.get_tags(project_id, **kw)])

    def untagged_count(self, project_id: str) -> int:
        return self._call("GetUntaggedImageCount", lambda c, kw: int(c.get_untagged_image_count(project_id, **kw)))

    def iterations(self, project_id: str) -> list[IterationFact]:
        return self._call("GetIterations", lambda c, kw: [_iteration(i) for i in c.get_iterations(project_id, **kw)])

    def performance(self, project_id: str, iteration_id: str, threshold: float) -> PerformanceFact:
        def fetch(c, kw):
            perf = c.get_iteration_performance(project_id, iteration_id, threshold=threshold, **kw)
            return _performance(perf, threshold, iteration_id)

        return self._call("GetIterationPerformance", fetch)

    def predictions(self, project_id: str) -> list[PredictionFact]:
        """The project's stored Quick Test predictions, newest first (at most 100), of every iteration."""
        def fetch(c, kw):
            token = PredictionQueryToken(max_count=100, order_by="Newest")
            result = c.query_predictions(project_id, token, **kw)
            return [_prediction(p) for p in (result.results or [])]

        return self._call("QueryPredictions", fetch)


# -- SDK model -> fact ---------------------------------------------------------------------------------
def _domain(d) -> DomainFact:
    return DomainFact(
        id=d.id, name=d.name, type=d.type or "", exportable=bool(d.exportable),
        exportable_platforms=tuple(getattr(d, "exportable_platforms", None) or ()),
    )


def _project(p) -> ProjectFact:
    s = p.settings
    return ProjectFact(
        id=p.id, name=p.name, description=p.description,
        domain_id=s.domain_id if s else "",
        classification_type=s.classification_type if s else None,
        target_export_platforms=tuple((s.target_export_platforms if s else None) or ()),
        created=p.created, last_modified=p.last_modified,
    )


def _tag(t) -> TagFact:
    return TagFact(id=t.id, name=t.name, image_count=int(t.image_count or 0), type=t.type or "Regular")


def _iteration(i) -> IterationFact:
    return IterationFact(
        id=i.id, name=i.name, status=i.status or "", created=i.created, last_modified=i.last_modified,
        trained_at=i.trained_at, training_type=i.training_type, exportable=bool(i.exportable),
        exportable_to=tuple(i.exportable_to or ()), domain_id=i.domain_id,
        classification_type=i.classification_type,
        training_error=getattr(i, "training_error_details", None),
    )


def _performance(perf, threshold: float, iteration_id: str) -> PerformanceFact:
    return PerformanceFact(
        precision=float(perf.precision or 0.0), recall=float(perf.recall or 0.0),
        average_precision=perf.average_precision,
        per_tag=tuple(
            TagPerformance(name=t.name, precision=float(t.precision or 0.0), recall=float(t.recall or 0.0),
                           average_precision=t.average_precision)
            for t in (perf.per_tag_performance or ())
        ),
        threshold=threshold, iteration_id=iteration_id,
    )


def _prediction(p) -> PredictionFact:
    ranked = sorted(p.predictions or (), key=lambda x: x.probability or 0.0, reverse=True)
    top = ranked[0] if ranked else None
    return PredictionFact(
        id=p.id, iteration_id=p.iteration, created=p.created,
        top_tag=top.tag_name if top else None, top_probability=top.probability if top else None,
    )
