"""The facts checks judge: their names, their dependencies and the typed values the validator builds.

The validator's gateways turn SDK objects into these frozen dataclasses; checks never see the SDK and
never do I/O. A fact the validator could not observe is stored as a :class:`FactUnavailable` instead of
its value, and ``checks.base.run_check`` turns that into an ERROR (never a FAIL).

Gathering order: a fact is fetched after the facts in ``DEPENDS_ON[fact]``. *Derived* facts (``DERIVED``)
are not fetched from Azure: ``checks.select.derive(name, facts, param)`` computes them from their source
fact, with the lab parameter listed in ``PARAMETERS`` (e.g. the expected project name).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

# -- fact names -----------------------------------------------------------------------------------------

ACCOUNTS = "accounts"
"""All Microsoft.CognitiveServices accounts in the attendee's resource group: list[AccountFact]."""

DELETED_ACCOUNTS = "deleted_accounts"
"""Soft-deleted Cognitive Services accounts of the attendee's resource group (``DeletedAccounts_List``),
read only when the lab's training resource is missing (otherwise []): list[AccountFact]."""

TRAINING_ACCOUNT = "training_account"
"""Derived: the account judged to be the lab's Custom Vision training resource, or None: AccountFact | None."""

DOMAINS = "domains"
"""The Custom Vision domains offered by the training resource: list[DomainFact]."""

PROJECTS = "projects"
"""All Custom Vision projects in the training resource: list[ProjectFact]."""

PROJECT = "project"
"""Derived: the lab's project (selected by expected name) or None: ProjectFact | None."""

TAGS = "tags"
"""The project's tags with their image counts: list[TagFact]."""

UNTAGGED_COUNT = "untagged_count"
"""How many of the project's images carry no tag: int."""

ITERATIONS = "iterations"
"""The project's training iterations: list[IterationFact]."""

LATEST_ITERATION = "latest_iteration"
"""Derived: the newest iteration (by creation time), whatever its status, or None: IterationFact | None."""

TRAINED_ITERATION = "trained_iteration"
"""Derived: the newest iteration whose status is Completed, or None: IterationFact | None."""

PERFORMANCE = "performance"
"""Performance of TRAINED_ITERATION at the lab's threshold (PARAMETERS): PerformanceFact | None."""

PREDICTIONS = "predictions"
"""Stored Quick Test predictions of the project (``predictions/query``), newest first, of any iteration:
list[PredictionFact]. Checks judge them against TRAINED_ITERATION (hence the dependency)."""

IMAGES = "images"
"""The project's images, tagged and untagged, with their tags and regions (``GetImages``, newest first, 256 a
call, at most ``IMAGE_PAGES`` calls): ImagesFact. What an Object Detection lab counts regions in."""

DETECTION_PERFORMANCE = "detection_performance"
"""Object detection performance of TRAINED_ITERATION at the lab's probability and overlap thresholds
(PARAMETERS): PerformanceFact | None, whose ``average_precision`` is the mAP."""

PREDICTION_IMAGES = "prediction_images"
"""SHA-256 digests of the images of the newest stored Quick Tests on TRAINED_ITERATION whose top prediction is
a region (at most ``PREDICTION_IMAGES_LIMIT``), read from the image addresses Custom Vision stores with each:
dict[prediction id, hex digest]. How a check knows which of the lab's test images a Quick Test used."""

ALL = (
    ACCOUNTS, DELETED_ACCOUNTS, TRAINING_ACCOUNT, DOMAINS, PROJECTS, PROJECT, TAGS, UNTAGGED_COUNT, IMAGES,
    ITERATIONS, LATEST_ITERATION, TRAINED_ITERATION, PERFORMANCE, DETECTION_PERFORMANCE, PREDICTIONS,
    PREDICTION_IMAGES,
)

IMAGE_PAGES = 4
"""At most this many ``GetImages`` calls of 256 images for IMAGES; beyond, ``ImagesFact.complete`` is False."""

PREDICTION_IMAGES_LIMIT = 3
"""At most this many Quick Test images are read for PREDICTION_IMAGES (one download each)."""

