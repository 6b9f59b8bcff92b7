"""Object detection on azuresim's Custom Vision (the "Find the Flaw" lab), through the official SDKs only:
domains and projects, image regions, training a detector, its held-out performance, quick tests with
boxes, stored predictions and the Prediction API's detect calls."""

from __future__ import annotations

import io
import uuid

import pytest
import requests
from azure.cognitiveservices.vision.customvision.prediction.models import (
    CustomVisionErrorException as PredictionError,
)
from azure.cognitiveservices.vision.customvision.training.models import (
    CustomVisionErrorException,
    ImageFileCreateBatch,
    ImageFileCreateEntry,
    ImageRegionCreateEntry,
    ImageUrlCreateBatch,
    ImageUrlCreateEntry,
    PredictionQueryTag,
    PredictionQueryToken,
    Region,
)

from azuresim.images import Box, casting, casting_image, misplaced_box

from .test_customvision_flow import CvClients, wait_trained

OD_COMPACT = "a27d5ca5-bb19-49d8-a70a-fec086c47f5b"
OD_GENERAL = "da2e3a8a-40a5-4171-82f4-58522f70fbc1"
CLASSIFICATION_COMPACT = "0732100f-1a38-4e49-a514-c9b44c697ab5"


@pytest.fixture
def cv(attendee):
    return CvClients(attendee, sku="S0")


def od_project(trainer, name: str = "Casting Flaw Finder", domain_id: str = OD_COMPACT, **kw):
    return trainer.create_project(name, description="Finding the flaw on each casting", domain_id=domain_id, **kw)


def region(tag_id: str, box: Box) -> Region:
    return Region(tag_id=tag_id, left=box.left, top=box.top, width=box.width, height=box.height)


def upload_with_regions(trainer, project_id: str, tag_id: str, indexes, place=None) -> list[str]:
    """Upload defective castings with one region each (``place(index)``: its box, the true one by default);
    returns the image ids in order."""
    ids = []
    indexes = list(indexes)
    for start in range(0, len(indexes), 64):
        entries = []
        for i in indexes[start:start + 64]:
            c = casting(True, i)
            entries.append(ImageFileCreateEntry(name=f"flaw_{i}.jpg", contents=c.data,
                                                regions=[region(tag_id, place(i) if place else c.box)]))
        result = trainer.create_images_from_files(project_id, ImageFileCreateBatch(images=entries))
        assert result.is_batch_successful, [r.status for r in result.images]
        ids += [r.image.id for r in result.images]
    return ids


def refused(call, *args, **kw) -> CustomVisionErrorException:
    with pytest.raises((CustomVisionErrorException, PredictionError)) as info:
        call(*args, **kw)
    return info.value


# -- domains and projects ----------------------------------------------------------------------------
def test_object_detection_domains_and_projects(cv):
    trainer = cv.trainer
    od = {d.id: d for d in trainer.get_domains() if d.type == "ObjectDetection"}
    assert od[OD_COMPACT].name == "General (compact)" and od[OD_COMPACT].exportable
    assert od[OD_GENERAL].name == "General" and not od[OD_GENERAL].exportable
    assert {"Logo", "Products on Shelves", "General (compact) [S1]"} <= {d.name for d in od.values()}
    assert trainer.get_domain(OD_COMPACT).type == "ObjectDetection"

    project = od_project(trainer, target_export_platforms=["ONNX"])
    assert project.settings.domain_id == OD_COMPACT
    assert project.settings.classification_type is None  # detection projects have no classification type
    # Asking for one anyway does not make a detection project a classifier.
    other = od_project(trainer, "Second", classification_type="Multiclass")
    assert other.settings.classification_type is None
    # A detection project cannot move to a classification domain.
    project.settings.domain_id = CLASSIFICATION_COMPACT
    err = refused(trainer.update_project, project.id, project)
    assert err.error.code == "BadRequestProjectUnsupportedDomainTypeChange"


