"""What the Entra ID token requests of the current call need: a timeout, and a trace of their failure.

azure-identity fixes its transport's timeouts when a credential is built and wraps every token failure
in a ``ClientAuthenticationError`` without a status. Credentials are cached across validations, so the
per-call budget is handed over through this thread's :class:`_Attempt` (the SDKs request tokens in the
thread that makes the call): :func:`apply_timeout` (a ``raw_request_hook``) caps each token request by
it, and :func:`record_failure` (a ``raw_response_hook``) remembers a failed answer for ``errors.translate``.
"""

from __future__ import annotations

import json
import threading


class _Attempt(threading.local):
    timeout: float | None = None
    status: int | None = None
    error: str | None = None  # the OAuth ``error`` field (invalid_client, temporarily_unavailable, ...)
    retry_after: float | None = None


attempt = _Attempt()


def start_attempt(timeout: float | None) -> None:
    """A new attempt of a call on this thread: token requests get ``timeout``; the last failure is forgotten."""
    attempt.timeout = timeout
    attempt.status = attempt.error = attempt.retry_after = None


def apply_timeout(pipeline_request) -> None:
    """``raw_request_hook``: give a token request the current attempt's timeout (connect and read)."""
    if attempt.timeout is not None:
        options = pipeline_request.context.options
        options["connection_timeout"] = attempt.timeout
        options["read_timeout"] = attempt.timeout


def record_failure(pipeline_response) -> None:
    """``raw_response_hook``: remember a failed token response's status, OAuth error and Retry-After."""
    response = pipeline_response.http_response
    if response.status_code < 400:
        return
    error = None
    try:
        body = json.loads(response.text())
        error = body.get("error") if isinstance(body, dict) else None
    except (ValueError, TypeError):
        pass
    attempt.status = response.status_code
    attempt.error = error if isinstance(error, str) else None
    attempt.retry_after = retry_after(response.headers)


def retry_after(headers) -> float | None:
    """Seconds from a ``Retry-After`` header, if any."""
    value = (headers or {}).get("Retry-After") or (headers or {}).get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:  # an HTTP date: rare for these services; treat as "soon"
        return 1.0
