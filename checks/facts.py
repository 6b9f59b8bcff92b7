"""The facts checks judge, each declared once, and the typed values the validator builds.

A declaration (:class:`checks.graph.Fact`) names the fact, types its value, lists the facts it depends on
and its lab parameter, and says how it is obtained: *derived* by a pure function of its source (the lab's
training resource among the accounts), or *observed* through a named Azure operation, which the validator
maps to a gateway call once. The rules that settle a fact without a call (absent source, a retrain running,
deleted accounts that matter only when the resource is missing) are part of its declaration too.

The validator's gateways turn SDK objects into the frozen dataclasses below; checks never see the SDK and
never do I/O. A fact the validator could not observe is stored as a :class:`FactUnavailable` instead of
its value, and ``checks.base.run_check`` turns that into an ERROR (never a FAIL).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from checks import select
from checks.expect import ExpectationError, NameRule
from checks.graph import OBSERVE as OBSERVE  # the machinery, re-exported beside the declarations
from checks.graph import UNAVAILABLE_KINDS as UNAVAILABLE_KINDS
from checks.graph import Fact as Fact
from checks.graph import FactUnavailable as FactUnavailable
from checks.graph import Parameter as Parameter
from checks.graph import Snapshot as Snapshot
from checks.graph import closure as closure
from checks.wording import quoted

# -- fact values ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class AccountFact:
    """A Microsoft.CognitiveServices account (``kind`` CustomVision.Training or CustomVision.Prediction).

    ``resource_id`` is the account's ARM id (``/subscriptions/.../accounts/<name>``, compared
    case-insensitively): the identity of the resource, and so the key of every per-resource limit and
    cache (F0 allows 2 calls/s per resource). Never key those on ``endpoint``: an account made without a
    custom subdomain shares its region's endpoint with every other such account, and the key alone
    selects the account there.
    """

    name: str
    kind: str
    sku: str
    location: str
    resource_group: str
    provisioning_state: str
    endpoint: str | None = None
    resource_id: str | None = None
    deleted_at: datetime | None = None  # set on a soft-deleted account (purged 48 hours later)
    custom_subdomain: str | None = None  # needed to sign in to its endpoint with Microsoft Entra ID
    disable_local_auth: bool = False  # properties.disableLocalAuth: its keys are refused


@dataclass(frozen=True)
class DomainFact:
    """A Custom Vision domain; ``type`` is Classification or ObjectDetection."""

    id: str
    name: str
    type: str
    exportable: bool = False
    exportable_platforms: tuple[str, ...] = ()


@dataclass(frozen=True)
class ProjectFact:
    """A Custom Vision project with its settings (``target_export_platforms`` empty = basic platforms)."""

    id: str
    name: str
    description: str | None
    domain_id: str
    classification_type: str | None
    target_export_platforms: tuple[str, ...] = ()
    created: datetime | None = None
    last_modified: datetime | None = None


@dataclass(frozen=True)
class TagFact:
    """A project tag; ``image_count`` is the number of images carrying it; ``type`` Regular/Negative/..."""

    id: str
    name: str
    image_count: int
    type: str = "Regular"


@dataclass(frozen=True)
class IterationFact:
    """A training iteration; ``status`` is free text ("Training", "Completed", "Failed" are known)."""

    id: str
    name: str
    status: str
    created: datetime
    last_modified: datetime | None = None
    trained_at: datetime | None = None
    training_type: str | None = None
    exportable: bool = False
    exportable_to: tuple[str, ...] = ()
    domain_id: str | None = None
    classification_type: str | None = None
    training_error: str | None = None


@dataclass(frozen=True)
class TagPerformance:
    """Per-tag performance figures (fractions between 0 and 1)."""

    name: str
    precision: float
    recall: float
    average_precision: float | None = None


@dataclass(frozen=True)
class PerformanceFact:
    """An iteration's performance at ``threshold`` (fractions between 0 and 1); for Object Detection also at
    ``overlap_threshold``, and then ``average_precision`` is the mAP."""

    precision: float
    recall: float
    average_precision: float | None
    per_tag: tuple[TagPerformance, ...]
    threshold: float
    iteration_id: str | None = None
    overlap_threshold: float | None = None


@dataclass(frozen=True)
class Box:
    """A bounding box as Custom Vision gives it: fractions of the image's width and height."""

    left: float
    top: float
    width: float
    height: float


