"""Who is asking: the attendee or the proctor bound to this session, and decorators that require one.

A session holds one identity at a time. Signing in (a launch link, the proctor login) clears the session
first, so nothing of an earlier visitor survives (session rotation for Flask's signed-cookie sessions).
Every session is also recorded on the server (:mod:`webapp.services.sessions`): signing out deletes the
record, so a copied cookie opens nothing afterwards, and it expires after ``SESSION_LIFETIME``.
An attendee's session also remembers the launch link version: revoking their links ends it. A proctor's
remembers their session version: a new password (``labgrader proctor passwd``) ends it, and removing the
account ends it too.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, abort, current_app, g, redirect, render_template, request, session, url_for

from .extensions import db
from .models import Attendee, Proctor
from .services import sessions

ATTENDEE_KEY, LINK_VERSION_KEY = "attendee_id", "link_version"
PROCTOR_KEY, PROCTOR_VERSION_KEY = "proctor_id", "proctor_session_version"
SESSION_ID_KEY = "sid"  # the server-side record of this session (its id; the database keeps a hash)


def init_app(app: Flask) -> None:
    from . import security

    security.init_app(app)
    app.add_template_global(current_proctor)

    @app.before_request
    def _forget_cached_identity() -> None:
        # g outlives a request when the caller already holds an app context (tests, CLI): never reuse it.
        _forget_request_state()


# -- attendees ------------------------------------------------------------------------------------------


def _forget_request_state() -> None:
    g.pop("lg_attendee", None)
    g.pop("lg_proctor", None)
    g.pop(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"), None)  # Flask-WTF's per-request token


def rotate_session() -> None:
    """Start a fresh session: nothing of the previous visitor's (identity, CSRF token) survives."""
    session.clear()
    _forget_request_state()


def login_attendee(attendee: Attendee) -> None:
    rotate_session()
    session[SESSION_ID_KEY] = sessions.start(attendee=attendee)
    session[ATTENDEE_KEY] = attendee.id
    session[LINK_VERSION_KEY] = attendee.link_version
    session.permanent = False  # ends with the browser; the launch link opens a new one


def current_attendee() -> Attendee | None:
    """The attendee of this session, or ``None`` (none, deleted, or their links were revoked)."""
    if "lg_attendee" not in g:
        found = None
        attendee_id = session.get(ATTENDEE_KEY)
        if isinstance(attendee_id, int):
            found = db.session.get(Attendee, attendee_id)
            if found is not None and (found.link_version != session.get(LINK_VERSION_KEY)
                                      or not sessions.is_live(session.get(SESSION_ID_KEY), attendee_id=found.id)):
                found = None
        g.lg_attendee = found
    return g.lg_attendee


def attendee_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """401 with a page that says how to get in, unless the session belongs to an attendee."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if current_attendee() is None:
            return render_template("errors/no_session.html"), 401
        return view(*args, **kwargs)

    return wrapped


# -- proctors -------------------------------------------------------------------------------------------


def login_proctor(proctor: Proctor) -> None:
    rotate_session()
    session[SESSION_ID_KEY] = sessions.start(proctor=proctor)
    session[PROCTOR_KEY] = proctor.id
    session[PROCTOR_VERSION_KEY] = proctor.session_version


def current_proctor() -> Proctor | None:
    """The proctor of this session, or ``None`` (none, removed, or signed in before their password changed)."""
    if "lg_proctor" not in g:
        found = None
        proctor_id = session.get(PROCTOR_KEY)
        if isinstance(proctor_id, int):
            found = db.session.get(Proctor, proctor_id)
            if found is not None and (found.session_version != session.get(PROCTOR_VERSION_KEY)
                                      or not sessions.is_live(session.get(SESSION_ID_KEY), proctor_id=found.id)):
                found = None
        g.lg_proctor = found
    return g.lg_proctor


def proctor_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Redirect to the login page (coming back here after) unless a proctor is signed in."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if current_proctor() is None:
            if request.method != "GET" or request.headers.get("HX-Request"):
                abort(401)
            return redirect(url_for("proctor.login", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)

    return wrapped


def logout() -> None:
    """End this session on the server too: a copy of its cookie opens nothing afterwards."""
    sessions.end(session.get(SESSION_ID_KEY))
    rotate_session()


def safe_next(target: str | None, default: str) -> str:
    """``target`` when it is a path on this site (no scheme, no host, no ``//``), else ``default``."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target
