"""Where Azure is (public cloud or azuresim) and who the grader acts as for one attendee."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

PUBLIC_AUTHORITY = "https://login.microsoftonline.com"
PUBLIC_ARM = "https://management.azure.com"
PUBLIC_SCOPE = "https://management.azure.com/.default"


_GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
# A verified domain of the tenant, such as contoso.onmicrosoft.com.
_DOMAIN = re.compile(r"^(?=.{4,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$")


class CredentialsError(ValueError):
    """The credentials JSON is malformed; the message names the field."""


@dataclass(frozen=True)
class CloudProfile:
    """Endpoints and trust for one cloud. Only endpoints differ between Azure and the simulator."""

    authority_host: str = PUBLIC_AUTHORITY
    arm_endpoint: str = PUBLIC_ARM
    credential_scope: str = PUBLIC_SCOPE
    ca_bundle: str | None = None

    @property
    def is_public(self) -> bool:
        return self.authority_host.rstrip("/") == PUBLIC_AUTHORITY

    @property
    def verify(self) -> str | bool:
        """What to give the SDKs' ``connection_verify``: the CA file, or the system store."""
        return self.ca_bundle or True


@dataclass(frozen=True)
class AttendeeAzure:
    """The Azure side of one attendee: their subscription and resource group, and how to sign in.

    ``client_secret`` is held only in memory and never shown by ``repr``; with no service principal
    (``client_id`` empty) the grader uses the platform's own identity (``DefaultAzureCredential``).
    """

    subscription_id: str
    resource_group: str
    region: str | None = None
    tenant_id: str | None = None
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    profile: CloudProfile = field(default_factory=CloudProfile)

    @classmethod
    def from_json(cls, data: dict) -> AttendeeAzure:
        """Build from the credentials JSON (azuresim's admin API, `sim attendee create`, the platform API)."""
        if not isinstance(data, dict):
            raise CredentialsError("credentials must be a JSON object")
        for name in ("subscription_id", "resource_group"):
            if not isinstance(data.get(name), str) or not data[name].strip():
                raise CredentialsError(f"'{name}' is required and must be a non-empty string")
        for name in ("tenant_id", "client_id", "client_secret", "region", "authority_host", "arm_endpoint",
                     "credential_scope", "ca_bundle"):
            if data.get(name) is not None and not isinstance(data[name], str):
                raise CredentialsError(f"'{name}' must be a string")
        if data.get("client_id") and not (data.get("tenant_id") and data.get("client_secret")):
            raise CredentialsError("'tenant_id' and 'client_secret' are required with 'client_id'")
        if not _GUID.match(data["subscription_id"].strip()):
            raise CredentialsError("'subscription_id' must be a subscription ID (a GUID such as "
                                   "00000000-0000-0000-0000-000000000000)")
        tenant = (data.get("tenant_id") or "").strip()
        if tenant and not (_GUID.match(tenant) or _DOMAIN.match(tenant)):
            raise CredentialsError("'tenant_id' must be a tenant ID (a GUID) or a tenant domain name such as "
                                   "contoso.onmicrosoft.com")
        profile_fields = {k: data[k] for k in ("authority_host", "arm_endpoint", "credential_scope", "ca_bundle")
                          if data.get(k)}
        if profile_fields and "credential_scope" not in profile_fields and "arm_endpoint" in profile_fields:
            profile_fields["credential_scope"] = profile_fields["arm_endpoint"].rstrip("/") + "/.default"
        return cls(
            subscription_id=data["subscription_id"].strip(),
            resource_group=data["resource_group"].strip(),
            region=data.get("region"),
            tenant_id=tenant or None,
            client_id=data.get("client_id"),
            client_secret=data.get("client_secret"),
            profile=CloudProfile(**profile_fields),
        )

    @classmethod
    def from_file(cls, path: str | Path) -> tuple[AttendeeAzure, dict]:
        """(credentials, the file's whole JSON) from a credentials file."""
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise CredentialsError(f"cannot read credentials file {path}: {exc}") from exc
        return cls.from_json(data), data
