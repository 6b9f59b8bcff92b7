"""Encryption at rest of attendee secrets: JSON in, Fernet token out, with the configured key(s)."""

from __future__ import annotations

import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app


class DecryptError(Exception):
    """A stored secret cannot be decrypted with the configured key(s) (the key changed?)."""


def _fernet(keys: str | None = None) -> MultiFernet:
    keys = keys if keys is not None else current_app.config["ENCRYPTION_KEY"]
    try:
        return MultiFernet([Fernet(k.strip()) for k in keys.split(",") if k.strip()])
    except ValueError as exc:
        raise ValueError("ENCRYPTION_KEY must be url-safe base64 Fernet key(s) of 32 bytes") from exc


def encrypt_json(value: Any, keys: str | None = None) -> bytes:
    """``value`` as JSON, encrypted and authenticated with the first configured key."""
    return _fernet(keys).encrypt(json.dumps(value, separators=(",", ":"), sort_keys=True).encode("utf-8"))


def decrypt_json(token: bytes | None, keys: str | None = None) -> Any:
    """The JSON value ``token`` holds (``{}`` for no token); raises :class:`DecryptError`."""
    if not token:
        return {}
    try:
        return json.loads(_fernet(keys).decrypt(bytes(token)))
    except InvalidToken:
        raise DecryptError(
            "stored attendee secrets cannot be decrypted: LABGRADER_ENCRYPTION_KEY (or SECRET_KEY) changed"
        ) from None
