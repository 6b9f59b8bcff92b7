"""Error bodies shaped like the real services' (see WIRE-FACTS.md, Errors)."""

from __future__ import annotations

from flask import Response, jsonify


def arm_error(status: int, code: str, message: str) -> Response:
    """ARM and the Cognitive Services gateway: ``{"error": {"code", "message"}}``."""
    resp = jsonify({"error": {"code": code, "message": message}})
    resp.status_code = status
    return resp


def cv_error(status: int, code: str, message: str) -> Response:
    """The Custom Vision service's own errors: ``{"code", "message"}`` at top level."""
    resp = jsonify({"code": code, "message": message})
    resp.status_code = status
    return resp


def gateway_error(status: int, message: str | None = None) -> Response:
    """What the API gateway in front of Custom Vision answers for 401/403/429 (code is the status)."""
    default = {
        401: "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a "
        "valid key for an active subscription and use a correct regional API endpoint for your resource.",
        403: "Out of call volume quota. Quota will be replenished shortly.",
        429: "Requests to the Custom Vision API have exceeded the call rate limit of your current pricing "
        "tier. Please retry after the time given in the Retry-After header.",
    }
    return arm_error(status, str(status), message or default.get(status, "Request failed."))


class ArmError(Exception):
    """Raised inside an ARM view to answer with ARM's error envelope (see :func:`arm_error`)."""

    def __init__(self, status: int, code: str, message: str, headers: dict | None = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message = status, code, message
        self.headers = headers or {}

    def response(self) -> Response:
        resp = arm_error(self.status, self.code, self.message)
        resp.headers.update(self.headers)
        return resp
