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
from datetime import UTC, datetime, timedelta
from typing import Any

from .rbac import BUILTIN_BY_NAME, RoleAssignment, RoleDefinition, RoleError, within

# Regions where Custom Vision (Training and Prediction) can be created, as ARM spells them.
REGIONS = (
    "australiaeast", "brazilsouth", "centralindia", "centralus", "eastasia", "eastus", "eastus2",
    "francecentral", "japaneast", "koreacentral", "northcentralus", "northeurope", "norwayeast",
    "southafricanorth", "southcentralus", "southeastasia", "swedencentral", "switzerlandnorth",
    "uksouth", "westeurope", "westus", "westus2", "westus3",
)
DEFAULT_REGION = "eastus"

# Data-plane host label of a region's shared endpoint (``eastus.api`` stands for
# https://eastus.api.cognitive.microsoft.com/); custom subdomains cannot contain dots, so labels never clash.
REGIONAL_SUFFIX = ".api"
_ACCOUNT_ID = re.compile(
    r"^/subscriptions/([^/]+)/resourceGroups/([^/]+)/providers/Microsoft\.CognitiveServices/accounts/([^/]+)$",
    re.IGNORECASE,
)

# Attendee names become part of a resource group name: letters, digits, '.', '_' and '-'.
_ATTENDEE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,47}$")

# Token audiences (the ``scope`` asked for, less ``/.default``). ARM accepts its documented audiences and
# the simulator's own base URL (the SDKs' credential scope here); the Cognitive Services data plane its own.
ARM_AUDIENCES = ("https://management.azure.com", "https://management.core.windows.net")
COGNITIVE_AUDIENCE = "https://cognitiveservices.azure.com"

# The role ``create_attendee`` gives its service principal unless told otherwise: what attendees always had.
DEFAULT_ROLE = "Contributor"
GRADER_SCOPES = ("subscription", "resource_group")


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
    # When the client secret stops working (epoch seconds), or None for never.
    secret_expires_at: float | None = None

    def secret_expired(self, now: float | None = None) -> bool:
        return self.secret_expires_at is not None and (time.time() if now is None else now) >= self.secret_expires_at


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
    # Before role assignments (SimState.role_assignments) existed: object ids with access to the whole
    # subscription. Read only when loading such a saved world, which turns them into Contributor assignments.
    principals: set[str] = field(default_factory=set)


@dataclass
class Token:
    """An access token Entra ID issued: opaque to clients, mapped back to its principal here."""

    value: str
    client_id: str
    tenant_id: str
    expires_at: float  # epoch seconds
    # Who it is for: the scope asked for less "/.default" (an ARM token is not a Cognitive Services token).
    # None for tokens saved before audiences were recorded (they were all ARM tokens).
    audience: str | None = None

    def for_audience(self, *audiences: str) -> bool:
        """Whether the token was issued for one of ``audiences`` (compared without a trailing slash, any case)."""
        aud = (self.audience or "").rstrip("/").lower()
        return bool(aud) and aud in (a.rstrip("/").lower() for a in audiences)

    def expired(self, now: float | None = None) -> bool:
        return (time.time() if now is None else now) >= self.expires_at


# Provisioning states of an account that is still being created or changed (no data plane yet).
BUSY_STATES = ("Accepted", "Creating", "Deleting")
# How long Azure keeps a deleted Cognitive Services account before purging it for good.
SOFT_DELETE_RETENTION = timedelta(hours=48)


