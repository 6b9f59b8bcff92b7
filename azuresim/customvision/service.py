"""What the Training and Prediction blueprints share: key checks, request parsing, image fetching.

Keys: the gateway in front of Custom Vision accepts the resource key in ``Training-Key`` (Prediction:
``Prediction-Key``) or the generic ``Ocp-Apim-Subscription-Key``; header names are case-insensitive. An
account with ``disableLocalAuth`` refuses keys (403 ``AuthenticationTypeDisabled``).

Microsoft Entra ID: ``Authorization: Bearer`` with a token issued for ``https://cognitiveservices.azure.com``
reaches an account on its custom subdomain (not on the shared regional endpoint), and each operation needs
its data action (``azuresim.rbac.DATA_ACTIONS``) from the caller's roles at the account's scope; otherwise
401 ``PermissionDenied``, as the Cognitive Services gateway answers.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

import numpy as np
from flask import abort, current_app, request
from werkzeug.sansio.multipart import Data, Epilogue, Field, File, MultipartDecoder, NeedData

from .. import images
from ..errors import arm_error, cv_error, gateway_error
from ..model import features
from ..rbac import DATA_ACTIONS
from ..state import COGNITIVE_AUDIENCE, REGIONAL_SUFFIX, Account
from .store import CvData, CvError

TRAINING_KIND = "CustomVision.Training"
# Where the Training API's routes live (v3.3 and v3.4-preview share every path).
TRAINING_PREFIX = "/cv/<account>/customvision/<any('v3.3', 'v3.4-preview'):api>/training"
PREDICTION_KIND = "CustomVision.Prediction"


def sim():
    return current_app.config["SIM"]


def authorize(host: str, kind: str, header: str) -> Account:
    """The account this endpoint (``host``: a custom subdomain, or ``<region>.api``) and key (or Entra ID
    token) reach; otherwise answer as the gateway does: 401 (also while the account is still being
    deployed), 403 for a key where keys are disabled."""
    key = request.headers.get(header) or request.headers.get("Ocp-Apim-Subscription-Key")
    bearer = _bearer()
    if bearer is not None and not key:
        return _authorize_token(host, kind, bearer)
    acct = sim().state.data_plane_account(host, key, kind)
    if acct is None:
        abort(gateway_error(401))
    if acct.disable_local_auth:
        abort(arm_error(403, "AuthenticationTypeDisabled", "Key based authentication is disabled for this resource."))
    return acct


def _bearer() -> str | None:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def _authorize_token(host: str, kind: str, value: str) -> Account:
    state = sim().state
    principal, tok = state.principal_for_token(value)
    if principal is None or tok is None or tok.expired() or not tok.for_audience(COGNITIVE_AUDIENCE):
        abort(gateway_error(401, "Access token is missing, invalid, audience is incorrect "
                                 f"({COGNITIVE_AUDIENCE}), or have expired."))
    if host.lower().endswith(REGIONAL_SUFFIX):
        abort(gateway_error(401, "Microsoft Entra ID authentication needs the resource's custom subdomain "
                                 "endpoint; the shared regional endpoint accepts keys only."))
    acct = state.subdomain_account(host)
    if acct is None or acct.kind != kind or not acct.serves_data_plane():
        abort(gateway_error(401))
    action = DATA_ACTIONS.get(_operation_id() or "")
    if action is None or not state.permitted(principal, action, acct.resource_id(), data=True):
        abort(arm_error(401, "PermissionDenied", "Principal does not have access to API/Operation."))
    return acct


def _operation_id() -> str | None:
    view = current_app.view_functions.get(request.endpoint or "")
    return getattr(view, "sim_operation", None)


def cv_data(acct: Account) -> CvData:
    """The account's Custom Vision data, created on first use (call with ``state.lock`` held)."""
    if acct.cv is None:
        acct.cv = CvData()
    return acct.cv


def mark_changed(response):
    """After a successful write, tell the persistence layer the world moved."""
    if request.method != "GET" and response.status_code < 400:
        sim().state.changed()
    return response


def handle_cv_error(exc: CvError):
    return cv_error(exc.status, exc.code, exc.message)


# -- query parameters ------------------------------------------------------------------------------
def query_bool(name: str, default: bool) -> bool:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in ("true", "false"):
        return raw.lower() == "true"
    raise CvError("BadRequestInvalid", f"The value '{raw}' is not valid for '{name}': use true or false.")


def query_int(name: str, default: int, lo: int | None = None, hi: int | None = None) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise CvError("BadRequestInvalid", f"The value '{raw}' is not valid for '{name}'.") from None
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise CvError("BadRequestInvalid", f"'{name}' must be between {lo} and {hi}.")
    return value


def query_list(name: str) -> list[str]:
    """A comma-separated query list (the SDK's encoding), lower-cased ids."""
    raw = request.args.get(name) or ""
    return [v.strip().lower() for v in raw.split(",") if v.strip()]


class JsonObject(dict):
    """A JSON object of a request body whose property names bind case-insensitively.

    The service's JSON binder matches ``"Url"``, ``"URL"`` and ``"url"`` to the same property (Microsoft's
    REST samples send ``{"Url": ...}``), so lookups here ignore case. Keys keep the caller's spelling; of
    names that differ only in case the last one wins, as in the binder. Built once from a parsed body and
    only read: answers never echo it, they spell every property the swagger way.
    """

    def __init__(self, pairs=()) -> None:
        folded: dict = {}
        for name, value in pairs:
            folded[_fold(name)] = (name, value)
        super().__init__(folded.values())
        self._names = {fold: name for fold, (name, _value) in folded.items()}

    def __getitem__(self, name):
        return super().__getitem__(self._names.get(_fold(name), name))

    def __contains__(self, name) -> bool:
        return _fold(name) in self._names

    def get(self, name, default=None):
        return super().get(self._names.get(_fold(name), name), default)


