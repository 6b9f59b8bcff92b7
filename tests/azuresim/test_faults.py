"""Fault rules, and what each does to a caller using the official SDKs."""

from __future__ import annotations

import time

import pytest
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ServiceRequestError,
    ServiceResponseError,
)

from azuresim.faults import FaultBook, FaultRule, FaultRuleError

from .test_arm import Arm, unique
from .test_entra import credential


@pytest.fixture
def account(attendee):
    """(clients, account name) for an attendee with one standard training account."""
    clients = Arm(attendee, retry_total=0)
    name = unique("fault")
    clients.create(name, sku="S0")
    yield clients, name
    clients.close()


def test_429_with_retry_after_is_retried_by_azure_core(account, sim):
    clients, name = account
    retrying = Arm(clients.creds)  # default retry policy, small backoff
    try:
        sim.faults.add({"operation": "Accounts_Get", "account": name, "status": 429, "retry_after": 0,
                        "count": 1})
        before = sim.call_count("Accounts_Get", name)
        assert retrying.cs.accounts.get(clients.rg, name).name == name
        assert sim.call_count("Accounts_Get", name) - before == 2
        assert sim.faults.list() == []  # the counted rule is used up
    finally:
        retrying.close()


def test_persistent_503_surfaces_as_http_response_error(account, sim):
    clients, name = account
    sim.faults.add({"operation": "Accounts_ListKeys", "account": name, "status": 503})
    with pytest.raises(HttpResponseError) as info:
        clients.cs.accounts.list_keys(clients.rg, name)
    assert info.value.status_code == 503
    assert info.value.error.code == "ServiceUnavailable"
    # Other accounts and operations are untouched.
    assert clients.cs.accounts.get(clients.rg, name).name == name


def test_hang_hits_the_client_read_timeout(account, sim):
    clients, name = account
    sim.faults.add({"operation": "Accounts_Get", "account": name, "hang": True, "count": 1})
    start = time.monotonic()
    with pytest.raises(ServiceResponseError):
        clients.cs.accounts.get(clients.rg, name, connection_timeout=2, read_timeout=0.5)
    assert time.monotonic() - start < 5


def test_reset_drops_the_connection(account, sim):
    clients, name = account
    sim.faults.add({"operation": "Accounts_Get", "account": name, "reset": True, "count": 1})
    with pytest.raises((ServiceRequestError, ServiceResponseError)):
        clients.cs.accounts.get(clients.rg, name)
    assert clients.cs.accounts.get(clients.rg, name).name == name  # only one call was reset


def test_latency_slows_the_call_measurably(account, sim):
    clients, name = account
    clients.cs.accounts.get(clients.rg, name)  # warm: token and connection

    def timed() -> float:
        start = time.monotonic()
        clients.cs.accounts.get(clients.rg, name)
        return time.monotonic() - start

    baseline = min(timed() for _ in range(3))  # the quickest: one call a loaded machine stalled is not it
    sim.faults.add({"operation": "Accounts_Get", "latency_ms": 400})
    slowed = timed()
    assert slowed >= 0.4 and slowed - baseline >= 0.3, (baseline, slowed)


def test_revoke_keys_rotates_the_accounts_keys(account, sim):
    clients, name = account
    keys = clients.cs.accounts.list_keys(clients.rg, name)
    sim.faults.add({"operation": "*", "account": name, "revoke_keys": True, "count": 1})
    clients.cs.accounts.get(clients.rg, name)
    assert not sim.state.account(name).key_matches(keys.key1)
    assert not sim.state.account(name).key_matches(keys.key2)


def test_token_fault_fails_authentication(attendee, sim):
    sim.faults.add({"operation": "token", "status": 400, "message": "AADSTS50196: The server is busy."})
    cred = credential(attendee)
    try:
        with pytest.raises(ClientAuthenticationError) as info:
            cred.get_token(attendee["credential_scope"])
    finally:
        cred.close()
    assert "AADSTS50196" in str(info.value)


