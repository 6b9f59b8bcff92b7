"""Custom Vision Prediction API v3.1: classify an image, or detect objects in it, with a published iteration.

Served under ``/cv/<account>/customvision/v3.1/prediction`` where ``account`` is the prediction resource.
The project lives on a training resource of the same subscription, and the iteration must be published
under ``publishedName`` to this very prediction resource. Stored predictions land in the project, where
the Training API's QueryPredictions finds them.
"""

from __future__ import annotations

from flask import Blueprint, g, jsonify, request

from ..app import operation
from . import domains, serialize
from .service import (
    PREDICTION_KIND,
    TRAINING_KIND,
    authorize,
    check_prediction_image,
    fetch_url,
    handle_cv_error,
    json_body,
    mark_changed,
    sim,
    uploaded_images,
)
from .store import PREDICTION_IMAGE_BYTES, CvError, Iteration, Project
from .training_iterations import predict_and_store

PREFIX = "/cv/<account>/customvision/v3.1/prediction"
bp = Blueprint("cv_prediction", __name__)
bp.register_error_handler(CvError, handle_cv_error)
bp.after_request(mark_changed)


@bp.before_request
def _check_key():
    args = request.view_args or {}
    if "account" in args:
        g.cv_account = authorize(args["account"], PREDICTION_KIND, "Prediction-Key")


def _published(project_id: str, published_name: str) -> tuple[Project, Iteration]:
    """The project (on any training resource of this subscription) and its iteration published here."""
    target = g.cv_account
    for acct in sim().state.accounts.values():
        if acct.kind != TRAINING_KIND or acct.cv is None:
            continue
        if acct.subscription_id.lower() != target.subscription_id.lower():
            continue
        proj = acct.cv.projects.get(project_id.lower())
        if proj is None:
            continue
        for it in proj.iterations.values():
            if (it.publish_name.lower() == published_name.lower()
                    and it.publish_resource_id.lower() == target.resource_id().lower()):
                return proj, it
        raise CvError("NotFoundIteration",
                      f"Invalid iteration: nothing in project {project_id} is published as "
                      f"'{published_name}' to this prediction resource.")
    raise CvError("NotFoundProject", f"Project {project_id} not found.")


def _predict(project_id: str, published_name: str, data: bytes | None, store: bool, detect: bool):
    """Classify (``detect`` False) or detect with a published iteration; each call fits one kind of project."""
    checked = check_prediction_image(data, PREDICTION_IMAGE_BYTES)
    with sim().state.lock:
        proj, it = _published(project_id, published_name)
        if domains.is_detection(it.domain_id) != detect:
            kind, call = ("an object detection", "DetectImage") if not detect else ("a classification", "ClassifyImage")
            raise CvError("BadRequestInvalid",
                          f"Iteration '{published_name}' belongs to {kind} project: use the {call} calls for it.")
        return jsonify(serialize.image_prediction(predict_and_store(proj, it, checked, store)))


def _from_url() -> bytes:
    url = json_body().get("url") or ""
    data = fetch_url(url)
    if data is None:
        raise CvError("BadRequestImageUrl", f"The image at '{url}' could not be downloaded.")
    return data


def _from_body() -> bytes | None:
    ups = uploaded_images()
    return ups[0].data if ups else None


@bp.post(f"{PREFIX}/<project_id>/classify/iterations/<published_name>/image")
@operation("ClassifyImage")
def classify_image(account, project_id, published_name):
    return _predict(project_id, published_name, _from_body(), store=True, detect=False)


@bp.post(f"{PREFIX}/<project_id>/classify/iterations/<published_name>/image/nostore")
@operation("ClassifyImageWithNoStore")
def classify_image_with_no_store(account, project_id, published_name):
    return _predict(project_id, published_name, _from_body(), store=False, detect=False)


@bp.post(f"{PREFIX}/<project_id>/classify/iterations/<published_name>/url")
@operation("ClassifyImageUrl")
def classify_image_url(account, project_id, published_name):
    return _predict(project_id, published_name, _from_url(), store=True, detect=False)


@bp.post(f"{PREFIX}/<project_id>/classify/iterations/<published_name>/url/nostore")
@operation("ClassifyImageUrlWithNoStore")
def classify_image_url_with_no_store(account, project_id, published_name):
    return _predict(project_id, published_name, _from_url(), store=False, detect=False)


@bp.post(f"{PREFIX}/<project_id>/detect/iterations/<published_name>/image")
@operation("DetectImage")
def detect_image(account, project_id, published_name):
    return _predict(project_id, published_name, _from_body(), store=True, detect=True)


@bp.post(f"{PREFIX}/<project_id>/detect/iterations/<published_name>/image/nostore")
@operation("DetectImageWithNoStore")
def detect_image_with_no_store(account, project_id, published_name):
    return _predict(project_id, published_name, _from_body(), store=False, detect=True)


@bp.post(f"{PREFIX}/<project_id>/detect/iterations/<published_name>/url")
@operation("DetectImageUrl")
def detect_image_url(account, project_id, published_name):
    return _predict(project_id, published_name, _from_url(), store=True, detect=True)


@bp.post(f"{PREFIX}/<project_id>/detect/iterations/<published_name>/url/nostore")
@operation("DetectImageUrlWithNoStore")
def detect_image_url_with_no_store(account, project_id, published_name):
    return _predict(project_id, published_name, _from_url(), store=False, detect=True)
