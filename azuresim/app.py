"""The simulator's WSGI app: one Flask app serving Entra ID, ARM, Custom Vision and the admin API.

Every Azure-facing view is tagged with the swagger operationId it implements (``@operation``), so fault
rules and call logs can name it. ARM matches paths case-insensitively; a middleware canonicalises the
fixed path segments before routing, as ARM itself does.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from flask import Flask, Response, current_app, g, request

from .errors import ArmError, arm_error, gateway_error

# Fixed ARM path segments, lower-cased -> canonical spelling used by the routes.
_ARM_SEGMENTS = {
    "subscriptions": "subscriptions",
    "resourcegroups": "resourceGroups",
    "providers": "providers",
    "microsoft.cognitiveservices": "Microsoft.CognitiveServices",
    "accounts": "accounts",
    "listkeys": "listKeys",
    "regeneratekey": "regenerateKey",
    "skus": "skus",
    "locations": "locations",
    "deletedaccounts": "deletedAccounts",
    "operationresults": "operationResults",
    "operationstatuses": "operationStatuses",
    "checkdomainavailability": "checkDomainAvailability",
    "checkskuavailability": "checkSkuAvailability",
    "usages": "usages",
    "resources": "resources",
}
_SEGMENT_RE = re.compile(r"[^/]+")


class ResetConnection(Exception):
    """Raised by a fault to drop the TCP connection without an answer (RST)."""


def operation(op_id: str) -> Callable:
    """Tag a view with the operationId it implements."""

    def deco(view: Callable) -> Callable:
        view.sim_operation = op_id
        return view

    return deco


class _CaseInsensitiveArm:
    """WSGI middleware: canonicalise ARM's fixed path segments (ARM paths are case-insensitive)."""

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path[:15].lower() == "/subscriptions/":
            environ["PATH_INFO"] = _SEGMENT_RE.sub(
                lambda m: _ARM_SEGMENTS.get(m.group(0).lower(), m.group(0)), path
            )
        return self.wsgi_app(environ, start_response)


def current_operation() -> tuple[str | None, str | None]:
    """(operationId, account name) of the request being served, if the view is an Azure operation."""
    view = current_app.view_functions.get(request.endpoint or "")
    op = getattr(view, "sim_operation", None)
    args = request.view_args or {}
    account = args.get("account_name")
    host = args.get("account")  # a data-plane endpoint's host label: a custom subdomain or '<region>.api'
    if host is not None:
        state = current_app.config["SIM"].state
        key = next((v for k, v in request.headers.items()
                    if k.lower() in ("training-key", "prediction-key", "ocp-apim-subscription-key")), None)
        reached = (state.data_plane_account(host, key, "CustomVision.Training")
                   or state.data_plane_account(host, key, "CustomVision.Prediction")
                   or (None if key else state.subdomain_account(host)))  # an Entra ID caller
        account = reached.name if reached else host
    return op, account


def _apply_faults() -> Response | None:
    op, account = current_operation()
    if op is None:
        return None
    g.sim_operation = op
    sim = current_app.config["SIM"]
    sim.record_call(op, account)
    rules = sim.faults.take(op, account)
    if rules and request.content_length:
        # Werkzeug drains an unread body after answering, blocking until the client closes; read it now.
        request.get_data()
    for rule in rules:
        delay = rule.delay_seconds()
        if delay:
            time.sleep(delay)
        if rule.revoke_keys and account:
            sim.state.revoke_keys(account)
        if rule.hang:
            # Hold the request until the client gives up or the simulator stops.
            sim.stopping.wait(sim.hang_seconds)
            raise ResetConnection()
        if rule.reset:
            raise ResetConnection()
        if rule.fail_training:
            g.sim_fail_training = True
        if rule.fail_provisioning:
            g.sim_fail_provisioning = True
        if rule.status:
            resp = _fault_response(op, rule.status, rule.message)
            if rule.retry_after is not None:
                resp.headers["Retry-After"] = _retry_after_value(rule.retry_after)
            return resp
    return None


def _retry_after_value(seconds: float) -> str:
    return str(int(seconds)) if float(seconds).is_integer() else str(seconds)


def _fault_response(op: str, status: int, message: str | None) -> Response:
    if op == "token":
        from .entra import token_error

        return token_error(status, "temporarily_unavailable", message or "AADSTS50196: The server is busy.")
    if request.path.startswith("/subscriptions/"):
        codes = {429: "TooManyRequests", 500: "InternalServerError", 503: "ServiceUnavailable"}
        return arm_error(status, codes.get(status, f"Http{status}"), message or "Simulated failure.")
    if status in (401, 403, 429):
        return gateway_error(status, message)
    codes = {500: "InternalServerError", 503: "ServiceUnavailable"}
    from .errors import cv_error

    return cv_error(status, codes.get(status, "Unknown"), message or "An unexpected error occurred.")


def _dropped_connection(_exc: ResetConnection) -> Response:
    """Answer nothing: mark the connection for an RST and break off before a byte is written."""
    handler = request.environ.get("azuresim.handler")
    if handler is not None:
        handler.abort_connection()

    def body():
        raise ConnectionResetError("azuresim fault: connection reset")
        yield b""  # pragma: no cover - makes this a generator

    return Response(body())


def create_sim_app(sim) -> Flask:
    """Build the Flask app for a running :class:`azuresim.server.Simulator`."""
    app = Flask("azuresim")
    app.config["SIM"] = sim
    app.json.sort_keys = False
    app.url_map.strict_slashes = False
    # Time passes between requests: finish provisioning, deletes and purges that are due.
    app.before_request(lambda: sim.state.settle())
    app.before_request(_apply_faults)
    app.register_error_handler(ResetConnection, _dropped_connection)
    # ARM's views (arm, arm_meta) raise ArmError anywhere; one handler answers in ARM's envelope.
    app.register_error_handler(ArmError, ArmError.response)

    from .admin import bp as admin_bp
    from .arm import bp as arm_bp
    from .arm_meta import bp as arm_meta_bp
    from .customvision.prediction import bp as prediction_bp
    from .customvision.training import bp as training_bp
    from .entra import bp as entra_bp
    from .generic_arm import bp as generic_bp

    # Generic resources' routes are variable where the others are fixed: Werkzeug matches fixed segments
    # first, so Microsoft.CognitiveServices keeps its own views.
    for bp in (admin_bp, arm_bp, arm_meta_bp, training_bp, prediction_bp, entra_bp, generic_bp):
        app.register_blueprint(bp)

    @app.errorhandler(404)
    def _not_found(_exc):
        from .arm_meta import is_arm_path, not_found

        if is_arm_path(request.path):
            return not_found()  # authenticates first, then ARM's routing errors
        from .errors import cv_error

        return cv_error(404, "NotFound", "Resource not found.")

    @app.errorhandler(405)
    def _method_not_allowed(_exc):
        from .arm_meta import is_arm_path, method_not_allowed

        if is_arm_path(request.path):
            return method_not_allowed()
        return arm_error(405, "MethodNotAllowed", f"The method {request.method} is not allowed here.")

    app.wsgi_app = _CaseInsensitiveArm(app.wsgi_app)
    return app
