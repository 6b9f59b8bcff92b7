"""Platform registrations: the LMSs allowed to launch labgrader (``labgrader lti platform ...`` and
``/api/v1/lti/platforms``). Several at once, one per issuer and client id."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select

from ..extensions import db
from ..services.errors import InvalidInput, NotFound
from ..services.launch import LOOPBACK_HOSTS
from .models import LtiPlatform

URL_FIELDS = ("auth_login_url", "auth_token_url", "key_set_url")
MAX_PLATFORMS = 200


def _url(field: str, value: Any) -> str:
    """An https URL (http only to a loopback host: a developer's LMS), with a host and no credentials."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(field, "is required")
    value = value.strip()
    if len(value) > 2000:
        raise InvalidInput(field, "is longer than 2000 characters")
    parts = urlsplit(value)
    if not parts.hostname:
        raise InvalidInput(field, f"'{value}' is not an absolute URL")
    if parts.scheme != "https" and not (parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS):
        raise InvalidInput(field, f"'{value}' must start with https:// (http only for a loopback host)")
    if parts.username or parts.password:
        raise InvalidInput(field, "must not carry a user name or password")
    return value


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _text(field: str, value: Any, limit: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(field, "is required")
    if len(value.strip()) > limit or any(ord(c) < 32 for c in value):
        raise InvalidInput(field, f"must be at most {limit} printable characters")
    return value.strip()


def _deployments(value: Any) -> list[str]:
    if not isinstance(value, list | tuple) or not value:
        raise InvalidInput("deployment_ids", "name at least one deployment id (the LMS shows it for the tool)")
    return list(dict.fromkeys(_text("deployment_ids", v, 255) for v in value))


def _origins(value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list | tuple):
        raise InvalidInput("frame_origins", "must be a list of origins (https://lms.example.edu)")
    found = []
    for item in value:
        url = _url("frame_origins", item)
        if origin(url) != url.rstrip("/"):
            raise InvalidInput("frame_origins", f"'{item}' is not an origin (scheme and host only)")
        found.append(origin(url))
    return list(dict.fromkeys(found))


def add(name: str, issuer: str, client_id: str, deployment_ids: list[str], auth_login_url: str,
        auth_token_url: str, key_set_url: str, *, auth_audience: str | None = None,
        frame_origins: list[str] | None = None) -> LtiPlatform:
    """Register a platform; raises :class:`InvalidInput` naming the field at fault."""
    values = {"name": _text("name", name, 200), "issuer": _text("issuer", issuer, 500),
              "client_id": _text("client_id", client_id, 255), "deployment_ids": _deployments(deployment_ids),
              **{f: _url(f, v) for f, v in (("auth_login_url", auth_login_url), ("auth_token_url", auth_token_url),
                                             ("key_set_url", key_set_url))},
              "auth_audience": _text("auth_audience", auth_audience, 2000) if auth_audience else None,
              "frame_origins": _origins(frame_origins)}
    if db.session.scalar(select(LtiPlatform).filter_by(name=values["name"])) is not None:
        raise InvalidInput("name", f"a platform '{values['name']}' is already registered")
    if db.session.scalar(select(LtiPlatform).filter_by(issuer=values["issuer"], client_id=values["client_id"])):
        raise InvalidInput("client_id", f"issuer '{values['issuer']}' with client id '{values['client_id']}' is "
                                        "already registered")
    if db.session.query(LtiPlatform).count() >= MAX_PLATFORMS:
        raise InvalidInput("name", f"at most {MAX_PLATFORMS} platforms may be registered")
    platform = LtiPlatform(**values)
    db.session.add(platform)
    db.session.commit()
    return platform


def all_platforms() -> list[LtiPlatform]:
    return list(db.session.scalars(select(LtiPlatform).order_by(LtiPlatform.id)))


def get(platform_id: int) -> LtiPlatform:
    platform = db.session.get(LtiPlatform, platform_id)
    if platform is None:
        raise NotFound(f"no LTI platform {platform_id}")
    return platform


def by_name_or_id(value: str) -> LtiPlatform:
    found = db.session.scalar(select(LtiPlatform).filter_by(name=value))
    if found is None and value.isdigit() and len(value) < 10:
        found = db.session.get(LtiPlatform, int(value))
    if found is None:
        raise NotFound(f"no LTI platform '{value}'")
    return found


def find(issuer: str, client_id: str | None) -> LtiPlatform | None:
    """The registration for ``issuer`` and ``client_id``; without a client id (the OIDC login may omit it),
    the issuer's only registration."""
    query = select(LtiPlatform).filter_by(issuer=issuer)
    if client_id:
        return db.session.scalar(query.filter_by(client_id=client_id))
    found = list(db.session.scalars(query.limit(2)))
    return found[0] if len(found) == 1 else None


def remove(platform: LtiPlatform) -> None:
    """Forget a platform, its course mappings and grade targets (attendees and their work stay)."""
    db.session.delete(platform)
    db.session.commit()


def frame_origins(platform: LtiPlatform) -> list[str]:
    """Origins that may frame this platform's launches: those registered, else the issuer's and the login
    URL's (where an LMS serves its pages, for most)."""
    if platform.frame_origins:
        return list(platform.frame_origins)
    found = [origin(platform.auth_login_url)]
    if urlsplit(platform.issuer).scheme in ("http", "https"):
        found.insert(0, origin(platform.issuer))
    return list(dict.fromkeys(found))
