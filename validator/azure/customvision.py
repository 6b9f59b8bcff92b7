"""Custom Vision Training: the attendee's projects, tags, iterations and stored predictions.

The endpoint and training key are discovered through ARM (``listKeys``) once and cached; a 401 from
Custom Vision drops the cached key and the call is retried once with a fresh one (keys get regenerated).

When keys are not to be had, the gateway signs in with Microsoft Entra ID instead (a token for
``https://cognitiveservices.azure.com/.default`` from the grader's own credential, handed to the SDK as its
msrest credentials): for a resource with ``disableLocalAuth``, when ``listKeys`` is refused (the grader's role
lacks it, or keys are disabled), or when the data plane refuses the key. That needs the resource's custom
subdomain and the operation's data action (``checks.grants.DATA_ACTIONS``); when it fails, the
``permission`` error names the action to grant and the role that grants it, or the setting in the way.

Everything per resource (the rate limit, the cached key, the cached client) is keyed on the account's
ARM resource id (:func:`resource_key`), never on its endpoint: accounts made without a custom subdomain
share their region's endpoint (``https://<region>.api.cognitive.microsoft.com/``, the key picks the
account), and keying on it would make a whole class in one region share one F0 budget.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from azure.cognitiveservices.vision.customvision.training import CustomVisionTrainingClient
from azure.cognitiveservices.vision.customvision.training.models import PredictionQueryToken
from msrest.authentication import ApiKeyCredentials, Authentication

from checks import grants
from checks.facts import (
    IMAGE_PAGES,
    AccountFact,
    Box,
    DomainFact,
    ImageFact,
    ImagesFact,
    IterationFact,
    PerformanceFact,
    PredictionFact,
    ProjectFact,
    RegionFact,
    TagFact,
    TagPerformance,
)

from .arm import ArmGateway
from .budget import RetryPolicy
from .cloud import AttendeeAzure
from .connections import Connections
from .errors import AzureCallError
from .ratelimit import RateLimiter, RateLimitTimeout, RedisRateLimiter

T = TypeVar("T")

# The Cognitive Services data plane's Entra ID scope (the same for every Azure AI services resource).
COGNITIVE_SCOPE = "https://cognitiveservices.azure.com/.default"
# Marks a resource read with Entra ID rather than a key (in the ``account_keys`` cache, where keys live).
ENTRA = "entra-id"


def resource_key(account: AccountFact, azure: AttendeeAzure) -> str:
    """The account's identity for per-resource limits and caches: its ARM resource id, lower-cased (ARM
    ids are case-insensitive). A fact without an id gets the one ARM gives such an account."""
    rid = account.resource_id or (
        f"/subscriptions/{azure.subscription_id}/resourceGroups/{account.resource_group or azure.resource_group}"
        f"/providers/Microsoft.CognitiveServices/accounts/{account.name}"
    )
    return rid.lower()


def _build(connections: Connections, endpoint: str, key: str, ca_bundle: str | None) -> CustomVisionTrainingClient:
    return _configured(CustomVisionTrainingClient(endpoint, ApiKeyCredentials(in_headers={"Training-key": key})),
                       ca_bundle, connections)


def _entra_client(arm: ArmGateway, resource: str, endpoint: str) -> CustomVisionTrainingClient:
    """A client signing in as the grader's identity; keyed by its credential object, as the ARM clients are."""
    credential = arm.runtime.credentials.get(arm.azure)
    ca = arm.azure.profile.ca_bundle
    return arm.runtime.training_clients.get_or_create(
        (resource, endpoint, credential, ca),
        lambda: _configured(CustomVisionTrainingClient(endpoint, EntraIdCredentials(credential, COGNITIVE_SCOPE)), ca,
                            arm.runtime.connections))


def _configured(client: CustomVisionTrainingClient, ca_bundle: str | None,
                connections: Connections) -> CustomVisionTrainingClient:
    client.config.retry_policy.retries = 0  # RetryPolicy (budget.py) retries, for POST too
    connections.configure_msrest(client.config)
    if ca_bundle:
        client.config.connection.verify = ca_bundle
    return client


class EntraIdCredentials(Authentication):
    """msrest credentials that put a Microsoft Entra ID token on every request (``Authorization: Bearer``).

    msrest asks for ``signed_session`` per request; the azure-identity credential caches the token and
    renews it before it expires. Its failures (a rejected secret, an outage) surface from the SDK call as
    azure-core ``ClientAuthenticationError``, which ``errors.translate`` classifies as for ARM.
    """

    def __init__(self, credential, scope: str) -> None:
        super().__init__()
        self._credential = credential
        self._scope = scope

    def signed_session(self, session=None):
        session = super().signed_session(session)
        session.headers["Authorization"] = f"Bearer {self._credential.get_token(self._scope).token}"
        return session


