"""The simulator's world: tenants, service principals, subscriptions, resource groups and accounts.

One :class:`SimState` per simulator, guarded by one re-entrant lock (``state.lock``); views take it for
any read-modify-write. Custom Vision data lives on each account (``Account.cv``), owned by
``azuresim.customvision``.
"""

from __future__ import annotations

import secrets
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(dt: datetime) -> str:
    """ISO 8601 with a Z suffix, as Azure writes timestamps."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def new_key() -> str:
    """A 32-hex-character account key, the shape Cognitive Services keys have."""
    return secrets.token_hex(16)


@dataclass
class ServicePrincipal:
    tenant_id: str
    client_id: str
    client_secret: str
    display_name: str
    object_id: str = field(default_factory=lambda: str(uuid.uuid4()))


@dataclass
class ResourceGroup:
    subscription_id: str
    name: str
    location: str
    tags: dict = field(default_factory=dict)


@dataclass
class Subscription:
    subscription_id: str
    tenant_id: str
    display_name: str
    # object ids of principals with (Contributor) access to the whole subscription
    principals: set[str] = field(default_factory=set)


@dataclass
class Account:
    """A Microsoft.CognitiveServices account (here: CustomVision.Training or CustomVision.Prediction)."""

    subscription_id: str
    resource_group: str
    name: str
    kind: str
    sku: str
    location: str
    endpoint: str
    key1: str = field(default_factory=new_key)
    key2: str = field(default_factory=new_key)
    tags: dict = field(default_factory=dict)
    provisioning_state: str = "Succeeded"
    created: datetime = field(default_factory=utcnow)
    created_by: str | None = None
    etag: str = field(default_factory=lambda: f'"{uuid.uuid4()}"')
    # Custom Vision data (projects, images, ...) owned by azuresim.customvision; created on first use.
    cv: Any = None

    def resource_id(self) -> str:
        return (
            f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"
            f"/providers/Microsoft.CognitiveServices/accounts/{self.name}"
        )

    def key_matches(self, key: str | None) -> bool:
        return bool(key) and key in (self.key1, self.key2)


@dataclass
class SimState:
    """Everything the simulator knows. Mutate only while holding ``lock``."""

    tenants: dict[str, str] = field(default_factory=dict)  # tenant id -> display name
    principals: dict[str, ServicePrincipal] = field(default_factory=dict)  # client id -> principal
    subscriptions: dict[str, Subscription] = field(default_factory=dict)
    resource_groups: dict[tuple[str, str], ResourceGroup] = field(default_factory=dict)  # (sub, rg.lower())
    accounts: dict[str, Account] = field(default_factory=dict)  # name.lower() -> account (names are global)
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False, compare=False)

    # -- lookups (case-insensitive, like ARM) ---------------------------------------------------------
    def resource_group(self, subscription_id: str, name: str) -> ResourceGroup | None:
        return self.resource_groups.get((subscription_id.lower(), name.lower()))

    def account(self, name: str) -> Account | None:
        return self.accounts.get(name.lower())

    def account_by_key(self, key: str | None) -> Account | None:
        if not key:
            return None
        with self.lock:
            return next((a for a in self.accounts.values() if a.key_matches(key)), None)

    def revoke_keys(self, account_name: str) -> None:
        """Rotate both keys, so callers holding the old ones get 401 (a 'revoked key' fault)."""
        with self.lock:
            acct = self.account(account_name)
            if acct is not None:
                acct.key1, acct.key2 = new_key(), new_key()

    def reset(self) -> None:
        with self.lock:
            self.tenants.clear()
            self.principals.clear()
            self.subscriptions.clear()
            self.resource_groups.clear()
            self.accounts.clear()
