"""Launch links: a signed, expiring URL that opens one attendee's guide, revocable by bumping
``Attendee.link_version``. The student pages serve them at ``/launch/<token>``."""

from __future__ import annotations

from flask import current_app, has_request_context, request
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from ..extensions import db
from ..models import Attendee, utcnow
from .errors import ExpiredLink, InvalidLink

SALT = "labgrader.launch.v1"
PATH = "/launch/"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def make_token(attendee: Attendee) -> str:
    return _serializer().dumps({"a": attendee.id, "v": attendee.link_version})


def make_link(attendee: Attendee) -> str:
    """The absolute launch URL for ``attendee`` (BASE_URL, else this request's host)."""
    base = current_app.config.get("BASE_URL") or (request.host_url if has_request_context() else "")
    base = (base or "http://127.0.0.1:8000").rstrip("/")
    return f"{base}{PATH}{make_token(attendee)}"


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
