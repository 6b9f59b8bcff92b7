"""Typed errors for everything that can go wrong talking to Azure, translated from both SDK families.

Gateways raise :class:`AzureCallError`; nothing above the gateways sees an SDK exception. The ``kind``
says whose problem it is: ``throttled`` (Azure's 429), ``busy`` (labgrader's own per-resource rate limiter
had no slot within the budget), ``timeout``, ``unavailable`` (5xx, resets), ``permission`` (the grader's
identity lacks access), ``quota`` (Custom Vision's call quota is used up), ``credentials`` (the
credentials the platform supplied are wrong), ``not_found`` and ``rejected`` (Azure refused the request
as malformed: a grader bug).

Entra ID token failures reach us as ``ClientAuthenticationError`` without a status (azure-identity wraps
MSAL's result); :class:`.tokens.TokenCalls` remembers, per thread, the last failed token response, and
:func:`translate`, given it, classifies from it.
"""

from __future__ import annotations

import re
import socket
import sys

import requests
from azure.core import exceptions as core_exc
from azure.identity import CredentialUnavailableError

from . import tokens

KINDS = ("throttled", "busy", "timeout", "unavailable", "permission", "quota", "credentials", "not_found",
         "rejected")

# OAuth errors and AADSTS codes that mean "these credentials are definitely wrong" (not an outage).
_REJECTING_OAUTH_ERRORS = {"invalid_client", "unauthorized_client", "invalid_tenant"}
_REJECTING_AADSTS = {
    "7000215",  # invalid client secret
    "7000216", "7000218",  # client assertion or secret missing
    "7000222",  # client secret expired
    "700016",  # application not found in the directory
    "700023", "700024",  # the client assertion is not valid / not within its valid time range
    "90002",  # tenant not found
    "90023", "900023",  # tenant identifier not valid
    "50020", "50034", "50053", "50057", "50126",  # account missing, locked, disabled, wrong password
}
_AADSTS = re.compile(r"AADSTS(\d+)")
# ARM's AuthorizationFailed: "... does not have authorization to perform action 'X' over scope 'Y' ..."
_REFUSED = re.compile(r"perform action '([^']+)' over scope '([^']+)'")


class AzureCallError(Exception):
    """An Azure call that did not give an answer we can judge. ``detail`` never holds secrets."""

    def __init__(
        self,
        kind: str,
        operation: str,
        detail: str,
        *,
        status: int | None = None,
        code: str | None = None,
        retry_after: float | None = None,
        action: str | None = None,
        scope: str | None = None,
        remedy: str | None = None,
    ) -> None:
        assert kind in KINDS, kind
        super().__init__(f"{operation}: {kind}: {detail}")
        self.kind = kind
        self.operation = operation
        self.detail = detail
        self.status = status
        self.code = code
        self.retry_after = retry_after
        # For ``permission``: the action (or data action) refused, where, and what the proctor should grant.
        self.action = action
        self.scope = scope
        self.remedy = remedy

    @property
    def retryable(self) -> bool:
        return self.kind in ("throttled", "timeout", "unavailable")


def _token_failure(exc: core_exc.ClientAuthenticationError, operation: str,
                   calls: tokens.TokenCalls | None) -> AzureCallError:
    """Classify a token failure: only definite rejections are ``credentials``; outages are outages."""
    detail = "Entra ID token request: " + _first_line(exc)
    calls = calls or tokens.TokenCalls()  # none given: no token answer seen
    status, error = calls.status, calls.error
    codes = set(_AADSTS.findall(str(exc)))
    if error in _REJECTING_OAUTH_ERRORS or codes & _REJECTING_AADSTS:
        return AzureCallError("credentials", operation, detail, status=status, code=error)
    if status is not None and (status == 429 or status >= 500 or "50196" in codes):
        # The status decides; AADSTS50196 ("server is busy") on another status still means throttling.
        kind = _kind_for_status(status) if status == 429 or status >= 500 else "throttled"
        return AzureCallError(kind, operation, detail, status=status, code=error,
                              retry_after=calls.retry_after)
    if isinstance(exc, CredentialUnavailableError) or "from the included credentials" in str(exc):
        # DefaultAzureCredential: no identity is configured for the platform (or none of them worked).
        return AzureCallError("credentials", operation, detail)
    if status is not None:
        kind = _kind_for_status(status)
        if kind in ("credentials", "not_found", "permission"):  # without a rejecting code: not a verdict
            kind = "unavailable"
        return AzureCallError(kind, operation, detail, status=status, code=error,
                              retry_after=calls.retry_after)
    # No answer seen on this attempt: a transport failure (its cause says which), or MSAL replaying an
    # outage it cached for the Retry-After period. Neither says anything about the credentials.
    return AzureCallError("timeout" if _is_timeout(exc) else "unavailable", operation, detail)


