"""What the Entra ID token requests of the current call need: a timeout, and a trace of their failure.

azure-identity fixes its transport's timeouts when a credential is built and wraps every token failure
in a ``ClientAuthenticationError`` without a status. Credentials are cached across validations, so the
per-call budget is handed over through :class:`TokenCalls`, one per :class:`~validator.runtime.Observation`
and per thread (the SDKs request tokens in the thread that makes the call): :meth:`TokenCalls.apply_timeout`
(a ``raw_request_hook``) caps each token request by it, and :meth:`TokenCalls.record_failure` (a
``raw_response_hook``) remembers a failed answer for ``errors.translate``.
"""

from __future__ import annotations

import json
import threading


class TokenCalls(threading.local):
    """The token requests of the call this thread is making: their timeout and their last failure."""

    timeout: float | None = None
    status: int | None = None
    error: str | None = None  # the OAuth ``error`` field (invalid_client, temporarily_unavailable, ...)
    retry_after: float | None = None

    def start(self, timeout: float | None) -> None:
        """A new attempt of a call on this thread: token requests get ``timeout``; the last failure is forgotten."""
        self.timeout = timeout
        self.status = self.error = self.retry_after = None

    def apply_timeout(self, pipeline_request) -> None:
        """``raw_request_hook``: give a token request the current attempt's timeout (connect and read)."""
        if self.timeout is not None:
            options = pipeline_request.context.options
            options["connection_timeout"] = self.timeout
            options["read_timeout"] = self.timeout

    def record_failure(self, pipeline_response) -> None:
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
        self.status = response.status_code
        self.error = error if isinstance(error, str) else None
        self.retry_after = retry_after(response.headers)


def retry_after(headers) -> float | None:
    """Seconds from a ``Retry-After`` header, if any."""
    value = (headers or {}).get("Retry-After") or (headers or {}).get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:  # an HTTP date: rare for these services; treat as "soon"
        return 1.0
