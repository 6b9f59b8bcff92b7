"""Launch links: a signed, expiring URL that opens one attendee's guide, revocable by bumping
``Attendee.link_version``. The student pages serve them at ``/launch/<token>``."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, has_request_context, request
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from ..extensions import db
from ..models import Attendee, utcnow
from .errors import ExpiredLink, InvalidLink, NoPublicAddress

SALT = "labgrader.launch.v1"
PATH = "/launch/"
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def make_token(attendee: Attendee) -> str:
    return _serializer().dumps({"a": attendee.id, "v": attendee.link_version})


def base_url() -> str:
    """Where students reach this service, for launch links: ``BASE_URL``; without it, this request's host
    only when Flask checked it against ``TRUSTED_HOSTS`` or it is a loopback name (a developer's machine, the
    demo). Any other Host header is whatever the caller typed: a link built on it would send the student, and
    their token, there. Raises :class:`NoPublicAddress` then. Outside a request: http://127.0.0.1:8000.
    """
    configured = current_app.config.get("BASE_URL")
    if configured:
        return str(configured).rstrip("/")
    if not has_request_context():
        return "http://127.0.0.1:8000"
    if current_app.config.get("TRUSTED_HOSTS") or _is_loopback(request.host):
        return request.host_url.rstrip("/")
    raise NoPublicAddress("this service does not know its public address for launch links: its operator must "
                          "set LABGRADER_BASE_URL (or LABGRADER_TRUSTED_HOSTS)")


def _is_loopback(host: str) -> bool:
    try:
        return urlsplit(f"//{host}").hostname in LOOPBACK_HOSTS
    except ValueError:  # not even a host name ("[::1")
        return False


def make_link(attendee: Attendee) -> str:
    """The absolute launch URL for ``attendee`` (see :func:`base_url`)."""
    return f"{base_url()}{PATH}{make_token(attendee)}"


def verify(token: str, *, max_age: int | None = None) -> Attendee:
    """The attendee a launch token opens. Raises :class:`ExpiredLink` or :class:`InvalidLink`."""
    max_age = int(current_app.config["LAUNCH_LINK_MAX_AGE"]) if max_age is None else max_age
    try:
        data = _serializer().loads(token, max_age=max_age)
    except SignatureExpired:
        raise ExpiredLink("this launch link has expired: open the lab again from your lab platform") from None
    except BadSignature:
        raise InvalidLink("this launch link is not valid: open the lab again from your lab platform") from None
    if not isinstance(data, dict) or not isinstance(data.get("a"), int):
        raise InvalidLink("this launch link is not valid: open the lab again from your lab platform")
    attendee = db.session.get(Attendee, data["a"])
    if attendee is None or attendee.link_version != data.get("v"):
        raise InvalidLink("this launch link was replaced by a newer one: open the lab again from your lab platform")
    return attendee


def revoke(attendee: Attendee) -> None:
    """Invalidate every launch link issued so far for ``attendee``."""
    attendee.link_version += 1
    attendee.updated_at = utcnow()
    db.session.commit()
