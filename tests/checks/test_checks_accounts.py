"""Task 1 checks over plain facts: each PASS, each FAIL, each PENDING they can give."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from checkfacts import RG, account

from checks import facts as F
from checks.outcome import Status

PRED = "CustomVision.Prediction"


def test_training_exists_pass_names_the_resource(raw, run):
    out = run("account_training_exists", raw)
    assert out.status is Status.PASS
    assert out.message == ("Found Custom Vision training resource 'customvision-casting-100001' in resource "
                           f"group '{RG}'.")
    assert out.evidence["sku"] == "F0" and "key" not in str(out.evidence).lower()


def test_training_exists_accepts_the_seed_spelling_and_advises_on_duplicates(raw, run):
    raw[F.ACCOUNTS] = [account("customvisioncasting"), account("customvision-casting-100001")]
    out = run("account_training_exists", raw)
    assert out.status is Status.PASS and out.evidence["name"] == "customvision-casting-100001"
    assert any("customvisioncasting" in a for a in out.advice)


def test_training_exists_fail_when_the_group_is_empty(raw, run):
    raw[F.ACCOUNTS] = []
    out = run("account_training_exists", raw)
    assert out.status is Status.FAIL
    assert out.message == f"No Custom Vision training resource was found in resource group '{RG}'."
    assert "+ Create" in out.hint and "customvision-casting-100001" in out.hint


def test_training_exists_fail_says_what_was_found(raw, run):
    raw[F.ACCOUNTS] = [account("cv-casting", sku="S0", location="westus2"),
                       account("cv-casting-Prediction", kind=PRED)]
    out = run("account_training_exists", raw)
    assert out.status is Status.FAIL
    assert "No Custom Vision training resource named like 'customvision-casting-100001' was found" in out.message
    assert "found 'cv-casting' (S0, westus2)" in out.message
    assert "'cv-casting-Prediction' (CustomVision.Prediction, F0, eastus)" in out.message
    assert "cannot be renamed" in out.hint


def test_training_exists_fail_when_only_a_prediction_resource_has_the_name(raw, run):
    raw[F.ACCOUNTS] = [account("customvision-casting", kind=PRED)]
    out = run("account_training_exists", raw)
    assert out.status is Status.FAIL and "CustomVision.Prediction" in out.message


def test_region_pass_and_fail(raw, run):
    assert run("account_training_region", raw).status is Status.PASS
    raw[F.ACCOUNTS] = [account(location="westus2")]
    out = run("account_training_region", raw)
    assert out.status is Status.FAIL
    assert out.message == ("Custom Vision training resource 'customvision-casting-100001' is in region westus2; "
                           "this lab needs eastus.")
    assert "purge" in out.hint and "eastus" in out.hint
    # The inject may use the display name of the region.
    raw[F.ACCOUNTS] = [account(location="eastus")]
    assert run("account_training_region", raw, {"region": "East US"}).status is Status.PASS


def test_tier_pass_and_fail(raw, run):
    assert run("account_training_tier", raw).status is Status.PASS
    raw[F.ACCOUNTS] = [account(sku="S0")]
    out = run("account_training_tier", raw)
    assert out.status is Status.FAIL
    assert "uses pricing tier S0; this lab needs F0." in out.message and "Pricing tier" in out.hint


def test_provisioned_pass_pending_and_fail(raw, run):
    assert run("account_training_provisioned", raw).status is Status.PASS
    raw[F.ACCOUNTS] = [account(state="Creating")]
    out = run("account_training_provisioned", raw)
    assert out.status is Status.PENDING and "Creating" in out.message and "Wait for the deployment" in out.hint
    assert out.recheck_after == 10 and "Validate" not in out.hint  # each surface says when, in its own words
    raw[F.ACCOUNTS] = [account(state="Failed")]
    out = run("account_training_provisioned", raw)
    assert out.status is Status.FAIL and "provisioning state Failed" in out.message


def test_region_tier_and_provisioned_fail_without_a_training_resource(raw, run):
    raw[F.ACCOUNTS] = []
    for cid in ("account_training_region", "account_training_tier", "account_training_provisioned"):
        out = run(cid, raw)
        assert out.status is Status.FAIL and "No Custom Vision training resource was found" in out.message


def test_prediction_pass_prefers_the_companion(raw, run):
    raw[F.ACCOUNTS] = [account(), account("aaa-other", kind=PRED, sku="S0"),
                       account("customvision-casting-100001-Prediction", kind=PRED)]
    out = run("account_prediction_exists", raw)
    assert out.status is Status.PASS and out.evidence["name"] == "customvision-casting-100001-Prediction"


def test_prediction_fail_missing_and_wrong_tier(raw, run):
    raw[F.ACCOUNTS] = [account()]
    out = run("account_prediction_exists", raw)
    assert out.status is Status.FAIL
    assert "No Custom Vision prediction resource was found" in out.message
    assert "'customvision-casting-100001-Prediction'" in out.message and "Prediction pricing tier F0" in out.hint
    raw[F.ACCOUNTS] = [account(), account("customvision-casting-100001-Prediction", kind=PRED, sku="S0")]
    out = run("account_prediction_exists", raw)
    assert out.status is Status.FAIL and "uses pricing tier S0; this lab needs F0." in out.message


def test_prediction_is_judged_even_without_a_matching_training_resource(raw, run):
    raw[F.ACCOUNTS] = [account("cv", kind=PRED)]
    assert run("account_prediction_exists", raw).status is Status.PASS


def _deleted(name="customvision-casting-100001", sku="F0"):
    return replace(account(name, sku=sku), deleted_at=datetime(2026, 11, 29, 9, 5, tzinfo=UTC))


def test_a_soft_deleted_lab_resource_says_recover_or_purge_not_create(raw, run):
    raw[F.ACCOUNTS] = []
    raw[F.DELETED_ACCOUNTS] = [_deleted()]
    out = run("account_training_exists", raw)
    assert out.status is Status.FAIL
    assert out.message == ("Custom Vision training resource 'customvision-casting-100001' was deleted on "
                           "29 November at 09:05 UTC. Azure keeps a deleted resource for 48 hours, and its name "
                           "cannot be used again until it is purged.")
    assert "Manage deleted resources" in out.hint and "Recover" in out.hint and "Purge" in out.hint
    assert "+ Create" not in out.hint  # creating it again would fail while the old one is soft-deleted
    assert out.evidence["deleted"]["name"] == "customvision-casting-100001"


def test_a_deleted_free_resource_of_another_name_is_advice_to_purge(raw, run):
    raw[F.ACCOUNTS] = []
    raw[F.DELETED_ACCOUNTS] = [_deleted("cv-casting"), _deleted("cv-old", sku="S0")]
    out = run("account_training_exists", raw)
    assert out.status is Status.FAIL
    assert out.message == f"No Custom Vision training resource was found in resource group '{RG}'."
    assert len(out.advice) == 1 and "'cv-casting'" in out.advice[0] and "purge" in out.advice[0]


def test_deleted_resources_of_other_groups_are_not_mentioned(raw, run):
    raw[F.ACCOUNTS] = []
    raw[F.DELETED_ACCOUNTS] = [replace(_deleted(), resource_group="other-rg")]
    out = run("account_training_exists", raw)
    assert out.message == f"No Custom Vision training resource was found in resource group '{RG}'."
    assert not out.advice


def test_a_resource_being_deleted_is_not_told_to_delete_it(raw, run):
    raw[F.ACCOUNTS] = [account(state="Deleting"), account("customvision-casting-100001-Prediction", kind=PRED)]
    out = run("account_training_provisioned", raw)
    assert out.status is Status.FAIL
    assert out.message == "Custom Vision training resource 'customvision-casting-100001' is being deleted."
    assert "recover" in out.hint and "purge" in out.hint