@dataclass(frozen=True)
class PredictionFact:
    """A stored Quick Test prediction: its highest-probability tag, and for Object Detection that region's box.

    ``image_uri`` is where Custom Vision keeps the tested image (a blob address with a SAS token): the
    validator reads it for PREDICTION_IMAGES; it never goes into evidence.
    """

    id: str
    iteration_id: str | None
    created: datetime | None
    top_tag: str | None
    top_probability: float | None
    top_box: Box | None = None
    image_uri: str | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class RegionFact:
    """A region drawn on a training image: its tag's name and its box."""

    tag: str
    box: Box


@dataclass(frozen=True)
class ImageFact:
    """A training image: the names of its tags (image-level) and its regions (Object Detection)."""

    id: str
    tags: tuple[str, ...] = ()
    regions: tuple[RegionFact, ...] = ()


@dataclass(frozen=True)
class ImagesFact:
    """The project's images read for IMAGES; ``complete`` is False when there were more than were read."""

    images: tuple[ImageFact, ...]
    complete: bool = True


@dataclass(frozen=True)
class ResourceFact:
    """An Azure resource of any type, as ARM's generic resource API shows it (``Resources_ListByResourceGroup``;
    ``properties`` from ``Resources_GetById`` with the lab's api-version, None when the lab reads none).

    ``type`` is ARM's spelling (``Microsoft.Storage/storageAccounts``); ``resource_id`` is compared
    case-insensitively, as ARM ids are. ``tags`` and ``properties`` are plain mappings from the SDK's JSON.
    """

    name: str
    type: str
    location: str
    resource_group: str
    resource_id: str
    kind: str | None = None
    sku_name: str | None = None
    sku_tier: str | None = None
    tags: Any = None  # Mapping[str, str] | None
    provisioning_state: str | None = None
    properties: Any = None  # Mapping[str, Any] | None


# -- what the runner says when a required fact is absent -------------------------------------------------

def _no_training(facts: Mapping[str, Any], ctx: Any, purpose: str) -> str:
    """It names the lab's name rule, and the training resources found under other names."""
    where = f"resource group '{ctx.resource_group}'" if ctx.resource_group else "your resource group"
    spec = ctx.params.get(TRAINING_ACCOUNT)
    try:
        rule = NameRule.parse(spec) if spec is not None else None
    except ExpectationError:
        rule = None  # account_training_exists reports the malformed rule itself
    accounts = facts.get(ACCOUNTS)
    others = [a.name for a in select.in_group(accounts if isinstance(accounts, list) else [], ctx.resource_group)
              if select.is_kind(a, select.TRAINING_KIND)]
    named = f" {rule.describe()}" if rule else ""
    found = f" (found {quoted(others)}, which {'does' if len(others) == 1 else 'do'} not match the lab's name)" \
        if others and rule else ""
    return f"no Custom Vision training resource{named} was found in {where}{found}"


def _no_project(facts: Mapping[str, Any], ctx: Any, purpose: str) -> str:
    name = ctx.params.get(PROJECT)
    named = f"named '{name}' " if name else ""
    return f"no Custom Vision project {named}was found"


def _no_trained_iteration(facts: Mapping[str, Any], ctx: Any, purpose: str) -> str:
    project = facts.get(PROJECT)
    named = f"project '{project.name}'" if isinstance(project, ProjectFact) else "the project"
    return f"{named} has no trained iteration{f' {purpose}' if purpose else ''} yet"


def _retraining(facts: Mapping[str, Any]) -> bool:
    """True if the project's newest iteration is still training (Training, Queued, ...)."""
    iterations = facts.get(ITERATIONS)
    if not isinstance(iterations, list):
        return False
    latest = select.latest_iteration(iterations)
    return latest is not None and (latest.status or "").casefold() not in ("completed", "failed")


