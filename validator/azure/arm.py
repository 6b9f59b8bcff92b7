"""Azure Resource Manager: the attendee's Cognitive Services accounts and their keys."""

from __future__ import annotations

import threading

from azure.mgmt.cognitiveservices import CognitiveServicesManagementClient

from checks.facts import AccountFact

from .budget import CallCounter, Deadline, RetryPolicy
from .cloud import AttendeeAzure
from .identity import credential_for

_clients: dict[tuple, CognitiveServicesManagementClient] = {}
_clients_lock = threading.Lock()


def _client(azure: AttendeeAzure) -> CognitiveServicesManagementClient:
    """One client per (identity, subscription, cloud): it keeps its connection pool and token cache."""
    key = (azure.profile, azure.tenant_id, azure.client_id, azure.subscription_id, id(credential_for(azure)))
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            options: dict = {"retry_total": 0}  # RetryPolicy (budget.py) is the one place that retries
            profile = azure.profile
            if not profile.is_public:
                options.update(base_url=profile.arm_endpoint, credential_scopes=[profile.credential_scope])
            if profile.ca_bundle:
                options["connection_verify"] = profile.ca_bundle
            client = CognitiveServicesManagementClient(credential_for(azure), azure.subscription_id, **options)
            _clients[key] = client
        return client


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
    )
