"""The platform API, ``/api/v1``: lab platforms create attendees, run validations and read progress.

Built with flask-smorest: the marshmallow schemas in :mod:`.schemas` parse requests, shape responses and
generate the OpenAPI 3.1 document at ``/api/v1/openapi.json``; ``/api/v1/docs`` shows it with the vendored
Swagger UI. Every route but those two needs ``Authorization: Bearer <key>`` (:mod:`.auth`); every error
is one JSON envelope (:mod:`.errors`). ``POST .../validations`` is rate limited (:mod:`.limits`):
``VALIDATE_RATE_LIMIT`` per API key, attendee and step, answered 429 with ``Retry-After``.

``create_app`` calls :func:`init_app`; there is deliberately no module-level ``bp`` here, because
flask-smorest registers the blueprint itself (so its routes appear in the document).
"""

from __future__ import annotations

from flask import Blueprint, Flask, make_response, render_template, url_for
from flask_smorest import Api

from . import attendees, autocheck, doctor, errors, labs, lti, webhooks  # noqa: F401 - the route modules add their routes to blueprint.bp
from . import blueprint as _blueprint
from .errors import PREFIX
from .schemas import ErrorSchema

docs_bp = Blueprint("api_docs", __name__)
DOCS_CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
            "connect-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'none'")


@docs_bp.route(PREFIX + "/docs")
def docs_page():
    """The OpenAPI document in Swagger UI, served from the vendored copy (no CDN)."""
    response = make_response(render_template("api/docs.html", spec_url=url_for("api-docs.openapi_json")))
    # Swagger UI injects <style> elements; everything else stays on this origin.
    response.headers["Content-Security-Policy"] = DOCS_CSP
    return response


class LabgraderApi(Api):
    """flask-smorest's Api, with errors in labgrader's envelope and only under /api/v1 (its own handler
    would answer every HTTP error of the whole app in JSON)."""

    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self) -> None:
        errors.register_on_app(self._app)


def init_app(app: Flask) -> None:
    app.config.setdefault("API_TITLE", "labgrader platform API")
    app.config.setdefault("API_VERSION", "v1")
    app.config.setdefault("OPENAPI_VERSION", "3.1.0")
    app.config.setdefault("OPENAPI_URL_PREFIX", PREFIX)
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    api = LabgraderApi(app, spec_kwargs={
        "info": {"description": "Create attendees, validate their lab steps and read progress. Authenticate "
                                "with `Authorization: Bearer <key>` (`labgrader api-key create NAME`). Every "
                                "error is `{\"error\": {status, code, message, field}}`."},
        "security": [{"bearerAuth": []}],
    })
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer",
                                                       "description": "An API key from `labgrader api-key`."})
    api.register_blueprint(_blueprint.bp, url_prefix=PREFIX)
    api.spec.tag({"name": "Labs", "description": "Lab packs this service grades, and a class's progress."})
    api.spec.tag({"name": "Attendees", "description": "Attendees of a lab: credentials, validations, progress."})
    api.spec.tag({"name": "Webhooks", "description": "Signed events pushed to the lab platform (Standard Webhooks)."})
    api.spec.tag({"name": "LTI", "description": "Learning platforms (LMSs) that launch labgrader with LTI 1.3."})
    app.register_blueprint(docs_bp)
    csrf = app.extensions.get("csrf")
    if csrf is not None:  # bearer keys, no cookies: there is no cross-site request to forge
        csrf.exempt(_blueprint.bp)
