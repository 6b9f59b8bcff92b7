"""A third lab written at runtime with declarative resource checks only, graded against azuresim end to end.

"A storage account of kind StorageV2 with HTTPS only": the pack is a guide and a lab.yaml in a temporary
folder found through LABGRADER_PACK_DIRS; no Python is added for it. The student creates the account
through azure-mgmt-resource, labgrader observes it through azure-mgmt-resource (list by type, get by id).
"""

from __future__ import annotations

import json

import pytest
import requests
from azure.identity import ClientSecretCredential
from azure.mgmt.resource.resources import ResourceManagementClient
from azure.mgmt.resource.resources.models import GenericResource, Sku
from click.testing import CliRunner

from labguide.packs import load_pack
from webapp.cli import main

STORAGE = "Microsoft.Storage/storageAccounts"
VERSION = "2023-05-01"
CREATE_STEP = "3b1f0a52-6c1e-4d7a-9e0b-5f2a8c4d1e01"
SECURE_STEP = "3b1f0a52-6c1e-4d7a-9e0b-5f2a8c4d1e02"

GUIDE = f"""\
# Storage basics: a secure storage account

## What you will do

- Task 1: Create a storage account
- Task 2: Require secure transfer

### Task 1: Create a storage account

1. In the Azure portal, create a **Storage account** in resource group
   **<inject key="ResourceGroup" enableCopy="false"/>**, region **<inject key="Region" enableCopy="false"/>**,
   named **st<inject key="DeploymentID"/>** followed by anything you like, with **Standard** performance and
   **Locally-redundant storage (LRS)**.

<validation step="{CREATE_STEP}" />

### Task 2: Require secure transfer

1. Open the storage account, select **Configuration**, set **Secure transfer required** to **Enabled**, and
   select **Save**.

<validation step="{SECURE_STEP}" />
"""

LAB = f"""\
id: storage-basics
title: "Storage basics: a secure storage account"
version: 1
guide: guide.md
injects:
  Region: {{description: Region of the attendee's resources., default: eastus}}
  ResourceGroup: {{description: The attendee's resource group., default: rg-lab}}
  DeploymentID: {{description: Per-attendee suffix., default: "100001"}}
steps:
  - id: {CREATE_STEP}
    task: "1"
    title: Create a storage account
    checks:
      - id: resource_exists
        expect: &account
          type: {STORAGE}
          what: storage account
          name: {{prefix: "st{{DeploymentID}}", example: "st{{DeploymentID}}lab"}}
      - id: resource_location
        expect: {{<<: *account, location: "{{Region}}"}}
      - id: resource_kind
        expect: {{<<: *account, kind: StorageV2}}
      - id: resource_sku
        expect: {{<<: *account, sku: Standard_LRS}}
  - id: {SECURE_STEP}
    task: "2"
    title: Require secure transfer
    requires: [{CREATE_STEP}]
    checks:
      - id: resource_properties
        expect:
          <<: *account
          api_version: "{VERSION}"
          properties:
            - path: supportsHttpsTrafficOnly
              equals: true
              label: Secure transfer required
              fix: Open the storage account, select Configuration, set Secure transfer required to Enabled, and save.
"""


@pytest.fixture
def pack_dir(tmp_path, monkeypatch, sim):
    root = tmp_path / "packs" / "storage-basics"
    root.mkdir(parents=True)
    (root / "guide.md").write_text(GUIDE, encoding="utf-8")
    (root / "lab.yaml").write_text(LAB, encoding="utf-8")
    monkeypatch.setenv("LABGRADER_PACK_DIRS", str(tmp_path / "packs"))
    resp = requests.post(f"{sim.info['admin_url']}/resource-types", verify=sim.info["ca_bundle"], timeout=10,
                         json={"type": STORAGE, "api_versions": [VERSION]})
    assert resp.status_code == 201, resp.text
    return root


class StorageStudent:
    """What the student does in the portal, through azure-mgmt-resource."""

    def __init__(self, creds: dict) -> None:
        self.creds = creds
        self.cred = ClientSecretCredential(creds["tenant_id"], creds["client_id"], creds["client_secret"],
                                           authority=creds["authority_host"], disable_instance_discovery=True,
                                           connection_verify=creds["ca_bundle"])
        self.rm = ResourceManagementClient(self.cred, creds["subscription_id"], base_url=creds["arm_endpoint"],
                                           credential_scopes=[creds["credential_scope"]],
                                           connection_verify=creds["ca_bundle"])
        self.name = f"st{creds['injects']['DeploymentID']}lab"

    def create(self, https: bool, kind: str = "StorageV2", wait: bool = True):
        rid = (f"/subscriptions/{self.creds['subscription_id']}/resourceGroups/{self.creds['resource_group']}"
               f"/providers/{STORAGE}/{self.name}")
        body = GenericResource(location=self.creds["region"], kind=kind, sku=Sku(name="Standard_LRS"),
                               properties={"supportsHttpsTrafficOnly": https, "minimumTlsVersion": "TLS1_2"})
        poller = self.rm.resources.begin_create_or_update_by_id(rid, body, api_version=VERSION, polling_interval=0.1)
        if wait:
            poller.result()
        return poller

    def close(self) -> None:
        self.rm.close()
        self.cred.close()


