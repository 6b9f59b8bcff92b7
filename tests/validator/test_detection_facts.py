"""The facts the object detection lab adds, observed through the official SDKs against azuresim: the project's
images with their regions (GetImages), performance at an overlap threshold, and the digest of a stored Quick
Test image read from its blob address (azure-core, no key sent)."""

from __future__ import annotations

import hashlib

from azuresim.images import casting_image
from azuresim.student import QUICKTEST_INDEX, Student
from checks import facts as F
from validator import Attendee
from validator.azure import blobs
from validator.azure.arm import ArmGateway
from validator.azure.budget import CallCounter, Deadline, RetryPolicy
from validator.gather import FactGatherer

from .conftest import SMALL


def _gatherer(who: Attendee, params: dict, runtime) -> FactGatherer:
    arm = ArmGateway(runtime, who.azure, Deadline(20), CallCounter(), RetryPolicy())
    return FactGatherer(arm, params)


def test_images_performance_and_a_stored_image_digest(sim, attendee, small_lab, runtime):
    who = Attendee.from_json(attendee, small_lab)
    student = Student(attendee, counts=dict(SMALL))
    for task in ("1", "2", "3.1", "3.2", "4", "5.1"):
        student.do(task)
    params = {F.PROJECT: "Casting Defect Detection", F.DETECTION_PERFORMANCE: (0.5, 0.3)}
    gatherer = _gatherer(who, params, runtime)
    facts = gatherer.gather([F.IMAGES, F.DETECTION_PERFORMANCE, F.PREDICTIONS])

    images: F.ImagesFact = facts[F.IMAGES]
    assert images.complete and len(images.images) == sum(SMALL.values())
    assert {t for i in images.images for t in i.tags} == {"Non Defective", "Defect"}
    assert all(i.regions == () for i in images.images)  # a Classification project has no regions

    perf: F.PerformanceFact = facts[F.DETECTION_PERFORMANCE]
    assert (perf.threshold, perf.overlap_threshold) == (0.5, 0.3)
    assert perf.iteration_id == facts[F.TRAINED_ITERATION].id

    (stored,) = facts[F.PREDICTIONS]
    assert stored.image_uri and stored.image_uri not in repr(stored)
    before = gatherer.arm.counter.total
    digest = blobs.image_digest(gatherer.arm, stored.image_uri)
    assert digest == hashlib.sha256(casting_image(True, QUICKTEST_INDEX + 1)).hexdigest()
    assert gatherer.arm.counter.by_operation[blobs.OPERATION] == 1 and gatherer.arm.counter.total == before + 1


def test_images_are_paged_256_at_a_time(sim, attendee, small_lab, runtime):
    who = Attendee.from_json(attendee, small_lab)
    student = Student(attendee, counts={"Non Defective": 5, "Defect": 300})
    for task in ("1", "2", "3.2"):
        student.do(task)
    gatherer = _gatherer(who, {F.PROJECT: "Casting Defect Detection"}, runtime)
    images = gatherer.gather([F.IMAGES])[F.IMAGES]
    assert images.complete and len(images.images) == 300
    assert gatherer.arm.counter.by_operation["GetImages"] == 2
