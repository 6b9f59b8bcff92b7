"""Training API: training, iterations, performance, exports, publishing, Quick Test and stored predictions.

Training is computed at once (the model is tiny) but the iteration reports ``Training`` until
``sim.training_seconds`` have passed, then ``Completed`` (or ``Failed`` under a ``fail_training`` fault
rule); status is derived from timestamps, so no background thread is needed.
"""

from __future__ import annotations

import re
from datetime import datetime

from flask import Blueprint, g, jsonify, request

from ..app import operation
from ..state import utcnow
from . import domains, serialize
from .detector import Detector
from .service import (
    PREDICTION_KIND,
    check_prediction_image,
    cv_data,
    fetch_url,
    json_body,
    query_bool,
    query_int,
    sim,
    uploaded_images,
)
from .store import (
    PREDICTION_IMAGE_BYTES,
    CvError,
    Export,
    Iteration,
    Project,
    StoredPrediction,
    new_id,
)
from .training_images import PREFIX

bp = Blueprint("iterations", __name__)

_FLAVORS = {
    "DockerFile": ("Linux", "Windows", "ARM"),
    "TensorFlow": ("TensorFlowNormal", "TensorFlowLite"),
    "ONNX": ("ONNX10", "ONNX12"),
}
_PUBLISH_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,255}$")


def _project(project_id: str) -> Project:
    return cv_data(g.cv_account).project(project_id)


def _completed(proj: Project, iteration_id: str | None, now: datetime) -> Iteration:
    """The named iteration if it finished training, else the project's latest completed one."""
    if iteration_id:
        it = proj.iteration(iteration_id)
        if not it.completed(now):
            raise CvError("BadRequestIterationIsNotTrained",
                          f"Iteration '{it.name}' is {it.status(now)}, not Completed.")
        return it
    it = proj.latest_completed(now)
    if it is None:
        raise CvError("NotFoundProjectDefaultIteration",
                      "The project has no trained iteration yet: train the project first.")
    return it


# -- training and iterations -----------------------------------------------------------------------
@bp.post(f"{PREFIX}/projects/<project_id>/train")
@operation("TrainProject")
def train_project(account, project_id):
    training_type = request.args.get("trainingType") or "Regular"
    if training_type not in ("Regular", "Advanced"):
        raise CvError("BadRequestInvalid", f"Unknown trainingType '{training_type}': use Regular or Advanced.")
    budget = query_int("reservedBudgetInHours", 0, 0)
    force = query_bool("forceTrain", False)
    email = request.args.get("notificationEmailAddress")
    if email and not re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", email):
        raise CvError("BadRequestInvalidEmailAddress", f"'{email}' is not an email address.")
    now = utcnow()
    with sim().state.lock:
        proj = _project(project_id)
        it = proj.train(training_type=training_type, budget_hours=budget, force=force, now=now,
                        training_seconds=sim().training_seconds, fail=bool(g.get("sim_fail_training")))
        body = serialize.iteration(proj, it, now, g.cv_api)
    it.fit()  # a detector trains outside the lock; the iteration reads Training until it is done
    return jsonify(body)


@bp.get(f"{PREFIX}/projects/<project_id>/iterations")
@operation("GetIterations")
def get_iterations(account, project_id):
    now = utcnow()
    with sim().state.lock:
        proj = _project(project_id)
        return jsonify([serialize.iteration(proj, it, now, g.cv_api) for it in proj.iterations.values()])


@bp.get(f"{PREFIX}/projects/<project_id>/iterations/<iteration_id>")
@operation("GetIteration")
def get_iteration(account, project_id, iteration_id):
    with sim().state.lock:
        proj = _project(project_id)
        return jsonify(serialize.iteration(proj, proj.iteration(iteration_id), utcnow(), g.cv_api))


@bp.patch(f"{PREFIX}/projects/<project_id>/iterations/<iteration_id>")
@operation("UpdateIteration")
def update_iteration(account, project_id, iteration_id):
    name = (json_body().get("name") or "").strip()
    if not name or len(name) > 256:
        raise CvError("BadRequestIterationName", "An iteration name must be 1 to 256 characters long.")
    with sim().state.lock:
        proj = _project(project_id)
        it = proj.iteration(iteration_id)
        if any(o.name.lower() == name.lower() and o.id != it.id for o in proj.iterations.values()):
            raise CvError("BadRequestIterationNameNotUnique", f"An iteration named '{name}' already exists.")
        it.name = name
        it.last_modified = utcnow()
        return jsonify(serialize.iteration(proj, it, utcnow(), g.cv_api))