def _validate(tmp_path, creds) -> dict:
    path = tmp_path / "creds.json"
    path.write_text(json.dumps(creds))
    result = CliRunner().invoke(main, ["validate", "--attendee", str(path), "--all", "--lab", "storage-basics",
                                       "--json"])
    assert result.exit_code in (0, 1), result.output
    return {r["task"]: r for r in json.loads(result.output)}


def test_the_pack_lints_clean(pack_dir):
    result = CliRunner().invoke(main, ["guide", "lint", "storage-basics"])
    assert result.exit_code == 0, result.output
    pack = load_pack("storage-basics")
    assert [c.id for c in pack.steps[1].checks] == ["resource_properties"]
    assert pack.steps[1].checks[0].expect["type"] == STORAGE  # the YAML merge key carried the shared keys


def test_fail_before_the_account_then_without_https_then_pass(pack_dir, sim, attendee, tmp_path, monkeypatch):
    monkeypatch.setattr(sim, "provisioning_seconds", 0.3)
    student = StorageStudent(attendee)
    try:
        before = _validate(tmp_path, attendee)
        assert before["1"]["status"] == "FAIL"
        exists = next(c for c in before["1"]["checks"] if c["check_id"] == "resource_exists")
        assert exists["message"] == (f"No storage account named 'st{attendee['injects']['DeploymentID']}lab' was "
                                     f"found in resource group '{attendee['resource_group']}'.")
        assert before["2"]["status"] == "FAIL"

        # Deploying: Task 1 is in progress, not failed (long enough that a loaded machine still sees it deploying).
        monkeypatch.setattr(sim, "provisioning_seconds", 5)
        poller = student.create(https=False, wait=False)
        deploying = _validate(tmp_path, attendee)
        assert deploying["1"]["status"] == "PENDING", deploying["1"]
        monkeypatch.setattr(sim, "provisioning_seconds", 0.3)

        assert poller.result().properties["provisioningState"] == "Succeeded"
        sim.clear_calls()
        insecure = _validate(tmp_path, attendee)
        assert insecure["1"]["status"] == "PASS", insecure["1"]
        assert insecure["2"]["status"] == "FAIL"
        (check,) = insecure["2"]["checks"]
        assert check["message"] == (f"Storage account '{student.name}': Secure transfer required is false; this lab "
                                    "needs true.")
        assert check["hint"].startswith("Open the storage account, select Configuration")
        assert insecure["2"]["found"] == [f"Resource group '{attendee['resource_group']}': 1 {STORAGE} resource: "
                                          f"'{student.name}' (StorageV2, Standard_LRS, {attendee['region']})."]
        # One list call for the type, shared by both steps, and one read of the account's properties.
        assert sim.call_count("Resources_ListByResourceGroup") == 1
        assert sim.call_count("GenericResources_Get") == 1

        student.create(https=True)
        after = _validate(tmp_path, attendee)
        assert after["1"]["status"] == "PASS" and after["2"]["status"] == "PASS", after
        assert after["2"]["checks"][0]["message"] == (f"Storage account '{student.name}' has Secure transfer "
                                                      "required true.")
    finally:
        student.close()


def test_wrong_kind_fails_naming_both(pack_dir, sim, attendee, tmp_path):
    student = StorageStudent(attendee)
    try:
        student.create(https=True, kind="BlobStorage")
        result = _validate(tmp_path, attendee)
        assert result["1"]["status"] == "FAIL"
        kind = next(c for c in result["1"]["checks"] if c["check_id"] == "resource_kind")
        assert kind["message"] == (f"Storage account '{student.name}' is of kind BlobStorage; this lab needs kind "
                                   "StorageV2.")
    finally:
        student.close()


