"""The second lab's checks (Find the Flaw, object detection) on plain facts: every expectation from its lab.yaml."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from checkfacts import NOW, OD_COMPACT, RG, account, iteration, project, with_derived

from checks import facts as F
from checks import summarize
from checks.base import Context, run_check
from checks.detection import overlap
from checks.outcome import Status
from checks.params import lab_parameters
from checks.summary import causes

DEFECT_BOX = F.Box(0.40, 0.20, 0.15, 0.12)
TEST_SHA = "ab" * 32  # the test image with a defect at DEFECT_BOX
GOOD_SHA = "cd" * 32  # a test image of a good casting
OTHER_SHA = "ef" * 32  # an image that is not one of the lab's
CLASSIFICATION_COMPACT = "0732100f-1a38-4e49-a514-c9b44c697ab5"


@pytest.fixture(scope="module")
def expects(detection_lab) -> dict:
    out: dict = {}
    for s in detection_lab["steps"]:
        for c in s["checks"]:
            out.setdefault(c["id"], dict(c.get("expect") or {}))
    # The pack's own test images are filled from azuresim's generator; these tests use their own.
    out["quicktest_region_overlap"]["test_images"] = [
        {"name": "def_test_01.png", "sha256": TEST_SHA, "defects": [list(vars(DEFECT_BOX).values())]},
        {"name": "ok_test_01.png", "sha256": GOOD_SHA, "defects": []},
    ]
    return out


@pytest.fixture(scope="module")
def dctx(detection_lab) -> Context:
    inject = {**{k: v.get("default") for k, v in detection_lab["injects"].items()}, "ResourceGroup": RG}
    pairs = [(c["id"], c.get("expect") or {}) for s in detection_lab["steps"] for c in s["checks"]]
    check_tasks: dict[str, str] = {}
    for s in detection_lab["steps"]:
        for c in s["checks"]:
            check_tasks.setdefault(c["id"], s["task"])
    return Context(inject=inject, now=NOW, resource_group=RG,
                   task_titles={s["task"]: s["title"] for s in detection_lab["steps"]},
                   check_tasks=check_tasks, params=lab_parameters(pairs, inject))


def image(n: int, *regions: tuple[str, F.Box], tags: tuple[str, ...] = ()) -> F.ImageFact:
    return F.ImageFact(f"img-{n}", tags, tuple(F.RegionFact(t, b) for t, b in regions))


def images(count: int, tag: str = "Defect", box: F.Box = DEFECT_BOX, start: int = 0) -> list[F.ImageFact]:
    return [image(start + i, (tag, box)) for i in range(count)]


def od_prediction(tag="Defect", prob=0.93, box=DEFECT_BOX, id="q1", iteration_id="it1", minutes_ago=5):
    return F.PredictionFact(id, iteration_id, NOW - timedelta(minutes=minutes_ago), tag, prob, box,
                            image_uri=f"https://blob.example/{id}?sig=secret")


def od_performance(precision=0.82, mean_ap=0.71, threshold=0.5, overlap_threshold=0.3, iteration_id="it1"):
    per_tag = (F.TagPerformance("Defect", precision, 0.77, mean_ap),)
    return F.PerformanceFact(precision, 0.77, mean_ap, per_tag, threshold, iteration_id, overlap_threshold)


@pytest.fixture
def raw() -> dict:
    """Observed facts of a student who did every task of Find the Flaw right."""
    return {
        F.ACCOUNTS: [account(), account("customvision-casting-100001-Prediction", kind="CustomVision.Prediction")],
        F.DELETED_ACCOUNTS: [],
        F.DOMAINS: [
            F.DomainFact(CLASSIFICATION_COMPACT, "General (compact)", "Classification", True),
            F.DomainFact(OD_COMPACT, "General (compact)", "ObjectDetection", True),
            F.DomainFact("da2e3a8a-40a5-4171-82f4-58522f70fbc1", "General", "ObjectDetection", False),
        ],
        F.PROJECTS: [project(name="Casting Flaw Finder", description="Locating defects on casting images",
                             domain_id=OD_COMPACT, classification_type=None)],
        F.IMAGES: F.ImagesFact(tuple(images(45) + [image(99)])),
        F.ITERATIONS: [replace(iteration(), domain_id=OD_COMPACT, classification_type=None)],
        F.DETECTION_PERFORMANCE: od_performance(),
        F.PREDICTIONS: [od_prediction()],
        F.PREDICTION_IMAGES: {"q1": TEST_SHA},
    }


@pytest.fixture
def run(expects, dctx):
    def _run(check_id: str, facts: dict, **changes):
        expect = {**expects[check_id], **changes}
        return run_check(check_id, with_derived(facts, dctx), expect, dctx)

    return _run


def test_every_step_passes_for_a_student_who_did_everything(detection_lab, raw, run):
    for step in detection_lab["steps"]:
        outcomes = [run(c["id"], raw) for c in step["checks"]]
        assert [o.status for o in outcomes] == [Status.PASS] * len(outcomes), [o.message for o in outcomes]
        assert all(o.message.endswith(".") for o in outcomes)


# -- Task 2 ---------------------------------------------------------------------------------------------

def test_a_classification_project_is_one_cause_naming_object_detection(raw, run):
    raw[F.PROJECTS] = [project(name="Casting Flaw Finder", description="Locating defects on casting images")]
    kind, domain = run("project_type_object_detection", raw), run("project_domain_compact", raw)
    assert kind.status is Status.FAIL
    assert kind.message == ("Project 'Casting Flaw Finder' is a Classification project; this lab needs "
                            "Object Detection.")
    assert "Project Types: Object Detection, as Task 2 describes" in kind.hint
    assert domain.status is Status.FAIL and domain.follows_from == "project_type_object_detection"
    assert domain.message == ("Project 'Casting Flaw Finder' is a Classification project, so its domain is checked "
                              "once it is an Object Detection project.")
    assert causes([kind, domain]) == [kind]


def test_the_object_detection_domain_must_be_the_compact_one(raw, run):
    raw[F.PROJECTS] = [replace(raw[F.PROJECTS][0], domain_id="da2e3a8a-40a5-4171-82f4-58522f70fbc1")]
    out = run("project_domain_compact", raw)
    assert out.status is Status.FAIL
    assert out.message == "Project 'Casting Flaw Finder' uses domain 'General'; this lab needs 'General (compact)'."
    assert run("project_type_object_detection", raw).status is Status.PASS


# -- Task 3 ---------------------------------------------------------------------------------------------

def test_regions_pass_with_the_count(raw, run):
    out = run("region_image_count", raw)
    assert out.status is Status.PASS
    assert out.message == ("Found 45 images with a 'Defect' region in project 'Casting Flaw Finder' (at least 40 "
                           "needed).")


def test_too_few_regions_say_how_many_and_how_many_images_wait(raw, run):
    raw[F.IMAGES] = F.ImagesFact(tuple(images(9) + [image(100 + i) for i in range(41)]))
    out = run("region_image_count", raw)
    assert out.status is Status.FAIL
    assert out.message == ("Found 9 images with a 'Defect' region in project 'Casting Flaw Finder'; this lab needs "
                           "at least 40. 41 images in the project have no region yet.")
    assert "drag a box tightly around each defect, choose tag 'Defect'" in out.hint
    assert "at least 31 more images" in out.hint


def test_too_few_images_uploaded_says_upload_more(raw, run):
    raw[F.IMAGES] = F.ImagesFact(tuple(images(20)))
    out = run("region_image_count", raw)
    assert out.status is Status.FAIL and "Upload more" in out.hint and "at least 40 images" in out.hint


def test_whole_image_tags_are_not_regions(raw, run):
    raw[F.IMAGES] = F.ImagesFact(tuple(image(i, tags=("Defect",)) for i in range(45)))
    out = run("region_image_count", raw)
    assert out.status is Status.FAIL
    assert "Found 0 images with a 'Defect' region" in out.message
    assert "45 images carry tag 'Defect' on the whole image, without a box" in out.message


def test_regions_of_one_other_tag_only_suggest_renaming_it_once(raw, run):
    raw[F.IMAGES] = F.ImagesFact(tuple(images(45, tag="Casting")))
    count, only = run("region_image_count", raw), run("region_tags_only", raw)
    assert count.status is Status.FAIL
    assert count.message == ("Project 'Casting Flaw Finder' has no region tagged 'Defect'; its regions are tagged "
                             "'Casting' (45 images).")
    assert "rename it to 'Defect'" in count.hint
    assert only.status is Status.FAIL and only.follows_from == "region_image_count"
    assert causes([count, only]) == [count]


def test_other_region_tags_are_named_in_the_order_drawn(raw, run):
    """Not in a set's order, which changes from one process to the next with string hashing (PYTHONHASHSEED)."""
    drawn = ("Pit", "Crack", "Rim", "Scratch", "Burr")  # a set keeps five in order 1 time in 120
    raw[F.IMAGES] = F.ImagesFact((image(1, *((t, DEFECT_BOX) for t in drawn)), image(2, ("Crack", DEFECT_BOX))))
    out = run("region_image_count", raw)
    assert out.status is Status.FAIL and out.message == (
        "Project 'Casting Flaw Finder' has no region tagged 'Defect'; its regions are tagged 'Pit' (1 image), "
        "'Crack' (2 images), 'Rim' (1 image), 'Scratch' (1 image) and 'Burr' (1 image).")
    assert list(out.evidence["images_with_regions"]) == list(drawn)

