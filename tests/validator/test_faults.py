"""Fault matrix: Azure misbehaving (throttling, outages, resets, hangs, revoked keys) is never the
student's FAIL. Persistent faults give ERROR with a not-your-fault sentence within the time budget;
transient ones are retried to a PASS."""

from __future__ import annotations

import time

import pytest

from azuresim.student import Student
from checks.outcome import Status
from validator import Attendee, Options, validate
from validator.azure.budget import RetryPolicy

from .conftest import SMALL

# operation -> the task whose validation calls it
CALLS = {
    "Accounts_ListByResourceGroup": "1",
    "Accounts_ListKeys": "2",
    "GetProjects": "2",
    "GetDomains": "2",
    "GetTags": "3.1",
    "GetUntaggedImageCount": "3.2",
    "GetIterations": "4",
    "GetIterationPerformance": "4",
    "QueryPredictions": "5.1",
}
# Facts only advisory checks read: their outage is advice on a PASS, never the step's status.
ADVISORY = {"GetUntaggedImageCount": "could not check this time for untagged images"}
BUDGET = 3.0
FAST = Options(budget_seconds=BUDGET, retry=RetryPolicy(attempts=3, backoff=0.05, call_timeout=1.0))
# For tests that count calls and time nothing: a healthy call that a loaded machine slows past FAST's 1 s would be
# retried, and counted, as if Azure had failed it.
PATIENT = Options(budget_seconds=15.0, retry=RetryPolicy(attempts=3, backoff=0.05, call_timeout=5.0))


@pytest.fixture(scope="module")
def done(_session_sim, small_lab):
    """An attendee who finished the whole lab correctly."""
    creds = _session_sim.create_attendee("faults-done")
    Student(creds, counts=dict(SMALL)).do_all()
    return creds


def _account(creds) -> str:
    return f"customvision-casting-{creds['subscription_id'][:6]}"



@pytest.mark.parametrize("operation", sorted(CALLS))
@pytest.mark.parametrize("effect", ["429", "503", "reset", "hang"])
def test_persistent_fault_is_error_never_fail(sim, done, small_lab, operation, effect, runtime):
    rule = {"operation": operation}
    rule.update({"429": {"status": 429, "retry_after": 0}, "503": {"status": 503}, "reset": {"reset": True},
                 "hang": {"hang": True}}[effect])
    sim.faults.add(rule)
    who = Attendee.from_json(done, small_lab)
    started = time.monotonic()
    result = validate(who, CALLS[operation], small_lab, FAST, runtime=runtime)
    elapsed = time.monotonic() - started
    if operation in ADVISORY:
        assert result.status is Status.PASS, (result.message, [c.to_json() for c in result.checks])
        assert any(ADVISORY[operation] in a for a in result.advice), result.advice
    else:
        assert result.status is Status.ERROR, (result.message, [c.to_json() for c in result.checks])
        assert "not a problem with your work" in (result.hint or "")
    assert elapsed < BUDGET + 2.0, f"took {elapsed:.1f}s with a {BUDGET}s budget"


@pytest.mark.parametrize("operation", sorted(CALLS))
@pytest.mark.parametrize("status", [429, 503])
def test_transient_fault_is_retried_to_pass(sim, done, small_lab, operation, status, runtime):
    sim.faults.add({"operation": operation, "status": status, "retry_after": 0, "count": 1})
    who = Attendee.from_json(done, small_lab)
    result = validate(who, CALLS[operation], small_lab, PATIENT, runtime=runtime)
    assert result.status is Status.PASS, (result.message, [c.to_json() for c in result.checks])
    assert result.calls_by_operation.get(operation) == 2, result.calls_by_operation


def test_post_is_retried_too(sim, done, small_lab, runtime):
    """QueryPredictions is a POST, which msrest never retries: labgrader's own policy does."""
    sim.faults.add({"operation": "QueryPredictions", "status": 429, "retry_after": 0.2, "count": 2})
    who = Attendee.from_json(done, small_lab)
    result = validate(who, "5.1", small_lab, PATIENT, runtime=runtime)
    assert result.status is Status.PASS
    assert result.calls_by_operation["QueryPredictions"] == 3


