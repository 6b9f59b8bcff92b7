"""The whole lab from one snapshot (``validate_many``) against validating each step alone, for every scripted
mistake: shared by the ``test_whole_lab_*.py`` files, which split the mistakes by task so that test
processes (``--dist loadfile``) share them out. Each file runs on simulators of its own (mistakes are left
unrepaired, and some hold names unique across attendees)."""

from __future__ import annotations

from pathlib import Path

import pytest

from azuresim.student import MISTAKES, TASKS, Student
from tests.conftest import simulator
from validator import Attendee, StepResult, validate, validate_many

from .conftest import SMALL

# file suffix (test_whole_lab_<suffix>.py) -> the tasks whose mistakes it covers; together, every task.
GROUPS: dict[str, tuple[str, ...]] = {
    "resource": ("1",),
    "project": ("2",),
    "good_images": ("3.1",),
    "defect_images": ("3.2",),
    "training": ("4",),
    "quick_test": ("5.1", "5.2", "6"),
}
HERE = Path(__file__).parent
# What must be equal between the two ways; duration, start and the calls a step's facts cost are not.
SAME = ("step", "task", "status", "message", "hint", "advice", "found", "observed", "checks", "recheck_after")


def cases(group: str) -> list[tuple[str, str]]:
    """(task, mistake) for every scripted mistake of the group's tasks."""
    return sorted((task, m) for task in GROUPS[group] for m in MISTAKES[task])


@pytest.fixture(scope="module")
def own_sim():
    with simulator() as s:
        yield s


@pytest.fixture(scope="module")
def slow_sim():
    """Training that is still running while both ways are validated (the 'not-finished' mistake)."""
    with simulator(training_seconds=120) as s:
        yield s


def verdict(result: StepResult) -> dict:
    data = result.to_json()
    return {k: data[k] for k in SAME}


def step_by_step(who: Attendee, lab, runtime) -> list[dict]:
    return [verdict(validate(who, s.id, lab, runtime=runtime)) for s in lab.steps]


def _prepare(student: Student, task: str) -> None:
    for earlier in TASKS[: TASKS.index(task)]:
        if task in ("5.1", "5.2", "6") and earlier in ("5.1", "5.2"):
            continue
        student.do(earlier)


def judged_as_alone(sim, lab, task: str, mistake: str, runtime) -> None:
    """A new attendee does the lab up to ``task`` and makes ``mistake`` there; every step's whole-lab
    verdict must be the one validating it alone gives."""
    creds = sim.create_attendee(f"whole-{task}-{mistake}"[:40])
    who = Attendee.from_json(creds, lab)
    student = Student(creds, counts=dict(SMALL))
    _prepare(student, task)
    student.do(task, mistake)

    alone = step_by_step(who, lab, runtime=runtime)
    whole = [verdict(r) for r in validate_many(who, None, lab, runtime=runtime)]
    assert [w["step"] for w in whole] == [s.id for s in lab.steps]
    for a, w in zip(alone, whole, strict=True):
        assert w == a, (task, mistake, a["task"])
