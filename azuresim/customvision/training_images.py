"""Training API: images (upload from data, files and URLs, with regions for object detection; counts;
listings; deletion).

A batch holds at most 64 images, and an image at most 64 regions (``ErrorRegionLimitExceed``). Each image
gets its own ``ImageCreateStatus``; the answer is 200 when every image is ``OK`` and 207 (Multi-Status)
otherwise, as the service does.
"""

from __future__ import annotations

import base64
import binascii

from flask import Blueprint, g, jsonify, request

from ..app import operation
from ..state import utcnow
from . import serialize
from .regions import require_detection, upload_regions
from .service import (
    TRAINING_PREFIX,
    Checked,
    Upload,
    check_image,
    cv_data,
    fetch_url,
    json_body,
    query_bool,
    query_int,
    query_list,
    sim,
    uploaded_images,
)
from .store import (
    BATCH_LIMIT,
    IMAGES_PER_PROJECT,
    REGIONS_PER_IMAGE,
    TAGS_PER_REQUEST,
    TRAINING_IMAGE_BYTES,
    CvError,
    Project,
    Region,
    StoredImage,
    new_id,
)

PREFIX = TRAINING_PREFIX
bp = Blueprint("images", __name__)


def _project(project_id: str) -> Project:
    return cv_data(g.cv_account).project(project_id)


Regions = list[tuple[str, tuple[float, float, float, float]]]  # (tag id, (left, top, width, height))


def _create(project_id: str, entries: list[tuple[Upload, list[str], Regions]]):
    """Check and store a batch; answer an ImageCreateSummary with 200 or 207."""
    if not entries:
        raise CvError("BadRequestImageBatch", "The batch holds no images.")
    if len(entries) > BATCH_LIMIT:
        raise CvError("BadRequestImageBatch",
                      f"The batch holds {len(entries)} images; a batch holds at most {BATCH_LIMIT}.")
    # Decode and featurise outside the lock: it is the slow part.
    checked = [(up, tags, regions, check_image(up.data, TRAINING_IMAGE_BYTES)) for up, tags, regions in entries]
    base = sim().base_url
    results = []
    with sim().state.lock:
        proj = _project(project_id)
        if any(regions for _up, _tags, regions, _result in checked):
            require_detection(proj)
        limit = IMAGES_PER_PROJECT.get(g.cv_account.sku.upper(), 100000)
        for up, tag_ids, regions, result in checked:
            status, image = _store_one(proj, tag_ids, regions, result, limit)
            entry = {"sourceUrl": up.source, "status": status}
            if image is not None:
                entry["image"] = serialize.image(proj, image, base)
            results.append(entry)
        proj.last_modified = utcnow()
    ok = all(r["status"] == "OK" for r in results)
    resp = jsonify({"isBatchSuccessful": ok, "images": results})
    resp.status_code = 200 if ok else 207
    return resp


def _store_one(proj: Project, tag_ids: list[str], regions: Regions, result: Checked | str, limit: int):
    if isinstance(result, str):
        return result, None
    if len(tag_ids) > TAGS_PER_REQUEST:
        return "ErrorTagLimitExceed", None
    if len(regions) > REGIONS_PER_IMAGE:
        return "ErrorRegionLimitExceed", None
    if any(t not in proj.tags for t in tag_ids) or any(t not in proj.tags for t, _box in regions):
        return "ErrorInvalidTag", None
    types = {proj.tags[t].type for t in tag_ids}
    if "Negative" in types and len(tag_ids) > 1:
        return "ErrorNegativeAndRegularTagOnSameImage", None
    if proj.multiclass and len(tag_ids) > 1:
        return "ErrorTagLimitExceed", None  # a multiclass project allows one tag per image
    existing = proj.digests.get(result.digest)
    if existing is not None:
        return "OKDuplicate", proj.images[existing]
    if len(proj.images) >= limit:
        return "ErrorLimitExceed", None
    now = utcnow()
    img = StoredImage(new_id(), result.data, result.digest, result.width, result.height, result.features,
                      {t: now for t in tag_ids}, now)
    for tag_id, (left, top, width, height) in regions:
        region = Region(new_id(), tag_id, left, top, width, height, now)
        if not any(region.same_place(r) for r in img.regions.values()):
            img.regions[region.id] = region
    proj.images[img.id] = img
    proj.digests[img.digest] = img.id
    return "OK", img


@bp.post(f"{PREFIX}/projects/<project_id>/images")
@operation("CreateImagesFromData")
def create_images_from_data(account, project_id):
    tag_ids = query_list("tagIds")
    return _create(project_id, [(up, tag_ids, []) for up in uploaded_images()])


@bp.post(f"{PREFIX}/projects/<project_id>/images/files")
@operation("CreateImagesFromFiles")
def create_images_from_files(account, project_id):
    body = json_body()
    common = [str(t).lower() for t in body.get("tagIds") or []]
    entries = []
    for k, item in enumerate(body.get("images") or []):
        try:
            data = base64.b64decode(item.get("contents") or "", validate=True)
        except (binascii.Error, ValueError):
            data = None
        tags = common + [str(t).lower() for t in item.get("tagIds") or [] if str(t).lower() not in common]
        regions = upload_regions(item.get("regions"), f"image {k + 1} ('{item.get('name') or ''}')")
        entries.append((Upload(item.get("name") or "", data), tags, regions))
    return _create(project_id, entries)