@bp.delete(f"{PREFIX}/projects/<project_id>/iterations/<iteration_id>")
@operation("DeleteIteration")
def delete_iteration(account, project_id, iteration_id):
    with sim().state.lock:
        proj = _project(project_id)
        it = proj.iteration(iteration_id)
        if it.publish_name:
            raise CvError("BadRequestIterationIsPublished",
                          f"Iteration '{it.name}' is published as '{it.publish_name}': unpublish it first.")
        del proj.iterations[it.id]
    return "", 204


@bp.get(f"{PREFIX}/projects/<project_id>/iterations/<iteration_id>/performance")
@operation("GetIterationPerformance")
def get_iteration_performance(account, project_id, iteration_id):
    threshold = _fraction("threshold", 0.5)
    overlap = _fraction("overlapThreshold", 0.3)  # only detection uses it
    now = utcnow()
    with sim().state.lock:
        proj = _project(project_id)
        it = proj.iteration(iteration_id)
        status = it.status(now)
        if status == "Training":
            raise CvError("BadRequestIterationIsNotTrained", f"Iteration '{it.name}' is still training.")
        if status != "Completed" or it.model is None:
            raise CvError("NotFoundIterationPerformance", f"Iteration '{it.name}' has no performance: it {status}.")
        model, names = it.model, dict(it.tag_names)
    if isinstance(model, Detector):
        overall, per_tag = model.performance(threshold, overlap)  # outside the lock: held-out folds take a moment
    else:
        overall, per_tag = model.performance(threshold)  # outside the lock: leave-one-out takes a moment
    return jsonify({
        "perTagPerformance": [
            {
                "id": t.tag,
                "name": proj.tags[t.tag].name if t.tag in proj.tags else names.get(t.tag),
                "precision": t.precision,
                "precisionStdDeviation": t.precision_std,
                "recall": t.recall,
                "recallStdDeviation": t.recall_std,
                "averagePrecision": t.average_precision,
            }
            for t in per_tag
        ],
        "precision": overall.precision,
        "precisionStdDeviation": overall.precision_std,
        "recall": overall.recall,
        "recallStdDeviation": overall.recall_std,
        "averagePrecision": overall.average_precision,
    })


def _fraction(name: str, default: float) -> float:
    try:
        value = float(request.args.get(name) or default)
    except ValueError:
        raise CvError("BadRequestInvalid", f"'{name}' must be a number between 0 and 1.") from None
    if not 0.0 <= value <= 1.0:
        raise CvError("BadRequestInvalid", f"'{name}' must be between 0 and 1.")
    return value


# -- exports ---------------------------------------------------------------------------------------
@bp.get(f"{PREFIX}/projects/<project_id>/iterations/<iteration_id>/export")
@operation("GetExports")
def get_exports(account, project_id, iteration_id):
    now = utcnow()
    with sim().state.lock:
        it = _project(project_id).iteration(iteration_id)
        known = domains.platforms(g.cv_api)  # a v3.4-preview export to OpenVino has no v3.3 form
        return jsonify([serialize.export(it, e, sim().base_url, now) for e in it.exports if e.platform in known])


