"""Fixtures for the checks' tests: the lab's expectations and a student who did every task right."""

from __future__ import annotations

from dataclasses import replace

import pytest
import yaml
from checkfacts import (
    COMPACT,
    DETECTION_LAB_YAML,
    GENERAL,
    LAB_YAML,
    NOW,
    OD_COMPACT,
    RG,
    account,
    iteration,
    performance,
    prediction,
    project,
    with_derived,
)

from checks import facts as F
from checks.base import Context, run_check
from checks.outcome import Outcome
from checks.params import lab_parameters


@pytest.fixture(scope="session")
def lab() -> dict:
    return yaml.safe_load(LAB_YAML.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def detection_lab() -> dict:
    """The second lab's lab.yaml (Find the Flaw, object detection)."""
    return yaml.safe_load(DETECTION_LAB_YAML.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def inject(lab) -> dict:
    return {k: v.get("default") for k, v in lab["injects"].items()}


@pytest.fixture(scope="session")
def ctx(lab, inject) -> Context:
    pairs = [(c["id"], c.get("expect") or {}) for s in lab["steps"] for c in s["checks"]]
    check_tasks: dict[str, str] = {}
    for s in lab["steps"]:
        for c in s["checks"]:
            check_tasks.setdefault(c["id"], s["task"])
    return Context(
        inject=inject, now=NOW, resource_group=RG,
        task_titles={s["task"]: s["title"] for s in lab["steps"]},
        check_tasks=check_tasks, params=lab_parameters(pairs, inject),
    )


@pytest.fixture
def raw() -> dict:
    """Observed (non-derived) facts of a student who did every task right."""
    trained = iteration()
    return {
        F.ACCOUNTS: [
            account(),
            account("customvision-casting-100001-Prediction", kind="CustomVision.Prediction"),
        ],
        F.DELETED_ACCOUNTS: [],
        F.DOMAINS: [
            F.DomainFact(GENERAL, "General", "Classification", False),
            F.DomainFact(COMPACT, "General (compact)", "Classification", True, ("CoreML", "TensorFlow", "ONNX")),
            F.DomainFact(OD_COMPACT, "General (compact)", "ObjectDetection", True),
        ],
        F.PROJECTS: [project()],
        F.TAGS: [F.TagFact("t1", "Non Defective", 519), F.TagFact("t2", "Defect", 781)],
        F.UNTAGGED_COUNT: 0,
        F.ITERATIONS: [trained],
        F.PERFORMANCE: performance(),
        F.PREDICTIONS: [prediction("Defect", 0.999), prediction("Non Defective", 0.98)],
    }


@pytest.fixture
def good(raw, ctx) -> dict:
    return with_derived(raw, ctx)


@pytest.fixture
def run(lab, ctx):
    """run(check_id, facts, expect=None) with the lab's expectation for that check (first step naming it).

    Derived facts are recomputed from the raw ones unless the test set them explicitly."""
    expects = {}
    for s in lab["steps"]:
        for c in s["checks"]:
            expects.setdefault(c["id"], c.get("expect") or {})

    def _run(check_id: str, facts: dict, expect: dict | None = None, **ctx_changes) -> Outcome:
        c = replace(ctx, **ctx_changes) if ctx_changes else ctx
        return run_check(check_id, with_derived(facts, c), expects[check_id] if expect is None else expect, c)

    return _run