@bp.post(f"{PREFIX}/projects/<project_id>/images/urls")
@operation("CreateImagesFromUrls")
def create_images_from_urls(account, project_id):
    body = json_body()
    common = [str(t).lower() for t in body.get("tagIds") or []]
    entries = []
    for k, item in enumerate(body.get("images") or []):
        url = item.get("url") or ""
        tags = common + [str(t).lower() for t in item.get("tagIds") or [] if str(t).lower() not in common]
        regions = upload_regions(item.get("regions"), f"image {k + 1} ('{url}')")
        entries.append((Upload(url, fetch_url(url)), tags, regions))
    return _create(project_id, entries)


def _filtered(proj: Project, tagged: bool | None, tag_ids: list[str]) -> list[StoredImage]:
    imgs = list(proj.images.values())
    if tagged is True:
        imgs = [i for i in imgs if i.tagged]
    elif tagged is False:
        imgs = [i for i in imgs if not i.tagged]
    if tag_ids:
        imgs = [i for i in imgs if any(t in i.all_tag_ids() for t in tag_ids)]
    return imgs


@bp.get(f"{PREFIX}/projects/<project_id>/images/tagged/count")
@operation("GetTaggedImageCount")
def get_tagged_image_count(account, project_id):
    with sim().state.lock:
        proj = _project(project_id)
        if request.args.get("iterationId"):
            it = proj.iteration(request.args["iterationId"])
            if not query_list("tagIds"):
                return jsonify(it.image_count)
        return jsonify(len(_filtered(proj, True, query_list("tagIds"))))


@bp.get(f"{PREFIX}/projects/<project_id>/images/untagged/count")
@operation("GetUntaggedImageCount")
def get_untagged_image_count(account, project_id):
    with sim().state.lock:
        proj = _project(project_id)
        if request.args.get("iterationId"):
            proj.iteration(request.args["iterationId"])
        return jsonify(len(_filtered(proj, False, [])))


@bp.get(f"{PREFIX}/projects/<project_id>/images/count")
@operation("GetImageCount")
def get_image_count(account, project_id):
    status = (request.args.get("taggingStatus") or "All").lower()
    tagged = {"tagged": True, "untagged": False}.get(status)
    with sim().state.lock:
        return jsonify(len(_filtered(_project(project_id), tagged, query_list("tagIds"))))


def _page(project_id: str, tagged: bool | None):
    take = query_int("take", 50, 0, 256)
    skip = query_int("skip", 0, 0)
    newest = (request.args.get("orderBy") or "Newest").lower() != "oldest"
    with sim().state.lock:
        proj = _project(project_id)
        imgs = sorted(_filtered(proj, tagged, query_list("tagIds")), key=lambda i: i.created, reverse=newest)
        return jsonify([serialize.image(proj, i, sim().base_url) for i in imgs[skip:skip + take]])


@bp.get(f"{PREFIX}/projects/<project_id>/images")
@operation("GetImages")
def get_images(account, project_id):
    status = (request.args.get("taggingStatus") or "All").lower()
    return _page(project_id, {"tagged": True, "untagged": False}.get(status))


@bp.get(f"{PREFIX}/projects/<project_id>/images/tagged")
@operation("GetTaggedImages")
def get_tagged_images(account, project_id):
    return _page(project_id, True)


@bp.get(f"{PREFIX}/projects/<project_id>/images/untagged")
@operation("GetUntaggedImages")
def get_untagged_images(account, project_id):
    return _page(project_id, False)


@bp.get(f"{PREFIX}/projects/<project_id>/images/id")
@operation("GetImagesByIds")
def get_images_by_ids(account, project_id):
    ids = query_list("imageIds")
    if len(ids) > 256:
        raise CvError("BadRequestExceededBatchSize", f"The request names {len(ids)} images; at most 256 at a time.")
    with sim().state.lock:
        proj = _project(project_id)
        if request.args.get("iterationId"):
            proj.iteration(request.args["iterationId"])
        found = [proj.images[i] for i in ids if i in proj.images]  # ids not in the project are left out
        return jsonify([serialize.image(proj, img, sim().base_url) for img in found])


@bp.delete(f"{PREFIX}/projects/<project_id>/images")
@operation("DeleteImages")
def delete_images(account, project_id):
    ids = query_list("imageIds")
    everything = query_bool("allImages", False)
    if not ids and not everything:
        raise CvError("BadRequestInvalidIds", "Name the images to delete (imageIds) or set allImages=true.")
    with sim().state.lock:
        proj = _project(project_id)
        doomed = list(proj.images) if everything else [i for i in ids if i in proj.images]
        for image_id in doomed:
            img = proj.images.pop(image_id)
            proj.digests.pop(img.digest, None)
        proj.last_modified = utcnow()
    return "", 204
