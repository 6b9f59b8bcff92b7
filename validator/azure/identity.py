"""Credentials, cached per identity so token requests are made once and reused across validations.

A credential whose token request failed is not reused once the failure's ``Retry-After`` (if Entra ID sent
one) has passed: MSAL, inside the credential, replays a failed token answer without asking again, for 60
seconds after an HTTP 400 and 5 seconds after a 5xx without Retry-After, so validations would stay ERROR
that long after Entra ID recovered. A fresh credential asks again; a throttled one still waits as told.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from azure.core.credentials import TokenCredential
from azure.identity import ClientSecretCredential, DefaultAzureCredential

from . import tokens
from .caches import ClientCache
from .cloud import AttendeeAzure
from .connections import Connections


@dataclass(eq=False)
class _Entry:
    """A cached credential and, after a failed token answer, when it may be replaced by a fresh one."""

    credential: TokenCredential | None = None
    failed_until: float | None = None  # time.monotonic() value; None: its last token answer was not a failure

    def close(self) -> None:  # ClientCache closes what it drops
        if self.credential is not None:
            self.credential.close()


def key_for(azure: AttendeeAzure) -> tuple:
    """The cache key of this identity: where it signs in and whom it trusts (authority, CA bundle), who it is
    (tenant, client) and the secret, only as a hash."""
    profile = azure.profile
    if not azure.client_id:
        return ("default", profile.authority_host, profile.ca_bundle)
    # The secret is part of the key (hashed) so a rotated secret gets a fresh credential.
    digest = hashlib.sha256((azure.client_secret or "").encode()).hexdigest()
    return (profile.authority_host, profile.ca_bundle, azure.tenant_id, azure.client_id, digest)


class Credentials:
    """The credentials of every identity validated, each built once and reused (its tokens with it).

    Bounded: a class of thousands must not keep every secret and connection pool alive forever. Their token
    requests note failures in ``token_calls`` (see :mod:`.tokens`).
    """

    def __init__(self, token_calls: tokens.TokenCalls, connections: Connections, maxsize: int = 512,
                 ttl: float = 3600) -> None:
        self.token_calls = token_calls
        self.connections = connections
        self._cache = ClientCache(maxsize=maxsize, ttl=ttl)
        self._replace_lock = threading.Lock()

    def get(self, azure: AttendeeAzure) -> TokenCredential:
        """A token credential for this attendee's service principal, or the platform's own identity."""
        key = key_for(azure)
        with self._replace_lock:
            entry = self._cache.get_or_create(key, lambda: _build(azure, self.token_calls, self.connections))
            if entry.failed_until is not None and entry.failed_until <= time.monotonic():
                self._cache.discard(lambda k: k == key)
                entry = self._cache.get_or_create(key, lambda: _build(azure, self.token_calls, self.connections))
        assert entry.credential is not None
        return entry.credential

    def forget(self, azure: AttendeeAzure) -> None:
        """Drop (and close) cached credentials for this identity, whatever its secret (e.g. after the platform
        rotated it), or the platform's own identity's when ``azure`` names no service principal."""
        if azure.client_id:
            self._cache.discard(lambda key: key[0] != "default" and key[3] == azure.client_id)
        else:
            self._cache.discard(lambda key: key[0] == "default")

    def close(self) -> None:
        """Drop and close every credential."""
        self._cache.clear()

    def __len__(self) -> int:
        return len(self._cache)


def _build(azure: AttendeeAzure, token_calls: tokens.TokenCalls, connections: Connections) -> _Entry:
    profile = azure.profile
    entry = _Entry()
    options: dict = {
        "authority": profile.authority_host,
        # RetryPolicy (budget.py) is the one place that retries; each token request gets the calling
        # attempt's timeout (TokenCalls.apply_timeout), and its failure is classified from what
        # TokenCalls.record_failure noted.
        "retry_total": 0,
        # The shared pool (trusting the profile's CA, as before); the credential's tokens stay its own.
        "transport": connections.transport(profile.verify, connection_timeout=8, read_timeout=8),
        "raw_request_hook": token_calls.apply_timeout,
        "raw_response_hook": _on_token_response(entry, token_calls),
    }
    if not profile.is_public:
        # Instance discovery asks login.microsoftonline.com about the authority: not for private clouds.
        options["disable_instance_discovery"] = True
    if not azure.client_id:
        entry.credential = DefaultAzureCredential(**options)
    else:
        entry.credential = ClientSecretCredential(azure.tenant_id, azure.client_id, azure.client_secret, **options)
    return entry


def _on_token_response(entry: _Entry, token_calls: tokens.TokenCalls) -> Callable:
    """``raw_response_hook`` of one credential: record a failure for the caller (TokenCalls.record_failure) and
    mark the credential replaceable once Entra ID's Retry-After, if any, has passed; a success clears it."""

    def hook(pipeline_response) -> None:
        token_calls.record_failure(pipeline_response)
        response = pipeline_response.http_response
        if response.status_code < 400:
            entry.failed_until = None
        else:
            entry.failed_until = time.monotonic() + (tokens.retry_after(response.headers) or 0.0)

    return hook
