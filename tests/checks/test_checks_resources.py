"""Declarative resource checks (checks.resources) over plain facts: each PASS, FAIL, PENDING and lab mistake."""

from __future__ import annotations

from dataclasses import replace

import pytest

from checks import facts as F
from checks import registry
from checks.base import Context, run_check
from checks.outcome import Status
from checks.params import lab_parameters

RG = "ODL-storage-1"
STORAGE = "Microsoft.Storage/storageAccounts"
CTX = Context(inject={"DeploymentID": "4711", "Region": "eastus"}, resource_group=RG)
BASE = {"type": STORAGE, "name": {"prefix": "st{DeploymentID}"}, "what": "storage account",
        "api_version": "2023-05-01"}


def storage(name="st4711lab", kind="StorageV2", sku="Standard_LRS", tier="Standard", location="eastus",
            state="Succeeded", tags=None, **props) -> F.ResourceFact:
    properties = {"supportsHttpsTrafficOnly": True, "minimumTlsVersion": "TLS1_2",
                  "encryption": {"services": {"blob": {"enabled": True}}}, "networkAcls": {"ipRules": []}}
    properties.update(props)
    return F.ResourceFact(
        name=name, type=STORAGE, location=location, resource_group=RG,
        resource_id=f"/subscriptions/s/resourceGroups/{RG}/providers/{STORAGE}/{name}", kind=kind, sku_name=sku,
        sku_tier=tier, tags=tags if tags is not None else {"course": "az-104"}, provisioning_state=state,
        properties=properties)


def run(check_id: str, resources: list, **expect):
    facts = {F.resources(STORAGE): resources}
    return run_check(check_id, facts, {**BASE, **expect}, CTX)


def test_the_fact_is_one_per_type_whatever_its_spelling():
    assert F.resources(STORAGE) == F.resources("microsoft.storage/STORAGEACCOUNTS")
    assert F.resource_type_of(F.resources(STORAGE)) == STORAGE.lower()
    check = registry.get("resource_properties")
    assert check.reads_for(BASE) == (F.resources(STORAGE),)
    assert check.parameters_for(BASE) == {F.resources(STORAGE): "2023-05-01"}
    # The lab's parameter for the fact is the first api-version any of its checks gives for the type.
    params = lab_parameters([("resource_exists", {"type": STORAGE}), ("resource_properties", BASE)], {})
    assert params[F.resources(STORAGE)] == "2023-05-01"


def test_exists_pass_and_duplicates():
    out = run("resource_exists", [storage(), storage("st4711old", state="Failed")])
    assert out.status is Status.PASS
    assert out.message == f"Found storage account 'st4711lab' in resource group '{RG}'."
    assert out.advice == ("Also found storage account 'st4711old'; labgrader checks 'st4711lab'.",)


def test_exists_fail_names_what_was_found():
    out = run("resource_exists", [storage("mystorage", kind="Storage")])
    assert out.status is Status.FAIL
    assert out.message == (f"No storage account whose name starts with 'st4711' was found in resource group "
                           f"'{RG}'; found 'mystorage' (Storage, Standard_LRS, eastus).")
    assert out.hint.startswith("A resource cannot be renamed. Create the storage account named 'st4711'")
    empty = run("resource_exists", [])
    assert empty.message == f"No storage account whose name starts with 'st4711' was found in resource group '{RG}'."
    assert run("resource_exists", [], fix="Follow Task 1, step 3.").hint == "Follow Task 1, step 3."


def test_exists_pending_while_deploying_and_fail_when_failed():
    out = run("resource_exists", [storage(state="Creating")])
    assert out.status is Status.PENDING and out.recheck_after == 10
    assert "still being deployed (provisioning state Creating)" in out.message
    out = run("resource_exists", [storage(state="Failed")])
    assert out.status is Status.FAIL
    assert out.message == "Storage account 'st4711lab' has provisioning state Failed; it needs to be Succeeded."


def test_without_what_the_type_names_the_resource():
    out = run_check("resource_exists", {F.resources(STORAGE): []}, {"type": STORAGE, "name": "data1"}, CTX)
    assert out.message == (f"No {STORAGE} resource named 'data1' was found in resource group '{RG}'.")


