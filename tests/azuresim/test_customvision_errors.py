"""Custom Vision's refusals, each with the service's own error code and HTTP status, seen through the SDKs."""

from __future__ import annotations

import io
import uuid

import pytest
import requests
from azure.cognitiveservices.vision.customvision.prediction import CustomVisionPredictionClient
from azure.cognitiveservices.vision.customvision.prediction.models import (
    CustomVisionErrorException as PredictionError,
)
from azure.cognitiveservices.vision.customvision.training.models import (
    CustomVisionErrorException,
    ImageFileCreateBatch,
    ImageFileCreateEntry,
    Project,
    Tag,
)
from msrest.authentication import ApiKeyCredentials

from azuresim.images import casting_image

from .test_customvision_flow import GENERAL, CvClients, lab_project, upload, wait_trained


@pytest.fixture
def cv(attendee):
    return CvClients(attendee)


def refused(call, *args, **kwargs) -> CustomVisionErrorException:
    with pytest.raises((CustomVisionErrorException, PredictionError)) as exc:
        call(*args, **kwargs)
    return exc.value


def code_and_status(exc: CustomVisionErrorException) -> tuple[str | None, int]:
    return exc.error.code, exc.response.status_code


def trained_project(trainer, n: int = 5, **kw):
    project = lab_project(trainer, **kw)
    good = trainer.create_tag(project.id, "Non Defective")
    bad = trainer.create_tag(project.id, "Defect")
    upload(trainer, project.id, good.id, False, range(n))
    upload(trainer, project.id, bad.id, True, range(n))
    return project, good, bad


def test_wrong_or_misplaced_keys_get_the_gateway_401(cv):
    exc = refused(cv.training_client("0" * 32).get_projects)
    assert exc.response.status_code == 401 and exc.error.code is None
    assert "Access denied" in exc.response.json()["error"]["message"]
    # The prediction key does not open the training resource.
    assert refused(cv.training_client(cv.prediction_key).get_domains).response.status_code == 401
    # Nor does a valid training key work against another account's endpoint.
    other = cv.prediction_account.properties.endpoint
    assert refused(cv.training_client(cv.training_key, other).get_domains).response.status_code == 401


def test_both_api_versions_are_served_and_the_header_name_is_case_insensitive(cv):
    endpoint = cv.training_account.properties.endpoint
    for version in ("v3.3", "v3.4-preview"):
        resp = requests.get(f"{endpoint}customvision/{version}/training/domains",
                            headers={"TRAINING-KEY": cv.training_key}, verify=cv.ca, timeout=10)
        assert resp.status_code == 200 and len(resp.json()) >= 10
    resp = requests.get(f"{endpoint}customvision/v3.2/training/domains",
                        headers={"Training-Key": cv.training_key}, verify=cv.ca, timeout=10)
    assert resp.status_code == 404


def test_fault_rules_are_visible_through_the_sdk(cv, sim):
    project = lab_project(cv.trainer)
    sim.faults.add({"operation": "CreateTag", "status": 503})
    exc = refused(cv.trainer.create_tag, project.id, "Defect")
    assert code_and_status(exc) == ("ServiceUnavailable", 503)
    sim.faults.clear()
    # GETs are retried by msrest: one 503 is absorbed, and the simulator saw both calls.
    before = sim.call_count("GetTags", cv.training_account.name)
    sim.faults.add({"operation": "GetTags", "status": 503, "count": 1, "account": cv.training_account.name})
    assert cv.trainer.get_tags(project.id) == []
    assert sim.call_count("GetTags", cv.training_account.name) == before + 2


