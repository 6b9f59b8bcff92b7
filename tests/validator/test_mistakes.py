"""Every named mistake of the scripted student gives the affected step the right verdict, and doing the
task correctly afterwards turns it into PASS. All through the official SDKs against azuresim."""

from __future__ import annotations

import pytest

from azuresim.student import MISTAKES, TASKS, Student
from checks.outcome import Status
from tests.conftest import simulator
from validator import Attendee, validate

from .conftest import SMALL

# (task, mistake) -> (status, check that must not pass, words the student must read in the message)
EXPECTED = {
    ("1", "wrong-name"): (Status.FAIL, "account_training_exists", ["cv-casting"]),
    ("1", "wrong-region"): (Status.FAIL, "account_training_region", ["westeurope"]),
    ("1", "wrong-tier"): (Status.FAIL, "account_training_tier", ["S0"]),
    ("1", "wrong-kind"): (Status.FAIL, "account_training_exists", []),
    ("1", "training-only"): (Status.FAIL, "account_prediction_exists", []),
    ("2", "wrong-name"): (Status.FAIL, "project_exists", ["Casting Defects"]),
    ("2", "wrong-description"): (Status.FAIL, "project_description", []),
    ("2", "object-detection"): (Status.FAIL, "project_type_classification", []),
    ("2", "multilabel"): (Status.FAIL, "project_classification_multiclass", ["Multilabel"]),
    ("2", "non-compact-domain"): (Status.FAIL, "project_domain_compact", ["General"]),
    ("3.1", "misspelled-tag"): (Status.FAIL, "tag_image_count", ["Non Defect"]),
    ("3.1", "too-few-images"): (Status.FAIL, "tag_image_count", [str(SMALL["Non Defective"] // 5)]),
    ("3.1", "untagged"): (Status.FAIL, "tag_image_count", []),
    ("3.1", "hyphenated-tag"): (Status.PASS, None, []),
    ("3.2", "stray-quote"): (Status.PASS, None, []),
    ("3.2", "misspelled-tag"): (Status.FAIL, "tag_image_count", ["Defects"]),
    ("3.2", "too-few-images"): (Status.FAIL, "tag_image_count", [str(SMALL["Defect"] // 5)]),
    ("3.2", "untagged"): (Status.FAIL, "tag_image_count", []),
    ("4", "advanced-training"): (Status.FAIL, "iteration_training_type", ["Advanced"]),
    ("4", "training-failed"): (Status.FAIL, "iteration_completed", ["failed"]),
    ("5.1", "wrong-image"): (Status.FAIL, "quicktest_top_tag", ["Defect"]),
    ("5.2", "wrong-image"): (Status.FAIL, "quicktest_top_tag", ["Non Defective"]),
}
# Needs a training that is still running when validated: its own simulator, below.
SEPARATE = {("4", "not-finished")}


def test_every_mistake_has_an_expectation():
    named = {(task, m) for task, ms in MISTAKES.items() for m in ms}
    assert named == set(EXPECTED) | SEPARATE


def _prepare(student: Student, task: str) -> None:
    for earlier in TASKS[: TASKS.index(task)]:
        if task in ("5.1", "5.2", "6") and earlier in ("5.1", "5.2"):
            continue
        student.do(earlier)


@pytest.mark.parametrize(("task", "mistake"), sorted(EXPECTED), ids=lambda v: str(v))
def test_mistake_then_fix(sim, attendee, small_lab, task, mistake, runtime):
    who = Attendee.from_json(attendee, small_lab)
    student = Student(attendee, counts=dict(SMALL))
    _prepare(student, task)
    student.do(task, mistake)

    result = validate(who, task, small_lab, runtime=runtime)
    status, check_id, words = EXPECTED[(task, mistake)]
    assert result.status is status, (result.message, [c.to_json() for c in result.checks])
    if status is Status.PASS:
        assert result.advice, "a tolerated variant is reported as advice"
    else:
        failing = {c.check_id for c in result.checks if c.status is not Status.PASS}
        assert check_id in failing, (failing, result.message)
        outcome = next(c for c in result.checks if c.check_id == check_id)
        for word in words:
            assert word in outcome.message, outcome.message
        assert outcome.hint, "a FAIL says how to fix it"
        assert result.message.endswith(".")

    student.do(task)
    fixed = validate(who, task, small_lab, runtime=runtime)
    assert fixed.status is Status.PASS, (fixed.message, [c.to_json() for c in fixed.checks])


def test_training_in_progress_is_pending_not_fail(small_lab, runtime):
    with simulator(training_seconds=60) as slow:
        creds = slow.create_attendee("patient")
        who = Attendee.from_json(creds, small_lab)
        student = Student(creds, counts=dict(SMALL))
        _prepare(student, "4")
        student.do("4", "not-finished")
        result = validate(who, "4", small_lab, runtime=runtime)
        assert result.status is Status.PENDING, result.message
        assert result.hint
