"""Bearer API keys for the platform API. A key is ``lg_<prefix>_<secret>``; only its SHA-256 is stored,
and the prefix finds the row without scanning."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from sqlalchemy import select

from ..extensions import db
from ..models import ApiKey, utcnow
from .errors import InvalidInput, NotFound

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_KEY = re.compile(r"^lg_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")


def _hash(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode("utf-8")).hexdigest()


def create(name: str) -> tuple[ApiKey, str]:
    """A new key named ``name`` and its plaintext (shown once, never stored). Raises :class:`InvalidInput`."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidInput("name", "must be 1-100 letters, digits, '.', '_' or '-', starting with a letter or digit")
    if db.session.scalar(select(ApiKey).filter_by(name=name)) is not None:
        raise InvalidInput("name", f"an API key named '{name}' already exists (revoke it or pick another name)")
    prefix = secrets.token_hex(6)
    plaintext = f"lg_{prefix}_{secrets.token_urlsafe(32)}"  # 256 random bits
    key = ApiKey(name=name, prefix=prefix, key_hash=_hash(plaintext))
    db.session.add(key)
    db.session.commit()
    return key, plaintext


def verify(plaintext: str | None) -> ApiKey | None:
    """The active key ``plaintext`` is, or ``None`` (unknown, malformed or revoked); records its use."""
    m = _KEY.match(plaintext or "")
    if not m:
        return None
    key = db.session.scalar(select(ApiKey).filter_by(prefix=m.group(1)))
    if key is None or not hmac.compare_digest(key.key_hash, _hash(plaintext or "")) or key.revoked_at is not None:
        return None
    now = utcnow()
    # One write a minute per key at most: a busy platform should not turn every read into a write.
    if key.last_used_at is None or (now - key.last_used_at).total_seconds() > 60:
        key.last_used_at = now
        db.session.commit()
    return key


def get(name_or_id: str | int) -> ApiKey:
    """The key by name, or by id (digits); raises :class:`NotFound`."""
    key = db.session.scalar(select(ApiKey).filter_by(name=str(name_or_id)))
    if key is None and str(name_or_id).isdigit():
        key = db.session.get(ApiKey, int(name_or_id))
    if key is None:
        raise NotFound(f"no API key named '{name_or_id}'")
    return key


def revoke(name_or_id: str | int) -> ApiKey:
    """Revoke a key (idempotent); raises :class:`NotFound`."""
    key = get(name_or_id)
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        db.session.commit()
    return key


def list_keys() -> list[ApiKey]:
    return list(db.session.scalars(select(ApiKey).order_by(ApiKey.created_at, ApiKey.id)))
