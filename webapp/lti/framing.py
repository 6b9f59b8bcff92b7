"""Inside the LMS's iframe: which origins may frame labgrader's pages, and whether the session cookie must be
``SameSite=None; Secure; Partitioned`` (an iframe on another site gets no Lax cookie).

Only pages of a session an LTI launch opened (and the LTI pages themselves: the lab picker, a refused
launch's explanation) may be framed, and only by the origins of registered platforms: that launch's platform
for the session, any registered platform for the LTI pages. Every other page keeps ``frame-ancestors 'none'``.
"""

from __future__ import annotations

from flask import has_request_context, request, session

from ..extensions import db
from .models import LtiPlatform

SESSION_PLATFORM = "lti_platform"


def launched_platform() -> int | None:
    value = session.get(SESSION_PLATFORM) if has_request_context() else None
    return value if isinstance(value, int) else None


def ancestors() -> list[str] | None:
    """Origins allowed in ``frame-ancestors`` for this response (besides ``'self'``), or None: not framable."""
    from . import platforms

    if request.blueprint == "lti":
        found = [o for p in platforms.all_platforms() for o in platforms.frame_origins(p)]
        return list(dict.fromkeys(found))
    platform_id = launched_platform()
    if platform_id is None:
        return None
    platform = db.session.get(LtiPlatform, platform_id)
    return platforms.frame_origins(platform) if platform is not None else None


def third_party_cookie() -> bool:
    """Whether the session cookie must work in a cross-site iframe: an LTI session, over HTTPS (browsers keep
    ``SameSite=None`` cookies only when ``Secure``)."""
    return launched_platform() is not None and request.is_secure