def test_location():
    assert run("resource_location", [storage()], location="{Region}").status is Status.PASS
    assert run("resource_location", [storage(location="eastus")], location="East US").status is Status.PASS
    out = run("resource_location", [storage(location="westeurope")], location="{Region}")
    assert out.status is Status.FAIL
    assert out.message == "Storage account 'st4711lab' is in region westeurope; this lab needs eastus."
    assert "cannot move to another region" in out.hint


def test_follow_up_checks_say_the_resource_is_missing():
    out = run("resource_location", [], location="eastus")
    assert out.status is Status.FAIL and out.follows_from == "resource_exists"
    assert out.message == (f"No storage account whose name starts with 'st4711' was found in resource group "
                           f"'{RG}', so its region cannot be checked.")


def test_sku_and_tier():
    assert run("resource_sku", [storage()], sku="standard_lrs").status is Status.PASS
    out = run("resource_sku", [storage(sku="Standard_GRS")], sku="Standard_LRS")
    assert out.message == "Storage account 'st4711lab' uses SKU Standard_GRS; this lab needs SKU Standard_LRS."
    assert out.hint == "In the Azure portal, open 'st4711lab', change its pricing tier to Standard_LRS, and save."
    out = run("resource_sku", [storage(sku="Premium_LRS", tier="Premium")], sku="Standard_LRS", tier="Standard")
    assert out.message == ("Storage account 'st4711lab' uses SKU Premium_LRS and tier Premium; this lab needs SKU "
                           "Standard_LRS and tier Standard.")


def test_kind():
    assert run("resource_kind", [storage()], kind="StorageV2").status is Status.PASS
    out = run("resource_kind", [storage(kind="BlobStorage")], kind="StorageV2")
    assert out.message == "Storage account 'st4711lab' is of kind BlobStorage; this lab needs kind StorageV2."


def test_tags():
    assert run("resource_tags", [storage()], tags={"Course": "az-104"}).status is Status.PASS
    assert run("resource_tags", [storage()], tags={"course": None}).status is Status.PASS
    out = run("resource_tags", [storage(tags={"course": "az-900"})], tags={"course": "az-104", "owner": None})
    assert out.status is Status.FAIL
    assert out.message == ("Storage account 'st4711lab' has tag 'course' = 'az-900' and no tag 'owner'; this lab "
                           "needs course = az-104 and owner (any value).")
    assert "select Tags" in out.hint


@pytest.mark.parametrize(("rule", "props", "status"), [
    ({"path": "supportsHttpsTrafficOnly", "equals": True}, {}, Status.PASS),
    ({"path": "supportsHttpsTrafficOnly", "equals": True}, {"supportsHttpsTrafficOnly": False}, Status.FAIL),
    ({"path": "supportsHttpsTrafficOnly", "equals": True}, {"supportsHttpsTrafficOnly": 1}, Status.FAIL),
    ({"path": "properties.minimumTlsVersion", "equals": "tls1_2"}, {}, Status.PASS),
    ({"path": "minimumTlsVersion", "one_of": ["TLS1_2", "TLS1_3"]}, {"minimumTlsVersion": "TLS1_0"}, Status.FAIL),
    ({"path": "encryption.services.blob.enabled", "exists": True}, {}, Status.PASS),
    ({"path": "encryption.services.file.enabled", "exists": True}, {}, Status.FAIL),
    ({"path": "allowSharedKeyAccess", "exists": False}, {}, Status.PASS),
    ({"path": "retentionDays", "at_least": 7}, {"retentionDays": 7}, Status.PASS),
    ({"path": "retentionDays", "at_least": 7}, {"retentionDays": "6"}, Status.FAIL),
    ({"path": "retentionDays", "at_most": 30}, {"retentionDays": 31}, Status.FAIL),
    ({"path": "retentionDays", "at_most": 30}, {}, Status.FAIL),
    ({"path": "networkAcls.ipRules", "exists": True}, {}, Status.PASS),
    ({"path": "primaryEndpoints.blob", "matches": r"https://st4711\w+\.blob\..*"},
     {"primaryEndpoints": {"blob": "https://st4711lab.blob.core.windows.net/"}}, Status.PASS),
])
def test_property_operators(rule, props, status):
    assert run("resource_properties", [storage(**props)], properties=[rule]).status is status


