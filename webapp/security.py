"""Request security for the browser pages: CSRF, security headers, rate limits.

- CSRF (Flask-WTF ``CSRFProtect``) on every state-changing request of the browser pages. Forms carry a
  ``csrf_token`` field; htmx requests send the ``X-CSRFToken`` header read from the page's meta tag.
  The token-authenticated platform API (blueprint ``api``) carries no cookies and is exempt.
- Security headers on every response; a Content-Security-Policy that allows only this origin's scripts
  and styles on the pages (the API's own documentation pages set theirs), never framed, except by registered
  LMSs' origins for LTI pages and LTI-launched sessions (:mod:`webapp.lti.framing`). Answers are ``no-store`` unless
  they say otherwise (static files, the guide's stylesheet): pages and API answers carry launch links,
  grades and names that no shared cache or back button should keep.
- Cookies: the session cookie is ``SameSite=Lax`` (``None`` and ``Partitioned`` for a session an LTI launch
  opened over HTTPS: it lives in the LMS's iframe), and ``Secure`` whenever the service is reached over
  HTTPS (``BASE_URL`` is https, or the request is, directly or through a trusted proxy); HTTPS answers carry
  ``Strict-Transport-Security``. Bodies of the pages' requests are capped (``MAX_CONTENT_LENGTH``).
- Rate limits (Flask-Limiter): in memory per process by default (:mod:`.memory_limits`), shared through Redis when
  ``REDIS_URL`` is configured (an unreachable Redis falls back to memory; it never fails a request).
  :func:`validate_rate` is the per-attendee, per-step Validate limit (the student's presses);
  :func:`recheck_rate` the separate budget of the guide page's automatic rechecks of a PENDING step.
- Error pages: a 500 and a 401 answer an htmx request with a small fragment written for the person
  (htmx swaps it into the badge or the panel), and any other request with a whole page.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import Flask, Response, current_app, has_request_context, render_template, request
from flask.sessions import SecureCookieSessionInterface
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import InternalServerError, Unauthorized
from werkzeug.routing import IntegerConverter, ValidationError

from . import memory_limits  # noqa: F401 - registers the labgrader-memory:// storage
from .extensions import db

log = logging.getLogger(__name__)

csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address)

# Blueprints whose requests are authenticated by a bearer token, never by the session cookie; and the LTI
# endpoints, which LMSs POST to cross-site and which a signed id_token (or a launch's random id) authenticates.
CSRF_EXEMPT_BLUEPRINTS = frozenset({"api", "health", "lti"})
# Blueprints that serve JSON or set their own Content-Security-Policy (the API docs page).
OWN_CSP_BLUEPRINTS = frozenset({"api", "api_docs", "health"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
MAX_BODY = 64 * 1024  # bytes of any request body; a sign-in form is well under 1 KiB
HSTS = "max-age=31536000"
# The largest id a URL may name: ids are 32-bit INTEGER columns on PostgreSQL (SQLite's hold more).
MAX_DB_ID = 2**31 - 1

CSP = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
))


def init_app(app: Flask) -> None:
    """Attach CSRF, the limiter and the headers to ``app``."""
    # Flask-WTF checks every POST itself unless told not to; we call protect() below so the API can opt out.
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # the token lives as long as the session
    # Flask defines these keys itself (None, False), so setdefault would change nothing: set them unless the
    # caller chose a value of their own.
    if app.config.get("SESSION_COOKIE_SAMESITE") is None:
        app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    if str(app.config.get("BASE_URL") or "").startswith("https://"):
        app.config["SESSION_COOKIE_SECURE"] = True
    app.session_interface = SessionInterface()
    # Flask's default (31 days) bounds how old a signed cookie may be; the server-side record expires too.
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(seconds=int(app.config["SESSION_LIFETIME"]))
    if app.config.get("MAX_CONTENT_LENGTH") is None:
        # No page takes more than a short form; the API checks its own (equal) limit first, in its envelope.
        app.config["MAX_CONTENT_LENGTH"] = MAX_BODY
    # An explicit storage keeps Flask-Limiter from warning that it picked memory by itself. In memory: limits'
    # storage without a thread started per hit (registered by importing memory_limits).
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config.get("REDIS_URL") or "labgrader-memory://")
    app.config.setdefault("RATELIMIT_STRATEGY", "moving-window")  # the wait we announce is the real one
    # Off: the 429 answers set Retry-After themselves, to the same number of seconds their sentence gives.
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", False)
    # A Redis outage must not turn Validate into a 500: count in this process's memory until it is back.
    app.config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)
    app.config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
    csrf.init_app(app)
    limiter.init_app(app)

    @app.before_request
    def _csrf() -> None:
        if request.method in SAFE_METHODS or request.blueprint in CSRF_EXEMPT_BLUEPRINTS:
            return
        if app.config.get("WTF_CSRF_ENABLED", True):
            csrf.protect()

    app.after_request(security_headers)
    app.register_error_handler(CSRFError, _csrf_failed)
    app.register_error_handler(Unauthorized, _session_ended)
    app.register_error_handler(InternalServerError, _server_error)


def _csrf_failed(error: CSRFError):
    """A stale or missing token: say how to recover (reload), in a fragment when htmx asked."""
    template = "errors/_csrf.html" if request.headers.get("HX-Request") else "errors/csrf.html"
    return render_template(template, reason=error.description), 400


def _json_answer() -> bool:
    """Requests the API (or health) answers: their errors keep the API's JSON envelope."""
    from .api.errors import is_api_request

    return request.blueprint in OWN_CSP_BLUEPRINTS or is_api_request()


