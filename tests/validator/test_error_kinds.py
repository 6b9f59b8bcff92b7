"""``errors.translate`` classifies Custom Vision's msrest errors as it always did, though it no longer imports
msrest itself (only the Custom Vision SDK loads it), and classifies everything else without loading msrest."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import requests
from msrest import Deserializer
from msrest.exceptions import ClientRequestError, HttpOperationError

from validator.azure.errors import translate


def _gateway_error(status: int, code: str | None, message: str = "refused") -> HttpOperationError:
    """The error msrest raises for a Custom Vision answer of ``status`` with the gateway's error body."""
    response = requests.Response()
    response.status_code, response.reason = status, "Refused"
    response.headers["Retry-After"] = "3"
    response._content = json.dumps({"error": {"code": code, "message": message}}).encode()
    return HttpOperationError(Deserializer({}), response)


@pytest.mark.parametrize(("status", "code", "kind"), [
    (429, "429", "throttled"),
    (401, "Unauthorized", "credentials"),
    (401, "PermissionDenied", "permission"),  # Entra ID caller without the data action
    (403, "AuthenticationTypeDisabled", "permission"),
    (403, "Forbidden", "quota"),  # the gateway's 403 on a key: out of call volume quota
    (404, "NotFoundProject", "not_found"),
    (503, "ServiceUnavailable", "unavailable"),
])
def test_msrest_answers_keep_their_kinds(status, code, kind):
    err = translate(_gateway_error(status, code, "the message"), "GetProjects")
    assert (err.kind, err.status, err.detail, err.retry_after) == (kind, status, "the message", 3.0)
    assert err.code == (None if code == "429" else code)


def test_msrest_transport_failures_are_outages():
    assert translate(ClientRequestError("Connection timed out"), "GetTags").kind == "timeout"
    assert translate(ClientRequestError("Connection reset by peer"), "GetTags").kind == "unavailable"


def test_other_errors_are_classified_without_loading_msrest():
    code = """
import sys
from azure.core.exceptions import HttpResponseError, ServiceRequestError
from validator.azure.errors import translate
print(translate(ConnectionResetError("reset"), "token").kind, translate(ServiceRequestError("timed out"), "x").kind,
      translate(HttpResponseError("nope"), "x").kind, "msrest" in sys.modules)
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.split() == ["unavailable", "timeout", "unavailable", "False"], done.stdout + done.stderr
