"""The validator under the grader's Azure roles, through the official SDKs on azuresim: the minimal custom role
at resource-group scope validates the whole lab; Reader alone cannot read keys (an ERROR naming listKeys for the
proctor); with key access disabled every step validates through Microsoft Entra ID tokens."""

from __future__ import annotations

import itertools

import pytest
from azure.identity import ClientSecretCredential
from azure.mgmt.cognitiveservices import CognitiveServicesManagementClient
from azure.mgmt.cognitiveservices.models import Account, AccountProperties

from azuresim.student import Student
from checks import grants
from checks.outcome import Status
from validator import Attendee, validate

from .conftest import SMALL

_n = itertools.count(1)


def _grader(sim, role, scope="resource_group") -> dict:
    return sim.create_attendee(f"lp-{next(_n)}", grader_role=role, grader_scope=scope)


def _walk(sim, creds: dict, lab, runtime, tasks=None) -> dict[str, object]:
    """Do every task as the student, then validate each step as the grader; task -> StepResult."""
    student = Student(creds, counts=dict(SMALL))
    who = Attendee.from_json(creds, lab)
    results = {}
    for step in lab.steps:
        if tasks is None or step.task in tasks:
            student.do(step.task)
            results[step.task] = validate(who, step.id, lab, runtime=runtime)
    return results


@pytest.mark.slow
def test_the_minimal_custom_role_at_resource_group_scope_validates_the_whole_lab(sim, small_lab, runtime):
    creds = _grader(sim, grants.MINIMAL_ROLE)
    results = _walk(sim, creds, small_lab, runtime=runtime)
    bad = {t: (r.status.value, r.message) for t, r in results.items() if r.status is not Status.PASS}
    assert not bad
    # Keys were read with listKeys (the default way in): no Entra ID token for Cognitive Services was needed.
    assert sim.call_count("Accounts_ListKeys") >= 1


def test_the_minimal_role_at_resource_group_scope_still_fails_task_1_for_a_missing_resource(sim, small_lab, runtime):
    """Deleted accounts are out of a resource-group role's reach: Task 1 is a FAIL, not an ERROR."""
    creds = _grader(sim, grants.MINIMAL_ROLE)
    who = Attendee.from_json(creds, small_lab)
    result = validate(who, "1", small_lab, runtime=runtime)
    assert result.status is Status.FAIL, result.message


def test_reader_only_makes_task_2_an_error_naming_list_keys(sim, small_lab, runtime):
    creds = _grader(sim, "Reader")
    result = _walk(sim, creds, small_lab, tasks={"1", "2"}, runtime=runtime)
    assert result["1"].status is Status.PASS  # Reader reads the account list
    task2 = result["2"]
    assert task2.status is Status.ERROR
    assert grants.LIST_KEYS in task2.message
    assert "Cognitive Services User" in task2.hint and "not a problem with your work" in task2.hint
    assert "resource group" in task2.hint
    errored = [c for c in task2.checks if c.status is Status.ERROR]
    assert errored and errored[0].evidence["action"] == grants.LIST_KEYS


def test_no_role_at_all_is_an_error_naming_the_read_action(sim, small_lab, runtime):
    creds = _grader(sim, "Reader")
    sim.state.unassign_roles(sim.state.principals[creds["client_id"]])
    result = validate(Attendee.from_json(creds, small_lab), "1", small_lab, runtime=runtime)
    assert result.status is Status.ERROR
    assert grants.ACCOUNTS_READ in result.message


def _disable_keys(creds: dict) -> None:
    """The organisation's policy: disableLocalAuth on every Custom Vision resource of the group (as its owner)."""
    me = creds["student"]
    cred = ClientSecretCredential(creds["tenant_id"], me["client_id"], me["client_secret"],
                                  authority=creds["authority_host"], disable_instance_discovery=True,
                                  connection_verify=creds["ca_bundle"])
    arm = CognitiveServicesManagementClient(cred, creds["subscription_id"], base_url=creds["arm_endpoint"],
                                            credential_scopes=[creds["credential_scope"]],
                                            connection_verify=creds["ca_bundle"])
    try:
        for acct in arm.accounts.list_by_resource_group(creds["resource_group"]):
            arm.accounts.begin_update(creds["resource_group"], acct.name, Account(
                properties=AccountProperties(disable_local_auth=True))).result()
    finally:
        arm.close()
        cred.close()


@pytest.mark.slow
def test_with_keys_disabled_every_step_validates_through_entra_id_tokens(sim, small_lab, runtime):
    creds = _grader(sim, grants.MINIMAL_ROLE)
    student = Student(creds, counts=dict(SMALL))
    for step in small_lab.steps:
        student.do(step.task)
    _disable_keys(creds)
    sim.clear_calls()
    who = Attendee.from_json(creds, small_lab)
    for step in small_lab.steps:
        result = validate(who, step.id, small_lab, runtime=runtime)
        assert result.status is Status.PASS, (step.task, result.message, result.hint)
    assert sim.call_count("Accounts_ListKeys") == 0  # the account says disableLocalAuth: no key is asked for
    tokens = [t for t in sim.state.tokens.values() if t.client_id == creds["client_id"]]
    assert any(t.audience == "https://cognitiveservices.azure.com" for t in tokens)


def test_keys_disabled_without_the_data_actions_names_the_setting_and_the_data_action(sim, small_lab, runtime):
    creds = _grader(sim, "Cognitive Services Contributor")  # listKeys, but no data action
    Student(creds, counts=dict(SMALL)).do("1")
    Student(creds, counts=dict(SMALL)).do("2")
    _disable_keys(creds)
    result = validate(Attendee.from_json(creds, small_lab), "2", small_lab, runtime=runtime)
    assert result.status is Status.ERROR
    assert "disableLocalAuth" in result.hint
    assert f"{grants.CV}/projects/read" in result.message


def test_keys_refused_on_the_data_plane_switch_to_entra_id(sim, small_lab, runtime):
    """Key access switched off after labgrader cached the key: the next call signs in with Entra ID."""
    creds = _grader(sim, grants.MINIMAL_ROLE)
    student = Student(creds, counts=dict(SMALL))
    student.do("1")
    student.do("2")
    who = Attendee.from_json(creds, small_lab)
    assert validate(who, "2", small_lab, runtime=runtime).status is Status.PASS  # with the key
    acct = next(a for a in sim.state.accounts.values() if a.subscription_id == creds["subscription_id"]
                and a.kind == "CustomVision.Training")
    acct.disable_local_auth = True  # as a policy remediation would, behind labgrader's back
    result = validate(who, "2", small_lab, runtime=runtime)
    assert result.status is Status.PASS, (result.message, result.hint)


def test_custom_vision_reader_alone_reads_through_entra_id(sim, small_lab, runtime):
    """The built-in read-only Custom Vision role has no listKeys: the resource (custom subdomain, as the portal
    makes it) is read with an Entra ID token."""
    creds = _grader(sim, "Cognitive Services Custom Vision Reader")
    results = _walk(sim, creds, small_lab, tasks={"1", "2"}, runtime=runtime)
    assert results["2"].status is Status.PASS, (results["2"].message, results["2"].hint)