def test_project_rules(cv):
    trainer = cv.trainer
    lab_project(trainer)
    assert code_and_status(refused(lab_project, trainer)) == ("BadRequestProjectNameNotUnique", 400)
    assert refused(trainer.create_project, "  ").error.code == "BadRequestProjectName"
    assert refused(trainer.create_project, "x", domain_id=str(uuid.uuid4())).error.code == \
        "BadRequestProjectUnknownDomain"
    assert refused(trainer.create_project, "x", domain_id=GENERAL, target_export_platforms=["ONNX"]).error.code \
        == "BadRequestProjectUnsupportedExportPlatform"
    assert code_and_status(refused(trainer.get_project, str(uuid.uuid4()))) == ("NotFoundProject", 404)
    second = trainer.create_project("Second")
    assert second.settings.classification_type == "Multilabel"  # the default, as in the portal
    exc = refused(trainer.create_project, "Third")
    assert code_and_status(exc) == ("BadRequestExceedProjectLimit", 400)
    assert "F0" in exc.error.message

    updated = trainer.update_project(second.id, Project(name="Second", description="now multiclass",
                                                        settings={"classificationType": "Multiclass"}))
    assert updated.settings.classification_type == "Multiclass" and updated.description == "now multiclass"
    assert refused(trainer.update_project, second.id, Project(
        name="Second", description="", settings={"domainId": "a27d5ca5-bb19-49d8-a70a-fec086c47f5b"},
    )).error.code == "BadRequestProjectUnsupportedDomainTypeChange"
    trainer.delete_project(second.id)
    assert [p.name for p in trainer.get_projects()] == ["Casting Defect Detection"]


def test_tag_rules(cv):
    trainer = cv.trainer
    project = lab_project(trainer)
    tag = trainer.create_tag(project.id, "Defect")
    assert code_and_status(refused(trainer.create_tag, project.id, "defect")) == ("BadRequestTagNameNotUnique", 400)
    assert refused(trainer.create_tag, project.id, "x", type="Odd").error.code == "BadRequestTagType"
    assert code_and_status(refused(trainer.get_tag, project.id, str(uuid.uuid4()))) == ("NotFoundTag", 404)
    upload(trainer, project.id, tag.id, True, range(3))
    renamed = trainer.update_tag(project.id, tag.id, Tag(name="Flaw", description="d", type="Regular"))
    assert (renamed.name, renamed.image_count) == ("Flaw", 3)
    trainer.delete_tag(project.id, tag.id)
    assert trainer.get_tags(project.id) == []
    assert trainer.get_untagged_image_count(project.id) == 3


def test_upload_statuses_and_limits(cv):
    trainer = cv.trainer
    project = lab_project(trainer)  # multiclass
    good = trainer.create_tag(project.id, "Non Defective")
    bad = trainer.create_tag(project.id, "Defect")
    upload(trainer, project.id, good.id, False, range(1))
    entries = [
        ImageFileCreateEntry(name="new.jpg", contents=casting_image(False, 1), tag_ids=[good.id]),
        ImageFileCreateEntry(name="notes.txt", contents=b"not an image at all", tag_ids=[good.id]),
        ImageFileCreateEntry(name="again.jpg", contents=casting_image(False, 0), tag_ids=[good.id]),
        ImageFileCreateEntry(name="both.jpg", contents=casting_image(True, 2), tag_ids=[good.id, bad.id]),
    ]
    raw = trainer.create_images_from_files(project.id, ImageFileCreateBatch(images=entries), raw=True)
    assert raw.response.status_code == 207
    summary = raw.output
    assert not summary.is_batch_successful
    assert [r.status for r in summary.images] == ["OK", "ErrorImageFormat", "OKDuplicate", "ErrorTagLimitExceed"]
    assert [r.source_url for r in summary.images][:2] == ["new.jpg", "notes.txt"]
    assert trainer.get_tagged_image_count(project.id) == 2

    too_many = [ImageFileCreateEntry(name=f"{i}.jpg", contents=casting_image(True, i)) for i in range(65)]
    exc = refused(trainer.create_images_from_files, project.id, ImageFileCreateBatch(images=too_many))
    assert code_and_status(exc) == ("BadRequestImageBatch", 400)

    # A multilabel project accepts several tags on one image.
    multi = trainer.create_project("Multi", classification_type="Multilabel")
    a, b = trainer.create_tag(multi.id, "a"), trainer.create_tag(multi.id, "b")
    summary = trainer.create_images_from_data(multi.id, io.BytesIO(casting_image(True, 5)), tag_ids=[a.id, b.id])
    assert summary.is_batch_successful and len(summary.images[0].image.tags) == 2


