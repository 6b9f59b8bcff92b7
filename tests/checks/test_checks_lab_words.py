"""Every sentence comes from the pack's own expectations, never from the built-in lab's values."""

from __future__ import annotations

from dataclasses import replace

from checkfacts import RG, account

from checks import facts as F
from checks.outcome import Status


def test_with_sku_s0_the_create_hint_asks_for_s0_not_free_f0(raw, run, ctx):
    raw[F.ACCOUNTS] = []
    lab = {"account_training_tier": {"sku": "S0"}, "account_prediction_exists": {"sku": "S0"}}
    out = run("account_training_exists", raw, lab=lab)
    assert out.status is Status.FAIL
    assert "pick Standard S0 for both pricing tiers" in out.hint and "F0" not in out.hint
    # The built-in lab (F0) still says Free F0: the words follow the lab, not a constant.
    assert "pick Free F0 for both pricing tiers" in run("account_training_exists", raw).hint


def test_with_s0_a_free_resource_under_another_name_is_not_in_the_way(raw, run):
    raw[F.ACCOUNTS] = [account("old-vision", sku="F0")]
    lab = {"account_training_tier": {"sku": "S0"}, "account_prediction_exists": {"sku": "S0"}}
    s0 = run("account_training_exists", raw, lab=lab)
    assert s0.status is Status.FAIL and "Free (F0)" not in s0.hint and "Delete" not in s0.hint
    f0 = run("account_training_exists", raw)
    assert "Delete 'old-vision'" in f0.hint and "Free (F0)" in f0.hint


def test_without_a_name_rule_no_fallback_name_is_invented(raw, run):
    raw[F.ACCOUNTS] = []
    out = run("account_training_exists", raw, {"resource_group": RG})
    assert out.status is Status.FAIL
    assert "customvision-casting" not in out.hint and "name it as the lab guide says" in out.hint


def test_a_prerequisite_names_the_training_resource_found_under_another_name(raw, run, ctx):
    raw[F.ACCOUNTS] = [account("my-vision")]
    out = run("project_exists", raw)
    assert out.status is Status.FAIL and out.message.startswith("Complete Task 1 first:")
    assert "named like 'customvision-casting-100001'" in out.message
    assert "found 'my-vision', which does not match the lab's name" in out.message
    # Without a rule the lab accepts any training resource, so one would have been chosen.
    out = run("project_exists", {**raw, F.ACCOUNTS: []}, params={**ctx.params, F.TRAINING_ACCOUNT: None})
    assert out.message == ("Complete Task 1 first: no Custom Vision training resource was found in resource group "
                           f"'{RG}'.")


def test_a_task_number_in_a_hint_is_the_labs(raw, run, ctx):
    raw[F.ACCOUNTS] = [account(state="Failed")]
    raw[F.ACCOUNTS] = [replace(raw[F.ACCOUNTS][0], provisioning_state="Deleting")]
    tasks = {**ctx.check_tasks, "account_training_exists": "7"}
    out = run("account_training_provisioned", raw, check_tasks=tasks)
    assert "as Task 7 describes" in out.hint and "Task 1" not in out.hint


def test_training_hints_name_the_labs_training_type(raw, run, ctx):
    from checkfacts import iteration
    raw[F.ITERATIONS] = [iteration(status="Failed", training_error="boom")]
    lab = {"iteration_training_type": {"training_type": "Advanced"}}
    out = run("iteration_completed", raw, lab=lab)
    assert "choose Advanced Training" in out.hint and "Quick" not in out.hint
    assert "choose Quick Training" in run("iteration_completed", raw).hint