def test_a_grader_that_may_not_read_storage_gets_an_error_not_a_fail(pack_dir, sim, tmp_path):
    role = {"Name": "cv-reader-only", "Actions": ["Microsoft.Resources/*/read", "Microsoft.CognitiveServices/*/read"]}
    creds = sim.create_attendee("storage-rbac", grader_role=role, grader_scope="resource_group")
    student = StorageStudent(creds | creds["student"])
    try:
        student.create(https=True)
        result = _validate(tmp_path, creds)
        (check,) = result["2"]["checks"]
        assert check["status"] == "ERROR", check
        assert f"{STORAGE}/read" in check["message"]
        assert "not a problem with your work" in check["hint"]
        assert "the built-in 'Reader'" in check["hint"]  # the role that grants the read, for the proctor
    finally:
        student.close()


def test_doctor_proves_the_reads_the_resource_checks_need(pack_dir, sim, attendee, runtime):
    from validator import Attendee
    from validator.doctor import run

    lab = load_pack("storage-basics")
    report = run(Attendee.from_json(attendee, lab), lab, runtime=runtime)
    items = {i.id: i for i in report.items}
    assert items[f"resources:{STORAGE}"].status == "PASS", items
    assert "list-keys" not in items and "resource-group" not in items  # nothing of Custom Vision in this lab
    role = {"Name": "cv-reader-doctor", "Actions": ["Microsoft.Resources/*/read", "Microsoft.CognitiveServices/*/read"]}
    creds = sim.create_attendee("storage-doctor", grader_role=role, grader_scope="resource_group")
    refused = {i.id: i for i in run(Attendee.from_json(creds, lab), lab, runtime=runtime).items}[f"resources:{STORAGE}"]
    assert refused.status == "FAIL" and f"{STORAGE}/read" in refused.message, refused
    assert "the built-in 'Reader'" in refused.fix


def test_a_lab_author_dry_runs_the_pack_with_the_scripted_student(pack_dir, sim, tmp_path, monkeypatch):
    """`labgrader sim act --lab PACK` makes what the pack's resource checks describe, right or with a mistake."""
    from azuresim.cli import sim as sim_cli

    monkeypatch.setattr(sim, "provisioning_seconds", 0.1)
    creds = sim.create_attendee("storage-dry-run")
    path = tmp_path / "dry.json"
    path.write_text(json.dumps(creds))

    def act(task, *mistake):
        result = CliRunner().invoke(sim_cli, ["act", "--lab", "storage-basics", "--attendee", str(path), task,
                                              *(("--mistake", mistake[0]) if mistake else ())])
        assert result.exit_code == 0, result.output
        return result.output

    listed = CliRunner().invoke(sim_cli, ["act", "--lab", "storage-basics", "--attendee", str(path), "--list"])
    assert "wrong-properties" in listed.output and "Tasks 1, 2" in listed.output

    name = f"st{creds['injects']['DeploymentID']}lab"
    assert f"created {STORAGE} '{name}' in {creds['region']}" in act("1", "wrong-kind")
    result = _validate(tmp_path, creds)
    kind = next(c for c in result["1"]["checks"] if c["check_id"] == "resource_kind")
    assert kind["status"] == "FAIL" and "this lab needs kind StorageV2" in kind["message"]

    act("2", "wrong-properties")
    result = _validate(tmp_path, creds)
    assert result["2"]["checks"][0]["message"].endswith("Secure transfer required is false; this lab needs true.")

    moved = act("1", "wrong-location")
    assert "westeurope" in moved
    location = next(c for c in _validate(tmp_path, creds)["1"]["checks"] if c["check_id"] == "resource_location")
    assert location["status"] == "FAIL" and "westeurope" in location["message"]

    assert f"deleted {STORAGE} '{name}'" in act("2")  # done right: moved back, so deleted and made again
    result = _validate(tmp_path, creds)
    assert result["1"]["status"] == "PASS" and result["2"]["status"] == "PASS", result

    act("1", "missing")
    assert _validate(tmp_path, creds)["1"]["status"] == "FAIL"


def test_a_mistyped_resource_type_is_the_labs_error_not_every_students_fail(pack_dir, sim, attendee, tmp_path):
    """ARM answers InvalidResourceType for the probe read: the lab names a type that does not exist, so the
    step is an ERROR (the lab author's to fix), not "no storage account was found" for every student."""
    (pack_dir / "lab.yaml").write_text(LAB.replace(f"type: {STORAGE}", "type: Microsoft.Storage/storageAcounts"),
                                       encoding="utf-8")
    result = _validate(tmp_path, attendee)
    (check,) = result["2"]["checks"]
    assert check["status"] == "ERROR", check
    assert "InvalidResourceType" in check["evidence"]["detail"]
