"""``labgrader doctor`` on azuresim through the official SDKs: a correct grant passes; each broken one (no access,
Reader only, wrong scope, wrong secret, expired secret) fails naming what is missing and how to fix it."""

from __future__ import annotations

import itertools
import json

import pytest
from click.testing import CliRunner

from azuresim.state import ResourceGroup
from azuresim.student import Student
from checks import grants
from validator import Attendee, Observation
from validator.doctor import DoctorReport, run

from .conftest import SMALL

_n = itertools.count(1)


def _creds(sim, role=grants.MINIMAL_ROLE, scope="resource_group") -> dict:
    return sim.create_attendee(f"doc-{next(_n)}", grader_role=role, grader_scope=scope)


def _doctor(creds: dict, lab) -> DoctorReport:
    with Observation() as fresh:  # every case signs in afresh, as a new process would
        return run(Attendee.from_json(creds, lab), lab, budget_seconds=30, runtime=fresh)


def _item(report: DoctorReport, item_id: str):
    return next(i for i in report.items if i.id == item_id)


def test_a_correct_grant_passes_before_class_and_after_task_2(sim, small_lab):
    creds = _creds(sim)
    before = _doctor(creds, small_lab)
    assert before.ok, before.to_json()
    assert [i.status for i in before.items[:4]] == ["PASS"] * 4
    assert _item(before, "data-actions").status == "SKIP"  # nothing to read with Entra ID yet
    # Deleted accounts are out of a resource-group role's reach: a warning, not a failure.
    assert _item(before, "deleted-accounts").status == "WARN"
    student = Student(creds, counts=dict(SMALL))
    student.do("1")
    student.do("2")
    after = _doctor(creds, small_lab)
    assert after.ok, after.to_json()
    assert _item(after, "data-actions").status == "PASS"


def test_the_same_role_at_subscription_scope_passes_without_warnings(sim, small_lab):
    report = _doctor(_creds(sim, scope="subscription"), small_lab)
    assert report.ok and all(i.status in ("PASS", "SKIP") for i in report.items), report.to_json()


def test_no_access_fails_at_the_subscription(sim, small_lab):
    creds = _creds(sim, "Reader")
    sim.state.unassign_roles(sim.state.principals[creds["client_id"]])
    report = _doctor(creds, small_lab)
    assert not report.ok
    item = _item(report, "subscription")
    assert item.status == "FAIL" and "no role in subscription" in item.message
    assert creds["resource_group"] in item.fix


def test_reader_only_fails_naming_list_keys(sim, small_lab):
    report = _doctor(_creds(sim, "Reader"), small_lab)
    item = _item(report, "list-keys")
    assert item.status == "FAIL" and grants.LIST_KEYS in item.message
    assert "Cognitive Services User" in item.fix
    assert report.summary().startswith("Read the Custom Vision resource's keys: Not allowed: " + grants.LIST_KEYS)


def test_a_role_at_the_wrong_resource_group_fails_naming_the_read_action(sim, small_lab):
    creds = _creds(sim)
    other = sim.create_attendee(f"doc-other-{next(_n)}")
    grader = sim.state.principals[creds["client_id"]]
    sim.state.unassign_roles(grader)
    sim.state.assign_role(grader, grants.ROLE_NAME,
                          f"/subscriptions/{other['subscription_id']}/resourceGroups/{other['resource_group']}")
    report = _doctor(creds, small_lab)
    assert not report.ok
    # Its role is in another subscription: it sees the attendee's not at all.
    assert _item(report, "subscription").status == "FAIL"
    # Same subscription, another group: the subscription is visible, the attendee's group is not.
    sim.state.unassign_roles(grader)
    sim.state.resource_groups[(creds["subscription_id"], "elsewhere")] = ResourceGroup(
        creds["subscription_id"], "elsewhere", "eastus")
    sim.state.assign_role(grader, grants.ROLE_NAME,
                          f"/subscriptions/{creds['subscription_id']}/resourceGroups/elsewhere")
    report = _doctor(creds, small_lab)
    item = _item(report, "resource-group")
    assert item.status == "FAIL" and grants.ACCOUNTS_READ in item.message
    assert "another scope" in item.message and creds["resource_group"] in item.fix


def test_a_wrong_secret_fails_at_sign_in(sim, small_lab):
    creds = _creds(sim) | {"client_secret": "not-the-secret"}
    report = _doctor(creds, small_lab)
    item = _item(report, "sign-in")
    assert item.status == "FAIL" and "AADSTS7000215" in item.message
    assert "Value (not its Secret ID)" in item.fix
    assert [i.status for i in report.items[1:]] == ["SKIP"]


def test_an_expired_secret_fails_at_sign_in(sim, small_lab):
    creds = _creds(sim)
    sim.state.principals[creds["client_id"]].secret_expires_at = 0.0
    item = _item(_doctor(creds, small_lab), "sign-in")
    assert item.status == "FAIL" and "AADSTS7000222" in item.message
    assert "expired" in item.fix and "az ad app credential reset" in item.fix


def test_keys_disabled_without_data_actions_fails_naming_them(sim, small_lab):
    creds = _creds(sim, "Cognitive Services Contributor")
    student = Student(creds, counts=dict(SMALL))
    student.do("1")
    for acct in sim.state.accounts.values():
        if acct.subscription_id == creds["subscription_id"]:
            acct.disable_local_auth = True
    report = _doctor(creds, small_lab)
    assert _item(report, "list-keys").status == "WARN"
    item = _item(report, "data-actions")
    assert item.status == "FAIL" and "disableLocalAuth" in item.message
    assert f"{grants.CV}/domains/read" in item.message


def test_the_command_prints_each_item_and_exits_non_zero_on_a_failure(sim, small_lab, tmp_path):
    from webapp.cli import main

    path = tmp_path / "a.json"
    path.write_text(json.dumps(_creds(sim, "Reader")))
    result = CliRunner().invoke(main, ["doctor", "--attendee", str(path), "--lab", small_lab.root])
    assert result.exit_code == 1, result.output
    assert "FAIL  Read the Custom Vision resource's keys" in result.output
    assert "Fix: Give labgrader's service principal a role that allows " + grants.LIST_KEYS in result.output
    path.write_text(json.dumps(_creds(sim)))
    result = CliRunner().invoke(main, ["doctor", "--attendee", str(path), "--lab", small_lab.root, "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["status"] == "PASS"


def test_print_role_is_the_readme_role():
    from webapp.cli import main

    result = CliRunner().invoke(main, ["doctor", "--print-role"])
    assert result.exit_code == 0
    assert json.loads(result.output) == grants.MINIMAL_ROLE
    assert CliRunner().invoke(main, ["doctor"]).exit_code == 2  # --attendee is needed otherwise


@pytest.mark.parametrize("status", ["PASS", "FAIL"])
def test_the_report_round_trips_through_json(sim, small_lab, status):
    report = _doctor(_creds(sim, grants.MINIMAL_ROLE if status == "PASS" else "Reader"), small_lab)
    again = DoctorReport.from_json(json.loads(json.dumps(report.to_json())))
    assert again.status == status and again.items == report.items


def test_the_readme_shows_the_role_doctor_prints():
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = text.split("## The grader's Azure role", 1)[1]
    block = section.split("```json", 1)[1].split("```", 1)[0]
    assert json.loads(block) == grants.MINIMAL_ROLE