class TrainingGateway:
    """Custom Vision Training calls against one training resource, found through ARM."""

    def __init__(self, arm: ArmGateway, account: AccountFact, limiter: RateLimiter | RedisRateLimiter | None = None,
                 retry: RetryPolicy | None = None) -> None:
        self.arm = arm
        self.account = account
        self.limiter = limiter or arm.runtime.limiters.for_account(account)
        self._caches = arm.runtime.caches
        self.retry = retry or arm.retry
        self.resource = resource_key(account, arm.azure)
        self._key_id = (arm.azure.profile.arm_endpoint, self.resource)
        self._key_lock = threading.Lock()
        # Why this resource is read with Entra ID, if it is: "disabled" (disableLocalAuth) or "listkeys"
        # (listKeys refused: ``_key_error``). Decided once per validation, so parallel facts share it.
        self._why_entra = "disabled" if account.disable_local_auth else "listkeys"
        self._key_error: AzureCallError | None = None
        self._entra_here = False

    # -- plumbing --------------------------------------------------------------------------------------
    def _key(self) -> str:
        """The training key, or :data:`ENTRA` when the resource is to be read with Microsoft Entra ID."""
        key = ENTRA if self._entra_here else self._caches.account_keys.get(self._key_id)
        if key is None:
            with self._key_lock:  # facts fetched in parallel share one listKeys call
                key = ENTRA if self._entra_here else self._caches.account_keys.get(self._key_id)
                if key is None:
                    key = self._fetch_key()
                    if key == ENTRA:  # across validations, Entra ID is remembered once it has worked (_call)
                        self._entra_here = True
                    else:
                        self._caches.account_keys.set(self._key_id, key)
        return key

    def _fetch_key(self) -> str:
        if self.account.disable_local_auth:
            self._why_entra = "disabled"
            return ENTRA
        try:
            return self.arm.training_key(self.account.name)
        except AzureCallError as err:
            if err.kind == "permission" or (err.status == 400 and "disablelocalauth" in err.detail.lower()):
                # No key for us: the role lacks listKeys, or key access is off. Entra ID may still do.
                self._why_entra = "disabled" if err.status == 400 else "listkeys"
                self._key_error = err
                return ENTRA
            raise

    def _wait_slot(self) -> None:
        try:
            self.limiter.acquire(self.resource, self.arm.deadline.remaining())
        except RateLimitTimeout:
            raise AzureCallError("busy", "rate-limit", "too many calls queued for this resource") from None

    def _call(self, operation: str, fn: Callable[[CustomVisionTrainingClient, dict], T]) -> T:
        """Run ``fn(client, timeout_kwargs)``; on 401 re-read the key once (it may have been regenerated);
        when the key is refused because keys are disabled, sign in with Entra ID instead."""
        azure = self.arm.azure
        endpoint = self.account.endpoint or ""
        for attempt in (1, 2, 3):
            key = self._key()
            if key == ENTRA:
                return self._entra_call(operation, fn, endpoint)
            client = self._key_client(endpoint, key, azure.profile.ca_bundle)
            try:
                return self._run(operation, fn, client)
            except AzureCallError as err:
                if err.code == "AuthenticationTypeDisabled":  # keys were switched off since we read them
                    self._why_entra, self._entra_here = "disabled", True
                    continue
                if err.status == 401 and attempt == 1:
                    with self._key_lock:  # unless a parallel call has read the key again already
                        if self._caches.account_keys.get(self._key_id) == key:
                            self._caches.account_keys.delete(self._key_id)
                    continue
                raise
        raise AssertionError("unreachable")

    def _key_client(self, endpoint: str, key: str, ca_bundle: str | None) -> CustomVisionTrainingClient:
        # Keyed (resource, endpoint, key, ca): the resource is the identity; a changed endpoint or key builds anew.
        return self.arm.runtime.training_clients.get_or_create(
            (self.resource, endpoint, key, ca_bundle),
            lambda: _build(self.arm.runtime.connections, endpoint, key, ca_bundle))

    def _run(self, operation: str, fn, client: CustomVisionTrainingClient):
        return self.retry.run(
            operation,
            lambda timeout, c=client: fn(c, {"timeout": timeout}),
            self.arm.deadline,
            self.arm.counter,
            before_call=self._wait_slot,
            token_calls=self.arm.runtime.token_calls,
        )

    def _entra_call(self, operation: str, fn, endpoint: str):
        if not self.account.custom_subdomain:
            # Entra ID reaches a resource only on its own (custom subdomain) endpoint.
            self._caches.account_keys.delete(self._key_id)
            raise self._no_way_in(operation, None)
        try:
            result = self._run(operation, fn, _entra_client(self.arm, self.resource, endpoint))
        except AzureCallError as err:
            token_trouble = err.detail.startswith("Entra ID token request")  # the sign-in itself, not the resource
            if not token_trouble and (err.kind == "permission" or err.status == 401):
                self._caches.account_keys.delete(self._key_id)
                raise self._no_way_in(operation, err) from None
            raise
        self._caches.account_keys.set(self._key_id, ENTRA)
        return result

    def _no_way_in(self, operation: str, err: AzureCallError | None) -> AzureCallError:
        """The ``permission`` error when neither a key nor Entra ID gets labgrader in: what to grant, or
        the setting in the way, for the proctor."""
        name = self.account.name
        data_action = grants.data_action(operation) or f"{grants.CV}/*/read"
        scope = (self.account.resource_id or "").rsplit("/providers/", 1)[0] or None
        why = self._why_entra
        detail = f"{operation}: " + (err.detail if err else "no custom subdomain for Microsoft Entra ID")
        if why == "disabled" and not self.account.custom_subdomain:
            return AzureCallError(
                "permission", operation, detail, status=err.status if err else None, action=None, remedy=(
                    f"Key access is disabled on the Custom Vision resource '{name}' (disableLocalAuth), and it "
                    "has no custom subdomain, which Microsoft Entra ID sign-in needs, so labgrader cannot read "
                    "it at all. Turn key access back on (disableLocalAuth: false) or give the resource a custom "
                    "subdomain, then validate again."))
        if why == "disabled":
            remedy = (f"Key access is disabled on the Custom Vision resource '{name}' (disableLocalAuth), so "
                      "labgrader reads it with Microsoft Entra ID and needs the data action "
                      f"{data_action}. " + grants.remedy(data_action, scope))
            return AzureCallError("permission", operation, detail, status=err.status if err else None,
                                  code=err.code if err else None, action=data_action, remedy=remedy)
        key_error = self._key_error
        return AzureCallError(
            "permission", operation, (key_error.detail if key_error else detail)[:300],
            status=key_error.status if key_error else None, code=key_error.code if key_error else None,
            action=grants.LIST_KEYS, scope=key_error.scope if key_error else scope,
            remedy=grants.remedy(grants.LIST_KEYS, (key_error.scope if key_error else None) or scope,
                                 alternative=data_action if self.account.custom_subdomain else None))

    # -- facts -----------------------------------------------------------------------------------------
    def domains(self) -> list[DomainFact]:
        cache_key = (self.arm.azure.profile.arm_endpoint, "domains")
        cached = self._caches.domains.get(cache_key)
        if cached is not None:
            return cached
        result = self._call("GetDomains", lambda c, kw: [_domain(d) for d in c.get_domains(**kw)])
        self._caches.domains.set(cache_key, result)
        return result

    def projects(self) -> list[ProjectFact]:
        return self._call("GetProjects", lambda c, kw: [_project(p) for p in c.get_projects(**kw)])

    def tags(self, project_id: str) -> list[TagFact]:
        return self._call("GetTags", lambda c, kw: [_tag(t) for t in c.get_tags(project_id, **kw)])

    def untagged_count(self, project_id: str) -> int:
        return self._call("GetUntaggedImageCount", lambda c, kw: int(c.get_untagged_image_count(project_id, **kw)))

    def iterations(self, project_id: str) -> list[IterationFact]:
        return self._call("GetIterations", lambda c, kw: [_iteration(i) for i in c.get_iterations(project_id, **kw)])

    def performance(self, project_id: str, iteration_id: str, threshold: float,
                    overlap_threshold: float | None = None) -> PerformanceFact:
        """At ``threshold``; for Object Detection also at ``overlap_threshold`` (then average precision is mAP).

        A trained iteration's performance is fixed when its training completes, so it is remembered (training
        again makes a new iteration, with a new id)."""
        cache_key = (self.arm.azure.profile.arm_endpoint, self.resource, project_id, iteration_id, threshold,
                     overlap_threshold)
        cached = self._caches.performance.get(cache_key)
        if cached is not None:
            return cached

        def fetch(c, kw):
            perf = c.get_iteration_performance(project_id, iteration_id, threshold=threshold,
                                               overlap_threshold=overlap_threshold, **kw)
            return _performance(perf, threshold, iteration_id, overlap_threshold)

        result = self._call("GetIterationPerformance", fetch)
        self._caches.performance.set(cache_key, result)
        return result

    def images(self, project_id: str) -> ImagesFact:
        """The project's images, tagged and untagged, with their regions: one call per 256 images, newest
        first, at most ``IMAGE_PAGES`` calls (then ``complete`` is False)."""
        page, read = 256, []
        for n in range(IMAGE_PAGES):
            batch = self._call("GetImages", lambda c, kw, skip=n * page: c.get_images(
                project_id, tagging_status="All", order_by="Newest", take=page, skip=skip, **kw))
            read.extend(_image(i) for i in batch or ())
            if len(batch or ()) < page:
                return ImagesFact(images=tuple(read), complete=True)
        return ImagesFact(images=tuple(read), complete=False)

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