# -- the facts -------------------------------------------------------------------------------------------
# Custom Vision facts are read through the training resource's endpoint and key (``through`` it, and the
# project's id for the project's contents); the domain list is the cloud's, usually cached: it proves nothing.

ACCOUNTS = Fact[list[AccountFact]](
    "accounts", "All Microsoft.CognitiveServices accounts in the attendee's resource group.",
    observe="Accounts_ListByResourceGroup")

TRAINING_ACCOUNT = Fact[AccountFact | None](
    "training_account", "The account judged to be the lab's Custom Vision training resource, or None.",
    depends_on=(ACCOUNTS,), derive=select.select_training_account,
    parameter=Parameter("account_training_exists", "name"),
    produced_by="account_training_exists", missing=_no_training)

DELETED_ACCOUNTS = Fact[list[AccountFact]](
    "deleted_accounts", "Soft-deleted Cognitive Services accounts of the attendee's resource group, read only "
    "when the lab's training resource is missing (otherwise []).",
    depends_on=(TRAINING_ACCOUNT,), observe="DeletedAccounts_List", only_without=TRAINING_ACCOUNT)

DOMAINS = Fact[list[DomainFact]](
    "domains", "The Custom Vision domains offered by the training resource.",
    depends_on=(TRAINING_ACCOUNT,), observe="GetDomains")

PROJECTS = Fact[list[ProjectFact]](
    "projects", "All Custom Vision projects in the training resource.",
    depends_on=(TRAINING_ACCOUNT,), observe="GetProjects", through=(TRAINING_ACCOUNT,))

PROJECT = Fact[ProjectFact | None](
    "project", "The lab's project (selected by expected name), or None.",
    depends_on=(PROJECTS,), derive=lambda projects, name, rg: select.select_project(projects, name),
    parameter=Parameter("project_exists", "name"), produced_by="project_exists", missing=_no_project)

_IN_PROJECT = (TRAINING_ACCOUNT, PROJECT)

TAGS = Fact[list[TagFact]](
    "tags", "The project's tags with their image counts.",
    depends_on=_IN_PROJECT, observe="GetTags", through=_IN_PROJECT)

UNTAGGED_COUNT = Fact[int](
    "untagged_count", "How many of the project's images carry no tag.",
    depends_on=_IN_PROJECT, observe="GetUntaggedImageCount", through=_IN_PROJECT)

IMAGE_PAGES = 4
"""At most this many ``GetImages`` calls of 256 images for IMAGES; beyond, ``ImagesFact.complete`` is False."""

IMAGES = Fact[ImagesFact](
    "images", "The project's images, tagged and untagged, with their tags and regions (newest first, 256 a "
    "call, at most IMAGE_PAGES calls). What an Object Detection lab counts regions in.",
    depends_on=_IN_PROJECT, observe="GetImages", through=_IN_PROJECT)

ITERATIONS = Fact[list[IterationFact]](
    "iterations", "The project's training iterations.",
    depends_on=_IN_PROJECT, observe="GetIterations", through=_IN_PROJECT)

LATEST_ITERATION = Fact[IterationFact | None](
    "latest_iteration", "The newest iteration (by creation time), whatever its status, or None.",
    depends_on=(ITERATIONS,), derive=lambda iterations, _, rg: select.latest_iteration(iterations))

TRAINED_ITERATION = Fact[IterationFact | None](
    "trained_iteration", "The newest iteration whose status is Completed, or None.",
    depends_on=(ITERATIONS,), derive=lambda iterations, _, rg: select.trained_iteration(iterations),
    produced_by="iteration_completed", missing=_no_trained_iteration)

PERFORMANCE = Fact[PerformanceFact | None](
    "performance", "Performance of TRAINED_ITERATION at the lab's threshold; None while a retrain runs (the "
    "check says PENDING from the running iteration and never reads the old performance).",
    depends_on=(*_IN_PROJECT, TRAINED_ITERATION), observe="GetIterationPerformance", through=_IN_PROJECT,
    parameter=Parameter("iteration_performance", "threshold"), skipped_when=_retraining)

