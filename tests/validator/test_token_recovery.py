"""Token credentials after Entra ID trouble (issue 10): validations recover as soon as the token endpoint
does, rather than when MSAL stops replaying the failure it cached (60 s after an HTTP 400, 5 s after a 5xx);
a Retry-After that Entra ID sent is still honoured; and the credential cache tells apart identities that
trust different CA bundles."""

from __future__ import annotations

import dataclasses

import pytest

from checks.outcome import Status
from validator import Attendee, Options, validate
from validator.azure import identity
from validator.azure.budget import RetryPolicy
from validator.azure.cloud import AttendeeAzure

FAST = Options(budget_seconds=3.0, retry=RetryPolicy(attempts=3, backoff=0.05, call_timeout=1.0))


@pytest.mark.parametrize(("status", "name"), [
    (400, "token-400-recovers"),  # MSAL replays an exact 400 for 60 seconds
    (503, "token-503-recovers"),  # and a 5xx without Retry-After for 5
])
def test_validation_recovers_as_soon_as_the_token_endpoint_does(sim, small_lab, status, name, runtime):
    who = Attendee.from_json(sim.create_attendee(name), small_lab)
    sim.faults.add({"operation": "token", "status": status})
    failed = validate(who, "1", small_lab, FAST, runtime=runtime)
    assert failed.status is Status.ERROR, failed.message
    sim.faults.clear()
    before = sim.call_count("token")
    recovered = validate(who, "1", small_lab, FAST, runtime=runtime)
    assert recovered.status is Status.FAIL, recovered.message  # nothing done yet: the student's real verdict
    assert sim.call_count("token") - before == 1  # Entra ID was asked again, once


def test_a_retry_after_from_entra_id_is_still_honoured(sim, small_lab, runtime):
    who = Attendee.from_json(sim.create_attendee("token-429-wait"), small_lab)
    sim.faults.add({"operation": "token", "status": 429, "retry_after": 30, "count": 1})
    assert validate(who, "1", small_lab, FAST, runtime=runtime).status is Status.ERROR  # 30 s is beyond this budget
    before = sim.call_count("token")
    again = validate(who, "1", small_lab, FAST, runtime=runtime)
    assert again.status is Status.ERROR, again.message  # MSAL replays the throttling, as Entra ID asked
    assert sim.call_count("token") == before  # not asked again within the 30 seconds it asked for


def test_a_working_credential_is_kept(sim, small_lab, runtime):
    who = Attendee.from_json(sim.create_attendee("token-kept"), small_lab)
    assert validate(who, "1", small_lab, FAST, runtime=runtime).status is Status.FAIL
    first = runtime.credentials.get(who.azure)
    before = sim.call_count("token")
    assert validate(who, "1", small_lab, FAST, runtime=runtime).status is Status.FAIL
    assert runtime.credentials.get(who.azure) is first and sim.call_count("token") == before  # token reused


def test_the_credential_cache_key_includes_the_ca_bundle(tmp_path, runtime):
    azure = AttendeeAzure.from_json({"subscription_id": "00000000-0000-0000-0000-000000000001",
                                     "resource_group": "rg", "tenant_id": "00000000-0000-0000-0000-000000000002",
                                     "client_id": "app", "client_secret": "s3cret-value",
                                     "authority_host": "https://127.0.0.1:1", "arm_endpoint": "https://127.0.0.1:1",
                                     "ca_bundle": str(tmp_path / "a.pem")})
    other = dataclasses.replace(azure, profile=dataclasses.replace(azure.profile, ca_bundle=str(tmp_path / "b.pem")))
    assert identity.key_for(azure) != identity.key_for(other)
    credentials = runtime.credentials
    assert credentials.get(azure) is not credentials.get(other)
    assert credentials.get(azure) is credentials.get(azure)
    assert "s3cret-value" not in repr(identity.key_for(azure))