def _performance(perf, threshold: float, iteration_id: str, overlap_threshold: float | None = None) -> PerformanceFact:
    return PerformanceFact(
        precision=float(perf.precision or 0.0), recall=float(perf.recall or 0.0),
        average_precision=perf.average_precision,
        per_tag=tuple(
            TagPerformance(name=t.name, precision=float(t.precision or 0.0), recall=float(t.recall or 0.0),
                           average_precision=t.average_precision)
            for t in (perf.per_tag_performance or ())
        ),
        threshold=threshold, iteration_id=iteration_id, overlap_threshold=overlap_threshold,
    )


def _prediction(p) -> PredictionFact:
    ranked = sorted(p.predictions or (), key=lambda x: x.probability or 0.0, reverse=True)
    top = ranked[0] if ranked else None
    return PredictionFact(
        id=p.id, iteration_id=p.iteration, created=p.created,
        top_tag=top.tag_name if top else None, top_probability=top.probability if top else None,
        top_box=_box(top.bounding_box) if top is not None else None, image_uri=p.original_image_uri,
    )


def _box(b) -> Box | None:
    if b is None:
        return None
    return Box(left=float(b.left or 0.0), top=float(b.top or 0.0), width=float(b.width or 0.0),
               height=float(b.height or 0.0))