@dataclass
class Account:
    """A Microsoft.CognitiveServices account (here: CustomVision.Training or CustomVision.Prediction).

    Names are unique per resource group. ``custom_subdomain`` (globally unique, also while the account
    is soft-deleted) gives the account its own endpoint; without one it answers on its region's shared
    endpoint, where the key picks the account.
    """

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
    custom_subdomain: str | None = None
    # The long-running operation in progress, if any (see Operation).
    operation_id: str | None = None
    # Set while soft-deleted: when it was deleted (it is purged SOFT_DELETE_RETENTION later).
    deleted_at: datetime | None = None
    # properties.disableLocalAuth: keys are refused on the data plane (and listKeys refuses too).
    disable_local_auth: bool = False

    def resource_id(self) -> str:
        return (
            f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"
            f"/providers/Microsoft.CognitiveServices/accounts/{self.name}"
        )

    def deleted_id(self) -> str:
        """The id ARM gives the account while it is soft-deleted."""
        return (
            f"/subscriptions/{self.subscription_id}/providers/Microsoft.CognitiveServices/locations/"
            f"{self.location}/resourceGroups/{self.resource_group}/deletedAccounts/{self.name}"
        )

    def key_matches(self, key: str | None) -> bool:
        return bool(key) and key in (self.key1, self.key2)

    def serves_data_plane(self) -> bool:
        """Whether the account answers on its endpoint (deployed, not being created or deleted)."""
        return self.deleted_at is None and self.provisioning_state not in (*BUSY_STATES, "Failed")

    def touch(self, by: str | None) -> None:
        """Record a modification (new etag, lastModified*)."""
        self.last_modified = utcnow()
        self.last_modified_by = by
        self.etag = f'"{uuid.uuid4()}"'


@dataclass
class Operation:
    """An ARM long-running operation (create, update, delete or purge of an account).

    It is in progress until ``done_at`` (epoch seconds), then ends in ``outcome`` (Succeeded or
    Failed). Clients poll it through ``Azure-AsyncOperation`` / ``Location`` (see azuresim.arm).
    """

    id: str
    action: str  # create | update | delete | purge
    account_key: str  # SimState.accounts / deleted_accounts key of the account it works on
    subscription_id: str
    location: str
    started: datetime
    done_at: float
    outcome: str = "Succeeded"
    error: tuple[str, str] | None = None  # (code, message) when it fails
    applied: bool = False  # its effect on the world is done (see SimState.settle)

    def running(self, now: float | None = None) -> bool:
        return (time.time() if now is None else now) < self.done_at

    def in_progress_state(self) -> str:
        return {"create": "Creating", "delete": "Deleting", "purge": "Deleting"}.get(self.action, "Accepted")


def account_key(subscription_id: str, resource_group: str, name: str) -> str:
    """How SimState indexes accounts: their resource id, lower-cased (ARM ids are case-insensitive)."""
    return f"/subscriptions/{subscription_id}/resourcegroups/{resource_group}/{name}".lower()


def _generic_store():
    from .generic import GenericStore  # it builds on this module's regions and helpers

    return GenericStore()


