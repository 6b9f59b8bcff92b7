"""Training API: image regions (create, delete, proposals) and the regions that come with uploads.

A region is a tagged box on an image of an object-detection project, in fractions of the image's width
and height. A request creates at most 64 regions, and an image holds at most 64: entries beyond that are
answered as ``exceeded``, entries repeating a region the image has (same tag, same box) as ``duplicated``,
and then the answer is 207 (Multi-Status) instead of 200, as the service does.
"""

from __future__ import annotations

import math

from flask import Blueprint, g, jsonify

from ..app import operation
from ..state import utcnow
from . import detector, serialize
from .service import TRAINING_PREFIX as PREFIX
from .service import cv_data, json_body, query_list, sim
from .store import BATCH_LIMIT, REGIONS_PER_IMAGE, CvError, Project, Region, new_id

bp = Blueprint("regions", __name__)
_EDGE = 1e-3  # rounding slack at the image's right and bottom edges


def _project(project_id: str) -> Project:
    return cv_data(g.cv_account).project(project_id)


def require_detection(proj: Project) -> None:
    """Regions belong to object-detection projects; a classification project refuses them."""
    if not proj.detection:
        raise CvError("BadRequestImageRegions",
                      f"Project '{proj.name}' is a classification project: regions can only be added to images "
                      "of an object detection project.")


def parse_box(entry: dict, where: str) -> tuple[float, float, float, float]:
    """(left, top, width, height) of a region entry; CvError BadRequestImageRegions when it is not a box
    inside the image."""
    values = []
    for name in ("left", "top", "width", "height"):
        v = entry.get(name)
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            raise CvError("BadRequestImageRegions", f"{where} needs a number for '{name}'.")
        values.append(float(v))
    left, top, width, height = values
    if left < 0 or top < 0 or width <= 0 or height <= 0 or left + width > 1 + _EDGE or top + height > 1 + _EDGE:
        raise CvError("BadRequestImageRegions",
                      f"{where} is not inside the image: left, top, width and height are fractions of the image "
                      "(0 to 1), with width and height above 0 and left + width and top + height at most 1.")
    return left, top, min(width, 1 - left), min(height, 1 - top)


def upload_regions(items: list, where: str) -> list[tuple[str, tuple[float, float, float, float]]]:
    """The ``regions`` of an ImageFileCreateEntry or ImageUrlCreateEntry as (tag id, box)."""
    if items is None:
        return []
    if not isinstance(items, list) or not all(isinstance(r, dict) for r in items):
        raise CvError("BadRequestImageRegions", f"'regions' of {where} must be a list of regions.")
    return [(str(r.get("tagId") or "").lower(), parse_box(r, f"Region {k + 1} of {where}"))
            for k, r in enumerate(items)]


@bp.post(f"{PREFIX}/projects/<project_id>/images/regions")
@operation("CreateImageRegions")
def create_image_regions(account, project_id):
    entries = json_body().get("regions")
    if not isinstance(entries, list) or not entries:
        raise CvError("BadRequestImageRegions", "The batch holds no regions: send {\"regions\": [...]}.")
    if len(entries) > BATCH_LIMIT:
        raise CvError("BadRequestExceededBatchSize",
                      f"The batch holds {len(entries)} regions; a batch holds at most {BATCH_LIMIT}.")
    parsed = []
    for k, e in enumerate(entries):
        if not isinstance(e, dict):
            raise CvError("BadRequestImageRegions", f"Region {k + 1} of the batch is not an object.")
        parsed.append((str(e.get("imageId") or "").lower(), str(e.get("tagId") or "").lower(),
                       parse_box(e, f"Region {k + 1} of the batch")))
    created, duplicated, exceeded = [], [], []
    with sim().state.lock:
        proj = _project(project_id)
        require_detection(proj)
        for image_id, tag_id, _box in parsed:  # check everything before changing anything
            if image_id not in proj.images:
                raise CvError("NotFoundImage", f"Image {image_id or '(none)'} not found in project {proj.id}.")
            proj.tag(tag_id)
        now = utcnow()
        for image_id, tag_id, (left, top, width, height) in parsed:
            img = proj.images[image_id]
            region = Region(new_id(), tag_id, left, top, width, height, now)
            entry = serialize.region_entry(image_id, region)
            if any(region.same_place(r) for r in img.regions.values()):
                duplicated.append(entry)
            elif len(img.regions) >= REGIONS_PER_IMAGE:
                exceeded.append(entry)
            else:
                img.regions[region.id] = region
                created.append(serialize.region(proj, region, image_id))
        proj.last_modified = now
    resp = jsonify({"created": created, "duplicated": duplicated, "exceeded": exceeded})
    resp.status_code = 200 if not duplicated and not exceeded else 207
    return resp


@bp.delete(f"{PREFIX}/projects/<project_id>/images/regions")
@operation("DeleteImageRegions")
def delete_image_regions(account, project_id):
    ids = query_list("regionIds")  # none is allowed (minItems 0) and deletes nothing
    if len(ids) > BATCH_LIMIT:
        raise CvError("BadRequestExceededBatchSize",
                      f"The request names {len(ids)} regions; delete at most {BATCH_LIMIT} at a time.")
    with sim().state.lock:
        proj = _project(project_id)
        for img in proj.images.values():
            for region_id in ids:
                img.regions.pop(region_id, None)
        proj.last_modified = utcnow()
    return "", 204


@bp.post(f"{PREFIX}/projects/<project_id>/images/<image_id>/regionproposals")
@operation("GetImageRegionProposals")
def get_image_region_proposals(account, project_id, image_id):
    with sim().state.lock:
        proj = _project(project_id)
        img = proj.images.get(image_id.lower())
        if img is None:
            raise CvError("NotFoundImage", f"Image {image_id} not found in project {proj.id}.")
        data = img.data
    try:
        found = detector.proposals(detector.gray(data))
    except ValueError:
        raise CvError("ErrorRegionProposal", "The image could not be read for region proposals.") from None
    return jsonify({
        "projectId": proj.id,
        "imageId": img.id,
        "proposals": [{"confidence": conf, "boundingBox": serialize.bounding_box(box)} for conf, box in found],
    })
