"""The whole Spot-the-Flaw flow against azuresim's Custom Vision, through the official SDKs only."""

from __future__ import annotations

import io
import time
from datetime import UTC, datetime

import pytest
from azure.cognitiveservices.vision.customvision.prediction import CustomVisionPredictionClient
from azure.cognitiveservices.vision.customvision.training import CustomVisionTrainingClient
from azure.cognitiveservices.vision.customvision.training.models import (
    CustomVisionErrorException,
    ImageFileCreateBatch,
    ImageFileCreateEntry,
    ImageUrlCreateBatch,
    ImageUrlCreateEntry,
    PredictionQueryTag,
    PredictionQueryToken,
)
from azure.identity import ClientSecretCredential
from azure.mgmt.cognitiveservices import CognitiveServicesManagementClient
from azure.mgmt.cognitiveservices.models import Account, AccountProperties, Sku
from msrest.authentication import ApiKeyCredentials

from azuresim.images import casting_image

COMPACT = "0732100f-1a38-4e49-a514-c9b44c697ab5"
GENERAL = "ee85a74c-405e-4adc-bb47-ffa8ca0c9f31"


class CvClients:
    """An attendee's training and prediction accounts (made through ARM) and SDK clients for them."""

    def __init__(self, creds: dict, sku: str = "F0", name: str = "customvision-casting") -> None:
        self.ca = creds["ca_bundle"]
        cred = ClientSecretCredential(creds["tenant_id"], creds["client_id"], creds["client_secret"],
                                      authority=creds["authority_host"], disable_instance_discovery=True,
                                      connection_verify=self.ca)
        arm = CognitiveServicesManagementClient(cred, creds["subscription_id"], base_url=creds["arm_endpoint"],
                                                credential_scopes=[creds["credential_scope"]],
                                                connection_verify=self.ca)
        rg = creds["resource_group"]
        suffix = creds["subscription_id"][:8]
        self.training_account = self._create(arm, rg, f"{name}-{suffix}", "CustomVision.Training", sku, creds)
        self.prediction_account = self._create(arm, rg, f"{name}-{suffix}-Prediction",
                                               "CustomVision.Prediction", sku, creds)
        self.training_key = arm.accounts.list_keys(rg, self.training_account.name).key1
        self.prediction_key = arm.accounts.list_keys(rg, self.prediction_account.name).key1
        arm.close()
        cred.close()
        self.trainer = self.training_client(self.training_key)
        self.predictor = CustomVisionPredictionClient(
            self.prediction_account.properties.endpoint,
            ApiKeyCredentials(in_headers={"Prediction-key": self.prediction_key}))
        self.predictor.config.connection.verify = self.ca

    @staticmethod
    def _create(arm, rg, name, kind, sku, creds):
        # With a custom subdomain, as the portal creates them: each account has an endpoint of its own.
        body = Account(kind=kind, sku=Sku(name=sku), location=creds["region"],
                       properties=AccountProperties(custom_sub_domain_name=name.lower()))
        return arm.accounts.begin_create(rg, name, body, polling_interval=0).result()

    def training_client(self, key: str, endpoint: str | None = None) -> CustomVisionTrainingClient:
        client = CustomVisionTrainingClient(endpoint or self.training_account.properties.endpoint,
                                            ApiKeyCredentials(in_headers={"Training-key": key}))
        client.config.connection.verify = self.ca
        return client


def upload(trainer, project_id: str, tag_id: str, defective: bool, indexes, batch: int = 64) -> None:
    """Upload generated castings as JSON files batches of ``batch``, all tagged ``tag_id``."""
    indexes = list(indexes)
    for start in range(0, len(indexes), batch):
        entries = [ImageFileCreateEntry(name=f"{'def' if defective else 'ok'}_{i}.jpeg",
                                        contents=casting_image(defective, i), tag_ids=[tag_id])
                   for i in indexes[start:start + batch]]
        result = trainer.create_images_from_files(project_id, ImageFileCreateBatch(images=entries))
        assert result.is_batch_successful, [r.status for r in result.images]


def wait_trained(trainer, project_id: str, iteration_id: str, timeout: float = 10):
    deadline = time.monotonic() + timeout
    while True:
        it = trainer.get_iteration(project_id, iteration_id)
        if it.status != "Training" or time.monotonic() > deadline:
            return it
        time.sleep(0.1)


def end_training(sim, project_id: str) -> None:
    """End the project's training now, whatever ``training_seconds`` it began with."""
    now = datetime.now(UTC)
    with sim.state.lock:
        for account in sim.state.accounts.values():
            project = account.cv.projects.get(project_id) if account.cv is not None else None
            for iteration in project.iterations.values() if project else ():
                iteration.finishes_at = min(iteration.finishes_at, now)


