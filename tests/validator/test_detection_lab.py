"""The second lab, Find the Flaw (object detection), end to end through the official SDKs against azuresim:
every step goes FAIL -> PASS for the scripted student, each named mistake gives its FAIL sentence and the
task done right afterwards passes, and the whole lab from one snapshot costs few Azure calls."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from azuresim.student import DETECTION_MISTAKES, DETECTION_TASKS, DetectionStudent
from checks.outcome import Status
from labguide.packs import load_pack
from tests.conftest import simulator
from validator import Attendee, validate, validate_many

# A whole-lab walk: `make test-slow` (and CI) runs it, `make test` leaves it out to stay quick.
pytestmark = pytest.mark.slow

REGIONS = 20  # images the small pack needs with a region (Custom Vision trains a detector from 15)
UPLOADED = 25


@pytest.fixture(scope="module")
def detection_lab(tmp_path_factory):
    """Find the Flaw with the region floor lowered (a lab author's yaml change, no code)."""
    src = Path(load_pack("find-the-flaw").root)
    dst = tmp_path_factory.mktemp("packs") / "find-the-flaw-small"
    shutil.copytree(src, dst)
    text = (dst / "lab.yaml").read_text()
    assert "min_images: 40" in text
    (dst / "lab.yaml").write_text(text.replace("min_images: 40", f"min_images: {REGIONS}"))
    return load_pack(dst)


@pytest.fixture(scope="module")
def own_sim():
    """A simulator of this module's own: mistakes stay unrepaired in it."""
    with simulator() as s:
        yield s


def student_of(creds, lab) -> DetectionStudent:
    return DetectionStudent(creds, counts={"Defect": UPLOADED}, lab=lab)


def test_every_step_fails_before_its_task_and_passes_after(own_sim, detection_lab, runtime):
    creds = own_sim.create_attendee("od-walk")
    who = Attendee.from_json(creds, detection_lab)
    student = student_of(creds, detection_lab)
    for step in detection_lab.steps:
        before = validate(who, step.id, detection_lab, runtime=runtime)
        if step.task == "6":
            # Looking at the export options leaves nothing to validate by itself: Tasks 2 and 4 made it so.
            assert before.status is Status.PASS, before.message
        else:
            assert before.status is Status.FAIL, (step.task, before.message)
            assert before.message.endswith(".")
        student.do(step.task)
        after = validate(who, step.id, detection_lab, runtime=runtime)
        assert after.status is Status.PASS, (step.task, after.message, [c.to_json() for c in after.checks])


# (task, mistake) -> (the task whose step is validated, the check that must fail, words of its message)
EXPECTED = {
    ("1", "wrong-name"): ("1", "account_training_exists", ["cv-casting"]),
    ("1", "wrong-region"): ("1", "account_training_region", ["westeurope"]),
    ("1", "wrong-tier"): ("1", "account_training_tier", ["S0"]),
    ("1", "wrong-kind"): ("1", "account_training_exists", []),
    ("1", "training-only"): ("1", "account_prediction_exists", []),
    ("2", "wrong-name"): ("2", "project_exists", ["Casting Flaws"]),
    ("2", "classification"): ("2", "project_type_object_detection",
                              ["is a Classification project; this lab needs Object Detection"]),
    ("2", "non-compact-domain"): ("2", "project_domain_compact", ["'General'", "'General (compact)'"]),
    ("3", "too-few-regions"): ("3", "region_image_count", [f"Found {UPLOADED // 5} images with a 'Defect' region",
                                                           f"at least {REGIONS}"]),
    ("3", "wrong-tag"): ("3", "region_image_count", ["no region tagged 'Defect'", "'Casting'"]),
    # The grader cannot see where a training image's defect is; the model learns the misplaced boxes, and
    # the Quick Test of a test image (whose defect the pack locates) shows it.
    ("3", "boxes-off"): ("5", "quicktest_region_overlap", ["but the defect is at", "this lab needs 30%"]),
    ("4", "advanced-training"): ("4", "iteration_training_type", ["Advanced Training"]),
    ("5", "good-casting"): ("5", "quicktest_region_overlap", ["a casting with no defect"]),
    ("5", "training-image"): ("5", "quicktest_region_overlap", ["not one of the lab's test images"]),
}
SEPARATE = {("4", "not-finished")}  # a training still running: PENDING, below


def test_every_mistake_has_an_expectation():
    named = {(task, m) for task, ms in DETECTION_MISTAKES.items() for m in ms}
    assert named == set(EXPECTED) | SEPARATE


def _through(student: DetectionStudent, upto: str, skip: str | None = None) -> None:
    """Do every task before ``upto`` right (but ``skip``)."""
    for task in DETECTION_TASKS[: DETECTION_TASKS.index(upto)]:
        if task != skip:
            student.do(task)


@pytest.mark.parametrize(("task", "mistake"), sorted(EXPECTED), ids=lambda v: str(v))
def test_mistake_gives_its_sentence_then_the_fix_passes(own_sim, detection_lab, task, mistake, runtime):
    creds = own_sim.create_attendee(f"od-{task}-{mistake}"[:40])
    who = Attendee.from_json(creds, detection_lab)
    student = student_of(creds, detection_lab)
    judged, check_id, words = EXPECTED[(task, mistake)]
    _through(student, task)
    student.do(task, mistake)
    for later in DETECTION_TASKS[DETECTION_TASKS.index(task) + 1: DETECTION_TASKS.index(judged) + 1]:
        student.do(later)

    result = validate(who, judged, detection_lab, runtime=runtime)
    assert result.status is Status.FAIL, (result.message, [c.to_json() for c in result.checks])
    # The whole lab from one snapshot judges every step as validating it alone does.
    whole = validate_many(who, None, detection_lab, runtime=runtime)
    for step, w in zip(detection_lab.steps, whole, strict=True):
        a = result if step.task == judged else validate(who, step.id, detection_lab, runtime=runtime)
        assert (w.status, w.message, w.hint, w.advice, w.found) == (a.status, a.message, a.hint, a.advice, a.found)
    outcome = next(c for c in result.checks if c.check_id == check_id)
    assert outcome.status is Status.FAIL, outcome.message
    for word in words:
        assert word in outcome.message, outcome.message
    assert outcome.hint and result.message.endswith(".")

    # Done right: the task, and every task after it up to the one judged.
    for again in DETECTION_TASKS[DETECTION_TASKS.index(task): DETECTION_TASKS.index(judged) + 1]:
        student.do(again)
    fixed = validate(who, judged, detection_lab, runtime=runtime)
    assert fixed.status is Status.PASS, (fixed.message, [c.to_json() for c in fixed.checks])


def test_training_in_progress_is_pending(detection_lab, runtime):
    with simulator(training_seconds=60) as slow:
        creds = slow.create_attendee("od-patient")
        who = Attendee.from_json(creds, detection_lab)
        student = student_of(creds, detection_lab)
        _through(student, "4")
        student.do("4", "not-finished")
        for task in ("4", "5"):
            result = validate(who, task, detection_lab, runtime=runtime)
            assert result.status is Status.PENDING if task == "4" else result.status is not Status.PASS


def test_the_whole_lab_from_one_snapshot_is_cheap_and_judges_as_alone(own_sim, detection_lab, runtime):
    creds = own_sim.create_attendee("od-whole")
    who = Attendee.from_json(creds, detection_lab)
    student_of(creds, detection_lab).do_all()
    validate(who, "1", detection_lab, runtime=runtime)  # the grader's token, as any earlier press leaves it
    before = own_sim.call_count()
    whole = validate_many(who, None, detection_lab, runtime=runtime)
    made = own_sim.call_count() - before
    assert [r.status for r in whole] == [Status.PASS] * len(detection_lab.steps), [r.message for r in whole]
    # accounts, listKeys, projects, domains (cached: maybe 0), images, iterations, performance, predictions,
    # one stored image: 9 at most.
    assert made <= 9, own_sim.call_log()
    alone = [validate(who, s.id, detection_lab, runtime=runtime) for s in detection_lab.steps]
    for a, w in zip(alone, whole, strict=True):
        assert (a.status, a.message, a.found) == (w.status, w.message, w.found)
    # The stored image's address carries a SAS token: it never reaches a result.
    assert "_blobs" not in str([r.to_json() for r in whole])


def test_the_packs_test_images_are_its_files_and_the_generators_truth():
    """lab.yaml's test images: each file in testset/ has the listed SHA-256, and its defect boxes are where
    azuresim's generator drew the flaw (parts 1001 on), so Quick Tests in azuresim are judged against the truth."""
    import hashlib

    from azuresim import images

    pack = load_pack("find-the-flaw")
    listed = next(c.expect for s in pack.steps for c in s.checks if c.id == "quicktest_region_overlap")["test_images"]
    assert {t["name"] for t in listed} == {p.name for p in (Path(pack.root) / "testset").iterdir()}
    for item in listed:
        data = (Path(pack.root) / "testset" / item["name"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == item["sha256"], item["name"]
        defective, number = item["name"].startswith("def_"), int(item["name"].rsplit("_", 1)[1][:2])
        made = images.casting(defective, 1000 + number, "PNG")
        assert made.data == data, item["name"]
        truth = [] if made.box is None else [[made.box.left, made.box.top, made.box.width, made.box.height]]
        assert item["defects"] == truth, item["name"]