_retry_after = tokens.retry_after


def _kind_for_status(status: int | None) -> str:
    if status == 429:
        return "throttled"
    if status == 401:
        return "credentials"
    if status == 403:
        return "permission"
    if status == 404:
        return "not_found"
    if status in (408, 504):
        return "timeout"
    if status is not None and status >= 500:
        return "unavailable"
    return "rejected"


def _is_timeout(exc: BaseException) -> bool:
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, (TimeoutError, socket.timeout, requests.Timeout)):
            return True
        if "timed out" in str(exc).lower() or "timeout" in type(exc).__name__.lower():
            return True
        exc = exc.__cause__ or exc.__context__ or getattr(exc, "inner_exception", None)
    return False


def translate(exc: BaseException, operation: str, calls: tokens.TokenCalls | None = None) -> AzureCallError:
    """Turn an SDK/transport exception into an :class:`AzureCallError`."""
    if isinstance(exc, AzureCallError):
        return exc
    # azure-identity: token failures carry no status of their own
    if isinstance(exc, core_exc.ClientAuthenticationError) and getattr(exc, "status_code", None) is None:
        return _token_failure(exc, operation, calls)
    # azure-core (ARM)
    if isinstance(exc, core_exc.HttpResponseError) and getattr(exc, "status_code", None):
        resp = exc.response
        code = getattr(getattr(exc, "error", None), "code", None)
        kind = _kind_for_status(exc.status_code)
        if kind == "permission" and "quota" in str(exc).lower():
            kind = "quota"
        refused = _REFUSED.search(str(exc)) if kind == "permission" else None
        return AzureCallError(
            kind, operation, _first_line(exc), status=exc.status_code, code=code,
            retry_after=_retry_after(getattr(resp, "headers", None)),
            action=refused.group(1) if refused else None, scope=refused.group(2) if refused else None,
        )
    if isinstance(exc, (core_exc.ServiceRequestError, core_exc.ServiceResponseError)):
        kind = "timeout" if _is_timeout(exc) else "unavailable"
        return AzureCallError(kind, operation, _first_line(exc))
    # msrest (Custom Vision). Only the Custom Vision SDK loads msrest: before it has, no exception is msrest's.
    msrest_exc = sys.modules.get("msrest.exceptions")
    response = getattr(exc, "response", None)
    if msrest_exc is not None and isinstance(exc, msrest_exc.HttpOperationError) and response is not None:
        status = response.status_code
        error = getattr(exc, "error", None)
        code = getattr(error, "code", None) or _gateway_code(response)
        message = getattr(error, "message", None) or _gateway_message(response) or _first_line(exc)
        kind = _kind_for_status(status)
        if code in ("PermissionDenied", "AuthenticationTypeDisabled"):
            # Entra ID caller without the data action (401), or a key where keys are disabled (403).
            kind = "permission"
        elif status == 403:
            # Otherwise the gateway's 403 on a key is "Out of call volume quota".
            kind = "quota"
        return AzureCallError(
            kind, operation, message, status=status, code=code,
            retry_after=_retry_after(response.headers),
        )
    transport = (requests.RequestException, OSError, *((msrest_exc.ClientRequestError,) if msrest_exc else ()))
    if isinstance(exc, transport):
        kind = "timeout" if _is_timeout(exc) else "unavailable"
        return AzureCallError(kind, operation, _first_line(exc))
    if isinstance(exc, core_exc.AzureError):
        kind = "timeout" if _is_timeout(exc) else "unavailable"
        return AzureCallError(kind, operation, _first_line(exc))
    raise exc  # a bug in our code: let it surface as one


def _gateway_message(response) -> str | None:
    """The message of the API gateway's ``{"error": {"code", "message"}}`` body, if that is its shape."""
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        return None
    message = error.get("message") if isinstance(error, dict) else None
    return message[:300] if isinstance(message, str) else None


def _gateway_code(response) -> str | None:
    """The code of the API gateway's ``{"error": {"code", "message"}}`` body, if that is its shape."""
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        return None
    code = error.get("code") if isinstance(error, dict) else None
    return code if isinstance(code, str) and not code.isdigit() else None  # "401": only the status again


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__
