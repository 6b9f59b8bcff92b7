"""Attendees: create or update from the lab platform's data, and the two ways their values leave the
database: :func:`credentials` (for the validator only) and :func:`injects_for_render` (for their guide).

Secret values (the pack's secret injects and the Azure ``client_secret``) are kept only in the
encrypted ``secret_blob``; the JSON columns hold non-secret values.
"""

from __future__ import annotations

import re
from typing import Any

from flask import current_app
from sqlalchemy import select

from labguide.packs import credential_injects
from validator.azure.cloud import AttendeeAzure, CredentialsError

from .. import crypto
from ..extensions import db
from ..models import Attendee, Cohort, utcnow
from . import labs
from .errors import InvalidInput, NotFound

AZURE_FIELDS = ("tenant_id", "client_id", "client_secret", "subscription_id", "resource_group", "region",
                "authority_host", "arm_endpoint", "credential_scope", "ca_bundle")
AZURE_SECRET_FIELDS = frozenset({"client_secret"})
_EXTERNAL_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@:+-]{0,199}$")
# Caps on what a platform may store per attendee (a lab declares about ten injects; Azure's longest names
# and a CA bundle's path are far shorter than these).
MAX_INJECTS = 100
MAX_INJECT_VALUE = 2000
MAX_AZURE_VALUE = 1024
# Control characters have no place in names, keys or credentials, and PostgreSQL cannot store NUL at all.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


_CLOUD_FIELDS = ("authority_host", "arm_endpoint", "credential_scope", "ca_bundle")


def get(lab_id: str, external_id: str) -> Attendee:
    """The attendee ``external_id`` of lab ``lab_id``; raises :class:`NotFound`."""
    found = None
    if isinstance(external_id, str) and _EXTERNAL_ID.match(external_id):  # no other id was ever stored
        found = db.session.scalar(select(Attendee).filter_by(lab_id=lab_id, external_id=external_id))
    if found is None:
        raise NotFound(f"no attendee '{external_id}' in lab '{lab_id}'")
    return found


KEEP = object()  # upsert(lms_user_id=KEEP): leave the stored value as it is


def _lms_user(lab_id: str, external_id: str, value: Any) -> str | None:
    """The LMS user id to store ('' and None: none); :class:`InvalidInput` when malformed or another attendee
    of the lab has it."""
    if value is not None and not isinstance(value, str):
        raise InvalidInput("lms_user_id", "must be a string")
    value = (value or "").strip() or None
    if value is None:
        return None
    if len(value) > 255 or any(ord(c) < 32 for c in value):
        raise InvalidInput("lms_user_id", "must be at most 255 printable characters")
    taken = db.session.scalar(select(Attendee).filter_by(lab_id=lab_id, lms_user_id=value)
                              .where(Attendee.external_id != external_id))
    if taken is not None:
        raise InvalidInput("lms_user_id", f"attendee '{taken.external_id}' of this lab already has this LMS user id")
    return value


def get_cohort(lab_id: str, name: str, *, create: bool = True) -> Cohort:
    """The class ``name`` of lab ``lab_id``, created when missing (not committed) unless ``create`` is off."""
    name = _clean_name("cohort", name)
    found = db.session.scalar(select(Cohort).filter_by(lab_id=lab_id, name=name))
    if found is None:
        if not create:
            raise NotFound(f"no class '{name}' in lab '{lab_id}'")
        labs.ensure(lab_id)
        found = Cohort(lab_id=lab_id, name=name)
        db.session.add(found)
    return found


