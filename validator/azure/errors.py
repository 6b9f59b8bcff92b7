"""Typed errors for everything that can go wrong talking to Azure, translated from both SDK families.

Gateways raise :class:`AzureCallError`; nothing above the gateways sees an SDK exception. The ``kind``
says whose problem it is: ``throttled``, ``timeout``, ``unavailable`` (5xx, resets), ``permission``
(the grader's identity lacks access), ``credentials`` (the credentials the platform supplied are wrong),
``not_found`` and ``rejected`` (Azure refused the request as malformed: a grader bug).
"""

from __future__ import annotations

import socket

import requests
from azure.core import exceptions as core_exc
from msrest import exceptions as msrest_exc

KINDS = ("throttled", "timeout", "unavailable", "permission", "credentials", "not_found", "rejected")


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
    ) -> None:
        assert kind in KINDS, kind
        super().__init__(f"{operation}: {kind}: {detail}")
        self.kind = kind
        self.operation = operation
        self.detail = detail
        self.status = status
        self.code = code
        self.retry_after = retry_after

    @property
    def retryable(self) -> bool:
        return self.kind in ("throttled", "timeout", "unavailable")


def _retry_after(headers) -> float | None:
    value = (headers or {}).get("Retry-After") or (headers or {}).get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:  # an HTTP date: rare for these services; treat as "soon"
        return 1.0


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


def translate(exc: BaseException, operation: str) -> AzureCallError:
    """Turn an SDK/transport exception into an :class:`AzureCallError`."""
    if isinstance(exc, AzureCallError):
        return exc
    # azure-core (ARM, identity)
    if isinstance(exc, core_exc.ClientAuthenticationError) and getattr(exc, "status_code", None) in (None, 401):
        return AzureCallError("credentials", operation, _first_line(exc), status=401)
    if isinstance(exc, core_exc.HttpResponseError) and getattr(exc, "status_code", None):
        resp = exc.response
        code = getattr(getattr(exc, "error", None), "code", None)
        return AzureCallError(
            _kind_for_status(exc.status_code), operation, _first_line(exc), status=exc.status_code, code=code,
            retry_after=_retry_after(getattr(resp, "headers", None)),
        )
    if isinstance(exc, (core_exc.ServiceRequestError, core_exc.ServiceResponseError)):
        kind = "timeout" if _is_timeout(exc) else "unavailable"
        return AzureCallError(kind, operation, _first_line(exc))
    # msrest (Custom Vision)
    response = getattr(exc, "response", None)
    if isinstance(exc, msrest_exc.HttpOperationError) and response is not None:
        status = response.status_code
        error = getattr(exc, "error", None)
        code = getattr(error, "code", None)
        message = getattr(error, "message", None) or _first_line(exc)
        return AzureCallError(
            _kind_for_status(status), operation, message, status=status, code=code,
            retry_after=_retry_after(response.headers),
        )
    if isinstance(exc, (msrest_exc.ClientRequestError, requests.RequestException, OSError)):
        kind = "timeout" if _is_timeout(exc) else "unavailable"
        return AzureCallError(kind, operation, _first_line(exc))
    if isinstance(exc, core_exc.AzureError):
        kind = "timeout" if _is_timeout(exc) else "unavailable"
        return AzureCallError(kind, operation, _first_line(exc))
    raise exc  # a bug in our code: let it surface as one


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__
