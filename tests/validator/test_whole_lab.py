"""The whole lab from one snapshot (``validate_many``): for every scripted mistake, each step's verdict is the
one validating that step alone gives, and the whole lab costs one Azure call per fact it reads. All through
the official SDKs against azuresim, one attendee per mistake, on a simulator of this module's own (mistakes
are left unrepaired, and some hold names unique across attendees)."""

from __future__ import annotations

import pytest

from azuresim.server import Simulator
from azuresim.student import MISTAKES, TASKS, Student
from validator import Attendee, StepResult, UnknownStep, validate, validate_many

from .conftest import SMALL

CASES = sorted((task, m) for task, ms in MISTAKES.items() for m in ms)
# What must be equal between the two ways; duration, start and the calls a step's facts cost are not.
SAME = ("step", "task", "status", "message", "hint", "advice", "found", "observed", "checks", "recheck_after")


@pytest.fixture(scope="module")
def own_sim():
    with Simulator(training_seconds=0.3) as s:
        yield s


@pytest.fixture(scope="module")
def slow_sim():
    """Training that is still running while both ways are validated (the 'not-finished' mistake)."""
    with Simulator(training_seconds=120) as s:
        yield s


def verdict(result: StepResult) -> dict:
    data = result.to_json()
    return {k: data[k] for k in SAME}


def _prepare(student: Student, task: str) -> None:
    for earlier in TASKS[: TASKS.index(task)]:
        if task in ("5.1", "5.2", "6") and earlier in ("5.1", "5.2"):
            continue
        student.do(earlier)


def _step_by_step(who: Attendee, lab) -> list[dict]:
    return [verdict(validate(who, s.id, lab)) for s in lab.steps]


@pytest.mark.parametrize(("task", "mistake"), CASES, ids=lambda v: str(v))
def test_whole_lab_judges_every_step_as_alone(own_sim, slow_sim, small_lab, task, mistake):
    sim = slow_sim if mistake == "not-finished" else own_sim
    creds = sim.create_attendee(f"whole-{task}-{mistake}"[:40])
    who = Attendee.from_json(creds, small_lab)
    student = Student(creds, counts=dict(SMALL))
    _prepare(student, task)
    student.do(task, mistake)

    alone = _step_by_step(who, small_lab)
    whole = [verdict(r) for r in validate_many(who, None, small_lab)]
    assert [w["step"] for w in whole] == [s.id for s in small_lab.steps]
    for a, w in zip(alone, whole, strict=True):
        assert w == a, (task, mistake, a["task"])


def test_before_anything_and_after_everything(sim, attendee, small_lab):
    who = Attendee.from_json(attendee, small_lab)
    assert [verdict(r) for r in validate_many(who, None, small_lab)] == _step_by_step(who, small_lab)
    Student(attendee, counts=dict(SMALL)).do_all()
    assert [verdict(r) for r in validate_many(who, None, small_lab)] == _step_by_step(who, small_lab)


def test_whole_lab_calls_each_fact_once(sim, attendee, small_lab):
    """The seed lab done: every step, one snapshot, at most 9 Azure calls (27 step by step)."""
    who = Attendee.from_json(attendee, small_lab)
    Student(attendee, counts=dict(SMALL)).do_all()
    validate(who, "1", small_lab)  # the grader's token, as any earlier press leaves it
    before = sim.call_count()
    results = validate_many(who, None, small_lab)
    made = sim.call_count() - before
    assert made <= 9, sim.call_log()
    # A step counts the calls made for the facts it reads (a call serving several steps counts in each).
    step_calls = [r.azure_calls for r in results]
    assert max(step_calls) <= made
    assert all(n >= 1 for n in step_calls)


def test_a_subset_in_the_order_asked_and_unknown_steps(sim, attendee, small_lab):
    who = Attendee.from_json(attendee, small_lab)
    results = validate_many(who, ["3.2", "1"], small_lab)
    assert [r.task for r in results] == ["3.2", "1"]
    with pytest.raises(UnknownStep):
        validate_many(who, ["1", "99"], small_lab)
