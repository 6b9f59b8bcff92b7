"""The whole lab from one snapshot (``validate_many``): each step's verdict is the one validating that step
alone gives, and the whole lab costs one Azure call per fact it reads. All through the official SDKs against
azuresim. The scripted mistakes are compared in the ``test_whole_lab_<group>.py`` files (``wholelab.GROUPS``)."""

from __future__ import annotations

import pytest

from azuresim.student import MISTAKES, Student
from validator import Attendee, UnknownStep, validate, validate_many

from .conftest import SMALL
from .wholelab import GROUPS, HERE, step_by_step, verdict

# A whole-lab walk: `make test-slow` (and CI) runs it, `make test` leaves it out to stay quick.
pytestmark = pytest.mark.slow


def test_the_mistake_files_cover_every_scripted_mistake():
    grouped = [task for tasks in GROUPS.values() for task in tasks]
    assert sorted(grouped) == sorted(MISTAKES) and len(grouped) == len(set(grouped))
    for group in GROUPS:
        text = (HERE / f"test_whole_lab_{group}.py").read_text()
        assert f'cases("{group}")' in text, group


def test_before_anything_and_after_everything(sim, attendee, small_lab, runtime):
    who = Attendee.from_json(attendee, small_lab)
    whole = validate_many(who, None, small_lab, runtime=runtime)
    assert [verdict(r) for r in whole] == step_by_step(who, small_lab, runtime=runtime)
    Student(attendee, counts=dict(SMALL)).do_all()
    whole = validate_many(who, None, small_lab, runtime=runtime)
    assert [verdict(r) for r in whole] == step_by_step(who, small_lab, runtime=runtime)


def test_whole_lab_calls_each_fact_once(sim, attendee, small_lab, runtime):
    """The seed lab done: every step, one snapshot, at most 9 Azure calls (27 step by step)."""
    who = Attendee.from_json(attendee, small_lab)
    Student(attendee, counts=dict(SMALL)).do_all()
    validate(who, "1", small_lab, runtime=runtime)  # the grader's token, as any earlier press leaves it
    before = sim.call_count()
    results = validate_many(who, None, small_lab, runtime=runtime)
    made = sim.call_count() - before
    assert made <= 9, sim.call_log()
    # A step counts the calls made for the facts it reads (a call serving several steps counts in each).
    step_calls = [r.azure_calls for r in results]
    assert max(step_calls) <= made
    assert all(n >= 1 for n in step_calls)


def test_a_subset_in_the_order_asked_and_unknown_steps(sim, attendee, small_lab, runtime):
    who = Attendee.from_json(attendee, small_lab)
    results = validate_many(who, ["3.2", "1"], small_lab, runtime=runtime)
    assert [r.task for r in results] == ["3.2", "1"]
    with pytest.raises(UnknownStep):
        validate_many(who, ["1", "99"], small_lab, runtime=runtime)