@bp.post(f"{PREFIX}/projects/<project_id>/iterations/<iteration_id>/export")
@operation("ExportIteration")
def export_iteration(account, project_id, iteration_id):
    platform = request.args.get("platform") or ""
    flavor = request.args.get("flavor") or None
    known = domains.platforms(g.cv_api)
    if platform not in known:
        raise CvError("BadRequestExportValidationFailed",
                      f"Unknown export platform '{platform}': use one of {', '.join(known)}.")
    if flavor is not None and flavor not in _FLAVORS.get(platform, ()):
        raise CvError("BadRequestExportValidationFailed", f"Platform {platform} has no flavor '{flavor}'.")
    now = utcnow()
    with sim().state.lock:
        proj = _project(project_id)
        it = proj.iteration(iteration_id)
        status = it.status(now)
        if status == "Training":
            raise CvError("BadRequestExportWhileTraining", f"Iteration '{it.name}' is still training.")
        if status != "Completed":
            raise CvError("BadRequestIterationIsNotTrained", f"Iteration '{it.name}' {status}; it cannot be exported.")
        allowed = [t for t in it.exportable_to(proj.target_export_platforms) if t in known]
        if not allowed:
            dom = domains.domain(it.domain_id) or {"name": it.domain_id}
            raise CvError("BadRequestExportValidationFailed",
                          f"Iteration '{it.name}' was trained on domain '{dom['name']}', which cannot be "
                          "exported. Use a compact domain and train again.")
        if platform not in allowed:
            raise CvError("BadRequestExportValidationFailed",
                          f"Iteration '{it.name}' can export to {', '.join(allowed)}, not {platform}.")
        for old in it.exports:
            if old.platform == platform and old.flavor == flavor:
                if old.status(now) == "Exporting":
                    raise CvError("BadRequestExportAlreadyInProgress",
                                  f"An export to {platform} is already in progress.")
                it.exports.remove(old)
                break
        exp = Export(platform, flavor, now)
        it.exports.append(exp)
        return jsonify(serialize.export(it, exp, sim().base_url, now))


# -- publishing ------------------------------------------------------------------------------------
@bp.post(f"{PREFIX}/projects/<project_id>/iterations/<iteration_id>/publish")
@operation("PublishIteration")
def publish_iteration(account, project_id, iteration_id):
    name = request.args.get("publishName") or ""
    target = request.args.get("predictionId") or ""
    overwrite = query_bool("overwrite", False)
    if not _PUBLISH_NAME.match(name):
        raise CvError("BadRequestInvalidPublishName",
                      f"'{name}' is not a valid publish name: use letters, digits, '-', '_' and '.'.")
    now = utcnow()
    with sim().state.lock:
        proj = _project(project_id)
        it = proj.iteration(iteration_id)
        if not it.completed(now):
            raise CvError("BadRequestIterationIsNotTrained", f"Iteration '{it.name}' is {it.status(now)}.")
        if it.publish_name:
            raise CvError("BadRequestIterationIsPublished", f"Iteration '{it.name}' is already published.")
        resource = sim().state.account_by_id(target)
        if (resource is None or resource.kind != PREDICTION_KIND
                or resource.subscription_id.lower() != g.cv_account.subscription_id.lower()):
            raise CvError("BadRequestInvalidPublishTarget",
                          f"'{target}' is not the resource id of a Custom Vision prediction resource "
                          "in this subscription.")
        for other in proj.iterations.values():
            if other.publish_name.lower() == name.lower() and other.id != it.id:
                if not overwrite:
                    raise CvError("BadRequestInvalidPublishName",
                                  f"Iteration '{other.name}' is already published as '{name}'.")
                other.publish_name = other.publish_resource_id = ""
        it.publish_name = name
        it.publish_resource_id = resource.resource_id()
        it.original_publish_resource_id = resource.resource_id()
        it.last_modified = now
    return jsonify(True)


@bp.delete(f"{PREFIX}/projects/<project_id>/iterations/<iteration_id>/publish")
@operation("UnpublishIteration")
def unpublish_iteration(account, project_id, iteration_id):
    with sim().state.lock:
        it = _project(project_id).iteration(iteration_id)
        if not it.publish_name:
            raise CvError("BadRequestIterationNotPublished", f"Iteration '{it.name}' is not published.")
        it.publish_name = it.publish_resource_id = ""
        it.last_modified = utcnow()
    return "", 204


# -- Quick Test and stored predictions -------------------------------------------------------------
def predict_and_store(proj: Project, it: Iteration, checked, store: bool) -> StoredPrediction:
    """Predict one checked image with ``it``; with ``store`` keep it where QueryPredictions finds it."""
    pred = StoredPrediction(new_id(), proj.id, it.id, it.domain_id, utcnow(), proj.predict(it, checked), new_id())
    if store:
        proj.predictions.append(pred)
        proj.prediction_images[pred.image_id] = checked.data
    return pred


