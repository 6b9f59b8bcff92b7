"""Credentials, cached per identity so token requests are made once and reused across validations."""

from __future__ import annotations

import hashlib
import threading

from azure.core.credentials import TokenCredential
from azure.identity import ClientSecretCredential, DefaultAzureCredential

from .cloud import AttendeeAzure

_cache: dict[tuple, TokenCredential] = {}
_lock = threading.Lock()


def credential_for(azure: AttendeeAzure) -> TokenCredential:
    """A token credential for this attendee's service principal, or the platform's own identity."""
    profile = azure.profile
    if not azure.client_id:
        key: tuple = ("default", profile.authority_host)
    else:
        # The secret is part of the key (hashed) so a rotated secret gets a fresh credential.
        digest = hashlib.sha256((azure.client_secret or "").encode()).hexdigest()
        key = (profile.authority_host, azure.tenant_id, azure.client_id, digest)
    with _lock:
        cred = _cache.get(key)
        if cred is None:
            cred = _build(azure)
            _cache[key] = cred
        return cred


def _build(azure: AttendeeAzure) -> TokenCredential:
    profile = azure.profile
    options: dict = {"authority": profile.authority_host}
    if not profile.is_public:
        # Instance discovery asks login.microsoftonline.com about the authority: not for private clouds.
        options["disable_instance_discovery"] = True
    if profile.ca_bundle:
        options["connection_verify"] = profile.ca_bundle
    if not azure.client_id:
        return DefaultAzureCredential(**options)
    return ClientSecretCredential(azure.tenant_id, azure.client_id, azure.client_secret, **options)


def forget(azure: AttendeeAzure) -> None:
    """Drop cached credentials for this identity (e.g. after the platform rotated the secret)."""
    with _lock:
        for key in [k for k in _cache if azure.client_id in k]:
            del _cache[key]