# -- regions -----------------------------------------------------------------------------------------
def test_regions_round_trip(cv, sim):
    trainer = cv.trainer
    project = od_project(trainer)
    flaw = trainer.create_tag(project.id, "Defect")
    other = trainer.create_tag(project.id, "Scratch")
    # Uploaded with regions (files and URLs), and uploaded bare then given regions.
    with_regions = upload_with_regions(trainer, project.id, flaw.id, range(3))
    sample = trainer.create_images_from_urls(project.id, ImageUrlCreateBatch(images=[ImageUrlCreateEntry(
        url=f"{sim.base_url}/cv/_samples/defect/3.jpg", regions=[region(flaw.id, casting(True, 3).box)])]))
    assert sample.is_batch_successful, [r.status for r in sample.images]
    assert [r.tag_name for r in sample.images[0].image.regions] == ["Defect"]
    bare = trainer.create_images_from_data(project.id, io.BytesIO(casting_image(True, 4)))
    bare_id = bare.images[0].image.id
    assert trainer.get_untagged_image_count(project.id) == 1

    box4 = casting(True, 4).box
    summary = trainer.create_image_regions(project.id, [
        ImageRegionCreateEntry(image_id=bare_id, tag_id=flaw.id, left=box4.left, top=box4.top, width=box4.width,
                               height=box4.height),
        ImageRegionCreateEntry(image_id=bare_id, tag_id=other.id, left=0.1, top=0.1, width=0.2, height=0.2),
    ])
    assert [c.tag_name for c in summary.created] == ["Defect", "Scratch"]
    assert not summary.duplicated and not summary.exceeded
    assert all(c.image_id == bare_id and c.region_id for c in summary.created)
    assert summary.created[0].left == pytest.approx(box4.left)

    # Tagged now: the counts and listings see regions as tags, as the portal does.
    assert trainer.get_untagged_image_count(project.id) == 0
    assert trainer.get_tagged_image_count(project.id) == 5
    assert trainer.get_tag(project.id, flaw.id).image_count == 5
    assert trainer.get_tag(project.id, other.id).image_count == 1
    assert trainer.get_tagged_image_count(project.id, tag_ids=[other.id]) == 1
    images = {i.id: i for i in trainer.get_tagged_images(project.id)}
    assert len(images[bare_id].regions) == 2 and {t.tag_name for t in images[bare_id].tags} == {"Defect", "Scratch"}
    first = images[with_regions[0]].regions[0]
    truth = casting(True, 0).box
    assert (first.left, first.top, first.width, first.height) == pytest.approx(
        (truth.left, truth.top, truth.width, truth.height))
    assert {i.id for i in trainer.get_images(project.id, tagging_status="Tagged")} == set(images)
    by_id = trainer.get_images_by_ids(project.id, image_ids=[bare_id, str(uuid.uuid4()), with_regions[0]])
    assert [i.id for i in by_id] == [bare_id, with_regions[0]] and len(by_id[0].regions) == 2

    # Deleting a region: the image keeps its other region; deleting the last one leaves it untagged.
    scratch = next(r for r in images[bare_id].regions if r.tag_name == "Scratch")
    trainer.delete_image_regions(project.id, [scratch.region_id])
    assert trainer.get_tag(project.id, other.id).image_count == 0
    trainer.delete_image_regions(project.id, [r.region_id for r in images[with_regions[1]].regions])
    assert trainer.get_untagged_image_count(project.id) == 1
    assert trainer.get_tag(project.id, flaw.id).image_count == 4
    # Deleting a tag takes its regions along.
    trainer.delete_tag(project.id, flaw.id)
    assert trainer.get_tagged_image_count(project.id) == 0


