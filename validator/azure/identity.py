"""Credentials, cached per identity so token requests are made once and reused across validations."""

from __future__ import annotations

import hashlib

from azure.core.credentials import TokenCredential
from azure.identity import ClientSecretCredential, DefaultAzureCredential

from . import tokens
from .caches import ClientCache
from .cloud import AttendeeAzure

# Bounded: a class of thousands must not keep every secret and connection pool alive forever.
_cache = ClientCache(maxsize=512, ttl=3600)


def key_for(azure: AttendeeAzure) -> tuple:
    """The cache key of this identity (the secret only as a hash)."""
    profile = azure.profile
    if not azure.client_id:
        return ("default", profile.authority_host)
    # The secret is part of the key (hashed) so a rotated secret gets a fresh credential.
    digest = hashlib.sha256((azure.client_secret or "").encode()).hexdigest()
    return (profile.authority_host, azure.tenant_id, azure.client_id, digest)


def credential_for(azure: AttendeeAzure) -> TokenCredential:
    """A token credential for this attendee's service principal, or the platform's own identity."""
    return _cache.get_or_create(key_for(azure), lambda: _build(azure))


def _build(azure: AttendeeAzure) -> TokenCredential:
    profile = azure.profile
    options: dict = {
        "authority": profile.authority_host,
        # RetryPolicy (budget.py) is the one place that retries; each token request gets the calling
        # attempt's timeout (tokens.apply_timeout), and its failure is classified from tokens.record_failure.
        "retry_total": 0,
        "connection_timeout": 8,
        "read_timeout": 8,
        "raw_request_hook": tokens.apply_timeout,
        "raw_response_hook": tokens.record_failure,
    }
    if not profile.is_public:
        # Instance discovery asks login.microsoftonline.com about the authority: not for private clouds.
        options["disable_instance_discovery"] = True
    if profile.ca_bundle:
        options["connection_verify"] = profile.ca_bundle
    if not azure.client_id:
        return DefaultAzureCredential(**options)
    return ClientSecretCredential(azure.tenant_id, azure.client_id, azure.client_secret, **options)


def forget(azure: AttendeeAzure) -> None:
    """Drop (and close) cached credentials for this identity (e.g. after the platform rotated the secret)."""
    _cache.discard(lambda key: azure.client_id in key)


def clear() -> None:
    """Drop every cached credential (tests, and a process that changes clouds)."""
    _cache.clear()
