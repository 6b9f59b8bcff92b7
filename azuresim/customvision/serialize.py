"""Wire shapes (swagger definitions, camelCase) of the Custom Vision objects in ``store``.

``base`` is the simulator's base URL, used for image and download URIs (the real service hands out
blob-storage URLs; here the simulator serves them under ``/cv/_blobs/``). ``api`` is the Training API
version of the request: v3.3 answers leave out what only v3.4-preview declares (fields and the OpenVino
platform). A field the spec marks ``x-nullable: false`` is left out when it has no value, never null.
"""

from __future__ import annotations

from datetime import datetime

from ..images import Box
from ..state import iso
from .domains import V33, platforms
from .store import Export, Iteration, Project, Region, StoredImage, StoredPrediction, Tag

# Domain fields only v3.4-preview declares.
_V34_DOMAIN_FIELDS = ("exportablePlatforms", "modelInformation")


def domain(dom: dict, api: str) -> dict:
    return {k: v for k, v in dom.items() if api != V33 or k not in _V34_DOMAIN_FIELDS}


def project(p: Project, base: str, api: str) -> dict:
    known = platforms(api)
    settings = {
        "domainId": p.domain_id,
        "classificationType": p.classification_type,
        "targetExportPlatforms": [t for t in p.target_export_platforms if t in known],
        "useNegativeSet": True,
        # detectionParameters (x-nullable: false) is left out: the simulator sets none.
        "imageProcessingSettings": {"augmentationMethods": {}},
    }
    if api != V33:
        settings |= {"exportModelContainerUri": None, "notificationQueueUri": None}
    return {
        "id": p.id,
        "name": p.name,
        "description": p.description,
        "settings": settings,
        "created": iso(p.created),
        "lastModified": iso(p.last_modified),
        "thumbnailUri": f"{base}/cv/_blobs/{p.id}/thumbnail" if p.images else None,
        "drModeEnabled": False,
        "status": "Succeeded",
    }


def tag(p: Project, t: Tag, count: int | None = None) -> dict:
    return {
        "id": t.id,
        "name": t.name,
        "description": t.description,
        "type": t.type,
        "imageCount": p.tag_image_count(t.id) if count is None else count,
    }


def image(p: Project, img: StoredImage, base: str) -> dict:
    uri = f"{base}/cv/_blobs/{p.id}/{img.id}"
    return {
        "id": img.id,
        "created": iso(img.created),
        "width": img.width,
        "height": img.height,
        "resizedImageUri": uri,
        "thumbnailUri": uri,
        "originalImageUri": uri,
        "tags": [_image_tag(p, tid, when) for tid, when in img.all_tag_ids().items()],
        "regions": [region(p, r) for r in img.regions.values()] or None,
        "metadata": None,
    }


def region(p: Project, r: Region, image_id: str | None = None) -> dict:
    """An ImageRegion; with ``image_id``, the ImageRegionCreateResult that CreateImageRegions answers."""
    out = {"imageId": image_id} if image_id else {}
    out["regionId"] = r.id
    if r.tag_id in p.tags:  # tagName is x-nullable: false
        out["tagName"] = p.tags[r.tag_id].name
    return out | {"created": iso(r.created), "tagId": r.tag_id, "left": r.left, "top": r.top,
                  "width": r.width, "height": r.height}


def region_entry(image_id: str, r: Region) -> dict:
    """The ImageRegionCreateEntry a request sent (as a duplicated or exceeded entry is echoed)."""
    return {"imageId": image_id, "tagId": r.tag_id, "left": r.left, "top": r.top, "width": r.width,
            "height": r.height}


def bounding_box(box: Box) -> dict:
    return {"left": box.left, "top": box.top, "width": box.width, "height": box.height}


def _image_tag(p: Project, tag_id: str, when: datetime) -> dict:
    out = {"tagId": tag_id, "created": iso(when)}
    if tag_id in p.tags:  # tagName is x-nullable: false, so a name the project lost is left out
        out["tagName"] = p.tags[tag_id].name
    return out


def iteration(p: Project, it: Iteration, now: datetime, api: str) -> dict:
    status = it.status(now)
    exportable_to = [t for t in it.exportable_to(p.target_export_platforms) if t in platforms(api)]
    out = {
        "id": it.id,
        "name": it.name,
        "status": status,
        "created": iso(it.created),
        "lastModified": iso(max(it.last_modified, it.finishes_at) if status != "Training" else it.last_modified),
        "trainedAt": iso(it.finishes_at) if status != "Training" else None,
        "projectId": it.project_id,
        "exportable": bool(exportable_to) and status == "Completed",
        "exportableTo": exportable_to,
        "domainId": it.domain_id,
        "classificationType": it.classification_type,
        "trainingType": it.training_type,
        "reservedBudgetInHours": it.reserved_budget_in_hours,
        "trainingTimeInMinutes": 1 if status != "Training" else 0,
        "publishName": it.publish_name,
        "originalPublishResourceId": it.original_publish_resource_id,
    }
    if api != V33:
        out |= {"customBaseModelInfo": None,
                "trainingErrorDetails": it.fail_reason if status == "Failed" else None}
    return out


def export(it: Iteration, e: Export, base: str, now: datetime) -> dict:
    status = e.status(now)
    suffix = f"-{e.flavor}" if e.flavor else ""
    return {
        "platform": e.platform,
        "status": status,
        "downloadUri": f"{base}/cv/_blobs/exports/{it.id}/{e.platform}{suffix}.zip" if status == "Done" else "",
        "flavor": e.flavor,
        "newerVersionAvailable": False,
    }


def image_prediction(pred: StoredPrediction) -> dict:
    return {
        "id": pred.id,
        "project": pred.project_id,
        "iteration": pred.iteration_id,
        "created": iso(pred.created),
        "predictions": pred.predictions,
    }


def stored_prediction(pred: StoredPrediction, base: str) -> dict:
    uri = f"{base}/cv/_blobs/{pred.project_id}/predictions/{pred.image_id}"
    return {
        "resizedImageUri": uri,
        "thumbnailUri": uri,
        "originalImageUri": uri,
        "domain": pred.domain_id,
        **image_prediction(pred),
    }
