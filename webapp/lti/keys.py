"""The tool's RS256 key pair: generated on first use, the private half encrypted at rest (:mod:`webapp.crypto`),
published with its predecessors still in their overlap at ``/lti/jwks``, and rotated by
``labgrader lti key rotate``. The key id is the RFC 7638 thumbprint, as pylti1p3 computes it."""

from __future__ import annotations

import json
from datetime import timedelta

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwcrypto.jwk import JWK
from sqlalchemy import or_, select

from .. import crypto
from ..extensions import db
from ..models import utcnow
from .models import LtiKey

KEY_BITS = 2048
# How long a retired public key stays published: platforms cache a tool's JWKS (for hours, usually), and an
# AGS token request signed just before a rotation may still be checked against the old key.
DEFAULT_OVERLAP = timedelta(days=2)


def _new_key() -> LtiKey:
    private = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    private_pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption()).decode("ascii")
    public_pem = private.public_key().public_bytes(serialization.Encoding.PEM,
                                                   serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")
    kid = JWK.from_pem(public_pem.encode("ascii")).thumbprint()
    return LtiKey(kid=kid, public_pem=public_pem, private_blob=crypto.encrypt_json({"pem": private_pem}),
                  created_at=utcnow())


def current() -> LtiKey:
    """The signing key: the newest one not retired, made (and committed) when there is none."""
    key = db.session.scalar(select(LtiKey).where(LtiKey.retired_at.is_(None)).order_by(LtiKey.id.desc()).limit(1))
    if key is None:
        key = _new_key()
        db.session.add(key)
        db.session.commit()
    return key


def private_pem(key: LtiKey) -> str:
    return crypto.decrypt_json(key.private_blob)["pem"]


def rotate(overlap: timedelta = DEFAULT_OVERLAP) -> tuple[LtiKey, list[LtiKey]]:
    """A new signing key; the previous ones retire now and stay published for ``overlap``. Returns (the new
    key, those retired)."""
    now = utcnow()
    retired = list(db.session.scalars(select(LtiKey).where(LtiKey.retired_at.is_(None))))
    for key in retired:
        key.retired_at, key.drop_after = now, now + overlap
    new = _new_key()
    db.session.add(new)
    db.session.commit()
    return new, retired


def published() -> list[LtiKey]:
    """The keys in the JWKS: the signing key and retired keys still within their overlap (newest first)."""
    current()
    now = utcnow()
    return list(db.session.scalars(select(LtiKey).where(or_(LtiKey.retired_at.is_(None), LtiKey.drop_after > now))
                                   .order_by(LtiKey.id.desc())))


def jwk(key: LtiKey) -> dict:
    """The public JWK of ``key`` (never the private half)."""
    data = json.loads(JWK.from_pem(key.public_pem.encode("ascii")).export_public())
    return {**data, "kid": key.kid, "alg": "RS256", "use": "sig"}


def jwks() -> dict:
    return {"keys": [jwk(k) for k in published()]}