def test_regions_on_a_tag_the_lab_does_not_use_fail(raw, run):
    extra = [image(200 + i, ("Defect", DEFECT_BOX), ("Casting", F.Box(0.1, 0.1, 0.8, 0.8))) for i in range(12)]
    raw[F.IMAGES] = F.ImagesFact(tuple(images(40) + extra))
    assert run("region_image_count", raw).status is Status.PASS
    out = run("region_tags_only", raw)
    assert out.status is Status.FAIL
    assert out.message == ("Project 'Casting Flaw Finder' has 12 images with regions tagged 'Casting'; this lab's "
                           "regions are tagged 'Defect' only.")
    assert "delete the boxes of 'Casting'" in out.hint


def test_a_spelling_variant_counts_with_advice_and_is_no_wrong_tag(raw, run):
    raw[F.IMAGES] = F.ImagesFact(tuple(images(45, tag="defect")))
    out = run("region_image_count", raw)
    assert out.status is Status.PASS and out.advice
    assert run("region_tags_only", raw).status is Status.PASS


def test_regions_in_a_classification_project_point_at_task_2(raw, run):
    raw[F.PROJECTS] = [project(name="Casting Flaw Finder")]
    out = run("region_image_count", raw)
    assert out.status is Status.FAIL and "Classification project" in out.message and "Task 2" in out.hint