def test_revoked_key_is_refetched(sim, done, small_lab, runtime):
    """Keys regenerated after they were cached: a 401 drops the cached key and listKeys is called again."""
    who = Attendee.from_json(done, small_lab)
    assert validate(who, "3.1", small_lab, PATIENT, runtime=runtime).status is Status.PASS  # caches the key
    sim.faults.add({"operation": "*", "account": _account(done), "revoke_keys": True, "count": 1})
    result = validate(who, "3.1", small_lab, PATIENT, runtime=runtime)
    assert result.status is Status.PASS, result.message
    assert result.calls_by_operation.get("Accounts_ListKeys") == 1


def test_long_retry_after_is_not_waited_for(sim, done, small_lab, runtime):
    sim.faults.add({"operation": "GetTags", "status": 429, "retry_after": 120})
    who = Attendee.from_json(done, small_lab)
    started = time.monotonic()
    result = validate(who, "3.1", small_lab, FAST, runtime=runtime)
    assert result.status is Status.ERROR
    assert "throttl" in result.message.lower()
    assert time.monotonic() - started < BUDGET


def test_token_endpoint_outage_is_error(sim, small_lab, runtime):
    creds = sim.create_attendee("token-outage")  # a new identity: no token cached yet
    sim.faults.add({"operation": "token", "status": 503, "message": "AADSTS90033: A transient error."})
    result = validate(Attendee.from_json(creds, small_lab), "1", small_lab, FAST, runtime=runtime)
    assert result.status is Status.ERROR
    assert result.message.startswith("Azure returned a server error"), result.message
    assert "credentials" not in result.message.lower()
    assert result.checks[0].evidence["kind"] == "unavailable"


def test_token_throttling_is_retried_to_pass(sim, done, small_lab, runtime):
    # A fresh runtime has no token cached: the validation must ask Entra ID for one.
    sim.faults.add({"operation": "token", "status": 429, "retry_after": 0, "count": 1,
                    "message": "AADSTS50196: The server is busy."})
    before = sim.call_count("token")
    result = validate(Attendee.from_json(done, small_lab), "1", small_lab, FAST, runtime=runtime)
    assert result.status is Status.PASS, result.message
    assert sim.call_count("token") - before == 2  # the throttled request, then the retried one


def test_persistent_token_throttling_says_throttled(sim, small_lab, runtime):
    creds = sim.create_attendee("token-429-long")
    sim.faults.add({"operation": "token", "status": 429, "retry_after": 0})
    result = validate(Attendee.from_json(creds, small_lab), "1", small_lab, FAST, runtime=runtime)
    assert result.status is Status.ERROR
    assert "throttl" in result.message.lower(), result.message


def test_hanging_token_endpoint_is_error_within_the_budget(sim, small_lab, runtime):
    creds = sim.create_attendee("token-hang")
    sim.faults.add({"operation": "token", "hang": True})
    started = time.monotonic()
    result = validate(Attendee.from_json(creds, small_lab), "1", small_lab, FAST, runtime=runtime)
    elapsed = time.monotonic() - started
    assert result.status is Status.ERROR
    assert result.checks[0].evidence["kind"] == "timeout", result.checks[0].evidence
    assert elapsed < BUDGET + 1.0, f"took {elapsed:.1f}s with a {BUDGET}s budget"


def test_unknown_tenant_is_credentials(sim, small_lab, runtime):
    creds = dict(sim.create_attendee("wrong-tenant"), tenant_id="contoso.onmicrosoft.com")
    result = validate(Attendee.from_json(creds, small_lab), "1", small_lab, FAST, runtime=runtime)
    assert result.status is Status.ERROR
    assert "credentials" in result.message.lower(), result.message


def test_wrong_client_secret_is_error_naming_credentials(sim, small_lab, runtime):
    creds = dict(sim.create_attendee("bad-secret"), client_secret="not-the-secret")
    result = validate(Attendee.from_json(creds, small_lab), "1", small_lab, FAST, runtime=runtime)
    assert result.status is Status.ERROR
    assert "credentials" in result.message.lower()
    assert "not-the-secret" not in str(result.to_json())


def test_grader_without_access_is_error(sim, small_lab, runtime):
    mine = sim.create_attendee("owner")
    other = sim.create_attendee("stranger")
    creds = dict(mine, subscription_id=other["subscription_id"], resource_group=other["resource_group"])
    result = validate(Attendee.from_json(creds, small_lab), "1", small_lab, FAST, runtime=runtime)
    assert result.status is Status.ERROR
    assert "not allowed" in result.message.lower() or "permission" in result.message.lower()