def _quick_test(project_id: str, data: bytes | None):
    checked = check_prediction_image(data, PREDICTION_IMAGE_BYTES)
    store = query_bool("store", True)
    now = utcnow()
    with sim().state.lock:
        proj = _project(project_id)
        it = _completed(proj, request.args.get("iterationId"), now)
        return jsonify(serialize.image_prediction(predict_and_store(proj, it, checked, store)))


@bp.post(f"{PREFIX}/projects/<project_id>/quicktest/image")
@operation("QuickTestImage")
def quick_test_image(account, project_id):
    ups = uploaded_images()
    return _quick_test(project_id, ups[0].data if ups else None)


@bp.post(f"{PREFIX}/projects/<project_id>/quicktest/url")
@operation("QuickTestImageUrl")
def quick_test_image_url(account, project_id):
    url = json_body().get("url") or ""
    data = fetch_url(url)
    if data is None:
        raise CvError("BadRequestImageUrl", f"The image at '{url}' could not be downloaded.")
    return _quick_test(project_id, data)


@bp.post(f"{PREFIX}/projects/<project_id>/predictions/query")
@operation("QueryPredictions")
def query_predictions(account, project_id):
    token = json_body()
    order = token.get("orderBy") or "Newest"
    if order not in ("Newest", "Oldest", "Suggested"):
        raise CvError("BadRequestPredictionInvalidQueryParameters", f"Unknown orderBy '{order}'.")
    tags = token.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(t, dict) for t in tags):
        raise CvError("BadRequestPredictionInvalidQueryParameters",
                      "'tags' must be a list of objects with id, minThreshold and maxThreshold.")
    if len(tags) > 20:
        raise CvError("BadRequestPredictionTagsExceededCount", "A query filters on at most 20 tags.")
    max_count = int(token.get("maxCount") or 50)
    if not 0 < max_count <= 256:
        raise CvError("BadRequestPredictionResultsExceededCount", "maxCount must be between 1 and 256.")
    try:
        offset = int(token.get("continuation") or 0)
    except ValueError:
        raise CvError("BadRequestPredictionInvalidQueryParameters", "The continuation token is not valid.") from None
    iteration_id = (token.get("iterationId") or "").lower()
    start, end = token.get("startTime"), token.get("endTime")
    with sim().state.lock:
        proj = _project(project_id)
        preds = [p for p in proj.predictions if not iteration_id or p.iteration_id == iteration_id]
        preds = [p for p in preds if _matches_tags(p, tags)]
        preds = [p for p in preds if _in_window(p, start, end)]
        preds.sort(key=lambda p: p.created, reverse=order != "Oldest")
        page = preds[offset:offset + max_count]
        more = offset + max_count < len(preds)
        base = sim().base_url
        results = [serialize.stored_prediction(p, base) for p in page]
    return jsonify({
        "token": {
            "session": token.get("session") or f"1:{len(preds)}",
            "continuation": str(offset + max_count) if more else "",
            "maxCount": max_count,
            "orderBy": order,
            "tags": [_query_tag(t) for t in tags],
            "iterationId": token.get("iterationId"),
            "startTime": start,
            "endTime": end,
            "application": token.get("application") or "",
        },
        "results": results,
    })


def _query_tag(tag: dict) -> dict:
    """A ``PredictionQueryTag`` of the request as the answer echoes it: in the swagger's spelling."""
    return {name: tag[name] for name in ("id", "minThreshold", "maxThreshold") if name in tag}


def _matches_tags(pred: StoredPrediction, tags: list[dict]) -> bool:
    probs: dict[str, float] = {}  # a detector may predict a tag several times: its best counts
    for p in pred.predictions:
        probs[p["tagId"]] = max(p["probability"], probs.get(p["tagId"], 0.0))
    for t in tags:
        p = probs.get(str(t.get("id", "")).lower())
        if p is None or not (float(t.get("minThreshold") or 0.0) <= p <= float(t.get("maxThreshold") or 1.0)):
            return False
    return True


def _in_window(pred: StoredPrediction, start: str | None, end: str | None) -> bool:
    when = pred.created.isoformat()
    return (not start or when >= _norm(start)) and (not end or when <= _norm(end))


def _norm(stamp: str) -> str:
    try:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00")).isoformat()
    except ValueError:
        raise CvError("BadRequestPredictionInvalidQueryParameters", f"'{stamp}' is not a date and time.") from None