def test_no_images_and_no_project(raw, run):
    raw[F.IMAGES] = F.ImagesFact(())
    out = run("region_image_count", raw)
    assert out.status is Status.FAIL and out.message == "Project 'Casting Flaw Finder' has no images yet."
    raw[F.PROJECTS] = []
    out = run("region_image_count", raw)
    assert out.status is Status.FAIL and "Complete Task 2 first" in out.message


def test_more_images_than_read_is_an_error_when_the_count_is_short(raw, run):
    raw[F.IMAGES] = F.ImagesFact(tuple(images(10)), complete=False)
    assert run("region_image_count", raw).status is Status.ERROR
    raw[F.IMAGES] = F.ImagesFact(tuple(images(45)), complete=False)
    assert run("region_image_count", raw).status is Status.PASS


# -- Task 4 ---------------------------------------------------------------------------------------------

def test_map_and_precision_pass_with_their_figures(raw, run):
    out = run("iteration_detection_performance", raw)
    assert out.status is Status.PASS
    assert out.message == ("Iteration 'Iteration 1' of project 'Casting Flaw Finder' reaches precision 82% and mAP "
                           "71% at the 50% probability threshold and 30% overlap threshold (this lab needs at least "
                           "70% precision and 50% mAP).")


@pytest.mark.parametrize(("precision", "mean_ap"), [(0.6, 0.9), (0.9, 0.42)])
def test_map_or_precision_below_the_floor_fails(raw, run, precision, mean_ap):
    raw[F.DETECTION_PERFORMANCE] = od_performance(precision, mean_ap)
    out = run("iteration_detection_performance", raw)
    assert out.status is Status.FAIL
    assert f"precision {precision:.0%} and mAP {mean_ap:.0%}" in out.message
    assert "'Defect' box drawn tightly" in out.hint and "Quick Training" in out.hint


def test_performance_at_other_thresholds_or_without_map_is_an_error(raw, run):
    raw[F.DETECTION_PERFORMANCE] = od_performance(overlap_threshold=0.5)
    assert run("iteration_detection_performance", raw).status is Status.ERROR
    raw[F.DETECTION_PERFORMANCE] = od_performance(mean_ap=None)
    assert run("iteration_detection_performance", raw).status is Status.ERROR


def test_performance_pending_while_training(raw, run):
    raw[F.ITERATIONS] = [*raw[F.ITERATIONS], iteration("it2", "Iteration 2", status="Training",
                                                        created=NOW - timedelta(minutes=1))]
    raw[F.DETECTION_PERFORMANCE] = None
    assert run("iteration_detection_performance", raw).status is Status.PENDING


def test_advanced_training_fails_in_this_lab_too(raw, run):
    raw[F.ITERATIONS] = [replace(raw[F.ITERATIONS][0], training_type="Advanced")]
    out = run("iteration_training_type", raw)
    assert out.status is Status.FAIL and "Advanced Training" in out.message


# -- Task 5 ---------------------------------------------------------------------------------------------