def test_region_limits_and_errors(cv):
    trainer = cv.trainer
    project = od_project(trainer)
    flaw = trainer.create_tag(project.id, "Defect")
    image_id = upload_with_regions(trainer, project.id, flaw.id, [10])[0]
    box = casting(True, 10).box

    def entry(left=box.left, top=box.top, width=box.width, height=box.height, image=image_id, tag=flaw.id):
        return ImageRegionCreateEntry(image_id=image, tag_id=tag, left=left, top=top, width=width, height=height)

    # The same region again is a duplicate: 207 with the entry echoed, nothing added.
    summary = trainer.create_image_regions(project.id, [entry()])
    assert not summary.created and len(summary.duplicated) == 1 and summary.duplicated[0].image_id == image_id
    # An image holds at most 64 regions: the 64th is created, the rest come back as exceeded.
    many = [entry(left=0.01 * k, top=0.0, width=0.05, height=0.05) for k in range(64)]
    summary = trainer.create_image_regions(project.id, many)
    assert len(summary.created) == 63 and len(summary.exceeded) == 1
    # A batch holds at most 64 regions.
    err = refused(trainer.create_image_regions, project.id, [entry(left=0.5)] * 65)
    assert err.error.code == "BadRequestExceededBatchSize" and err.response.status_code == 400
    # Boxes are fractions of the image.
    for bad in (entry(left=0.9, width=0.2), entry(width=0), entry(top=-0.1)):
        err = refused(trainer.create_image_regions, project.id, [bad])
        assert err.error.code == "BadRequestImageRegions" and "fractions of the image" in err.error.message
    # Unknown image or tag: refused, and nothing of the batch is kept.
    before = len(trainer.get_tagged_images(project.id)[0].regions)
    err = refused(trainer.create_image_regions, project.id, [entry(left=0.7), entry(image=str(uuid.uuid4()))])
    assert err.error.code == "NotFoundImage" and err.response.status_code == 404
    err = refused(trainer.create_image_regions, project.id, [entry(tag=str(uuid.uuid4()))])
    assert err.error.code == "NotFoundTag"
    assert len(trainer.get_tagged_images(project.id)[0].regions) == before == 64
    # Uploads: more than 64 regions on one image, and a region with a tag the project lacks.
    too_many = [region(flaw.id, Box(0.01 * k, 0.5, 0.05, 0.05)) for k in range(65)]
    result = trainer.create_images_from_files(project.id, ImageFileCreateBatch(images=[
        ImageFileCreateEntry(name="a.jpg", contents=casting_image(True, 11), regions=too_many),
        ImageFileCreateEntry(name="b.jpg", contents=casting_image(True, 12),
                             regions=[region(str(uuid.uuid4()), box)]),
    ]))
    assert [r.status for r in result.images] == ["ErrorRegionLimitExceed", "ErrorInvalidTag"]
    # Deleting: at most 64 ids at a time (the SDK checks that itself, so this goes around it).
    resp = requests.delete(f"{cv.training_account.properties.endpoint.rstrip('/')}/customvision/v3.4-preview"
                           f"/training/projects/{project.id}/images/regions",
                           params={"regionIds": ",".join(str(uuid.uuid4()) for _ in range(65))},
                           headers={"Training-Key": cv.training_key}, verify=cv.ca, timeout=30)
    assert resp.status_code == 400 and resp.json()["code"] == "BadRequestExceededBatchSize"

    # A classification project has no regions.
    classifier = trainer.create_project("Classifier", domain_id=CLASSIFICATION_COMPACT,
                                        classification_type="Multiclass")
    tag = trainer.create_tag(classifier.id, "Defect")
    img = trainer.create_images_from_data(classifier.id, io.BytesIO(casting_image(True, 13)), tag_ids=[tag.id])
    err = refused(trainer.create_image_regions, classifier.id, [entry(image=img.images[0].image.id, tag=tag.id)])
    assert err.error.code == "BadRequestImageRegions" and "classification project" in err.error.message
    err = refused(trainer.create_images_from_files, classifier.id, ImageFileCreateBatch(images=[
        ImageFileCreateEntry(name="c.jpg", contents=casting_image(True, 14), regions=[region(tag.id, box)])]))
    assert err.error.code == "BadRequestImageRegions"
    assert trainer.get_image_count(classifier.id) == 1  # nothing of the refused batch was stored


def test_region_proposals_find_the_flaw(cv):
    trainer = cv.trainer
    project = od_project(trainer)
    found = 0
    for i in range(40, 60):
        upload = trainer.create_images_from_data(project.id, io.BytesIO(casting_image(True, i)))
        image_id = upload.images[0].image.id
        result = trainer.get_image_region_proposals(project.id, image_id)
        assert result.project_id == project.id and result.image_id == image_id
        confidences = [p.confidence for p in result.proposals]
        assert confidences == sorted(confidences, reverse=True) and all(0 <= c <= 1 for c in confidences)
        if result.proposals:
            best = result.proposals[0].bounding_box
            found += Box(best.left, best.top, best.width, best.height).iou(casting(True, i).box) >= 0.3
    assert found >= 14  # suggestions, not ground truth: a flaw at a ragged rim is often boxed in part
    err = refused(trainer.get_image_region_proposals, project.id, str(uuid.uuid4()))
    assert err.error.code == "NotFoundImage"


# -- training, performance, quick tests, prediction ----------------------------------------------------
def trained(trainer, project_id: str, **kw):
    iteration = trainer.train_project(project_id, **kw)
    assert iteration.status == "Training"
    done = wait_trained(trainer, project_id, iteration.id)
    assert done.status == "Completed", done
    return done


