"""What a student reads after every scripted mistake: one cause, one sentence, and nothing beside the fix
that contradicts it. All through the official SDKs against azuresim, one attendee per mistake.

For each named mistake the affected task is validated (and, after a Task 3.1 mistake, Task 3.2 done right
and validated too, where the misspelled tag of 3.1 is someone else's business). Then:

- exactly one check states the cause, the one test_mistakes expects; every other FAIL is a follow-on of it
  and is shown neither as the message nor in "What was found";
- no advice contradicts the fix: none tells to delete what the fix renames, tags or keeps, none deletes a tag
  that holds images, none repeats the fix, and none comes from an advisory check while the step FAILs;
- a hint claims nothing about image counts that the observed counts deny;
- "What was found" is plain sentences: no check ids, no evidence keys, no JSON, no line twice.
"""

from __future__ import annotations

import re

import pytest

from azuresim.student import MISTAKES, TASKS, Student
from checks.outcome import Status
from checks.summary import causes, is_follow_on
from tests.conftest import simulator
from validator import Attendee, StepResult, validate
from webapp.student.findings import findings

from .conftest import SMALL
from .test_mistakes import EXPECTED

CASES = sorted((task, m) for task, ms in MISTAKES.items() for m in ms if m != "not-finished")
QUOTED = re.compile(r"'([^']+)'")
RAW = re.compile(r"follows_from|_id\b|\{|\}|\[|\]|check_id|evidence|\b[a-z]+_[a-z_]+\b")


def _tag_counts(result: StepResult) -> dict[str, int]:
    for o in result.checks:
        tags = (o.evidence or {}).get("tags")
        if isinstance(tags, dict):
            return {str(k): int(v) for k, v in tags.items()}
    return {}


def contradictions(result: StepResult) -> list[str]:
    """Every way the advice and hint of ``result`` contradict the fix or the observed facts."""
    problems: list[str] = []
    hint = result.hint or ""
    counts = _tag_counts(result)
    for note in result.advice:
        named = set(QUOTED.findall(note))
        if re.search(r"(?i)\bdelete\b", note):
            # The fix renames, tags or keeps what it names; advice must not delete any of it.
            kept = named & set(QUOTED.findall(hint))
            if kept and not re.search(r"(?i)\bdelete\b", hint):
                problems.append(f"advice deletes {sorted(kept)}, which the fix works on: {note!r}")
            if "the extra tags" in note:
                problems.append(f"advice deletes tags without naming them: {note!r}")
            # Deleting a tag untags its images, unless they are tagged otherwise first.
            full = sorted(n for n in named if counts.get(n))
            if full and "tag them" not in note:
                problems.append(f"advice deletes tags {full} that hold images {counts}: {note!r}")
        if hint and (hint in note or note in hint):
            problems.append(f"advice repeats the fix: {note!r}")
    if result.status is Status.FAIL:
        shown = {a for o in result.checks if o.advisory for a in o.advice} & set(result.advice)
        if shown:
            problems.append(f"an advisory check's notes beside a FAIL: {sorted(shown)}")
    # A claim about images per tag must be true of some observed tag, else it sends the student astray.
    for n in map(int, re.findall(r"at least (\d+) images", hint)):
        if counts and all(c >= n for c in counts.values()):
            problems.append(f"the fix asks for {n} images per tag, but every tag has that many: {counts}")
    return problems


def assert_one_cause(result: StepResult, expected_check: str | None) -> None:
    stated = [o for o in causes(result.checks) if o.status is Status.FAIL]
    follow_ons = [o for o in result.checks if is_follow_on(o, result.checks)]
    if expected_check is None:
        assert not stated, [o.message for o in stated]
    else:
        assert [o.check_id for o in stated] == [expected_check], [o.to_json() for o in result.checks]
        assert result.message == stated[0].message
    shown = [f.text for f in findings(result)]
    for o in follow_ons:
        assert o.status is Status.FAIL and o.message != result.message
        assert not any(o.message in line for line in shown), (o.message, shown)
        assert not set(o.advice) & set(result.advice)


def assert_plain_findings(result: StepResult) -> None:
    shown = [f.text for f in findings(result)]
    assert result.found, "a validation that observed something says what it found"
    assert len(shown) == len(set(shown)), shown
    for line in result.found:
        assert line.endswith("."), line
        # Names come between quotes; outside them, nothing that looks like a key, an id or JSON.
        assert not RAW.search(QUOTED.sub("''", line)), line


def _prepare(student: Student, task: str) -> None:
    for earlier in TASKS[: TASKS.index(task)]:
        if task in ("5.1", "5.2", "6") and earlier in ("5.1", "5.2"):
            continue
        student.do(earlier)


@pytest.fixture(scope="module")
def own_sim():
    """A simulator of this module's own: mistakes are left unrepaired here, and some hold names that are
    unique across attendees (the subdomain 'cv-casting'), which would trip other modules' students."""
    with simulator() as s:
        yield s


@pytest.fixture
def attendee(own_sim, request):
    return own_sim.create_attendee(f"messages-{request.node.callspec.id}".replace("'", "")[:40])


@pytest.mark.parametrize(("task", "mistake"), CASES, ids=lambda v: str(v))
def test_messages_after_mistake(attendee, small_lab, task, mistake, runtime):
    who = Attendee.from_json(attendee, small_lab)
    student = Student(attendee, counts=dict(SMALL))
    _prepare(student, task)
    student.do(task, mistake)

    result = validate(who, task, small_lab, runtime=runtime)
    status, check_id, _ = EXPECTED[(task, mistake)]
    assert result.status is status, result.message
    assert_one_cause(result, check_id)
    assert contradictions(result) == []
    assert_plain_findings(result)

    if task == "3.1":
        # The other tag done right: 3.2 passes, and its advice about 3.1's tag agrees with 3.1's fix.
        student.do("3.2")
        later = validate(who, "3.2", small_lab, runtime=runtime)
        assert later.status is Status.PASS, later.message
        assert contradictions(later) == []
        assert_plain_findings(later)
        again = validate(who, "3.1", small_lab, runtime=runtime)
        for note in later.advice:
            for name in QUOTED.findall(note):
                if "rename" in note and again.hint:
                    assert name in again.hint or name in again.message, (note, again.hint)


def test_contradictions_are_caught():
    """The detector itself: the two contradictions issue 14 names are found."""
    from checks.outcome import Outcome
    from validator.result import now

    def result(hint, advice, tags):
        check = Outcome("tag_image_count", Status.FAIL, "m", hint, {"tags": tags})
        return StepResult("lab", "s", "3.2", "t", Status.FAIL, "m", hint, (check,), now(), 1, 1, advice=advice)

    renamed = result("Tag 'Defects' looks like a misspelling of 'Defect': rename it to 'Defect'.",
                     ("Project 'P' has 1 tag this lab does not use: 'Defects'. Delete the extra tags in the "
                      "Tags list unless you need them.",), {"Defects": 781, "Non Defective": 519})
    assert len(contradictions(renamed)) >= 2
    five = result("Check in Training Images that each tag has at least 5 images, then click Train.", (),
                  {"Defect": 781, "Non Defective": 519})
    assert contradictions(five)
