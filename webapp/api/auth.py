"""Bearer API keys: every /api/v1 route but the OpenAPI document and its docs page needs one.

Keys are for lab platforms (``labgrader api-key create NAME``). Only the ``Authorization: Bearer`` header
counts: no cookie or session opens the API, so a student's launch link cannot either.
"""

from __future__ import annotations

from flask import g, request

from ..models import ApiKey
from ..services import apikeys
from .errors import ApiError

CHALLENGE = 'Bearer realm="labgrader"'


def authenticate() -> None:
    """Set ``g.api_key`` from the request's bearer key; raises :class:`ApiError` 401 otherwise."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if not header:
        raise ApiError(401, "missing_api_key", "this API needs an API key: send 'Authorization: Bearer <key>' "
                       "(create one with `labgrader api-key create NAME`)", headers={"WWW-Authenticate": CHALLENGE})
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "invalid_api_key", "the Authorization header must be 'Bearer <key>'",
                       headers={"WWW-Authenticate": CHALLENGE + ', error="invalid_request"'})
    key = apikeys.verify(token.strip())
    if key is None:
        raise ApiError(401, "invalid_api_key", "this API key is not valid: it is unknown, mistyped or revoked",
                       headers={"WWW-Authenticate": CHALLENGE + ', error="invalid_token"'})
    g.api_key = key


def current_key() -> ApiKey:
    return g.api_key
