"""pylti1p3's launch data storage in the database, so every instance sees the nonces and launches the others
wrote, and a third-party-cookie-less browser still completes a launch (keys are not tied to a cookie: nonces
are 128 random bits, launch ids random UUIDs). A nonce is deleted when a launch uses it: a replayed id_token
finds none and is refused."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pylti1p3.launch_data_storage.base import LaunchDataStorage
from pylti1p3.session import SessionService
from sqlalchemy import delete

from ..extensions import db
from ..models import utcnow
from .models import LtiStoreEntry

DEFAULT_LIFETIME = 3600  # seconds: a login that does not come back within the hour is abandoned


class DatabaseStorage(LaunchDataStorage[Any]):
    def get_session_cookie_name(self) -> None:
        return None  # keys are random; see the module's docstring

    def can_set_keys_expiration(self) -> bool:
        return True

    def get_value(self, key: str) -> Any:
        row = db.session.get(LtiStoreEntry, self._prepare_key(key))
        if row is None or row.expires_at <= utcnow():
            return None
        return row.value

    def set_value(self, key: str, value: Any, exp: int | None = None) -> None:
        now = utcnow()
        db.session.execute(delete(LtiStoreEntry).where(LtiStoreEntry.expires_at < now))  # keep the table small
        db.session.merge(LtiStoreEntry(key=self._prepare_key(key), value=value,
                                       expires_at=now + timedelta(seconds=exp or DEFAULT_LIFETIME)))
        db.session.commit()

    def check_value(self, key: str) -> bool:
        return self.get_value(key) is not None

    def consume(self, key: str) -> bool:
        """Delete ``key``; whether it was there (unexpired). Two requests racing for it: one wins."""
        done = db.session.execute(delete(LtiStoreEntry).where(LtiStoreEntry.key == self._prepare_key(key),
                                                             LtiStoreEntry.expires_at > utcnow()))
        db.session.commit()
        return done.rowcount == 1


class OneTimeNonceSessionService(SessionService):
    """pylti1p3's session service whose nonce check uses the nonce up."""

    data_storage: DatabaseStorage

    def check_nonce(self, nonce: str) -> bool:
        return self.data_storage.consume(self._get_key("nonce", nonce))
