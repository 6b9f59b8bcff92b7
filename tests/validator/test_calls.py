"""Azure calls per step are minimal: facts fetched once, independent ones together, keys and discovery
remembered (test_warm follows the remembered values through changes)."""

from __future__ import annotations

from checks.outcome import Status
from validator import validate


def test_repeated_validation_reuses_endpoint_and_key(sim, who, student, small_lab, runtime):
    for task in ("1", "2", "3.1"):
        student.do(task)
    first = validate(who, "3.1", small_lab, runtime=runtime)
    assert first.status is Status.PASS
    assert first.calls_by_operation == {
        "Accounts_ListByResourceGroup": 1, "Accounts_ListKeys": 1, "GetProjects": 1, "GetTags": 1,
    }
    # The resource, its endpoint and key, and the project are remembered: only the tags are read again.
    second = validate(who, "3.1", small_lab, runtime=runtime)
    assert second.calls_by_operation == {"GetTags": 1}
    assert second.azure_calls == 1


def test_each_step_makes_only_the_calls_its_checks_need(sim, who, student, small_lab, runtime):
    student.do_all()
    expected = {
        "1": {"Accounts_ListByResourceGroup"},
        "2": {"Accounts_ListByResourceGroup", "GetProjects", "GetDomains"},
        "3.2": {"Accounts_ListByResourceGroup", "GetProjects", "GetTags", "GetUntaggedImageCount"},
        "4": {"Accounts_ListByResourceGroup", "GetProjects", "GetIterations", "GetIterationPerformance"},
        "5.1": {"Accounts_ListByResourceGroup", "GetProjects", "GetIterations", "QueryPredictions"},
        "6": {"Accounts_ListByResourceGroup", "GetProjects", "GetIterations"},
    }
    for task, operations in expected.items():
        runtime.caches.clear()  # a first press: nothing remembered
        result = validate(who, task, small_lab, runtime=runtime)
        assert result.status is Status.PASS, (task, result.message)
        made = set(result.calls_by_operation) - {"Accounts_ListKeys"}
        assert made == operations, (task, result.calls_by_operation)
        assert all(n == 1 for n in result.calls_by_operation.values()), result.calls_by_operation


def test_simulator_saw_the_same_calls(sim, who, student, small_lab, runtime):
    """The counter is honest: azuresim's own call log agrees with what the StepResult reports."""
    for task in ("1", "2"):
        student.do(task)
    validate(who, "2", small_lab, runtime=runtime)  # warm the key and domain caches
    before = sim.call_count()
    result = validate(who, "2", small_lab, runtime=runtime)
    assert sim.call_count() - before == result.azure_calls
