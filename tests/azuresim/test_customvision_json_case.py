"""Custom Vision binds JSON property names case-insensitively; its answers keep the swagger's spelling.

Microsoft's REST samples send ``{"Url": ...}``; the SDK sends ``{"url": ...}``. Both must work, at every
nesting level (batch entries, query tags, project settings). Plain ``requests`` plays the REST caller.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass

import pytest
import requests
from azure.cognitiveservices.vision.customvision.training.models import (
    ImageUrlCreateBatch,
    ImageUrlCreateEntry,
    PredictionQueryTag,
    PredictionQueryToken,
)

from azuresim.images import casting_image

from .test_customvision_flow import CvClients, lab_project, upload, wait_trained


@dataclass
class Trained:
    """A trained Multiclass project on a fresh attendee's F0 resources, plus REST helpers."""

    cv: CvClients
    project_id: str
    good: str
    bad: str
    iteration_id: str
    base_url: str

    def training_url(self, path: str, version: str = "v3.4-preview") -> str:
        endpoint = self.cv.training_account.properties.endpoint
        return f"{endpoint}customvision/{version}/training/projects/{self.project_id}{path}"

    def send(self, method: str, url: str, body, key_header: str = "Training-Key", key: str | None = None):
        return requests.request(method, url, json=body, headers={key_header: key or self.cv.training_key},
                                verify=self.cv.ca, timeout=30)

    def sample(self, defective: bool, index: int) -> str:
        """A sample casting's URL. Indexes 0-4 are the training images: their predictions are certain."""
        return f"{self.base_url}/cv/_samples/{'defect' if defective else 'ok'}/{index}.jpg"


@pytest.fixture
def trained(attendee, sim) -> Trained:
    cv = CvClients(attendee)
    project = lab_project(cv.trainer)
    good = cv.trainer.create_tag(project.id, "Non Defective")
    bad = cv.trainer.create_tag(project.id, "Defect")
    upload(cv.trainer, project.id, good.id, False, range(5))
    upload(cv.trainer, project.id, bad.id, True, range(5))
    it = wait_trained(cv.trainer, project.id, cv.trainer.train_project(project.id).id)
    assert it.status == "Completed"
    return Trained(cv, project.id, good.id, bad.id, it.id, sim.base_url)


def test_quick_test_by_url_binds_any_case(trained):
    for version, body in (("v3.4-preview", {"Url": trained.sample(True, 1)}),
                          ("v3.3", {"URL": trained.sample(True, 2)})):
        resp = trained.send("POST", trained.training_url("/quicktest/url", version), body)
        assert resp.status_code == 200, resp.text
        answer = resp.json()
        assert set(answer) == {"id", "project", "iteration", "created", "predictions"}
        assert answer["iteration"] == trained.iteration_id
        assert answer["predictions"][0]["tagName"] == "Defect"
        assert {"probability", "tagId", "tagName"} <= set(answer["predictions"][0])
    # An empty or missing URL is still refused, whatever the case of the name.
    resp = trained.send("POST", trained.training_url("/quicktest/url"), {"URL": ""})
    assert resp.status_code == 400 and resp.json()["code"] == "BadRequestImageUrl"


def test_names_that_differ_only_in_case_keep_the_last_value(trained):
    url = trained.training_url("/quicktest/url")
    nowhere = "https://example.invalid/casting.jpg"
    assert trained.send("POST", url, {"url": nowhere, "Url": trained.sample(False, 1)}).status_code == 200
    refused = trained.send("POST", url, {"Url": trained.sample(False, 2), "url": nowhere})
    assert refused.status_code == 400 and refused.json()["code"] == "BadRequestImageUrl"


def test_images_from_urls_and_files_bind_any_case(trained):
    resp = trained.send("POST", trained.training_url("/images/urls"), {
        "Images": [{"Url": trained.sample(False, 600)}, {"URL": trained.sample(False, 601), "TagIds": []}],
        "TagIds": [trained.good],
    })
    assert resp.status_code == 200, resp.text
    summary = resp.json()
    assert set(summary) == {"isBatchSuccessful", "images"} and summary["isBatchSuccessful"] is True
    assert [i["sourceUrl"] for i in summary["images"]] == [trained.sample(False, 600), trained.sample(False, 601)]
    assert all(i["image"]["tags"][0]["tagId"] == trained.good for i in summary["images"])

    contents = base64.b64encode(casting_image(True, 602)).decode()
    resp = trained.send("POST", trained.training_url("/images/files"), {
        "IMAGES": [{"Name": "def_602.jpg", "Contents": contents, "TAGIDS": [trained.bad]}],
    })
    assert resp.status_code == 200, resp.text
    (entry,) = resp.json()["images"]
    assert entry["status"] == "OK" and entry["image"]["tags"][0]["tagName"] == "Defect"
    assert {t.name: t.image_count for t in trained.cv.trainer.get_tags(trained.project_id)} == {
        "Non Defective": 7, "Defect": 6}


