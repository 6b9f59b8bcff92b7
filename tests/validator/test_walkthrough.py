"""A fresh attendee walks the whole lab through the official SDKs; each step goes FAIL -> PASS in order."""

from __future__ import annotations

import pytest

from azuresim.student import Student
from checks.outcome import Status
from validator import Attendee, validate


@pytest.mark.slow
def test_full_lab_each_step_fails_before_and_passes_after(sim, attendee, lab, runtime):
    """The real lab pack (519 and 781 images): nothing passes before its task, everything after."""
    who = Attendee.from_json(attendee, lab)
    student = Student(attendee)
    for step in lab.steps:
        before = validate(who, step.id, lab, runtime=runtime)
        if step.task == "6":
            # Task 6 only looks at the export options; what it validates (an exportable iteration) is made
            # by Tasks 2 and 4, so it already holds here.
            assert before.status is Status.PASS, before.message
        else:
            assert before.status is Status.FAIL, (step.task, before.message)
            assert before.message.endswith("."), before.message
        student.do(step.task)
        after = validate(who, step.id, lab, runtime=runtime)
        assert after.status is Status.PASS, (step.task, after.message, [c.to_json() for c in after.checks])
        assert after.azure_calls >= 1


def test_later_step_points_at_the_missing_task(sim, attendee, small_lab, who, runtime):
    """Validating Task 2 with nothing done names Task 1, not the project."""
    result = validate(who, "2", small_lab, runtime=runtime)
    assert result.status is Status.FAIL
    assert "Task 1" in result.message


def test_result_json_has_the_documented_fields(sim, attendee, small_lab, who, student, runtime):
    student.do("1")
    data = validate(who, "1", small_lab, runtime=runtime).to_json()
    for key in ("step", "task", "status", "message", "hint", "checks", "azure_calls", "duration_ms"):
        assert key in data
    assert data["status"] == "PASS"
    assert data["task"] == "1"
    assert all(c["status"] == "PASS" for c in data["checks"])
    text = str(data)
    assert attendee["client_secret"] not in text