@pytest.fixture
def cv(attendee):
    return CvClients(attendee)


def lab_project(trainer, name="Casting Defect Detection", **kw):
    return trainer.create_project(name, description="Classifying casting images as ok or defective",
                                  domain_id=kw.pop("domain_id", COMPACT),
                                  classification_type=kw.pop("classification_type", "Multiclass"), **kw)


def test_the_whole_lab_flow(cv, sim):
    trainer = cv.trainer
    domains = {d.id: d for d in trainer.get_domains()}
    assert domains[COMPACT].name == "General (compact)" and domains[COMPACT].exportable
    assert "ONNX" in domains[COMPACT].exportable_platforms
    assert not domains[GENERAL].exportable

    project = lab_project(trainer, target_export_platforms=["CoreML", "TensorFlow", "ONNX"])
    assert project.settings.domain_id == COMPACT
    assert project.settings.classification_type == "Multiclass"
    assert trainer.get_project(project.id).name == "Casting Defect Detection"

    good = trainer.create_tag(project.id, "Non Defective")
    bad = trainer.create_tag(project.id, "Defect", description="Pits, cracks or a ragged rim")
    upload(trainer, project.id, good.id, False, range(40), batch=25)
    upload(trainer, project.id, bad.id, True, range(40), batch=25)
    # One more defective through multipart (create_images_from_data) and one untagged by URL.
    summary = trainer.create_images_from_data(project.id, io.BytesIO(casting_image(True, 40)), tag_ids=[bad.id])
    assert summary.is_batch_successful and summary.images[0].image.tags[0].tag_name == "Defect"
    url = f"{sim.base_url}/cv/_samples/ok/900.jpg"
    summary = trainer.create_images_from_urls(project.id, ImageUrlCreateBatch(images=[ImageUrlCreateEntry(url=url)]))
    assert summary.is_batch_successful and summary.images[0].source_url == url

    tags = {t.name: t for t in trainer.get_tags(project.id)}
    assert (tags["Non Defective"].image_count, tags["Defect"].image_count) == (40, 41)
    assert trainer.get_tagged_image_count(project.id) == 81
    assert trainer.get_untagged_image_count(project.id) == 1
    assert trainer.get_tagged_image_count(project.id, tag_ids=[good.id]) == 40

    sim.training_seconds = 60  # until end_training below: 0.3 s could pass before the next call on a loaded machine
    iteration = trainer.train_project(project.id)
    assert iteration.status == "Training" and iteration.training_type == "Regular"
    with pytest.raises(CustomVisionErrorException) as exc:
        trainer.get_iteration_performance(project.id, iteration.id)
    assert exc.value.error.code == "BadRequestIterationIsNotTrained"
    end_training(sim, project.id)
    iteration = wait_trained(trainer, project.id, iteration.id)
    assert iteration.status == "Completed"
    assert iteration.exportable and set(iteration.exportable_to) == {"CoreML", "TensorFlow", "ONNX"}
    assert iteration.domain_id == COMPACT and iteration.trained_at is not None

    perf = trainer.get_iteration_performance(project.id, iteration.id, threshold=0.5)
    assert 0.8 <= perf.precision <= 1.0 and 0.8 <= perf.recall <= 1.0
    assert {p.name for p in perf.per_tag_performance} == {"Defect", "Non Defective"}
    strict = trainer.get_iteration_performance(project.id, iteration.id, threshold=0.999)
    assert strict.recall <= perf.recall  # a stricter threshold can only lose recall

    with pytest.raises(CustomVisionErrorException) as exc:
        trainer.train_project(project.id)
    assert exc.value.error.code == "BadRequestTrainingNotNeeded"

    flaw = trainer.quick_test_image(project.id, io.BytesIO(casting_image(True, 777)))
    assert flaw.predictions[0].tag_name == "Defect" and flaw.predictions[0].probability > 0.5
    assert flaw.predictions[0].probability >= flaw.predictions[1].probability
    ok = trainer.quick_test_image_url(project.id, url=f"{sim.base_url}/cv/_samples/ok/778.png")
    assert ok.predictions[0].tag_name == "Non Defective" and ok.iteration == iteration.id
    trainer.quick_test_image(project.id, io.BytesIO(casting_image(False, 779)), store=False)

    stored = trainer.query_predictions(project.id, PredictionQueryToken())
    assert [r.id for r in stored.results] == [ok.id, flaw.id]  # newest first, the unstored one absent
    only_defects = trainer.query_predictions(project.id, PredictionQueryToken(
        tags=[PredictionQueryTag(id=bad.id, min_threshold=0.5, max_threshold=1.0)], iteration_id=iteration.id))
    assert [r.id for r in only_defects.results] == [flaw.id]
    first = trainer.query_predictions(project.id, PredictionQueryToken(max_count=1))
    assert len(first.results) == 1 and first.token.continuation
    rest = trainer.query_predictions(project.id, first.token)
    assert [r.id for r in rest.results] == [flaw.id] and not rest.token.continuation

    assert trainer.get_exports(project.id, iteration.id) == []
    export = trainer.export_iteration(project.id, iteration.id, "ONNX", flavor="ONNX12")
    assert (export.platform, export.status, export.flavor) == ("ONNX", "Exporting", "ONNX12")
    time.sleep(0.6)
    (done,) = trainer.get_exports(project.id, iteration.id)
    assert done.status == "Done" and done.download_uri.endswith(".zip")

    assert trainer.publish_iteration(project.id, iteration.id, "castings", cv.prediction_account.id) is True
    assert trainer.get_iteration(project.id, iteration.id).publish_name == "castings"
    result = cv.predictor.classify_image(project.id, "castings", io.BytesIO(casting_image(True, 4242)))
    assert result.predictions[0].tag_name == "Defect"
    cv.predictor.classify_image_url_with_no_store(project.id, "castings", url=url)
    assert len(trainer.query_predictions(project.id, PredictionQueryToken()).results) == 3

    trainer.unpublish_iteration(project.id, iteration.id)
    assert trainer.get_iteration(project.id, iteration.id).publish_name == ""