def upsert(
    lab_id: str,
    external_id: str,
    *,
    cohort: str | None = None,
    display_name: str | None = None,
    injects: dict[str, Any] | None = None,
    azure: dict[str, Any] | None = None,
    lms_user_id: Any = KEEP,
) -> Attendee:
    """Create or update one attendee and commit.

    ``injects`` maps the pack's inject keys to values; ``azure`` is the credentials JSON
    (``subscription_id``, ``resource_group``, ``client_id``, ``client_secret``, ...; an ``injects`` object
    inside it is merged under ``injects``). On update, a field left out keeps its stored value, secrets
    included; an inject given as ``None`` is removed. Raises :class:`InvalidInput` naming the field, or
    :class:`NotFound` for an unknown lab.
    """
    pack = labs.pack(lab_id)
    if not isinstance(external_id, str) or not _EXTERNAL_ID.match(external_id):
        raise InvalidInput("external_id", "must be 1-200 letters, digits or . _ @ : + - (starting with a letter "
                           "or digit)")
    azure = dict(azure or {})
    if not isinstance(azure, dict):
        raise InvalidInput("azure", "must be a JSON object")
    if not _custom_cloud_allowed():
        custom = sorted(k for k in _CLOUD_FIELDS if azure.get(k))
        if custom:
            raise InvalidInput(f"azure.{custom[0]}", "custom cloud endpoints are not accepted by this server "
                               "(its ALLOW_CUSTOM_CLOUD setting is off); leave them out for public Azure")
    inject_updates = _check_injects("azure.injects", azure.pop("injects", None) or {})
    inject_updates.update(_check_injects("injects", injects or {}))
    unknown = sorted(set(azure) - set(AZURE_FIELDS))
    if unknown:
        raise InvalidInput(f"azure.{unknown[0]}", f"is not a credentials field (expected one of "
                           f"{', '.join(AZURE_FIELDS)})")
    for key, value in azure.items():
        _check_text(f"azure.{key}", value, MAX_AZURE_VALUE, control=False)
    if lms_user_id is not KEEP:  # the LMS user whose LTI launches open this attendee (webapp.lti)
        lms_user_id = _lms_user(lab_id, external_id, lms_user_id)

    attendee = db.session.scalar(select(Attendee).filter_by(lab_id=lab_id, external_id=external_id))
    creating = attendee is None
    if creating:
        labs.ensure(lab_id)
        attendee = Attendee(lab_id=lab_id, external_id=external_id, injects={}, azure={}, display_name="")
    secrets = crypto.decrypt_json(attendee.secret_blob) if not creating else {}
    secret_injects: dict[str, Any] = dict(secrets.get("injects") or {})
    plain_injects: dict[str, Any] = dict(attendee.injects or {})
    for key, value in inject_updates.items():
        target, other = (secret_injects, plain_injects) if key in pack.secret_keys else (plain_injects, secret_injects)
        other.pop(key, None)
        if value is None:
            target.pop(key, None)
        else:
            target[key] = value

    new_azure = dict(attendee.azure or {})
    new_secrets_azure = dict(secrets.get("azure") or {})
    for key, value in azure.items():
        target = new_secrets_azure if key in AZURE_SECRET_FIELDS else new_azure
        if value is None:
            target.pop(key, None)
        else:
            target[key] = value
    kept = sorted(k for k in _CLOUD_FIELDS if new_azure.get(k))
    if kept and not _custom_cloud_allowed():  # stored while the setting was on: an update must not keep them
        raise InvalidInput(f"azure.{kept[0]}", "is stored for this attendee, but this server no longer accepts "
                           "custom cloud endpoints (its ALLOW_CUSTOM_CLOUD setting is off): send it as null to "
                           "remove it")
    try:
        AttendeeAzure.from_json({**new_azure, **new_secrets_azure})
    except CredentialsError as exc:
        raise InvalidInput("azure" + _field_of(str(exc)), str(exc)) from None

    if display_name is not None:
        attendee.display_name = _clean_name("display_name", display_name, allow_empty=True)
    elif creating:
        attendee.display_name = external_id
    if cohort is not None:
        attendee.cohort = get_cohort(lab_id, cohort) if cohort else None
    if lms_user_id is not KEEP:
        attendee.lms_user_id = lms_user_id
    attendee.injects = plain_injects
    attendee.azure = new_azure
    blob = {"injects": secret_injects, "azure": new_secrets_azure}
    attendee.secret_blob = crypto.encrypt_json(blob) if any(blob.values()) else None
    attendee.updated_at = utcnow()
    if creating:
        db.session.add(attendee)
    db.session.commit()
    return attendee