def _session_ended(error: Unauthorized):
    """No (or no longer a) session: the page says how to get back in; for htmx, a fragment of it
    (errors/no_session.html picks which), so the badge says so instead of holding a whole page."""
    if _json_answer():
        from .api.errors import handle

        return handle(error)
    return render_template("errors/no_session.html", proctor=request.blueprint == "proctor"), 401


def _server_error(error: InternalServerError):
    """labgrader's own failure: say so, and that nobody's work is at fault, where the person looks.

    Flask hands any unhandled exception over wrapped in an InternalServerError, already logged.
    """
    if _json_answer():
        from .api.errors import handle

        return handle(error.original_exception or error)
    try:
        db.session.rollback()  # the failed request may have left the session unusable for the page below
    except Exception:  # the database itself may be what failed: the page does not need it
        log.warning("rollback after a server error failed too", exc_info=True)
    if request.headers.get("HX-Request"):
        return render_template("errors/_server_error.html"), 500
    return render_template("errors/server_error.html"), 500


def security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    # Launch links carry a token in the path: never send it to another site as a Referer. Same-origin requests
    # keep theirs: over HTTPS Flask-WTF refuses a form or htmx POST without a same-origin Referer.
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    framers = _frame_ancestors() if response.mimetype == "text/html" else None
    if framers is None:
        headers.setdefault("X-Frame-Options", "DENY")
    if request.blueprint not in OWN_CSP_BLUEPRINTS and response.mimetype == "text/html":
        headers.setdefault("Content-Security-Policy", csp(framers))
    if "Cache-Control" not in headers and not _is_static():
        headers["Cache-Control"] = "no-store"
    if _https():
        headers.setdefault("Strict-Transport-Security", HSTS)
    return response


def csp(framers: list[str] | None = None, form_targets: list[str] | None = None) -> str:
    """The pages' policy; ``framers`` are origins that may frame the page (an LMS, see :mod:`webapp.lti.framing`),
    ``form_targets`` origins its forms may post to besides this one."""
    policy = CSP
    if framers is not None:
        policy = policy.replace("frame-ancestors 'none'", " ".join(["frame-ancestors 'self'", *framers]))
    if form_targets:
        policy = policy.replace("form-action 'self'", " ".join(["form-action 'self'", *form_targets]))
    return policy


def _frame_ancestors() -> list[str] | None:
    """Origins that may frame this page: registered LMSs for LTI pages and LTI-launched sessions, else none."""
    from .lti import framing

    try:
        return framing.ancestors()
    except Exception:  # the database may be what failed (a 500 page): such a page is not framed
        log.warning("could not read the LTI platforms for frame-ancestors", exc_info=True)
        return None


def _is_static() -> bool:
    endpoint = request.endpoint or ""
    return endpoint == "static" or endpoint.endswith(".static")


def _https() -> bool:
    """Whether this service is reached over HTTPS: configured so (an https ``BASE_URL``), or this request is."""
    return bool(current_app.config.get("SESSION_COOKIE_SECURE")) or (has_request_context() and request.is_secure)


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, with the cookie marked ``Secure`` on every HTTPS request, also when
    ``BASE_URL`` is not set (TLS ends here, or at a trusted proxy that says so in X-Forwarded-Proto)."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return super().get_cookie_secure(app) or (has_request_context() and request.is_secure)

    # A session an LTI launch opened lives in the LMS's iframe, on another site: its cookie must be
    # SameSite=None (Secure, so HTTPS only) and Partitioned (CHIPS, kept where third-party cookies are not).
    def get_cookie_samesite(self, app: Flask) -> str | None:
        from .lti import framing

        return "None" if framing.third_party_cookie() else super().get_cookie_samesite(app)

    def get_cookie_partitioned(self, app: Flask) -> bool:
        from .lti import framing

        return framing.third_party_cookie() or super().get_cookie_partitioned(app)


class DatabaseId(IntegerConverter):
    """``<int:...>`` in this app's routes: a database id, so a number no row can have is no match (404),
    rather than an integer the database refuses (a 500 on PostgreSQL, an OverflowError on SQLite)."""

    def __init__(self, map, *args, **kwargs) -> None:
        kwargs.setdefault("max", MAX_DB_ID)
        super().__init__(map, *args, **kwargs)

    def to_python(self, value: str) -> int:
        if len(value) > len(str(MAX_DB_ID)):  # and never ask int() for thousands of digits
            raise ValidationError()
        return super().to_python(value)


def validate_rate() -> str:
    """The configured Validate limit, read per request so tests and admins can change it live."""
    return str(current_app.config["VALIDATE_RATE_LIMIT"])


def recheck_rate() -> str:
    """The configured budget of automatic rechecks (per attendee and step), read per request like
    :func:`validate_rate`; it never shares a counter with the student's presses."""
    return str(current_app.config["RECHECK_RATE_LIMIT"])