def _fold(name):
    return name.lower() if isinstance(name, str) else name


def json_body() -> JsonObject:
    """The request's JSON object with property names bound case-insensitively at every level; ``{}``
    when the body is not a JSON object (as before, a missing or malformed body reads as empty)."""
    if not request.is_json:
        return JsonObject()
    try:
        body = json.loads(request.get_data(cache=True), object_pairs_hook=JsonObject)
    except ValueError:
        return JsonObject()
    return body if isinstance(body, JsonObject) else JsonObject()


# -- images in requests ----------------------------------------------------------------------------
@dataclass
class Upload:
    """One image as received: where it came from (for ``sourceUrl``) and its bytes (None: unreadable)."""

    source: str
    data: bytes | None


def uploaded_images() -> list[Upload]:
    """Images of a multipart or octet-stream body. Every multipart part counts, with or without filename.

    Werkzeug would decode a part without a filename as text (the SDK sends BytesIO parts that way), so
    the body is split with the raw multipart decoder instead.
    """
    body = request.get_data(cache=True)
    if request.mimetype != "multipart/form-data":
        return [Upload('""', body)] if body else []
    boundary = request.mimetype_params.get("boundary")
    if not boundary:
        raise CvError("BadRequestImageStream", "The multipart body has no boundary.")
    decoder = MultipartDecoder(boundary.encode("latin-1"))
    decoder.receive_data(body)
    decoder.receive_data(None)
    parts: list[Upload] = []
    name, chunks = None, []
    while True:
        try:
            event = decoder.next_event()
        except ValueError as exc:
            raise CvError("BadRequestImageStream", f"The multipart body could not be read: {exc}") from None
        if isinstance(event, (Epilogue, NeedData)):
            break
        if isinstance(event, (Field, File)):
            name, chunks = getattr(event, "filename", None) or "", []
        elif isinstance(event, Data):
            chunks.append(event.data)
            if not event.more_data:
                parts.append(Upload(f'"{name}"', b"".join(chunks)))
    return parts


_SAMPLE_RE = re.compile(r"^/cv/_samples/(defect|ok)/(\d+)\.(jpg|jpeg|png)$")
_BLOB_RE = re.compile(r"^/cv/_blobs/([0-9a-fA-F-]{36})/(?:predictions/)?([0-9a-fA-F-]{36})$")


def fetch_url(url: str) -> bytes | None:
    """Bytes behind an image URL the simulator can reach: a ``data:`` URL or one azuresim serves."""
    if url.startswith("data:"):
        head, _, payload = url.partition(",")
        try:
            return base64.b64decode(payload, validate=True) if head.endswith(";base64") else payload.encode()
        except (binascii.Error, ValueError):
            return None
    parts = urlsplit(url)
    if parts.scheme != "https" or parts.port != sim().port or parts.hostname not in ("127.0.0.1", "localhost"):
        return None  # the simulator has no internet: only its own URLs resolve
    m = _SAMPLE_RE.match(parts.path)
    if m:
        fmt = "PNG" if m.group(3) == "png" else "JPEG"
        return images.casting_image(m.group(1) == "defect", int(m.group(2)), fmt)
    m = _BLOB_RE.match(parts.path)
    if m:
        return find_blob(m.group(1), m.group(2))
    return None


def find_blob(project_id: str, image_id: str) -> bytes | None:
    """A stored training or prediction image of any account, by project and image id."""
    state = sim().state
    with state.lock:
        for acct in state.accounts.values():
            proj = acct.cv.projects.get(project_id.lower()) if acct.cv else None
            if proj is None:
                continue
            if image_id == "thumbnail":
                first = next(iter(proj.images.values()), None)
                return first.data if first else None
            img = proj.images.get(image_id.lower())
            if img is not None:
                return img.data
            return proj.prediction_images.get(image_id.lower())
    return None


@dataclass
class Checked:
    """An image that passed the format checks: its bytes, digest, size and model features."""

    data: bytes
    digest: str
    width: int
    height: int
    features: np.ndarray


def check_image(data: bytes | None, max_bytes: int) -> Checked | str:
    """The checked image, or the ``ImageCreateStatus`` that refuses it."""
    if not data:
        return "ErrorSource"
    if images.magic_format(data) is None:
        return "ErrorImageFormat"
    if len(data) > max_bytes:
        return "ErrorImageSize"
    size = images.image_size(data)
    if size is None:
        return "ErrorImageFormat"
    if max(size) > 10240:
        return "ErrorImageDimensions"
    try:
        feats = features(data)
    except ValueError:
        return "ErrorImageFormat"
    return Checked(data, hashlib.sha256(data).hexdigest(), size[0], size[1], feats)


def check_prediction_image(data: bytes | None, max_bytes: int) -> Checked:
    """The checked image of a Quick Test or prediction call; refusals raise the matching CvError."""
    result = check_image(data, max_bytes)
    if isinstance(result, Checked):
        return result
    if result == "ErrorSource":
        raise CvError("BadRequestImageStream", "The request holds no image data.")
    if result == "ErrorImageSize":
        raise CvError("BadRequestImageSizeBytes", f"The image is larger than {max_bytes // (1024 * 1024)} MB.")
    if result == "ErrorImageDimensions":
        raise CvError("BadRequestImageDimensions", "The image is larger than 10240 pixels on a side.")
    raise CvError("BadRequestImageFormat", "The image is not a JPEG, PNG, BMP or GIF file.")
