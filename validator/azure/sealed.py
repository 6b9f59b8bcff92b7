"""Values kept outside the process (Redis): JSON, encrypted and authenticated with Fernet.

What the validator shares between web instances holds training keys, so every value is sealed with the
app's encryption key(s) (``ENCRYPTION_KEY``, comma-separated for rotation: the first encrypts, all
decrypt), the same Fernet keys that encrypt attendee secrets in the database. Fact dataclasses
(``checks.facts``) travel as JSON with their type named; only those types are rebuilt, never arbitrary
objects.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from checks import facts as F

# The types a sealed value may hold, by name.
_TYPES = {cls.__name__: cls for cls in (
    F.AccountFact, F.DomainFact, F.ProjectFact, F.PerformanceFact, F.TagPerformance,
)}


class Unsealable(ValueError):
    """A stored value cannot be opened (another key sealed it, or it is not ours)."""


class Sealer:
    """Seals values with the Fernet key(s) in ``keys`` (url-safe base64, comma-separated)."""

    def __init__(self, keys: str) -> None:
        try:
            self._fernet = MultiFernet([Fernet(k.strip()) for k in keys.split(",") if k.strip()])
        except ValueError as exc:
            raise ValueError("the encryption key must be url-safe base64 Fernet key(s) of 32 bytes") from exc

    def seal(self, value: Any) -> bytes:
        return self._fernet.encrypt(json.dumps(_encode(value), separators=(",", ":")).encode("utf-8"))

    def open(self, token: bytes) -> Any:
        """The value ``token`` holds; raises :class:`Unsealable`."""
        try:
            return _decode(json.loads(self._fernet.decrypt(bytes(token))))
        except (InvalidToken, ValueError, KeyError, TypeError) as exc:
            raise Unsealable(type(exc).__name__) from None


def _encode(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        if type(value).__name__ not in _TYPES:
            raise TypeError(f"cannot seal a {type(value).__name__}")
        return {"$type": type(value).__name__,
                "fields": {f.name: _encode(getattr(value, f.name)) for f in dataclasses.fields(value)}}
    if isinstance(value, datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, tuple):
        return {"$tuple": [_encode(v) for v in value]}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        return {"$dict": [[_encode(k), _encode(v)] for k, v in value.items()]}
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise TypeError(f"cannot seal a {type(value).__name__}")


def _decode(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    if "$type" in value:
        return _TYPES[value["$type"]](**{k: _decode(v) for k, v in value["fields"].items()})
    if "$datetime" in value:
        return datetime.fromisoformat(value["$datetime"])
    if "$tuple" in value:
        return tuple(_decode(v) for v in value["$tuple"])
    if "$dict" in value:
        return {_decode(k): _decode(v) for k, v in value["$dict"]}
    raise ValueError("not a sealed value")
