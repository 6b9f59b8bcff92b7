"""Custom Vision data of one training account: projects, tags, images, iterations, exports, predictions.

Everything here is plain data plus the rules the real service enforces (limits, validation, training
status). Callers hold ``state.lock`` while they read or change it. Rule violations raise :class:`CvError`
with the service's own error code; the blueprints turn it into ``{"code", "message"}``.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import numpy as np

from ..images import Box
from ..model import Model
from ..state import utcnow
from . import detector, domains
from .detector import Detector, TrainingImage

if TYPE_CHECKING:
    from .service import Checked

# Per-tier limits from the service's "Limits and quotas" page.
PROJECTS_PER_ACCOUNT = {"F0": 2, "S0": 100}
TAGS_PER_PROJECT = {"F0": 50, "S0": 500}
IMAGES_PER_PROJECT = {"F0": 5000, "S0": 100000}
ITERATIONS_PER_PROJECT = 20
BATCH_LIMIT = 64
TAGS_PER_REQUEST = 20
TRAINING_IMAGE_BYTES = 6 * 1024 * 1024
PREDICTION_IMAGE_BYTES = 4 * 1024 * 1024
MIN_IMAGES_PER_TAG = 5
MIN_REGION_IMAGES_PER_TAG = 15  # object detection: images with a region of the tag ("Limits and quotas")
REGIONS_PER_IMAGE = 64
EXPORT_SECONDS = 0.5


class CvError(Exception):
    """A Custom Vision error: the HTTP status follows the code's family, as the service does."""

    def __init__(self, code: str, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status or _status_for(code)


def _status_for(code: str) -> int:
    for prefix, status in (("BadRequest", 400), ("NotFound", 404), ("Forbidden", 403), ("Conflict", 409),
                           ("UnsupportedMediaType", 415)):
        if code.startswith(prefix):
            return status
    return 500


def new_id() -> str:
    return str(uuid.uuid4())


@dataclass
class Tag:
    id: str
    name: str
    description: str | None
    type: str = "Regular"
    created: datetime = field(default_factory=utcnow)


@dataclass
class Region:
    """A tagged bounding box on a training image, in fractions of the image's width and height."""

    id: str
    tag_id: str
    left: float
    top: float
    width: float
    height: float
    created: datetime = field(default_factory=utcnow)

    def same_place(self, other: Region) -> bool:
        """The same tag on the same box: what the service reports as a duplicate."""
        return self.tag_id == other.tag_id and all(
            abs(a - b) < 1e-6 for a, b in ((self.left, other.left), (self.top, other.top),
                                           (self.width, other.width), (self.height, other.height)))


@dataclass
class StoredImage:
    id: str
    data: bytes
    digest: str
    width: int
    height: int
    features: np.ndarray
    tag_ids: dict[str, datetime] = field(default_factory=dict)  # tag id -> when it was applied
    created: datetime = field(default_factory=utcnow)
    regions: dict[str, Region] = field(default_factory=dict)  # region id -> region
    _pixels: np.ndarray | None = field(default=None, repr=False, compare=False)

    def all_tag_ids(self) -> dict[str, datetime]:
        """The image's tags and its regions' tags (an object-detection image is tagged by its regions),
        each with when it was first applied."""
        out = dict(self.tag_ids)
        for r in self.regions.values():
            if r.tag_id not in out or r.created < out[r.tag_id]:
                out[r.tag_id] = r.created
        return out

    @property
    def tagged(self) -> bool:
        return bool(self.tag_ids or self.regions)

    def pixels(self) -> np.ndarray:
        """The image as the detector reads it, decoded once."""
        if self._pixels is None:
            self._pixels = detector.gray(self.data)
        return self._pixels

    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "_pixels"}  # decoded again when needed

    def __setstate__(self, state: dict) -> None:
        # State saved before regions existed has none.
        self.__dict__.update({"regions": {}, "_pixels": None} | state)


