"""The API's Validate rate limit: the student pages' ``VALIDATE_RATE_LIMIT`` (Flask-Limiter, shared
through Redis when configured), counted per API key, attendee and step, answered in the API envelope.

Checked when the view is called, so after the blueprint's guard: the body's size and the key are
already checked, and the key's name is known.
"""

from __future__ import annotations

import math
import time

from flask import request
from flask_limiter import RequestLimit

from validator import UnknownStep
from validator.core import step_for

from ..security import limiter, validate_rate
from ..services import labs
from ..services.errors import NotFound
from .auth import current_key
from .errors import ApiError, error_response


def _step_key() -> str:
    """The step's id, whichever way the caller named it ("3.1" or the id), so both count as one."""
    view_args = request.view_args or {}
    body = request.get_json(silent=True)
    step = str(body.get("step", "")) if isinstance(body, dict) else ""
    try:
        return step_for(labs.pack(view_args.get("lab", "")), step).id
    except (NotFound, UnknownStep):
        return step  # the view answers 404; the count still applies to what was asked


def validate_key() -> str:
    view_args = request.view_args or {}
    return f"api-validate:{current_key().name}:{view_args.get('lab', '')}:{view_args.get('attendee', '')}:" \
           f"{_step_key()}"


def rate_limited(limit: RequestLimit):
    wait = max(1, math.ceil(limit.window[0] - time.time()))  # window[0]: when a request is allowed again
    attendee = (request.view_args or {}).get("attendee", "")
    return error_response(ApiError(
        429, "too_many_requests",
        f"attendee '{attendee}' was validated on this step too often ({validate_rate()} per attendee and step): "
        f"retry in {wait} seconds", headers={"Retry-After": str(wait)}))


validate_limit = limiter.limit(validate_rate, key_func=validate_key, on_breach=rate_limited)


def validate_many_key() -> str:
    view_args = request.view_args or {}
    return f"api-validate-many:{current_key().name}:{view_args.get('lab', '')}:{view_args.get('attendee', '')}"


# Validating several steps at once counts once per API key and attendee, apart from single steps.
validate_many_limit = limiter.limit(validate_rate, key_func=validate_many_key, on_breach=rate_limited)