@dataclass
class SimState:
    """Everything the simulator knows. Mutate only while holding ``lock``."""

    tenants: dict[str, str] = field(default_factory=dict)  # tenant id -> display name
    principals: dict[str, ServicePrincipal] = field(default_factory=dict)  # client id -> principal
    subscriptions: dict[str, Subscription] = field(default_factory=dict)
    resource_groups: dict[tuple[str, str], ResourceGroup] = field(default_factory=dict)  # (sub, rg.lower())
    accounts: dict[str, Account] = field(default_factory=dict)  # account_key(...) -> live account
    deleted_accounts: dict[str, Account] = field(default_factory=dict)  # account_key(...) -> soft-deleted
    operations: dict[str, Operation] = field(default_factory=dict)  # operation id -> long-running operation
    tokens: dict[str, Token] = field(default_factory=dict)  # access token -> what it stands for
    role_definitions: dict[str, RoleDefinition] = field(default_factory=dict)  # custom roles, by lower-cased name
    role_assignments: list[RoleAssignment] = field(default_factory=list)
    # Generic resources of registered types (``azuresim.generic``): any provider namespace but Cognitive Services.
    generic: Any = field(default_factory=lambda: _generic_store())
    # Bumped on every mutation the persistence layer should save (views call ``changed()``).
    version: int = 0
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False, compare=False)

    def __getstate__(self) -> dict:
        with self.lock:
            data = dict(self.__dict__)
        data.pop("lock", None)
        return data

    def __setstate__(self, data: dict) -> None:
        data.setdefault("deleted_accounts", {})
        data.setdefault("operations", {})
        data.setdefault("role_definitions", {})
        if data.get("generic") is None:  # saved before generic resources
            data["generic"] = _generic_store()
        if "role_assignments" not in data:  # saved before roles: subscription access was Contributor
            data["role_assignments"] = [
                RoleAssignment(oid, DEFAULT_ROLE, f"/subscriptions/{sub.subscription_id}")
                for sub in data.get("subscriptions", {}).values() for oid in sub.principals]
        # Saved before accounts were keyed by resource id (they were keyed by global name).
        data["accounts"] = {account_key(a.subscription_id, a.resource_group, a.name): a
                            for a in data.get("accounts", {}).values()}
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
        """A live account by name alone (names repeat only across resource groups; admin and tests)."""
        with self.lock:
            return next((a for a in self.accounts.values() if a.name.lower() == name.lower()), None)

    def find_account(self, subscription_id: str, resource_group: str, name: str) -> Account | None:
        return self.accounts.get(account_key(subscription_id, resource_group, name))

    def find_deleted(self, subscription_id: str, resource_group: str, name: str) -> Account | None:
        return self.deleted_accounts.get(account_key(subscription_id, resource_group, name))

    def subdomain_owner(self, subdomain: str) -> Account | None:
        """The live or soft-deleted account holding a custom subdomain (they are unique across Azure)."""
        label = subdomain.lower()
        with self.lock:
            return next((a for a in (*self.accounts.values(), *self.deleted_accounts.values())
                         if (a.custom_subdomain or "").lower() == label), None)

    def subdomain_account(self, host: str) -> Account | None:
        """The live account answering on custom subdomain ``host`` (None for a regional endpoint)."""
        label = host.lower()
        with self.lock:
            return next((a for a in self.accounts.values() if (a.custom_subdomain or "").lower() == label), None)

    def data_plane_account(self, host: str, key: str | None, kind: str) -> Account | None:
        """The account a data-plane request reaches: on its custom subdomain, or on the shared regional
        endpoint of its region (``host`` is then ``<region>.api``), where the key picks the account.
        None when no deployed account of ``kind`` answers there with that key."""
        if not key:
            return None
        host = host.lower()
        with self.lock:
            if host.endswith(REGIONAL_SUFFIX):
                region = host[: -len(REGIONAL_SUFFIX)]
                found = next((a for a in self.accounts.values()
                              if a.location == region and a.key_matches(key)), None)
            else:
                found = next((a for a in self.accounts.values()
                              if (a.custom_subdomain or "").lower() == host), None)
            if found is None or found.kind != kind or not found.key_matches(key) or not found.serves_data_plane():
                return None
            return found

    def account_by_id(self, resource_id: str) -> Account | None:
        """A live account by its ARM resource id (any case)."""
        m = _ACCOUNT_ID.match(resource_id or "")
        return self.find_account(*m.groups()) if m else None

    def principal_for_token(self, value: str) -> tuple[ServicePrincipal | None, Token | None]:
        """(principal, token) for an access token; (None, None) when it was never issued here."""
        with self.lock:
            tok = self.tokens.get(value)
            return (self.principals.get(tok.client_id) if tok else None), tok

    def issue_token(self, principal: ServicePrincipal, lifetime: float, audience: str | None = None) -> Token:
        with self.lock:
            now = time.time()
            # Forget long-expired tokens so the table stays small in long runs.
            for value in [v for v, t in self.tokens.items() if t.expires_at < now - 3600]:
                del self.tokens[value]
            tok = Token(f"azsim.{secrets.token_urlsafe(32)}", principal.client_id, principal.tenant_id,
                        now + lifetime, audience.rstrip("/") if audience else audience)
            self.tokens[tok.value] = tok
            return tok

    # -- roles (see azuresim.rbac) ------------------------------------------------------------------------
    def role(self, name: str) -> RoleDefinition:
        """A built-in or custom role by name (any case); raises :class:`RoleError` for an unknown one."""
        key = str(name).strip().lower()
        found = BUILTIN_BY_NAME.get(key) or self.role_definitions.get(key)
        if found is None:
            raise RoleError(f"There is no role named '{name}'. Built-in roles: "
                            f"{', '.join(sorted(r.name for r in BUILTIN_BY_NAME.values()))}; or define a custom role.")
        return found

    def define_role(self, definition: RoleDefinition | dict) -> RoleDefinition:
        """Add (or replace) a custom role; a built-in role's name cannot be taken. Raises :class:`RoleError`."""
        role = definition if isinstance(definition, RoleDefinition) else RoleDefinition.from_json(definition)
        if role.name.lower() in BUILTIN_BY_NAME:
            raise RoleError(f"'{role.name}' is a built-in role: give the custom role another name.")
        with self.lock:
            self.role_definitions[role.name.lower()] = role
            self.version += 1
        return role

    def assign_role(self, principal: ServicePrincipal, role: str, scope: str) -> RoleAssignment:
        """Grant ``role`` to ``principal`` at ``scope`` (a subscription or resource group id that exists)."""
        definition = self.role(role)
        parts = [p for p in scope.strip().split("/") if p]
        ok = (len(parts) in (2, 4) and parts[0].lower() == "subscriptions" and self.subscription(parts[1]) is not None
              and (len(parts) == 2 or (parts[2].lower() == "resourcegroups"
                                       and self.resource_group(parts[1], parts[3]) is not None)))
        if not ok:
            raise RoleError(f"The scope '{scope}' is not a subscription or resource group of this simulator "
                            "(/subscriptions/ID or /subscriptions/ID/resourceGroups/NAME).")
        assignment = RoleAssignment(principal.object_id, definition.name, "/" + "/".join(parts))
        with self.lock:
            self.role_assignments.append(assignment)
            self.version += 1
        return assignment

    def unassign_roles(self, principal: ServicePrincipal) -> int:
        """Remove every role assignment of ``principal``; returns how many there were."""
        with self.lock:
            before = len(self.role_assignments)
            self.role_assignments = [a for a in self.role_assignments if a.principal_id != principal.object_id]
            self.version += 1
            return before - len(self.role_assignments)

    def assignments_of(self, principal: ServicePrincipal) -> list[RoleAssignment]:
        with self.lock:
            return [a for a in self.role_assignments if a.principal_id == principal.object_id]

    def permitted(self, principal: ServicePrincipal, action: str, scope: str, data: bool = False) -> bool:
        """Whether a role assigned to ``principal`` at ``scope`` or above allows ``action`` (a data action if
        ``data``): Azure's union of role assignments, each role's actions less its own not-actions."""
        with self.lock:
            for a in self.role_assignments:
                if a.principal_id != principal.object_id or not within(scope, a.scope):
                    continue
                try:
                    role = self.role(a.role)
                except RoleError:  # a custom role removed since: grants nothing
                    continue
                if role.allows(action, data):
                    return True
        return False

    def permitted_below(self, principal: ServicePrincipal, action: str, scope: str) -> bool:
        """Whether ``action`` is allowed at ``scope`` or at some scope below it (a list at subscription scope
        answers, filtered, to a principal with access to some of its resource groups)."""
        if self.permitted(principal, action, scope):
            return True
        with self.lock:
            return any(a.principal_id == principal.object_id and within(a.scope, scope)
                       and self.permitted(principal, action, a.scope) for a in self.role_assignments)

    def sees_subscription(self, principal: ServicePrincipal, subscription_id: str) -> bool:
        """Whether the principal has any role assignment in the subscription (then ARM lists it to them)."""
        scope = f"/subscriptions/{subscription_id}"
        with self.lock:
            return any(a.principal_id == principal.object_id and within(a.scope, scope)
                       for a in self.role_assignments)

    # -- time passing ----------------------------------------------------------------------------------
    def start_operation(self, action: str, acct: Account, seconds: float, fail: tuple[str, str] | None = None
                        ) -> Operation:
        """Begin a long-running operation on ``acct`` that ends ``seconds`` from now (call with the lock)."""
        op = Operation(str(uuid.uuid4()), action, account_key(acct.subscription_id, acct.resource_group, acct.name),
                       acct.subscription_id, acct.location, utcnow(), time.time() + max(0.0, seconds),
                       outcome="Failed" if fail else "Succeeded", error=fail)
        self.operations[op.id] = op
        acct.operation_id = op.id
        self.version += 1
        return op

    def settle(self, now: float | None = None) -> None:
        """Apply what time has finished: operations past their end, soft-deleted accounts past retention.

        Called before every request is served, so every answer sees the world as it is by then.
        """
        now = time.time() if now is None else now
        with self.lock:
            before = self.version
            for op in self.operations.values():
                if not op.applied and not op.running(now):
                    self._finish(op, now)
            for op_id in [i for i, op in self.operations.items() if op.applied and op.done_at < now - 3600]:
                del self.operations[op_id]  # nobody polls an hour-old operation
            cutoff = datetime.fromtimestamp(now, UTC) - SOFT_DELETE_RETENTION
            for key in [k for k, a in self.deleted_accounts.items() if a.deleted_at and a.deleted_at < cutoff]:
                del self.deleted_accounts[key]
                self.version += 1
            if self.version != before:
                self.version += 1

    def _finish(self, op: Operation, now: float) -> None:
        op.applied = True
        self.version += 1
        if op.action == "purge":
            self.deleted_accounts.pop(op.account_key, None)
            return
        acct = self.accounts.get(op.account_key)
        if acct is None or acct.operation_id != op.id:
            return  # superseded by a later operation on the same account
        acct.operation_id = None
        if op.action == "delete":
            del self.accounts[op.account_key]
            acct.deleted_at = datetime.fromtimestamp(now, UTC)
            acct.provisioning_state = "Succeeded"  # as ARM shows a soft-deleted account
            self.deleted_accounts[op.account_key] = acct
        else:
            acct.provisioning_state = op.outcome

    def revoke_keys(self, account_name: str) -> None:
        """Rotate both keys, so callers holding the old ones get 401 (a 'revoked key' fault)."""
        with self.lock:
            acct = self.account(account_name)
            if acct is not None:
                acct.key1, acct.key2 = new_key(), new_key()
                self.version += 1

    # -- attendees -------------------------------------------------------------------------------------
    def create_attendee(self, name: Any, region: Any = None, grader_role: Any = None,
                        grader_scope: Any = None) -> dict:
        """A tenant, a subscription, a resource group and a service principal with access to it.

        Returns the credential fields (``tenant_id``, ``client_id``, ``client_secret``,
        ``subscription_id``, ``resource_group``, ``region``). Every call makes a new attendee, even for a
        name used before (the name is a label). Raises :class:`AttendeeError` on a bad name or region.

        By default the one service principal is Contributor on the subscription: the student and the grader
        share it. With ``grader_role`` (a role name, or a custom role definition as JSON) and ``grader_scope``
        (``subscription``, the default, or ``resource_group``), the credentials are a second principal's,
        the grader's, holding only that role there; the student's own (Contributor) are under ``student``.
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
        if grader_role is None and grader_scope is not None:
            raise AttendeeError("'grader_scope' needs a 'grader_role'.")
        grader_scope = grader_scope or "subscription"
        if grader_scope not in GRADER_SCOPES:
            raise AttendeeError(f"'grader_scope' must be one of {', '.join(GRADER_SCOPES)}.")
        if grader_role is not None:
            try:
                role_name = (self.define_role(grader_role).name if isinstance(grader_role, dict)
                             else self.role(grader_role).name)
            except RoleError as exc:
                raise AttendeeError(str(exc)) from None
        tenant_id, client_id = str(uuid.uuid4()), str(uuid.uuid4())
        principal = ServicePrincipal(tenant_id, client_id, secrets.token_urlsafe(30), f"labgrader-{name}")
        with self.lock:
            sub_id = self._new_subscription_id()
            rg = ResourceGroup(sub_id, f"ODL-{name}-{sub_id[:6].upper()}", region)
            self.tenants[tenant_id] = f"{name} lab tenant"
            self.principals[client_id] = principal
            self.subscriptions[sub_id] = Subscription(sub_id, tenant_id, f"Lab subscription ({name})")
            self.resource_groups[(sub_id, rg.name.lower())] = rg
            self.assign_role(principal, DEFAULT_ROLE, f"/subscriptions/{sub_id}")
            self.version += 1
        creds = {
            "tenant_id": tenant_id,
            "client_id": client_id,
            "client_secret": principal.client_secret,
            "subscription_id": sub_id,
            "resource_group": rg.name,
            "region": region,
        }
        if grader_role is None:
            return creds
        grader = ServicePrincipal(tenant_id, str(uuid.uuid4()), secrets.token_urlsafe(30), f"labgrader-grader-{name}")
        with self.lock:
            self.principals[grader.client_id] = grader
            scope = rg.resource_id() if grader_scope == "resource_group" else f"/subscriptions/{sub_id}"
            self.assign_role(grader, role_name, scope)
        student = {"client_id": client_id, "client_secret": principal.client_secret}
        return creds | {"client_id": grader.client_id, "client_secret": grader.client_secret, "student": student}

    def _new_subscription_id(self) -> str:
        """A subscription id whose first six characters no other subscription here begins with (call with the
        lock held). They are the attendee's DeploymentID (the ``injects`` of ``Simulator.create_attendee``), as a
        lab platform gives each deployment its own: the student's Custom Vision resource is named after it, and
        its custom subdomain must be unique across Azure. Drawn at random, two of a few hundred attendees
        would share them often enough to fail a test run now and then (one pair in 16.7 million)."""
        taken = {s[:6] for s in self.subscriptions}
        while (sub_id := str(uuid.uuid4()))[:6] in taken:
            continue
        return sub_id

    def snapshot(self) -> dict:
        """A JSON-able view of the world without secrets or keys (for the admin API)."""
        with self.lock:
            return {
                "tenants": [{"tenant_id": t, "display_name": n} for t, n in self.tenants.items()],
                "principals": [
                    {"client_id": p.client_id, "tenant_id": p.tenant_id, "object_id": p.object_id,
                     "display_name": p.display_name,
                     "roles": [{"role": a.role, "scope": a.scope} for a in self.role_assignments
                               if a.principal_id == p.object_id]}
                    for p in self.principals.values()
                ],
                "custom_roles": [r.to_json() for r in self.role_definitions.values()],
                "subscriptions": [
                    {"subscription_id": s.subscription_id, "tenant_id": s.tenant_id,
                     "display_name": s.display_name,
                     "resource_groups": [rg.name for (sub, _), rg in self.resource_groups.items()
                                         if sub == s.subscription_id]}
                    for s in self.subscriptions.values()
                ],
                "accounts": [
                    {"id": a.resource_id(), "name": a.name, "kind": a.kind, "sku": a.sku,
                     "location": a.location, "endpoint": a.endpoint,
                     "provisioning_state": a.provisioning_state}
                    for a in self.accounts.values()
                ],
                "deleted_accounts": [
                    {"id": a.deleted_id(), "name": a.name, "kind": a.kind, "sku": a.sku,
                     "location": a.location, "deleted_at": iso(a.deleted_at) if a.deleted_at else None}
                    for a in self.deleted_accounts.values()
                ],
                **self.generic.snapshot(),
            }

    def reset(self) -> None:
        with self.lock:
            self.tenants.clear()
            self.principals.clear()
            self.subscriptions.clear()
            self.resource_groups.clear()
            self.accounts.clear()
            self.deleted_accounts.clear()
            self.operations.clear()
            self.tokens.clear()
            self.role_definitions.clear()
            self.role_assignments.clear()
            self.generic.clear()
            self.version += 1