@dataclass
class Export:
    platform: str
    flavor: str | None
    started: datetime = field(default_factory=utcnow)

    def status(self, now: datetime) -> str:
        return "Done" if now >= self.started + timedelta(seconds=EXPORT_SECONDS) else "Exporting"


@dataclass
class DetectorJob:
    """What an object-detection iteration trains on, taken while the project was locked."""

    images: list[TrainingImage]
    tags: list[str]


@dataclass
class Iteration:
    id: str
    name: str
    project_id: str
    domain_id: str
    classification_type: str | None
    training_type: str
    reserved_budget_in_hours: int
    created: datetime
    finishes_at: datetime
    fingerprint: str
    model: Model | Detector | None
    tag_names: dict[str, str]  # tag id -> name at training time
    tag_types: dict[str, str]
    image_count: int
    fail_reason: str | None = None
    last_modified: datetime = field(default_factory=utcnow)
    publish_name: str = ""
    publish_resource_id: str = ""
    original_publish_resource_id: str = ""
    exports: list[Export] = field(default_factory=list)
    fitting: DetectorJob | None = None  # the detector still to train (object detection)

    def status(self, now: datetime) -> str:
        if now < self.finishes_at or (self.fitting is not None and not self.fail_reason):
            return "Training"
        return "Failed" if self.fail_reason else "Completed"

    def __setstate__(self, state: dict) -> None:
        # State saved before object detection has no detector in training.
        self.__dict__.update({"fitting": None} | state)

    def fit(self) -> None:
        """Train the detector this iteration waits for (call without ``state.lock``: it takes a moment),
        then hand it over; until then the iteration is Training."""
        job = self.fitting
        if job is None:
            return
        if self.fail_reason:  # failing anyway (a fault rule): nothing to train
            self.fitting = None
            return
        try:
            model = Detector.train(job.images, job.tags)
        except ValueError as exc:  # a training image the detector cannot read
            self.fail_reason = f"Training failed: {exc}"
        else:
            self.model = model
        self.fitting = None

    def completed(self, now: datetime) -> bool:
        return self.status(now) == "Completed"

    def exportable_to(self, target_platforms: list[str]) -> list[str]:
        """Platforms this iteration can export to: the domain's, narrowed to the project's targets."""
        dom = domains.domain(self.domain_id) or {}
        platforms = dom.get("exportablePlatforms", [])
        if target_platforms:
            platforms = [p for p in platforms if p in target_platforms]
        return list(platforms)


@dataclass
class StoredPrediction:
    id: str
    project_id: str
    iteration_id: str
    domain_id: str
    created: datetime
    predictions: list[dict]  # [{tagId, tagName, tagType, probability}], highest first
    image_id: str