def test_training_needs_regions_on_enough_images(cv):
    trainer = cv.trainer
    project = od_project(trainer)
    flaw = trainer.create_tag(project.id, "Defect")
    # Images tagged as a whole carry no box: nothing to learn from.
    trainer.create_images_from_data(project.id, io.BytesIO(casting_image(True, 1)), tag_ids=[flaw.id])
    err = refused(trainer.train_project, project.id)
    assert err.error.code == "BadRequestDetectionTrainingValidationFailed" and "region" in err.error.message
    upload_with_regions(trainer, project.id, flaw.id, range(2, 16))  # 14 images with a region
    err = refused(trainer.train_project, project.id)
    assert err.error.code == "BadRequestDetectionTrainingValidationFailed" and "15" in err.error.message
    upload_with_regions(trainer, project.id, flaw.id, [16])
    # A Negative tag has no place on a region.
    negative = trainer.create_tag(project.id, "Nothing", type="Negative")
    image_id = upload_with_regions(trainer, project.id, flaw.id, [17])[0]
    trainer.create_image_regions(project.id, [ImageRegionCreateEntry(
        image_id=image_id, tag_id=negative.id, left=0.0, top=0.0, width=0.1, height=0.1)])
    err = refused(trainer.train_project, project.id)
    assert err.error.code == "BadRequestDetectionTrainingNotAllowNegativeTag"
    trainer.delete_tag(project.id, negative.id)
    iteration = trained(trainer, project.id)
    assert iteration.classification_type is None and iteration.domain_id == OD_COMPACT
    assert iteration.training_type == "Regular" and iteration.exportable and "ONNX" in iteration.exportable_to
    assert trainer.get_tagged_image_count(project.id, iteration_id=iteration.id) == 16
    err = refused(trainer.train_project, project.id)
    assert err.error.code == "BadRequestTrainingNotNeeded"


def _performance(trainer, project_id: str, iteration_id: str, **kw):
    perf = trainer.get_iteration_performance(project_id, iteration_id, **kw)
    (tag,) = perf.per_tag_performance
    assert tag.name == "Defect"
    for value in (perf.precision, perf.recall, perf.average_precision, tag.precision, tag.recall,
                  tag.average_precision, perf.precision_std_deviation, perf.recall_std_deviation):
        assert 0.0 <= value <= 1.0
    # One tag: the overall figures are that tag's, and mAP is its average precision.
    assert (perf.precision, perf.recall, perf.average_precision) == pytest.approx(
        (tag.precision, tag.recall, tag.average_precision))
    return perf


def test_detection_performance_is_held_out_and_honest(cv):
    """Good boxes train a detector that finds flaws in images it did not train on; boxes drawn on clean
    metal away from the flaw train one that finds nothing the student marked."""
    trainer = cv.trainer
    good = od_project(trainer, "Good boxes")
    flaw = trainer.create_tag(good.id, "Defect")
    upload_with_regions(trainer, good.id, flaw.id, range(40))
    iteration = trained(trainer, good.id)
    perf = _performance(trainer, good.id, iteration.id, threshold=0.5, overlap_threshold=0.3)
    assert perf.precision >= 0.7 and perf.recall >= 0.5 and perf.average_precision >= 0.7
    # Stricter overlap and probability thresholds can only make it harder.
    strict = _performance(trainer, good.id, iteration.id, threshold=0.5, overlap_threshold=0.7)
    assert strict.average_precision < perf.average_precision and strict.recall <= perf.recall
    sure = _performance(trainer, good.id, iteration.id, threshold=0.9, overlap_threshold=0.3)
    assert sure.recall <= perf.recall and sure.average_precision == pytest.approx(perf.average_precision)

    off = od_project(trainer, "Boxes off the flaw")
    flaw_off = trainer.create_tag(off.id, "Defect")
    upload_with_regions(trainer, off.id, flaw_off.id, range(40), place=misplaced_box)
    off_perf = _performance(trainer, off.id, trained(trainer, off.id).id, threshold=0.5, overlap_threshold=0.3)
    assert off_perf.average_precision < 0.45 and off_perf.average_precision < perf.average_precision - 0.3
    assert off_perf.precision < 0.6


