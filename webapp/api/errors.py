"""The API's one error envelope and the handlers that put every error under /api/v1 into it.

``{"error": {"status": 404, "code": "not_found", "message": "...", "field": "step"}}``: ``field`` (dotted,
``azure.subscription_id``) names the input at fault and is ``null`` when no single field is.

Status codes: 400 the body is not JSON, not an object, or a field is missing or of the wrong type;
401 no or wrong API key; 404 unknown lab, attendee, class or step; 405; 409 a concurrent write;
413 body too large; 415 not ``application/json``; 422 well-formed input whose value labgrader cannot
accept (an external id with spaces, inconsistent credentials); 429 with ``Retry-After``; 500 with no
internals.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from flask import Blueprint, Flask, jsonify, request
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException, default_exceptions
from werkzeug.routing import RequestRedirect

from validator import UnknownStep

from ..extensions import db
from ..services.errors import InvalidInput, NoPublicAddress, NotFound

log = logging.getLogger(__name__)

PREFIX = "/api/v1"
# The services' names for what the API calls otherwise.
FIELD_NAMES = {"cohort": "class", "external_id": "attendee"}


class ApiError(Exception):
    """An error answer: HTTP ``status``, a stable ``code``, a sentence, and the field at fault."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field
        self.headers = dict(headers or {})


def error_response(error: ApiError):
    body = {"error": {"status": error.status, "code": error.code, "message": error.message, "field": error.field}}
    response = jsonify(body)
    response.status_code = error.status
    response.headers.update(error.headers)
    return response


def _code(name: str) -> str:
    """'Method Not Allowed' -> 'method_not_allowed'."""
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def from_http(exc: HTTPException) -> ApiError:
    """A werkzeug/library HTTP error as an ApiError (its generic description never holds internals)."""
    status = exc.code or 500
    headers: dict[str, str] = {}
    if status == 405 and getattr(exc, "valid_methods", None):
        headers["Allow"] = ", ".join(exc.valid_methods)
    if status == 429:
        retry_after = getattr(exc, "retry_after", None)
        headers["Retry-After"] = str(int(retry_after)) if isinstance(retry_after, int | float) else "60"
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="labgrader"'
    messages = {
        404: f"there is nothing at {request.method} {request.path}: see {PREFIX}/docs for the routes",
        405: f"{request.method} is not allowed on {request.path} (allowed: {headers.get('Allow', 'none')})",
        413: "the request body is too large",
    }
    message = messages.get(status) or (exc.description or exc.name).strip()
    return ApiError(status, _code(exc.name), message, headers=headers)


def to_api_error(exc: BaseException) -> ApiError:
    """Any exception raised while answering an API request, as the error the caller sees."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, UnknownStep):
        return ApiError(404, "not_found", str(exc), field="step")
    if isinstance(exc, NotFound):
        return ApiError(404, "not_found", str(exc).strip("'\""))
    if isinstance(exc, InvalidInput):
        field = FIELD_NAMES.get(exc.field, exc.field)
        return ApiError(422, "invalid_value", f"{field}: {exc.message}", field=field)
    if isinstance(exc, NoPublicAddress):
        log.error("%s (request Host: %r)", exc, request.host)
        return ApiError(500, "base_url_not_configured", str(exc))
    if isinstance(exc, HTTPException):
        return from_http(exc)
    if isinstance(exc, IntegrityError):
        db.session.rollback()
        return ApiError(409, "conflict", "another request changed the same record at the same time: retry")
    db.session.rollback()
    log.exception("API request %s %s failed", request.method, request.path)
    return ApiError(500, "internal_error", "labgrader failed to answer this request; the error is logged. "
                    "Retry later, and report it if it persists.")


def handle(exc: BaseException):
    if isinstance(exc, HTTPException) and exc.response is not None:
        # Already answered by whoever raised it (the Validate limit's envelope, from :mod:`.limits`).
        return exc.response
    return error_response(to_api_error(exc))


def register_on_blueprint(bp: Blueprint) -> None:
    """Errors raised in the API's views. Registered per status code too: Flask prefers any code-specific
    handler (an app-wide HTML 404 page, say) over a class handler, and a blueprint's over the app's."""
    for code in default_exceptions:
        bp.register_error_handler(code, handle)
    bp.register_error_handler(HTTPException, handle)
    bp.register_error_handler(Exception, handle)


def is_api_request() -> bool:
    return request.path == PREFIX or request.path.startswith(PREFIX + "/")


def register_on_app(app: Flask) -> None:
    """Errors outside the API's views but under /api/v1: routing (404/405), other features' app-wide
    checks (CSRF, rate limits) and the OpenAPI routes. Other paths are answered as if we were not here."""

    def routing_errors() -> Any:
        exc = request.routing_exception
        if is_api_request() and exc is not None and not isinstance(exc, RequestRedirect):
            return handle(exc)
        return None

    # First of all before-request functions: an unknown API route is not a browser page to CSRF-check.
    app.before_request_funcs.setdefault(None, []).insert(0, routing_errors)

    def http_errors(exc: HTTPException) -> Any:
        return handle(exc) if is_api_request() else exc

    app.register_error_handler(HTTPException, http_errors)
