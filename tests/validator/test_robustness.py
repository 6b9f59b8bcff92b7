"""validate() holds up against bad input and odd states: bad ids, missing injects, unexpected exceptions,
a retrain in progress; Azure errors map to the kind of ERROR that tells the student the right thing."""

from __future__ import annotations

from dataclasses import replace

import pytest

from checks.outcome import Status
from validator import Attendee, Options, validate
from validator.azure.budget import RetryPolicy
from validator.azure.cloud import AttendeeAzure, CredentialsError
from validator.azure.errors import AzureCallError
from validator.gather import unavailable_kind

from .conftest import SMALL

FAST = Options(budget_seconds=3.0, retry=RetryPolicy(attempts=3, backoff=0.05, call_timeout=1.0))
GUID = "72f988bf-86f1-41af-91ab-2d7cd011db47"


@pytest.mark.parametrize(("field", "value"), [
    ("tenant_id", "contoso tenant"),
    ("tenant_id", "not a domain"),
    ("subscription_id", "my-subscription"),
    ("subscription_id", "72f988bf-86f1-41af-91ab"),
])
def test_malformed_ids_are_refused_naming_the_field(field, value):
    data = {"subscription_id": GUID, "resource_group": "rg", "tenant_id": GUID, "client_id": "c",
            "client_secret": "s", field: value}
    with pytest.raises(CredentialsError) as info:
        AttendeeAzure.from_json(data)
    assert f"'{field}'" in str(info.value)


@pytest.mark.parametrize("tenant", [GUID, "contoso.onmicrosoft.com", "labs.example.org"])
def test_tenant_may_be_a_guid_or_a_domain(tenant):
    azure = AttendeeAzure.from_json({"subscription_id": GUID, "resource_group": "rg", "tenant_id": tenant,
                                     "client_id": "c", "client_secret": "s"})
    assert azure.tenant_id == tenant


def test_unexpected_exception_is_an_internal_error_not_a_crash(sim, attendee, small_lab, runtime):
    """A tenant azure-identity refuses (ValueError at construction) slipped past from_json: ERROR, no raise."""
    who = Attendee.from_json(attendee, small_lab)
    broken = replace(who, azure=replace(who.azure, tenant_id="contoso tenant"))
    result = validate(broken, "1", small_lab, FAST, runtime=runtime)
    assert result.status is Status.ERROR
    assert result.message.startswith("labgrader hit an internal error"), result.message
    assert result.checks[0].evidence["kind"] == "internal"
    assert "not a problem with your work" in (result.hint or "")


def test_missing_inject_is_lab_settings_error(sim, attendee, small_lab, runtime):
    """No lab default stands in for the platform's value: the attendee gets the settings ERROR."""
    creds = dict(attendee)
    creds.pop("injects")
    result = validate(Attendee.from_json(creds, small_lab), "1", small_lab, FAST, runtime=runtime)
    assert result.status is Status.ERROR
    assert "settings for you are incomplete" in result.message
    assert result.azure_calls == 0


def test_lab_defaults_fill_injects_only_when_asked(attendee, small_lab):
    creds = dict(attendee)
    creds.pop("injects")
    assert "DeploymentID" not in Attendee.from_json(creds, small_lab).injects
    assert Attendee.from_json(creds, small_lab, use_lab_defaults=True).injects["DeploymentID"]


def test_missing_resource_group_is_not_found(sim, attendee, small_lab, runtime):
    creds = dict(attendee, resource_group="rg-that-was-never-created")
    result = validate(Attendee.from_json(creds, small_lab), "1", small_lab, FAST, runtime=runtime)
    assert result.status is Status.ERROR
    assert "rg-that-was-never-created" in result.message
    assert result.checks[0].evidence["kind"] == "not_found"


def test_custom_vision_quota_is_quota(sim, attendee, small_lab, runtime):
    from azuresim.student import Student

    Student(attendee, counts=dict(SMALL)).do("1")
    Student(attendee, counts=dict(SMALL)).do("2")
    sim.faults.add({"operation": "GetProjects", "status": 403})
    result = validate(Attendee.from_json(attendee, small_lab), "2", small_lab, FAST, runtime=runtime)
    assert result.status is Status.ERROR
    assert "quota" in result.message.lower(), result.message
    assert result.calls_by_operation["GetProjects"] == 1  # a used-up quota is not hammered with retries


@pytest.mark.parametrize(("kind", "code", "expected"), [
    ("throttled", None, "throttled"),
    ("busy", None, "busy"),
    ("timeout", None, "timeout"),
    ("unavailable", "ServiceUnavailable", "unavailable"),
    ("permission", "AuthorizationFailed", "permission"),
    ("quota", "403", "quota"),
    ("credentials", "invalid_client", "credentials"),
    ("not_found", "ResourceGroupNotFound", "not_found"),
    ("not_found", "SubscriptionNotFound", "not_found"),
    ("not_found", "NotFound", "unavailable"),  # a project that vanished between two calls
    ("rejected", "BadRequest", "internal"),
])
def test_error_kinds_map_to_fact_kinds(kind, code, expected):
    assert unavailable_kind(AzureCallError(kind, "Op", "detail", code=code)) == expected


def test_no_performance_call_while_a_retrain_runs(sim, attendee, small_lab, runtime):
    from azuresim.student import Student

    student = Student(attendee, counts=dict(SMALL))
    student.do_all()
    who = Attendee.from_json(attendee, small_lab)
    slow = sim.training_seconds
    sim.training_seconds = 60
    try:
        student.do("4", mistake="not-finished")
        result = validate(who, "4", small_lab, FAST, runtime=runtime)
    finally:
        sim.training_seconds = slow
    assert result.status is Status.PENDING, result.message
    assert "GetIterationPerformance" not in result.calls_by_operation, result.calls_by_operation


def test_quick_test_on_an_older_iteration_is_named(sim, attendee, small_lab, runtime):
    """Predictions are read for the whole project, so a Quick Test on an older iteration is recognised."""
    from azuresim.student import Student

    student = Student(attendee, counts=dict(SMALL))
    student.do_all()
    student.do("4")  # retrain after the quick tests: the newest trained iteration has none
    result = validate(Attendee.from_json(attendee, small_lab), "5.1", small_lab, FAST, runtime=runtime)
    assert result.status is Status.FAIL
    assert "older iteration" in result.message, result.message