def test_rules_match_operation_and_account():
    book = FaultBook()
    book.add({"operation": "Accounts_Get", "account": "Alpha", "status": 500})
    book.add({"operation": "*", "latency_ms": 5, "count": 2})
    assert [r.status for r in book.take("Accounts_Get", "alpha")] == [500]  # the 500 answered first
    assert [r.status for r in book.take("Accounts_Get", "beta")] == [None]
    assert [r.status for r in book.take("Accounts_Get", "beta")] == [None]
    assert book.take("Accounts_Get", "beta") == []  # the counted wildcard is used up
    assert [r.status for r in book.take("Accounts_Get", "ALPHA")] == [500]


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ([], "JSON object"),
        ({"status": 503}, "'operation'"),
        ({"operation": "*"}, "one effect"),
        ({"operation": "*", "status": 200}, "400-599"),
        ({"operation": "*", "status": "503"}, "'status' must be an integer"),
        ({"operation": "*", "status": 503, "count": 0}, "at least 1"),
        ({"operation": "*", "hang": "yes"}, "true or false"),
        ({"operation": "*", "latency_ms": -1}, "at least 0"),
        ({"operation": "*", "revoke_keys": True}, "'account'"),
        ({"operation": "*", "retry_after": 1, "latency_ms": 5}, "goes with a 'status'"),
        ({"operation": "*", "status": 503, "colour": "red"}, "colour"),
    ],
)
def test_bad_rules_are_refused_with_a_reason(body, fragment):
    with pytest.raises(FaultRuleError) as info:
        FaultRule.from_json(body)
    assert fragment in str(info.value)


def test_a_rule_behind_one_that_answered_is_not_used_up():
    """Only rules whose effect applied are consumed: a 503 answers the call, so the counted 429 behind
    it neither fires nor loses a use, and fires on the first call the 503 no longer answers."""
    book = FaultBook()
    book.add({"operation": "GetTags", "status": 503, "count": 1})
    book.add({"operation": "GetTags", "status": 429, "count": 1})
    assert [r.status for r in book.take("GetTags", None)] == [503]
    assert [r["status"] for r in book.list()] == [429]
    assert [r.status for r in book.take("GetTags", None)] == [429]
    assert book.take("GetTags", None) == []


def test_latency_before_an_answering_rule_still_applies():
    book = FaultBook()
    book.add({"operation": "*", "latency_ms": 5, "count": 1})
    book.add({"operation": "*", "hang": True, "count": 1})
    book.add({"operation": "*", "reset": True, "count": 1})
    assert [(r.latency_ms, r.hang, r.reset) for r in book.take("GetTags", None)] == [(5, False, False),
                                                                                      (0, True, False)]
    assert [r.reset for r in book.take("GetTags", None)] == [True]


def test_counted_rule_behind_an_answer_fires_on_the_next_call(account, sim):
    """On the live simulator: the 429 queued behind a 503 is still there after the 503 answered."""
    clients, name = account
    sim.faults.add({"operation": "Accounts_Get", "account": name, "status": 503, "count": 1})
    sim.faults.add({"operation": "Accounts_Get", "account": name, "status": 429, "count": 1})
    for status in (503, 429):
        with pytest.raises(HttpResponseError) as info:
            clients.cs.accounts.get(clients.rg, name)
        assert info.value.status_code == status
    assert sim.faults.list() == []
    assert clients.cs.accounts.get(clients.rg, name).name == name


def test_a_client_that_never_shakes_hands_holds_up_no_one(sim):
    """TLS handshakes happen in each connection's own thread, as on Azure: a client that opened a connection
    and sent nothing (no TLS hello) does not stop the next one from being answered."""
    import socket

    import requests

    with socket.create_connection((sim.host, sim.port), timeout=30):
        resp = requests.get(f"{sim.info['admin_url']}/info", verify=sim.info["ca_bundle"], timeout=20)
    assert resp.status_code == 200, resp.text
