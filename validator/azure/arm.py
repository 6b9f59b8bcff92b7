"""Azure Resource Manager: the attendee's Cognitive Services accounts and their keys."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TypeVar

from azure.mgmt.cognitiveservices import CognitiveServicesManagementClient

from checks.facts import AccountFact

from .budget import CallCounter, Deadline, RetryPolicy
from .cloud import AttendeeAzure
from .errors import AzureCallError

if TYPE_CHECKING:
    from azure.mgmt.resource.subscriptions import SubscriptionClient

    from ..runtime import Observation

T = TypeVar("T")

def _client(runtime: Observation, azure: AttendeeAzure) -> CognitiveServicesManagementClient:
    """One client per (identity, subscription, cloud): it keeps its connection pool and token cache."""
    credential = runtime.credentials.get(azure)
    # Keyed by the credential object itself: a credential replaced in its own cache (and closed) is
    # never used again through an older client.
    key = (azure.profile, azure.subscription_id, credential)
    return runtime.arm_clients.get_or_create(key, lambda: _build(runtime, azure, credential))


def _build(runtime: Observation, azure: AttendeeAzure, credential) -> CognitiveServicesManagementClient:
    return CognitiveServicesManagementClient(credential, azure.subscription_id, **_options(runtime, azure))


def _options(runtime: Observation, azure: AttendeeAzure) -> dict:
    """An ARM client's options: no SDK retry (RetryPolicy in budget.py is the one place that retries), the
    profile's endpoints, and the runtime's shared connections trusting the profile's CA."""
    profile = azure.profile
    options: dict = {"retry_total": 0, "transport": runtime.connections.transport(profile.verify)}
    if not profile.is_public:
        options.update(base_url=profile.arm_endpoint, credential_scopes=[profile.credential_scope])
    return options


def _subscription_client(runtime: Observation, azure: AttendeeAzure) -> SubscriptionClient:
    from azure.mgmt.resource.subscriptions import SubscriptionClient  # only labgrader doctor asks for it

    credential = runtime.credentials.get(azure)
    return runtime.arm_clients.get_or_create(("subscriptions", azure.profile, credential),
                                             lambda: SubscriptionClient(credential, **_options(runtime, azure)))

# A name no account has, for proving an action on accounts without touching one (doctor): ARM checks the
# caller's roles at the request's scope before it looks for the resource, so 404 means "allowed".
PROBE_ACCOUNT = "labgrader-permission-probe"


class ArmGateway:
    """Reads accounts and keys for one attendee; every call goes through the retry policy and counter.

    ``runtime`` holds what outlives this validation (credentials, clients, caches); the other gateways of the
    validation reach it through here."""

    def __init__(self, runtime: Observation, azure: AttendeeAzure, deadline: Deadline, counter: CallCounter,
                 retry: RetryPolicy | None = None) -> None:
        self.runtime = runtime
        self.azure = azure
        self.deadline = deadline
        self.counter = counter
        self.retry = retry or RetryPolicy()

    def run(self, operation: str, fn: Callable[[float], T]) -> T:
        """``fn(timeout)`` through the retry policy, within this validation's deadline, counted."""
        return self.retry.run(operation, fn, self.deadline, self.counter, token_calls=self.runtime.token_calls)

    def accounts(self) -> list[AccountFact]:
        """All Cognitive Services accounts in the attendee's resource group (every page)."""
        client = _client(self.runtime, self.azure)
        rg = self.azure.resource_group

        def fetch(timeout: float) -> list[AccountFact]:
            pager = client.accounts.list_by_resource_group(rg, connection_timeout=timeout, read_timeout=timeout)
            return [_account_fact(a, rg) for a in pager]

        return self.run("Accounts_ListByResourceGroup", fetch)

    def deleted_accounts(self) -> list[AccountFact]:
        """The soft-deleted accounts of the attendee's resource group (ARM lists them per subscription)."""
        client = _client(self.runtime, self.azure)
        rg = self.azure.resource_group

        def fetch(timeout: float) -> list[AccountFact]:
            pager = client.deleted_accounts.list(connection_timeout=timeout, read_timeout=timeout)
            return [_account_fact(a, rg) for a in pager if _resource_group_of(a.id).casefold() == rg.casefold()]

        return self.run("DeletedAccounts_List", fetch)

    def sign_in(self) -> None:
        """Get an Entra ID token for ARM (what every other call needs first)."""
        credential = self.runtime.credentials.get(self.azure)
        scope = self.azure.profile.credential_scope
        self.run("token", lambda timeout: credential.get_token(scope))

    def subscription_name(self) -> str:
        """The subscription's display name (``Subscriptions_Get``: any role in the subscription allows it)."""
        client = _subscription_client(self.runtime, self.azure)

        def fetch(timeout: float) -> str:
            sub = client.subscriptions.get(self.azure.subscription_id, connection_timeout=timeout,
                                           read_timeout=timeout)
            return sub.display_name or sub.subscription_id or self.azure.subscription_id

        return self.run("Subscriptions_Get", fetch)

    def probe_list_keys(self, account_name: str | None = None) -> bool:
        """Prove ``listKeys`` is allowed on ``account_name`` (or on an account that does not exist, when
        none is given) without keeping the keys: True when allowed, False when key access is disabled on the
        account; raises :class:`AzureCallError` (``permission`` when refused)."""
        try:
            self.training_key(account_name or PROBE_ACCOUNT)
        except AzureCallError as err:
            if err.status == 404 and account_name is None:
                return True  # ARM allowed the action and then found no such account
            if err.status == 400 and "disablelocalauth" in err.detail.lower():
                return False
            raise
        return True

    def training_key(self, account_name: str) -> str:
        """The account's key1 (``listKeys``). Callers cache it; it is never logged or stored in evidence."""
        client = _client(self.runtime, self.azure)

        def fetch(timeout: float) -> str:
            keys = client.accounts.list_keys(
                self.azure.resource_group, account_name, connection_timeout=timeout, read_timeout=timeout
            )
            return keys.key1

        return self.run("Accounts_ListKeys", fetch)


def _account_fact(account, resource_group: str) -> AccountFact:
    props = account.properties
    return AccountFact(
        name=account.name,
        kind=account.kind or "",
        sku=account.sku.name if account.sku else "",
        location=account.location or "",
        resource_group=resource_group,
        provisioning_state=(props.provisioning_state if props else None) or "",
        endpoint=props.endpoint if props else None,
        resource_id=account.id,
        deleted_at=_timestamp(props.deletion_date) if props else None,
        custom_subdomain=(props.custom_sub_domain_name if props else None) or None,
        disable_local_auth=bool(props.disable_local_auth) if props else False,
    )


def _timestamp(text: str | None) -> datetime | None:
    """An ARM timestamp (ISO 8601, 'Z', up to 7 fractional digits) as an aware datetime, or None."""
    if not text:
        return None
    cleaned = re.sub(r"(\.\d{6})\d+", r"\1", text.strip()).replace("Z", "+00:00")
    try:
        parsed = datetime.fromisoformat(cleaned)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _resource_group_of(resource_id: str | None) -> str:
    """The resource group named in an ARM id (``.../resourceGroups/<rg>/...``), or ''."""
    parts = (resource_id or "").split("/")
    lowered = [p.casefold() for p in parts]
    return parts[lowered.index("resourcegroups") + 1] if "resourcegroups" in lowered[:-1] else ""
