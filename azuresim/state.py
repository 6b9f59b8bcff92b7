"""The simulator's world: tenants, service principals, subscriptions, resource groups and accounts.

One :class:`SimState` per simulator, guarded by one re-entrant lock (``state.lock``); views take it for
any read-modify-write. Custom Vision data lives on each account (``Account.cv``), owned by
``azuresim.customvision``.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

# Regions where Custom Vision (Training and Prediction) can be created, as ARM spells them.
REGIONS = (
    "australiaeast", "brazilsouth", "centralindia", "centralus", "eastasia", "eastus", "eastus2",
    "francecentral", "japaneast", "koreacentral", "northcentralus", "northeurope", "norwayeast",
    "southafricanorth", "southcentralus", "southeastasia", "swedencentral", "switzerlandnorth",
    "uksouth", "westeurope", "westus", "westus2", "westus3",
)
DEFAULT_REGION = "eastus"

# Attendee names become part of a resource group name: letters, digits, '.', '_' and '-'.
_ATTENDEE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,47}$")


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(dt: datetime) -> str:
    """ISO 8601 with a Z suffix, as Azure writes timestamps."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def new_key() -> str:
    """A 32-hex-character account key, the shape Cognitive Services keys have."""
    return secrets.token_hex(16)


def normalize_region(location: str) -> str:
    """'East US' -> 'eastus' (ARM accepts display names and answers with the short name)."""
    return "".join(str(location).split()).lower()


class AttendeeError(ValueError):
    """Bad input to :meth:`SimState.create_attendee` (the message is shown to the caller)."""


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

    def resource_id(self) -> str:
        return f"/subscriptions/{self.subscription_id}/resourceGroups/{self.name}"


@dataclass
class Subscription:
    subscription_id: str
    tenant_id: str
    display_name: str
    # object ids of principals with (Contributor) access to the whole subscription
    principals: set[str] = field(default_factory=set)


@dataclass
class Token:
    """An access token Entra ID issued: opaque to clients, mapped back to its principal here."""

    value: str
    client_id: str
    tenant_id: str
    expires_at: float  # epoch seconds

    def expired(self, now: float | None = None) -> bool:
        return (time.time() if now is None else now) >= self.expires_at


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
    last_modified: datetime = field(default_factory=utcnow)
    last_modified_by: str | None = None
    internal_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    # The managed identity as ARM shows it ({"type", "principalId", ...}), or None when never requested.
    identity: dict | None = None
    # Custom Vision data (projects, images, ...) owned by azuresim.customvision; created on first use.
    cv: Any = None

    def resource_id(self) -> str:
        return (
            f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"
            f"/providers/Microsoft.CognitiveServices/accounts/{self.name}"
        )

    def key_matches(self, key: str | None) -> bool:
        return bool(key) and key in (self.key1, self.key2)

    def touch(self, by: str | None) -> None:
        """Record a modification (new etag, lastModified*)."""
        self.last_modified = utcnow()
        self.last_modified_by = by
        self.etag = f'"{uuid.uuid4()}"'