@dataclass
class Project:
    id: str
    name: str
    description: str | None
    domain_id: str
    classification_type: str | None
    target_export_platforms: list[str]
    created: datetime = field(default_factory=utcnow)
    last_modified: datetime = field(default_factory=utcnow)
    tags: dict[str, Tag] = field(default_factory=dict)
    images: dict[str, StoredImage] = field(default_factory=dict)
    digests: dict[str, str] = field(default_factory=dict)  # image digest -> image id
    iterations: dict[str, Iteration] = field(default_factory=dict)
    predictions: list[StoredPrediction] = field(default_factory=list)
    prediction_images: dict[str, bytes] = field(default_factory=dict)

    @property
    def domain(self) -> dict:
        return domains.domain(self.domain_id) or {}

    @property
    def multiclass(self) -> bool:
        return self.classification_type == "Multiclass"

    @property
    def detection(self) -> bool:
        return self.domain.get("type") == domains.OBJECT_DETECTION

    # -- lookups --------------------------------------------------------------------------------------
    def tag(self, tag_id: str) -> Tag:
        tag = self.tags.get(str(tag_id).lower())
        if tag is None:
            raise CvError("NotFoundTag", f"Tag {tag_id} not found in project {self.id}.")
        return tag

    def iteration(self, iteration_id: str) -> Iteration:
        it = self.iterations.get(str(iteration_id).lower())
        if it is None:
            raise CvError("NotFoundIteration", f"Iteration {iteration_id} not found in project {self.id}.")
        return it

    def latest_completed(self, now: datetime) -> Iteration | None:
        done = [it for it in self.iterations.values() if it.completed(now)]
        return max(done, key=lambda it: it.created) if done else None

    def tag_image_count(self, tag_id: str) -> int:
        """Images carrying the tag, on the image or on one of its regions (as the portal counts them)."""
        return sum(1 for img in self.images.values()
                   if tag_id in img.tag_ids or any(r.tag_id == tag_id for r in img.regions.values()))

    def fingerprint(self) -> str:
        """What training depends on: tagged images, their tags, domain and classification type."""
        h = hashlib.sha256(f"{self.domain_id}|{self.classification_type}".encode())
        for img_id in sorted(self.images):
            img = self.images[img_id]
            if img.tag_ids:
                h.update(f"{img_id}:{','.join(sorted(img.tag_ids))};".encode())
            for r in sorted(img.regions.values(), key=lambda r: r.id):
                h.update(f"{img_id}/{r.tag_id}:{r.left},{r.top},{r.width},{r.height};".encode())
        return h.hexdigest()

    # -- training -------------------------------------------------------------------------------------
    def train(self, *, training_type: str, budget_hours: int, force: bool, now: datetime,
              training_seconds: float, fail: bool) -> Iteration:
        """Validate the data set, build the model and add an iteration that finishes after a while."""
        if any(it.status(now) == "Training" for it in self.iterations.values()):
            raise CvError("BadRequestTrainingAlreadyInProgress", "Training is already in progress for this project.")
        if len(self.iterations) >= ITERATIONS_PER_PROJECT:
            raise CvError("BadRequestExceedIterationPerProjectLimit",
                          f"The project already has {ITERATIONS_PER_PROJECT} iterations, the maximum. "
                          "Delete an iteration before training again.")
        if training_type == "Advanced" and budget_hours < 1:
            raise CvError("BadRequestReservedBudgetInHoursNotEnoughForAdvancedTraining",
                          "Advanced training needs a reserved budget of at least 1 hour.")
        fingerprint = self.fingerprint()
        previous = [it for it in self.iterations.values() if it.fail_reason is None]
        if previous and not force and max(previous, key=lambda it: it.created).fingerprint == fingerprint:
            raise CvError("BadRequestTrainingNotNeeded",
                          "Nothing changed since last training. Add or re-tag images, or train with forceTrain.")
        if self.detection:
            job, used_tags, image_count = self._detection_job()
            model = None
        else:
            model, used_tags, image_count = self._classifier()
            job = None
        it = Iteration(
            id=new_id(),
            name=f"Iteration {len(self.iterations) + 1}",
            project_id=self.id,
            domain_id=self.domain_id,
            classification_type=self.classification_type,
            training_type=training_type,
            reserved_budget_in_hours=budget_hours,
            created=now,
            finishes_at=now + timedelta(seconds=training_seconds),
            fingerprint=fingerprint,
            model=model,
            tag_names={t.id: t.name for t in used_tags},
            tag_types={t.id: t.type for t in used_tags},
            image_count=image_count,
            fail_reason=("Training failed: the training pipeline could not process the data set. "
                         "Train again; if the problem persists, contact support.") if fail else None,
            last_modified=now,
            fitting=job,
        )
        self.iterations[it.id] = it
        return it

    def _classifier(self) -> tuple[Model, list[Tag], int]:
        """The classification data set checked, and the model trained on it."""
        tagged = [img for img in self.images.values() if img.tag_ids]
        used_tags = [t for t in self.tags.values() if self.tag_image_count(t.id) > 0]
        if len(used_tags) < 2:
            raise CvError("BadRequestClassificationTrainingValidationFailed",
                          "Not enough tags for training. A classification project needs at least 2 tags "
                          f"with at least {MIN_IMAGES_PER_TAG} images each.")
        thin = [t.name for t in used_tags if self.tag_image_count(t.id) < MIN_IMAGES_PER_TAG]
        if thin:
            raise CvError("BadRequestClassificationTrainingValidationFailed",
                          f"Not enough images for training. Tag(s) {', '.join(thin)} need at least "
                          f"{MIN_IMAGES_PER_TAG} images each.")
        if self.multiclass and any(len(img.tag_ids) > 1 for img in tagged):
            raise CvError("BadRequestMultiClassClassificationTrainingValidationFailed",
                          "A multiclass project allows one tag per image; some images have several.")
        tag_ids = [t.id for t in used_tags]
        model = Model([img.features for img in tagged], [set(img.tag_ids) for img in tagged], tag_ids,
                      multiclass=self.multiclass)
        return model, used_tags, len(tagged)

    def _detection_job(self) -> tuple[DetectorJob, list[Tag], int]:
        """The object-detection data set checked (images with regions, at least
        MIN_REGION_IMAGES_PER_TAG of them per tag, no Negative tag), for the iteration to train on."""
        boxed = [img for img in self.images.values() if img.regions]
        region_tags = {r.tag_id for img in boxed for r in img.regions.values()}
        used_tags = [t for t in self.tags.values() if t.id in region_tags]
        if any(t.type == "Negative" for t in used_tags):
            raise CvError("BadRequestDetectionTrainingNotAllowNegativeTag",
                          "An object detection project cannot train with a Negative tag on its regions.")
        if not used_tags:
            raise CvError("BadRequestDetectionTrainingValidationFailed",
                          "Not enough images for training: no image has a region. Draw a box around each object "
                          f"and tag it, on at least {MIN_REGION_IMAGES_PER_TAG} images per tag.")
        boxed_count = {t.id: sum(1 for img in boxed if any(r.tag_id == t.id for r in img.regions.values()))
                       for t in used_tags}
        thin = [t.name for t in used_tags if boxed_count[t.id] < MIN_REGION_IMAGES_PER_TAG]
        if thin:
            raise CvError("BadRequestDetectionTrainingValidationFailed",
                          f"Not enough images for training. Tag(s) {', '.join(thin)} need regions on at least "
                          f"{MIN_REGION_IMAGES_PER_TAG} images each.")
        try:
            train = [TrainingImage(img.pixels(), [(r.tag_id, Box(r.left, r.top, r.width, r.height))
                                                  for r in img.regions.values()]) for img in boxed]
        except ValueError:
            raise CvError("ErrorProjectTrainingRequestFailed", "An image of the project could not be read.") from None
        return DetectorJob(train, [t.id for t in used_tags]), used_tags, len(boxed)

    def predict(self, it: Iteration, image: Checked) -> list[dict]:
        """Predictions of ``it`` for one image, highest probability first (names as they are now); a
        detector's carry a boundingBox each."""
        if isinstance(it.model, Detector):
            found = [(d.tag, d.probability, d.box) for d in it.model.detect(detector.gray(image.data))]
        else:
            probs = it.model.predict(image.features) if it.model else {}
            found = [(tag_id, p, None) for tag_id, p in probs.items()]
        out = []
        for tag_id, p, box in found:
            tag = self.tags.get(tag_id)
            pred = {
                "probability": round(p, 8),
                "tagId": tag_id,
                "tagName": tag.name if tag else it.tag_names.get(tag_id),
                "tagType": tag.type if tag else it.tag_types.get(tag_id, "Regular"),
            }
            if box is not None:
                pred["boundingBox"] = {"left": box.left, "top": box.top, "width": box.width, "height": box.height}
            out.append(pred)
        out.sort(key=lambda p: -p["probability"])
        return out


@dataclass
class CvData:
    """All Custom Vision data of one training account (``Account.cv``)."""

    projects: dict[str, Project] = field(default_factory=dict)

    def project(self, project_id: str) -> Project:
        proj = self.projects.get(str(project_id).lower())
        if proj is None:
            raise CvError("NotFoundProject", f"Project {project_id} not found.")
        return proj