def credentials(attendee: Attendee) -> dict[str, Any]:
    """The decrypted credentials JSON (with ``injects``, secret ones included) for the validator.

    Only :mod:`webapp.services.validation` should call this; the result is never serialised. Raises
    :class:`CredentialsError` for custom cloud endpoints stored while ``ALLOW_CUSTOM_CLOUD`` was on, now that it
    is off: the setting holds where credentials are used, not only where they are written.
    """
    secrets = crypto.decrypt_json(attendee.secret_blob)
    custom = sorted(k for k in _CLOUD_FIELDS if (attendee.azure or {}).get(k))
    if custom and not _custom_cloud_allowed():
        raise CredentialsError(f"the stored credentials name a custom cloud (azure.{custom[0]}), which this server "
                               "does not accept (its ALLOW_CUSTOM_CLOUD setting is off)")
    return {
        **(attendee.azure or {}),
        **(secrets.get("azure") or {}),
        "injects": {**(attendee.injects or {}), **(secrets.get("injects") or {})},
    }


def _custom_cloud_allowed() -> bool:
    return bool(current_app.config.get("ALLOW_CUSTOM_CLOUD"))


def secret_values(attendee: Attendee) -> set[str]:
    """Every secret string of the attendee, for redaction."""
    secrets = crypto.decrypt_json(attendee.secret_blob)
    values = list((secrets.get("injects") or {}).values()) + list((secrets.get("azure") or {}).values())
    return {str(v) for v in values if v}


def injects_for_render(attendee: Attendee, reveal: bool = False) -> dict[str, str | None]:
    """The values the attendee's guide shows, exactly as the validator sees them: no lab defaults (a value
    the platform did not send shows as missing, rather than as another attendee's); Region and ResourceGroup
    come from the Azure fields. Secret keys map to ``""`` (masked by the renderer) unless ``reveal``; only
    the attendee themself may see revealed values.
    """
    values: dict[str, str | None] = dict(credential_injects(attendee.azure or {}))
    values.update({k: str(v) for k, v in (attendee.injects or {}).items()})
    secret_injects = (crypto.decrypt_json(attendee.secret_blob).get("injects") or {}) if attendee.secret_blob else {}
    for key, value in secret_injects.items():
        values[key] = str(value) if reveal else ""
    return values


def _check_injects(field: str, injects: Any) -> dict[str, Any]:
    if not isinstance(injects, dict):
        raise InvalidInput(field, "must be a JSON object of key -> value")
    if len(injects) > MAX_INJECTS:
        raise InvalidInput(field, f"has {len(injects)} keys; at most {MAX_INJECTS} are accepted")
    out: dict[str, Any] = {}
    for key, value in injects.items():
        if not isinstance(key, str) or not key.strip() or len(key) > 100 or _CONTROL.search(key):
            raise InvalidInput(field, f"key {key!r} must be a non-empty string of at most 100 characters, "
                               "without control characters")
        if value is not None and not isinstance(value, str | int | float | bool):
            raise InvalidInput(f"{field}.{key}", "must be a string or a number")
        if value is not None:
            _check_text(f"{field}.{key}", str(value), MAX_INJECT_VALUE, control=True)
        out[key] = None if value is None else str(value)
    return out


def _check_text(field: str, value: Any, limit: int, *, control: bool) -> None:
    """Refuse (never alter) a value that is not a string, is longer than ``limit``, or holds NUL (or any
    control character unless ``control``: an inject's value may hold a line break)."""
    if value is None:
        return
    if not isinstance(value, str):
        raise InvalidInput(field, "must be a string")
    if len(value) > limit:
        raise InvalidInput(field, f"is longer than {limit} characters")
    if "\x00" in value or (not control and _CONTROL.search(value)):
        raise InvalidInput(field, "must not contain control characters")


def _clean_name(field: str, value: Any, allow_empty: bool = False) -> str:
    if not isinstance(value, str):
        raise InvalidInput(field, "must be a string")
    value = " ".join(value.split())
    if not value and not allow_empty:
        raise InvalidInput(field, "must not be empty")
    if len(value) > 200:
        raise InvalidInput(field, "is longer than 200 characters")
    if _CONTROL.search(value):
        raise InvalidInput(field, "must not contain control characters")
    return value


def _field_of(message: str) -> str:
    """``.subscription_id`` from "'subscription_id' is required ...", for InvalidInput's field."""
    m = re.search(r"'([a-z_]+)'", message)
    return f".{m.group(1)}" if m else ""