def test_prediction_query_binds_any_case_and_answers_in_wire_spelling(trained):
    quick = trained.training_url("/quicktest/url")
    flaw = trained.send("POST", quick, {"Url": trained.sample(True, 3)}).json()
    fine = trained.send("POST", quick, {"Url": trained.sample(False, 3)}).json()
    query = trained.training_url("/predictions/query")

    resp = trained.send("POST", query, {
        "MaxCount": 5, "OrderBy": "Oldest", "IterationId": trained.iteration_id,
        "Tags": [{"Id": trained.bad, "MinThreshold": 0.5, "MaxThreshold": 1.0}],
    })
    assert resp.status_code == 200, resp.text
    answer = resp.json()
    assert [r["id"] for r in answer["results"]] == [flaw["id"]]
    token = answer["token"]
    assert (token["maxCount"], token["orderBy"], token["iterationId"]) == (5, "Oldest", trained.iteration_id)
    assert token["tags"] == [{"id": trained.bad, "minThreshold": 0.5, "maxThreshold": 1.0}]
    assert not any(name[0].isupper() for name in token)

    first = trained.send("POST", query, {"MAXCOUNT": 1}).json()
    assert [r["id"] for r in first["results"]] == [fine["id"]] and first["token"]["continuation"]
    rest = trained.send("POST", query, {"Continuation": first["token"]["continuation"], "MaxCount": 1}).json()
    assert [r["id"] for r in rest["results"]] == [flaw["id"]]


def test_updates_bind_any_case(trained):
    resp = trained.send("PATCH", trained.training_url(""), {
        "Name": "Castings", "Description": None, "Settings": {"ClassificationType": "Multilabel"},
    })
    assert resp.status_code == 200, resp.text
    project = resp.json()
    assert (project["name"], project["description"]) == ("Castings", None)
    assert project["settings"]["classificationType"] == "Multilabel"
    assert "Name" not in project and "ClassificationType" not in project["settings"]

    resp = trained.send("PATCH", trained.training_url(f"/tags/{trained.bad}"), {"NAME": "Flawed"})
    assert resp.status_code == 200 and resp.json()["name"] == "Flawed"
    resp = trained.send("PATCH", trained.training_url(f"/iterations/{trained.iteration_id}"), {"Name": "First"})
    assert resp.status_code == 200 and resp.json()["name"] == "First"


def test_prediction_api_binds_any_case(trained):
    cv = trained.cv
    cv.trainer.publish_iteration(trained.project_id, trained.iteration_id, "castings", cv.prediction_account.id)
    url = (f"{cv.prediction_account.properties.endpoint}customvision/v3.1/prediction/{trained.project_id}"
           "/classify/iterations/castings/url/nostore")
    resp = trained.send("POST", url, {"Url": trained.sample(True, 4)}, "Prediction-Key", cv.prediction_key)
    assert resp.status_code == 200, resp.text
    assert resp.json()["predictions"][0]["tagName"] == "Defect"


def test_the_sdk_still_works(trained, sim):
    trainer = trained.cv.trainer
    summary = trainer.create_images_from_urls(trained.project_id, ImageUrlCreateBatch(
        images=[ImageUrlCreateEntry(url=trained.sample(True, 900))], tag_ids=[trained.bad]))
    assert summary.is_batch_successful and summary.images[0].image.tags[0].tag_id == trained.bad
    flaw = trainer.quick_test_image_url(trained.project_id, url=trained.sample(True, 0))
    trainer.quick_test_image(trained.project_id, io.BytesIO(casting_image(False, 0)))
    found = trainer.query_predictions(trained.project_id, PredictionQueryToken(
        max_count=10, tags=[PredictionQueryTag(id=trained.bad, min_threshold=0.5, max_threshold=1.0)]))
    assert [r.id for r in found.results] == [flaw.id]
    assert found.token.tags[0].id == trained.bad and found.token.tags[0].min_threshold == 0.5
