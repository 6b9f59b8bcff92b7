"""Open URLs the simulator hands out: stored images, export packages and generated sample castings.

The real service gives blob-storage URLs with a SAS token; these need no key either. The samples
(``/cv/_samples/<defect|ok>/<n>.<jpg|png>``) are what a scripted student uploads by URL.
"""

from __future__ import annotations

import io
import zipfile

from flask import Blueprint, Response

from .. import images
from .service import find_blob

bp = Blueprint("blobs", __name__)


@bp.get("/cv/_samples/<any(defect, ok):kind>/<int:index>.<any(jpg, jpeg, png):ext>")
def sample(kind, index, ext):
    fmt = "PNG" if ext == "png" else "JPEG"
    data = images.casting_image(kind == "defect", index, fmt)
    return Response(data, mimetype="image/png" if fmt == "PNG" else "image/jpeg")


@bp.get("/cv/_blobs/<project_id>/<image_id>")
@bp.get("/cv/_blobs/<project_id>/predictions/<image_id>")
def blob(project_id, image_id):
    data = find_blob(project_id, image_id)
    if data is None:
        return Response("BlobNotFound", status=404, mimetype="text/plain")
    return Response(data, mimetype=f"image/{(images.magic_format(data) or 'jpeg').lower()}")


@bp.get("/cv/_blobs/exports/<iteration_id>/<name>.zip")
def export_package(iteration_id, name):
    # A stand-in package: enough for a download to succeed and be recognisably an export.
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("README.txt", f"azuresim export of iteration {iteration_id} ({name}); no real model inside.\n")
    return Response(out.getvalue(), mimetype="application/zip")