def test_training_image_predicts_its_own_tag(cv):
    trainer = cv.trainer
    project = lab_project(trainer)
    good = trainer.create_tag(project.id, "Non Defective")
    bad = trainer.create_tag(project.id, "Defect")
    upload(trainer, project.id, good.id, False, range(6))
    upload(trainer, project.id, bad.id, True, range(6))
    it = wait_trained(trainer, project.id, trainer.train_project(project.id).id)
    for defective, tag in ((True, "Defect"), (False, "Non Defective")):
        pred = trainer.quick_test_image(project.id, io.BytesIO(casting_image(defective, 3)), iteration_id=it.id)
        assert pred.predictions[0].tag_name == tag and pred.predictions[0].probability > 0.9


def test_failed_training_fault_ends_failed_with_details(cv, sim):
    trainer = cv.trainer
    project = lab_project(trainer)
    for name, defective in (("Non Defective", False), ("Defect", True)):
        upload(trainer, project.id, trainer.create_tag(project.id, name).id, defective, range(5))
    sim.faults.add({"operation": "TrainProject", "fail_training": True, "count": 1})
    it = wait_trained(trainer, project.id, trainer.train_project(project.id).id)
    assert it.status == "Failed" and not it.exportable
    assert "Training failed" in it.training_error_details  # a v3.4 field
    with pytest.raises(CustomVisionErrorException) as exc:
        trainer.get_iteration_performance(project.id, it.id)
    assert exc.value.error.code == "NotFoundIterationPerformance"
    # A failed iteration does not count as "nothing changed": training again is allowed and completes.
    again = wait_trained(trainer, project.id, trainer.train_project(project.id).id)
    assert again.status == "Completed" and again.name == "Iteration 2"


def test_measure_upload_of_the_full_lab_set(cv, sim, record_property):
    """519 good + 781 defective images in batches of 64, as the lab asks (timing reported)."""
    trainer = cv.trainer
    project = lab_project(trainer)
    good = trainer.create_tag(project.id, "Non Defective")
    bad = trainer.create_tag(project.id, "Defect")
    started = time.perf_counter()
    upload(trainer, project.id, good.id, False, range(519))
    upload(trainer, project.id, bad.id, True, range(781))
    elapsed = time.perf_counter() - started
    record_property("upload_1300_seconds", round(elapsed, 2))
    print(f"\nuploading 1300 images in batches of 64 took {elapsed:.2f}s")
    tags = {t.name: t.image_count for t in trainer.get_tags(project.id)}
    assert tags == {"Non Defective": 519, "Defect": 781}
    it = wait_trained(trainer, project.id, trainer.train_project(project.id).id)
    perf = trainer.get_iteration_performance(project.id, it.id)
    assert 0.9 <= perf.precision < 1.0 and 0.9 <= perf.recall < 1.0