def _image(i) -> ImageFact:
    return ImageFact(
        id=i.id,
        tags=tuple(t.tag_name or "" for t in (i.tags or ())),
        regions=tuple(RegionFact(tag=r.tag_name or "", box=_box(r)) for r in (i.regions or ())),
    )


# -- proving the data actions (labgrader doctor) --------------------------------------------------------
_PROBES: dict[str, Callable] = {
    "GetDomains": lambda c, p, i, kw: c.get_domains(**kw),
    "GetProjects": lambda c, p, i, kw: [_project(x) for x in c.get_projects(**kw)],
    "GetTags": lambda c, p, i, kw: c.get_tags(p, **kw),
    "GetUntaggedImageCount": lambda c, p, i, kw: c.get_untagged_image_count(p, **kw),
    "GetImages": lambda c, p, i, kw: c.get_images(p, take=1, **kw),
    "GetIterations": lambda c, p, i, kw: [_iteration(x) for x in c.get_iterations(p, **kw)],
    "GetIterationPerformance": lambda c, p, i, kw: c.get_iteration_performance(p, i, threshold=0.5, **kw),
    "QueryPredictions": lambda c, p, i, kw: c.query_predictions(p, PredictionQueryToken(max_count=1), **kw),
}
PROJECT_LEVEL = frozenset(set(_PROBES) - {"GetDomains", "GetProjects"})


def probe_entra(arm: ArmGateway, account: AccountFact, operations: list[str],
                pick_project: Callable[[list[ProjectFact]], ProjectFact | None],
                pick_iteration: Callable[[list[IterationFact]], IterationFact | None],
                ) -> dict[str, AzureCallError | None]:
    """Call each read-only Training operation in ``operations`` once, in order, with a Microsoft Entra ID token
    (never a key): operation -> None when it answered, or the error. The project (and trained iteration)
    the later calls read are picked from what GetProjects (GetIterations) answered; calls that need one are
    left out while there is none yet."""
    client = _entra_client(arm, resource_key(account, arm.azure), account.endpoint or "")
    out: dict[str, AzureCallError | None] = {}
    project_id = iteration_id = None
    for op in operations:
        if op not in _PROBES or (op in PROJECT_LEVEL and not project_id) or (
                op == "GetIterationPerformance" and not iteration_id):
            continue
        probe = _PROBES[op]
        try:
            answer = arm.run(
                op, lambda timeout, f=probe, p=project_id, i=iteration_id: f(client, p, i, {"timeout": timeout}))
        except AzureCallError as err:
            out[op] = err
            continue
        out[op] = None
        if op == "GetProjects":
            project = pick_project(answer)
            project_id = project.id if project else None
        elif op == "GetIterations":
            iteration = pick_iteration(answer)
            iteration_id = iteration.id if iteration else None
    return out