def test_training_validation(cv):
    trainer = cv.trainer
    project = lab_project(trainer)
    good = trainer.create_tag(project.id, "Non Defective")
    upload(trainer, project.id, good.id, False, range(5))
    exc = refused(trainer.train_project, project.id)
    assert code_and_status(exc) == ("BadRequestClassificationTrainingValidationFailed", 400)
    assert "Not enough tags" in exc.error.message
    bad = trainer.create_tag(project.id, "Defect")
    upload(trainer, project.id, bad.id, True, range(4))
    exc = refused(trainer.train_project, project.id)
    assert "Defect" in exc.error.message and "Not enough images" in exc.error.message
    assert refused(trainer.quick_test_image, project.id, io.BytesIO(casting_image(True, 1))).error.code == \
        "NotFoundProjectDefaultIteration"
    upload(trainer, project.id, bad.id, True, range(4, 5))
    it = trainer.train_project(project.id)
    assert refused(trainer.train_project, project.id).error.code == "BadRequestTrainingAlreadyInProgress"
    assert refused(trainer.export_iteration, project.id, it.id, "ONNX").error.code == "BadRequestExportWhileTraining"
    wait_trained(trainer, project.id, it.id)
    forced = trainer.train_project(project.id, force_train=True)
    assert forced.name == "Iteration 2"
    assert code_and_status(refused(trainer.get_iteration, project.id, str(uuid.uuid4()))) == \
        ("NotFoundIteration", 404)


def test_export_and_publish_rules(cv, sim):
    trainer = cv.trainer
    project, _, _ = trained_project(trainer, domain_id=GENERAL)
    it = wait_trained(trainer, project.id, trainer.train_project(project.id).id)
    assert not it.exportable and it.exportable_to == []
    exc = refused(trainer.export_iteration, project.id, it.id, "CoreML")
    assert code_and_status(exc) == ("BadRequestExportValidationFailed", 400)
    assert "General" in exc.error.message

    exc = refused(trainer.publish_iteration, project.id, it.id, "m", cv.training_account.id)
    assert exc.error.code == "BadRequestInvalidPublishTarget"
    assert refused(trainer.publish_iteration, project.id, it.id, "bad name!", cv.prediction_account.id) \
        .error.code == "BadRequestInvalidPublishName"
    assert refused(trainer.unpublish_iteration, project.id, it.id).error.code == "BadRequestIterationNotPublished"
    assert refused(cv.predictor.classify_image, project.id, "m", io.BytesIO(casting_image(True, 1))) \
        .error.code == "NotFoundIteration"
    trainer.publish_iteration(project.id, it.id, "m", cv.prediction_account.id)
    assert refused(trainer.delete_iteration, project.id, it.id).error.code == "BadRequestIterationIsPublished"
    assert refused(trainer.delete_project, project.id).error.code == "BadRequestIterationIsPublished"
    exc = refused(cv.predictor.classify_image, project.id, "m", io.BytesIO(b"GIF89a but not really"))
    assert code_and_status(exc) == ("BadRequestImageFormat", 400)
    # The training key is not a prediction key.
    bad_key = CustomVisionPredictionClient(cv.prediction_account.properties.endpoint,
                                           ApiKeyCredentials(in_headers={"Prediction-key": cv.training_key}))
    bad_key.config.connection.verify = cv.ca
    assert refused(bad_key.classify_image, project.id, "m", io.BytesIO(casting_image(True, 1))) \
        .response.status_code == 401
    trainer.unpublish_iteration(project.id, it.id)
    trainer.delete_iteration(project.id, it.id)
    assert trainer.get_iterations(project.id) == []