DEPENDS_ON: dict[str, tuple[str, ...]] = {
    ACCOUNTS: (),
    TRAINING_ACCOUNT: (ACCOUNTS,),
    # Read after the training account is selected: a soft-deleted one matters only when it is missing.
    DELETED_ACCOUNTS: (TRAINING_ACCOUNT,),
    # Custom Vision facts are read through the training resource's endpoint and key.
    DOMAINS: (TRAINING_ACCOUNT,),
    PROJECTS: (TRAINING_ACCOUNT,),
    PROJECT: (PROJECTS,),
    TAGS: (TRAINING_ACCOUNT, PROJECT),
    UNTAGGED_COUNT: (TRAINING_ACCOUNT, PROJECT),
    ITERATIONS: (TRAINING_ACCOUNT, PROJECT),
    LATEST_ITERATION: (ITERATIONS,),
    TRAINED_ITERATION: (ITERATIONS,),
    PERFORMANCE: (TRAINING_ACCOUNT, PROJECT, TRAINED_ITERATION),
    PREDICTIONS: (TRAINING_ACCOUNT, PROJECT, TRAINED_ITERATION),
    IMAGES: (TRAINING_ACCOUNT, PROJECT),
    DETECTION_PERFORMANCE: (TRAINING_ACCOUNT, PROJECT, TRAINED_ITERATION),
    PREDICTION_IMAGES: (TRAINED_ITERATION, PREDICTIONS),
}

# -- facts parameterised by a resource type ----------------------------------------------------------------
# A check may read the resources of any Azure resource type its expectation names (``checks.resources``):
# one fact per distinct type, so a step checking several resources of one type makes one list call. These
# facts have no dependencies and are not in ALL; their lab parameter is the api-version to read each
# resource's properties with (``Check.expects``), or None when no check of the lab needs properties.
_RESOURCES = "resources:"


def resources(resource_type: str) -> str:
    """The fact holding the attendee's resources of ``resource_type`` (``Microsoft.Storage/storageAccounts``;
    ARM compares types case-insensitively, so one fact per type whatever its spelling): list[ResourceFact]."""
    return _RESOURCES + resource_type.strip().strip("/").lower()


def resource_type_of(fact: str) -> str | None:
    """The resource type a :func:`resources` fact is about (lower case), or None for any other fact."""
    return fact[len(_RESOURCES):] if fact.startswith(_RESOURCES) else None


def declared(fact: str) -> bool:
    """Whether ``fact`` is a fact labgrader knows how to gather (a named one or a :func:`resources` one)."""
    return fact in DEPENDS_ON or resource_type_of(fact) is not None


DERIVED = frozenset({TRAINING_ACCOUNT, PROJECT, LATEST_ITERATION, TRAINED_ITERATION})
"""Facts computed by ``checks.select.derive`` from the facts they depend on, without calling Azure."""


@dataclass(frozen=True)
class Parameter:
    """A lab value a fact needs: ``expect[key]`` of check ``check_id`` in lab.yaml (rendered when the key is
    templated), or that key's declared default. With a tuple of keys, the value is the tuple of those
    expectations."""

    check_id: str
    key: str | tuple[str, ...]


PARAMETERS: dict[str, Parameter] = {
    TRAINING_ACCOUNT: Parameter("account_training_exists", "name"),
    PROJECT: Parameter("project_exists", "name"),
    PERFORMANCE: Parameter("iteration_performance", "threshold"),
    # The portal's Performance tab of an Object Detection project: Probability and Overlap Threshold sliders.
    DETECTION_PERFORMANCE: Parameter("iteration_detection_performance", ("threshold", "overlap_threshold")),
}

PRODUCED_BY: dict[str, str] = {
    TRAINING_ACCOUNT: "account_training_exists",
    PROJECT: "project_exists",
    LATEST_ITERATION: "iteration_completed",
    TRAINED_ITERATION: "iteration_completed",
}
"""The check whose task creates a derived fact: its task is the prerequisite named when the fact is None."""


# -- fact values ----------------------------------------------------------------------------------------

UNAVAILABLE_KINDS = (
    "throttled", "busy", "timeout", "unavailable", "permission", "quota", "credentials", "not_found", "internal",
)


@dataclass(frozen=True)
class FactUnavailable:
    """Stored in place of a fact labgrader could not observe.

    ``kind``: throttled (Azure answered HTTP 429), busy (labgrader's own per-resource rate limiter queue is
    full), timeout, unavailable (5xx or connection reset), permission (the grader lacks access), quota (the
    Custom Vision resource's call quota is used up), credentials (the platform-supplied credentials were
    rejected), not_found (the attendee's resource group or subscription does not exist), internal
    (labgrader failed while gathering). ``detail`` is for logs and proctors (service, status code, error
    code); it must not hold keys or secrets. For ``permission``: ``action`` is the Azure action (or data
    action) labgrader's identity was refused, and ``remedy`` the sentence telling the proctor which role
    grants it where (``checks.grants``).
    """

    fact: str
    kind: str
    detail: str = ""
    action: str | None = None
    remedy: str | None = None

    def relabel(self, fact: str) -> FactUnavailable:
        """The same unavailability, for a fact that depends on this one."""
        return replace(self, fact=fact)

    def __post_init__(self) -> None:
        if self.kind not in UNAVAILABLE_KINDS:
            raise ValueError(f"FactUnavailable kind must be one of {UNAVAILABLE_KINDS}, not {self.kind!r}")


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
