"""Azure Resource Manager: the attendee's Cognitive Services accounts and their keys."""

from __future__ import annotations

from azure.mgmt.cognitiveservices import CognitiveServicesManagementClient

from checks.facts import AccountFact

from .budget import CallCounter, Deadline, RetryPolicy
from .caches import ClientCache
from .cloud import AttendeeAzure
from .identity import credential_for

# Bounded, closed on eviction: each client holds a connection pool and (through its credential) a secret.
_clients = ClientCache(maxsize=512, ttl=3600)


def _client(azure: AttendeeAzure) -> CognitiveServicesManagementClient:
    """One client per (identity, subscription, cloud): it keeps its connection pool and token cache."""
    credential = credential_for(azure)
    # Keyed by the credential object itself: a credential replaced in its own cache (and closed) is
    # never used again through an older client.
    key = (azure.profile, azure.subscription_id, credential)
    return _clients.get_or_create(key, lambda: _build(azure, credential))


def _build(azure: AttendeeAzure, credential) -> CognitiveServicesManagementClient:
    options: dict = {"retry_total": 0}  # RetryPolicy (budget.py) is the one place that retries
    profile = azure.profile
    if not profile.is_public:
        options.update(base_url=profile.arm_endpoint, credential_scopes=[profile.credential_scope])
    if profile.ca_bundle:
        options["connection_verify"] = profile.ca_bundle
    return CognitiveServicesManagementClient(credential, azure.subscription_id, **options)


class ArmGateway:
    """Reads accounts and keys for one attendee; every call goes through the retry policy and counter."""

    def __init__(self, azure: AttendeeAzure, deadline: Deadline, counter: CallCounter,
                 retry: RetryPolicy | None = None) -> None:
        self.azure = azure
        self.deadline = deadline
        self.counter = counter
        self.retry = retry or RetryPolicy()

    def accounts(self) -> list[AccountFact]:
        """All Cognitive Services accounts in the attendee's resource group (every page)."""
        client = _client(self.azure)
        rg = self.azure.resource_group

        def fetch(timeout: float) -> list[AccountFact]:
            pager = client.accounts.list_by_resource_group(rg, connection_timeout=timeout, read_timeout=timeout)
            return [_account_fact(a, rg) for a in pager]

        return self.retry.run("Accounts_ListByResourceGroup", fetch, self.deadline, self.counter)

    def training_key(self, account_name: str) -> str:
        """The account's key1 (``listKeys``). Callers cache it; it is never logged or stored in evidence."""
        client = _client(self.azure)

        def fetch(timeout: float) -> str:
            keys = client.accounts.list_keys(
                self.azure.resource_group, account_name, connection_timeout=timeout, read_timeout=timeout
            )
            return keys.key1

        return self.retry.run("Accounts_ListKeys", fetch, self.deadline, self.counter)


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
    )