def test_overlap_is_intersection_over_union():
    a = F.Box(0.0, 0.0, 0.5, 0.5)
    assert overlap(a, a) == pytest.approx(1.0)
    assert overlap(a, F.Box(0.25, 0.0, 0.5, 0.5)) == pytest.approx(1 / 3)
    assert overlap(a, F.Box(0.6, 0.6, 0.2, 0.2)) == 0.0


def test_quicktest_passes_when_the_top_box_is_on_the_defect(raw, run):
    out = run("quicktest_region_overlap", raw)
    assert out.status is Status.PASS
    assert out.message == ("Found a Quick Test on iteration 'Iteration 1' whose top prediction is a 'Defect' region "
                           "(93%) on the defect in 'def_test_01.png' (overlap 100%).")
    assert "secret" not in str(out.to_json())


def test_quicktest_box_far_off_the_defect_fails_with_both_places(raw, run):
    raw[F.PREDICTIONS] = [od_prediction(box=F.Box(0.05, 0.70, 0.15, 0.12))]
    out = run("quicktest_region_overlap", raw)
    assert out.status is Status.FAIL
    assert out.message == (
        "Your newest Quick Test on iteration 'Iteration 1' ('def_test_01.png') has a 'Defect' region (93%) at left "
        "5%, top 70%, 15% wide and 12% high as its top prediction, but the defect is at left 40%, top 20%, 15% wide "
        "and 12% high: they overlap by 0%, and this lab needs 30%.")
    assert "fits tightly around the defect" in out.hint


def test_quicktest_of_a_good_casting_or_an_unknown_image_fails(raw, run):
    raw[F.PREDICTION_IMAGES] = {"q1": GOOD_SHA}
    out = run("quicktest_region_overlap", raw)
    assert out.status is Status.FAIL and "'ok_test_01.png', a casting with no defect" in out.message
    assert "C:\\srebdatafiles\\Dataset\\casting_detect\\test" in out.hint
    raw[F.PREDICTION_IMAGES] = {"q1": OTHER_SHA}
    out = run("quicktest_region_overlap", raw)
    assert out.status is Status.FAIL and "not one of the lab's test images" in out.message


def test_quicktest_top_prediction_of_another_tag_fails(raw, run):
    raw[F.PREDICTIONS] = [od_prediction(tag="Casting")]
    out = run("quicktest_region_overlap", raw)
    assert out.status is Status.FAIL and "'Casting' (93%) as its top prediction, not a 'Defect' region" in out.message


def test_quicktest_any_good_test_passes_and_the_newest_failure_is_reported(raw, run):
    off = od_prediction(id="q2", box=F.Box(0.7, 0.7, 0.1, 0.1), minutes_ago=1)
    raw[F.PREDICTIONS] = [off, od_prediction()]
    raw[F.PREDICTION_IMAGES] = {"q1": TEST_SHA, "q2": TEST_SHA}
    assert run("quicktest_region_overlap", raw).status is Status.PASS
    raw[F.PREDICTION_IMAGES] = {"q1": GOOD_SHA, "q2": TEST_SHA}
    out = run("quicktest_region_overlap", raw)
    assert out.status is Status.FAIL and "overlap by 0%" in out.message


def test_quicktest_without_results_or_with_classification_results(raw, run):
    raw[F.PREDICTIONS], raw[F.PREDICTION_IMAGES] = [], {}
    out = run("quicktest_region_overlap", raw)
    assert out.status is Status.FAIL and "No stored Quick Test result" in out.message
    raw[F.PREDICTIONS] = [od_prediction(box=None)]  # a classification model's answer: no box, never read
    out = run("quicktest_region_overlap", raw)
    assert out.status is Status.FAIL and "none has a 'Defect' region as its top prediction" in out.message


def test_quicktest_points_at_task_4_without_a_model(raw, run):
    raw[F.ITERATIONS] = []
    out = run("quicktest_region_overlap", raw)
    assert out.status is Status.FAIL and "Complete Task 4 first" in out.message


def test_a_malformed_test_image_list_is_the_lab_authors_error(raw, run):
    out = run("quicktest_region_overlap", raw, test_images=[{"name": "x.png"}])
    # The declaration's schema says what is missing and what the key holds (checks.expect).
    assert out.status is Status.ERROR and "test_images[0]: needs 'sha256'" in out.evidence["internal"]
    assert "{name, sha256, defects" in out.evidence["internal"]


def test_step_summary_reads_like_the_first_cause(raw, run, detection_lab):
    raw[F.IMAGES] = F.ImagesFact(tuple(images(3)))
    step = next(s for s in detection_lab["steps"] if s["task"] == "3")
    outcomes = [run(c["id"], raw) for c in step["checks"]]
    assert summarize(outcomes, step["title"]).message.startswith("Found 3 images with a 'Defect' region")
