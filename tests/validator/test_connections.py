"""The grader's shared connection pools look proxies up in the environment only when one is configured."""

from __future__ import annotations

import pytest

from validator.azure.connections import Connections, proxy_configured

PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "all_proxy",
              "no_proxy")


@pytest.fixture
def no_proxy_env(monkeypatch):
    for name in PROXY_VARS:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_no_proxy_alone_is_no_proxy(no_proxy_env):
    # A deployment's NO_PROXY (the bench's service has one) names exceptions, not a proxy: requests would
    # otherwise read .netrc and the proxy settings again on every Azure request.
    no_proxy_env.setenv("NO_PROXY", "127.0.0.1,localhost")
    assert not proxy_configured()
    connections = Connections()
    try:
        assert connections.session.trust_env is False
    finally:
        connections.close()


def test_a_configured_proxy_is_honoured(no_proxy_env):
    no_proxy_env.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    no_proxy_env.setenv("NO_PROXY", "127.0.0.1")
    assert proxy_configured()
    connections = Connections()
    try:
        assert connections.session.trust_env is True
    finally:
        connections.close()