def test_quick_tests_box_the_flaw_and_are_stored(cv, sim):
    trainer = cv.trainer
    project = od_project(trainer, target_export_platforms=["CoreML", "TensorFlow", "ONNX"])
    flaw = trainer.create_tag(project.id, "Defect")
    upload_with_regions(trainer, project.id, flaw.id, range(30))
    iteration = trained(trainer, project.id, training_type="Advanced", reserved_budget_in_hours=1)
    assert iteration.training_type == "Advanced" and iteration.reserved_budget_in_hours == 1

    overlapping, stored_ids = 0, []
    for i in range(1001, 1005):  # castings the detector never saw
        truth = casting(True, i).box
        result = trainer.quick_test_image(project.id, io.BytesIO(casting(True, i, "PNG").data))
        top = result.predictions[0]
        assert top.tag_name == "Defect" and top.tag_id == flaw.id and top.probability > 0.3
        assert [p.probability for p in result.predictions] == sorted((p.probability for p in result.predictions),
                                                                     reverse=True)
        box = top.bounding_box
        assert box.left >= 0 and box.left + box.width <= 1.000001 and box.top >= 0 and box.top + box.height <= 1.000001
        overlapping += Box(box.left, box.top, box.width, box.height).iou(truth) >= 0.3
        stored_ids.append(result.id)
    assert overlapping >= 3
    by_url = trainer.quick_test_image_url(project.id, url=f"{sim.base_url}/cv/_samples/defect/1005.png")
    assert by_url.predictions[0].bounding_box is not None and by_url.iteration == iteration.id
    good = trainer.quick_test_image(project.id, io.BytesIO(casting_image(False, 1001)), store=False)
    assert good.predictions[0].probability < by_url.predictions[0].probability

    stored = trainer.query_predictions(project.id, PredictionQueryToken(iteration_id=iteration.id))
    assert [r.id for r in stored.results] == [by_url.id, *reversed(stored_ids)]  # newest first; not the unstored
    # A tag filter looks at the tag's best box in each prediction.
    sure = trainer.query_predictions(project.id, PredictionQueryToken(
        tags=[PredictionQueryTag(id=flaw.id, min_threshold=0.5, max_threshold=1.0)]))
    expected = [r.id for r in stored.results if max(p.probability for p in r.predictions) >= 0.5]
    assert [r.id for r in sure.results] == expected and expected
    first = stored.results[-1]
    assert first.domain == OD_COMPACT and first.predictions[0].bounding_box is not None
    assert first.predictions[0].bounding_box.left == pytest.approx(
        trainer.quick_test_image(project.id, io.BytesIO(casting(True, 1001, "PNG").data),
                                 store=False).predictions[0].bounding_box.left)
    # The stored image is the one tested, at the address Custom Vision gives for it.
    assert requests.get(first.original_image_uri, verify=cv.ca, timeout=30).content == casting(True, 1001, "PNG").data

    # Export: a compact detection domain exports to the platforms the project targets.
    export = trainer.export_iteration(project.id, iteration.id, "ONNX")
    assert export.platform == "ONNX" and export.status == "Exporting"


def test_detect_with_a_published_iteration(cv):
    trainer, predictor = cv.trainer, cv.predictor
    project = od_project(trainer)
    flaw = trainer.create_tag(project.id, "Defect")
    upload_with_regions(trainer, project.id, flaw.id, range(20))
    iteration = trained(trainer, project.id)
    assert trainer.publish_iteration(project.id, iteration.id, "flaws", cv.prediction_account.id) is True

    result = predictor.detect_image(project.id, "flaws", io.BytesIO(casting_image(True, 1002)))
    top = result.predictions[0]
    assert top.tag_name == "Defect" and top.bounding_box is not None and result.iteration == iteration.id
    assert Box(top.bounding_box.left, top.bounding_box.top, top.bounding_box.width,
               top.bounding_box.height).iou(casting(True, 1002).box) >= 0.3
    predictor.detect_image_with_no_store(project.id, "flaws", io.BytesIO(casting_image(True, 1003)))
    stored = trainer.query_predictions(project.id, PredictionQueryToken())
    assert [r.id for r in stored.results] == [result.id]
    err = refused(predictor.classify_image, project.id, "flaws", io.BytesIO(casting_image(True, 1002)))
    assert err.error.code == "BadRequestInvalid" and "DetectImage" in err.error.message

    # A non-compact detection domain trains but cannot export.
    general = od_project(trainer, "General", domain_id=OD_GENERAL)
    tag = trainer.create_tag(general.id, "Defect")
    upload_with_regions(trainer, general.id, tag.id, range(15))
    it = trained(trainer, general.id)
    assert not it.exportable
    err = refused(trainer.export_iteration, general.id, it.id, "ONNX")
    assert err.error.code == "BadRequestExportValidationFailed"
