"""Task 1 against ARM's long-running operations and soft delete, end to end through the official SDKs."""

from __future__ import annotations

import pytest
from azure.core.exceptions import HttpResponseError
from azure.mgmt.cognitiveservices.models import Account, AccountProperties, Sku

from checks.outcome import Status
from validator import validate


def _begin_create(student, name: str, kind: str, sku: str = "F0"):
    body = Account(location=student.region, kind=kind, sku=Sku(name=sku),
                   properties=AccountProperties(custom_sub_domain_name=name.lower()))
    return student.arm.accounts.begin_create(student.resource_group, name, body)


def test_task1_is_pending_while_the_resource_deploys_then_passes(sim, small_lab, who, student, runtime):
    # Long enough that a loaded machine still validates while both deploy (as test_resource_pack's 5 s); the sim
    # fixture restores the tests' timing afterwards.
    sim.provisioning_seconds = 5.0
    training = _begin_create(student, student.account_name, "CustomVision.Training")
    prediction = _begin_create(student, f"{student.account_name}-Prediction", "CustomVision.Prediction")
    during = validate(who, "1", small_lab, runtime=runtime)
    assert during.status is Status.PENDING, during.message
    assert "still being deployed" in during.message and "Creating" in during.message
    training.result()
    prediction.result()
    after = validate(who, "1", small_lab, runtime=runtime)
    assert after.status is Status.PASS, after.message


def test_a_failed_deployment_fails_task1_with_the_state(sim, small_lab, who, student, runtime):
    sim.faults.add({"operation": "Accounts_Create", "fail_provisioning": True, "count": 1})
    poller = _begin_create(student, student.account_name, "CustomVision.Training")
    with pytest.raises(HttpResponseError, match="ResourceProvisioningFailed"):
        poller.result()
    _begin_create(student, f"{student.account_name}-Prediction", "CustomVision.Prediction").result()
    result = validate(who, "1", small_lab, runtime=runtime)
    assert result.status is Status.FAIL
    provisioned = next(c for c in result.checks if c.check_id == "account_training_provisioned")
    assert provisioned.status is Status.FAIL and "provisioning state Failed" in provisioned.message


def test_a_soft_deleted_resource_is_named_with_recover_and_purge_then_recovered(sim, small_lab, who, student, runtime):
    student.do("1")
    student.do("2")
    rg, name = student.resource_group, student.account_name
    student.arm.accounts.begin_delete(rg, name).result()
    # Azure keeps it: the same name cannot be created again...
    with pytest.raises(HttpResponseError) as refused:
        _begin_create(student, name, "CustomVision.Training").result()
    assert refused.value.status_code == 409 and refused.value.error.code == "FlagMustBeSetForRestore"
    result = validate(who, "1", small_lab, runtime=runtime)
    assert result.status is Status.FAIL
    assert f"'{name}' was deleted" in result.message
    assert "Recover" in (result.hint or "") and "Purge" in (result.hint or "")
    # ...until it is recovered, projects and all.
    body = Account(location=student.region, kind="CustomVision.Training", sku=Sku(name="F0"),
                   properties=AccountProperties(restore=True))
    student.arm.accounts.begin_create(rg, name, body).result()
    assert validate(who, "1", small_lab, runtime=runtime).status is Status.PASS
    assert validate(who, "2", small_lab, runtime=runtime).status is Status.PASS


def test_the_repair_of_a_wrong_region_purges_and_recreates(sim, small_lab, who, student, runtime):
    student.do("1", "wrong-region")
    assert validate(who, "1", small_lab, runtime=runtime).status is Status.FAIL
    student.do("1")
    assert validate(who, "1", small_lab, runtime=runtime).status is Status.PASS
    assert not list(student.arm.deleted_accounts.list())  # purged, as the student did in the portal


def test_the_shared_regional_endpoint_serves_an_account_made_without_a_subdomain(sim, small_lab, who, student, runtime):
    """The CLI's default: no custom subdomain. The grader still reaches the project through the key."""
    for name, kind in ((student.account_name, "CustomVision.Training"),
                       (f"{student.account_name}-Prediction", "CustomVision.Prediction")):
        body = Account(location=student.region, kind=kind, sku=Sku(name="F0"))
        made = student.arm.accounts.begin_create(student.resource_group, name, body).result()
        assert made.properties.endpoint.endswith(f"/cv/{student.region}.api/")
        assert made.properties.custom_sub_domain_name is None
    student.do("2")
    assert validate(who, "2", small_lab, runtime=runtime).status is Status.PASS
