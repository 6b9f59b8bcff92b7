"""The API's one blueprint, ``api`` (the name the CSRF exemption in :mod:`webapp.security` knows): bearer
auth, JSON-only bodies of bounded size, and webargs errors turned into the envelope with the field named.
Route modules (:mod:`.labs`, :mod:`.attendees`) add their routes to :data:`bp`, tagged for the document."""

from __future__ import annotations

import json
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

import flask_smorest
from flask import request
from marshmallow import ValidationError
from webargs.core import missing, parse_json
from webargs.flaskparser import FlaskParser, is_json_request

from . import auth, errors
from .errors import ApiError

MAX_BODY = 64 * 1024  # an attendee with every inject is a few KiB


def _first_error(messages: Any, path: tuple[str, ...] = ()) -> tuple[str | None, str]:
    """(dotted field, message) of the first leaf of marshmallow's nested error dict."""
    if isinstance(messages, dict):
        key, value = next(iter(messages.items()))
        return _first_error(value, path + (str(key),))
    if isinstance(messages, list) and messages:
        return _first_error(messages[0], path)
    fields = [p for p in path if p not in ("json", "query", "querystring", "_schema", "value", "key")]
    return (".".join(fields) or None), str(messages)


def _too_large(size: int | str) -> ApiError:
    return ApiError(413, "body_too_large", f"the request body is {size} bytes; at most {MAX_BODY - 1} are accepted")


class Parser(FlaskParser):
    DEFAULT_VALIDATION_STATUS = 400

    def _raw_load_json(self, req: Any) -> Any:
        if not is_json_request(req):
            return missing
        data = req.get_data(cache=True)
        # werkzeug stops a length-less (chunked) body at the limit without raising: a full one was cut.
        if len(data) >= MAX_BODY:
            raise _too_large(f"at least {len(data)}")
        try:
            return parse_json(data)
        except RecursionError:
            raise ApiError(400, "malformed_json", "the request body is not accepted: its JSON is nested too "
                           "deeply") from None
        except ValueError as exc:
            if isinstance(exc, json.JSONDecodeError):
                raise  # webargs says where the JSON is broken (_handle_invalid_json_error)
            # Python refuses to read integers of thousands of digits: no field of this API takes one.
            raise ApiError(400, "malformed_json", "the request body is not accepted: it holds a number with "
                           "too many digits") from None

    def _handle_invalid_json_error(self, error: Exception, req: Any, *args: Any, **kwargs: Any):
        raise ApiError(400, "malformed_json", f"the request body is not valid JSON ({error})")

    def handle_error(self, error: ValidationError, req: Any, schema: Any, *, error_status_code: Any,
                     error_headers: Any):
        field, message = _first_error(error.messages)
        if field is None and "Invalid input type" in message:
            raise ApiError(400, "invalid_input", "the request body must be a JSON object")
        if message == "Unknown field.":
            message = "is not a field of this request (see the OpenAPI document)"
        elif message == "Missing data for required field.":
            message = "is required"
        raise ApiError(400, "invalid_input", f"{field}: {message}" if field else message, field=field)


class ApiBlueprint(flask_smorest.Blueprint):
    """A flask-smorest blueprint whose every route needs an API key and speaks JSON only."""

    ARGUMENTS_PARSER = Parser()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.before_request(_guard)
        errors.register_on_blueprint(self)

    def errors(self, *codes: int) -> Callable:
        """Document the error answers a route can give (each in the envelope, ``ErrorSchema``)."""

        def decorate(func: Callable) -> Callable:
            for code in codes:
                func = self.alt_response(code, response=HTTPStatus(code).name)(func)
            return func

        return decorate


def _guard() -> None:
    # Size first: refused before anything is read. Then the key, so no one learns more without one.
    if request.content_length is not None and request.content_length >= MAX_BODY:
        raise _too_large(request.content_length)
    request.max_content_length = MAX_BODY  # bodies sent without a length stop at the limit too
    auth.authenticate()
    if request.method in ("POST", "PUT", "PATCH") and not request.is_json:
        shown = request.mimetype or "none"
        raise ApiError(415, "unsupported_media_type", f"send the body as JSON with 'Content-Type: "
                       f"application/json' (got {shown})")


bp = ApiBlueprint("api", __name__, description="labgrader's platform API.")