def test_property_fail_names_found_and_expected():
    out = run("resource_properties", [storage(supportsHttpsTrafficOnly=False, minimumTlsVersion="TLS1_0")],
              properties=[{"path": "supportsHttpsTrafficOnly", "equals": True, "label": "Secure transfer required"},
                          {"path": "minimumTlsVersion", "one_of": ["TLS1_2", "TLS1_3"]},
                          {"path": "allowBlobPublicAccess", "equals": False}])
    assert out.status is Status.FAIL
    assert out.message == ("Storage account 'st4711lab': Secure transfer required is false; this lab needs true; "
                           "minimumTlsVersion is TLS1_0; this lab needs one of TLS1_2 or TLS1_3; "
                           "allowBlobPublicAccess is not set; this lab needs false.")
    assert out.hint.startswith("In the Azure portal, open 'st4711lab' and set Secure transfer required to true, ")
    assert out.evidence["properties"]["supportsHttpsTrafficOnly"] == "false"
    fixed = run("resource_properties", [storage(supportsHttpsTrafficOnly=False)],
                properties=[{"path": "supportsHttpsTrafficOnly", "equals": True,
                             "fix": "Open Configuration and turn on Secure transfer required."}])
    assert fixed.hint == "Open Configuration and turn on Secure transfer required."


def test_property_pass_says_what_it_found():
    out = run("resource_properties", [storage()], properties=[{"path": "supportsHttpsTrafficOnly", "equals": True,
                                                               "label": "Secure transfer required"}])
    assert out.message == "Storage account 'st4711lab' has Secure transfer required true."


@pytest.mark.parametrize("expect", [
    {"type": "storageAccounts"},  # not NAMESPACE/TYPE
    {"properties": [{"path": "x", "equals": 1, "one_of": [1]}]},  # two operators
    {"properties": [{"path": "x", "at_least": "many"}]},
    {"properties": [{"equals": 1}]},  # no path
    {"properties": [{"path": "x", "matches": "("}]},
    {"properties": [{"path": "x", "exists": "yes"}]},
    {"api_version": None, "properties": [{"path": "x", "exists": True}]},
])
def test_a_malformed_expectation_is_an_error_not_a_fail(expect):
    out = run("resource_properties", [storage()], **expect)
    assert out.status is Status.ERROR
    assert "not a problem with your work" in out.hint


def test_an_unobservable_fact_is_an_error():
    facts = {F.resources(STORAGE): F.FactUnavailable(F.resources(STORAGE), "throttled", "HTTP 429")}
    out = run_check("resource_exists", facts, BASE, CTX)
    assert out.status is Status.ERROR and "throttling" in out.message


def test_resource_fact_is_frozen():
    with pytest.raises(AttributeError):
        storage().name = "x"  # type: ignore[misc]
    assert replace(storage(), name="y").name == "y"


@pytest.mark.parametrize(("cid", "expect", "words"), [
    ("resource_location", {"type": STORAGE, "locaton": "eastus"}, ["did you mean location?",
                                                                   "needs expectation 'location'"]),
    ("resource_exists", {"type": "storageAccounts"}, ["Namespace/type", "'storageAccounts'"]),
    ("resource_exists", {"name": "st1"}, ["needs expectation 'type'"]),
    ("resource_exists", {"type": STORAGE, "api_version": "latest"}, ["api_version", "'latest'"]),
    ("resource_properties", {"type": STORAGE, "properties": [{"path": "x", "equal": True}]}, ["'equal'"]),
    ("resource_properties", {"type": STORAGE, "properties": [{"path": "x", "equals": 1, "one_of": [1]}]},
     ["properties[0]"]),
    ("resource_tags", {"type": STORAGE, "tags": {"course": ["az-104"]}}, ["tags.course"]),
])
def test_lint_names_a_bad_resource_expectation(cid, expect, words):
    from checks.expect import check_expect

    problems = check_expect(cid, registry.get(cid).expects, expect)
    text = " ".join(p.message for p in problems)
    assert problems and all(w in text for w in words), text


def test_every_resource_check_takes_the_shared_keys_so_yaml_anchors_can_share_them():
    shared = {"type", "name", "what", "api_version", "fix"}
    for cid in ("resource_exists", "resource_location", "resource_sku", "resource_kind", "resource_tags",
                "resource_properties"):
        assert shared <= {k.name for k in registry.get(cid).expects}, cid