@dataclass
class SimState:
    """Everything the simulator knows. Mutate only while holding ``lock``."""

    tenants: dict[str, str] = field(default_factory=dict)  # tenant id -> display name
    principals: dict[str, ServicePrincipal] = field(default_factory=dict)  # client id -> principal
    subscriptions: dict[str, Subscription] = field(default_factory=dict)
    resource_groups: dict[tuple[str, str], ResourceGroup] = field(default_factory=dict)  # (sub, rg.lower())
    accounts: dict[str, Account] = field(default_factory=dict)  # name.lower() -> account (names are global)
    tokens: dict[str, Token] = field(default_factory=dict)  # access token -> what it stands for
    # Bumped on every mutation the persistence layer should save (views call ``changed()``).
    version: int = 0
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False, compare=False)

    def __getstate__(self) -> dict:
        with self.lock:
            data = dict(self.__dict__)
        data.pop("lock", None)
        return data

    def __setstate__(self, data: dict) -> None:
        self.__dict__.update(data)
        self.lock = threading.RLock()

    def changed(self) -> None:
        with self.lock:
            self.version += 1

    # -- lookups (case-insensitive, like ARM) ---------------------------------------------------------
    def resource_group(self, subscription_id: str, name: str) -> ResourceGroup | None:
        return self.resource_groups.get((subscription_id.lower(), name.lower()))

    def subscription(self, subscription_id: str) -> Subscription | None:
        return self.subscriptions.get(subscription_id.lower())

    def account(self, name: str) -> Account | None:
        return self.accounts.get(name.lower())

    def account_by_key(self, key: str | None) -> Account | None:
        if not key:
            return None
        with self.lock:
            return next((a for a in self.accounts.values() if a.key_matches(key)), None)

    def principal_for_token(self, value: str) -> tuple[ServicePrincipal | None, Token | None]:
        """(principal, token) for an access token; (None, None) when it was never issued here."""
        with self.lock:
            tok = self.tokens.get(value)
            return (self.principals.get(tok.client_id) if tok else None), tok

    def issue_token(self, principal: ServicePrincipal, lifetime: float) -> Token:
        with self.lock:
            now = time.time()
            # Forget long-expired tokens so the table stays small in long runs.
            for value in [v for v, t in self.tokens.items() if t.expires_at < now - 3600]:
                del self.tokens[value]
            tok = Token(f"azsim.{secrets.token_urlsafe(32)}", principal.client_id, principal.tenant_id,
                        now + lifetime)
            self.tokens[tok.value] = tok
            return tok

    def revoke_keys(self, account_name: str) -> None:
        """Rotate both keys, so callers holding the old ones get 401 (a 'revoked key' fault)."""
        with self.lock:
            acct = self.account(account_name)
            if acct is not None:
                acct.key1, acct.key2 = new_key(), new_key()
                self.version += 1

    # -- attendees -------------------------------------------------------------------------------------
    def create_attendee(self, name: Any, region: Any = None) -> dict:
        """A tenant, a subscription, a resource group and a service principal with access to it.

        Returns the credential fields (``tenant_id``, ``client_id``, ``client_secret``,
        ``subscription_id``, ``resource_group``, ``region``). Every call makes a new attendee, even for a
        name used before (the name is a label). Raises :class:`AttendeeError` on a bad name or region.
        """
        if not isinstance(name, str) or not name:
            raise AttendeeError("'name' is required: a string of 1-48 letters, digits, '.', '_' or '-'.")
        if not _ATTENDEE_NAME.match(name):
            raise AttendeeError(
                f"'name' {name!r} is not valid: use 1-48 letters, digits, '.', '_' or '-', "
                "starting with a letter or digit."
            )
        if region is None or region == "":
            region = DEFAULT_REGION
        if not isinstance(region, str) or normalize_region(region) not in REGIONS:
            raise AttendeeError(f"'region' {region!r} is not a region with Custom Vision: use one of "
                                f"{', '.join(REGIONS)}.")
        region = normalize_region(region)
        tenant_id, sub_id, client_id = (str(uuid.uuid4()) for _ in range(3))
        principal = ServicePrincipal(tenant_id, client_id, secrets.token_urlsafe(30), f"labgrader-{name}")
        rg = ResourceGroup(sub_id, f"ODL-{name}-{sub_id[:6].upper()}", region)
        with self.lock:
            self.tenants[tenant_id] = f"{name} lab tenant"
            self.principals[client_id] = principal
            self.subscriptions[sub_id] = Subscription(sub_id, tenant_id, f"Lab subscription ({name})",
                                                      {principal.object_id})
            self.resource_groups[(sub_id, rg.name.lower())] = rg
            self.version += 1
        return {
            "tenant_id": tenant_id,
            "client_id": client_id,
            "client_secret": principal.client_secret,
            "subscription_id": sub_id,
            "resource_group": rg.name,
            "region": region,
        }

    def snapshot(self) -> dict:
        """A JSON-able view of the world without secrets or keys (for the admin API)."""
        with self.lock:
            return {
                "tenants": [{"tenant_id": t, "display_name": n} for t, n in self.tenants.items()],
                "principals": [
                    {"client_id": p.client_id, "tenant_id": p.tenant_id, "object_id": p.object_id,
                     "display_name": p.display_name}
                    for p in self.principals.values()
                ],
                "subscriptions": [
                    {"subscription_id": s.subscription_id, "tenant_id": s.tenant_id,
                     "display_name": s.display_name,
                     "resource_groups": [rg.name for (sub, _), rg in self.resource_groups.items()
                                         if sub == s.subscription_id]}
                    for s in self.subscriptions.values()
                ],
                "accounts": [
                    {"id": a.resource_id(), "name": a.name, "kind": a.kind, "sku": a.sku,
                     "location": a.location, "endpoint": a.endpoint}
                    for a in self.accounts.values()
                ],
            }

    def reset(self) -> None:
        with self.lock:
            self.tenants.clear()
            self.principals.clear()
            self.subscriptions.clear()
            self.resource_groups.clear()
            self.accounts.clear()
            self.tokens.clear()
            self.version += 1