DETECTION_PERFORMANCE = Fact[PerformanceFact | None](
    "detection_performance", "Object detection performance of TRAINED_ITERATION at the lab's probability and "
    "overlap thresholds (the portal's Performance tab sliders), whose average_precision is the mAP; None "
    "while a retrain runs.",
    depends_on=(*_IN_PROJECT, TRAINED_ITERATION), observe="GetIterationPerformance", through=_IN_PROJECT,
    parameter=Parameter("iteration_detection_performance", ("threshold", "overlap_threshold")),
    skipped_when=_retraining)

PREDICTIONS = Fact[list[PredictionFact]](
    "predictions", "Stored Quick Test predictions of the project, newest first, of any iteration. Checks judge "
    "them against TRAINED_ITERATION (hence the dependency), but listing them needs only the project, so they "
    "are read together with the iterations (and set aside if there is no trained iteration).",
    depends_on=(*_IN_PROJECT, TRAINED_ITERATION), early=_IN_PROJECT, observe="QueryPredictions",
    through=_IN_PROJECT)

PREDICTION_IMAGES_LIMIT = 3
"""At most this many Quick Test images are read for PREDICTION_IMAGES (one download each)."""

PREDICTION_IMAGES = Fact[dict[str, str]](
    "prediction_images", "SHA-256 digests of the images of the newest stored Quick Tests on TRAINED_ITERATION "
    "whose top prediction is a region (at most PREDICTION_IMAGES_LIMIT), read from the image addresses Custom "
    "Vision stores with each: prediction id -> hex digest. How a check knows which of the lab's test images a "
    "Quick Test used.",
    depends_on=(TRAINED_ITERATION, PREDICTIONS), observe="GetStoredImage")

ALL: tuple[Fact[Any], ...] = (
    ACCOUNTS, DELETED_ACCOUNTS, TRAINING_ACCOUNT, DOMAINS, PROJECTS, PROJECT, TAGS, UNTAGGED_COUNT, IMAGES,
    ITERATIONS, LATEST_ITERATION, TRAINED_ITERATION, PERFORMANCE, DETECTION_PERFORMANCE, PREDICTIONS,
    PREDICTION_IMAGES,
)
"""Every named fact, in the order "What was found" describes them."""

_BY_NAME: dict[str, Fact[Any]] = {str(f): f for f in ALL}


# -- facts parameterised by a resource type ----------------------------------------------------------------
# A check may read the resources of any Azure resource type its expectation names (``checks.resources``):
# one fact per distinct type, so a step checking several resources of one type makes one list call. These
# facts have no dependencies and are not in ALL; their lab parameter is the api-version to read each
# resource's properties with (``Check.named``), or None when no check of the lab needs properties.
_RESOURCES = "resources:"


def resources(resource_type: str) -> Fact[list[ResourceFact]]:
    """The fact holding the attendee's resources of ``resource_type`` (``Microsoft.Storage/storageAccounts``;
    ARM compares types case-insensitively, so one fact per type whatever its spelling)."""
    rtype = resource_type.strip().strip("/").lower()
    return Fact[list[ResourceFact]](_RESOURCES + rtype, f"The attendee's resources of type {rtype}.",
                                    observe="Resources_ListByResourceGroup", resource_type=rtype)


def resource_type_of(fact: str) -> str | None:
    """The resource type a :func:`resources` fact is about (lower case), or None for any other fact."""
    return fact[len(_RESOURCES):] if fact.startswith(_RESOURCES) else None


def declaration(name: str) -> Fact[Any]:
    """The declaration of the fact named ``name`` (a named one or a :func:`resources` one); ``KeyError`` if
    labgrader knows no such fact."""
    if isinstance(name, Fact):
        return name
    found = _BY_NAME.get(name)
    if found is not None:
        return found
    rtype = resource_type_of(name)
    if rtype:
        return resources(rtype)
    raise KeyError(f"unknown fact {name!r}")

