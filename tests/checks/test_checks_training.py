"""Tasks 3 to 6 over plain facts: tags, untagged images, training, performance, quick tests, export."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from checkfacts import NOW, iteration, performance, prediction, with_derived

from checks import facts as F
from checks.outcome import Status

NON = {"tag": "Non Defective", "min_images": 519}
DEF = {"tag": "Defect", "min_images": 781}


# -- tags -------------------------------------------------------------------------------------------------

def test_tag_counts_pass_for_both_tags(raw, run):
    for expect in (NON, DEF):
        out = run("tag_image_count", raw, expect)
        assert out.status is Status.PASS and out.advice == ()
    assert "holds 781 images (at least 781 needed)." in run("tag_image_count", raw, DEF).message


def test_tag_variants_pass_with_advice(raw, run):
    raw[F.TAGS] = [F.TagFact("t1", "Non-Defective", 519), F.TagFact("t2", "\u201cDefect", 781)]
    for expect, name in ((NON, "Non-Defective"), (DEF, "\u201cDefect")):
        out = run("tag_image_count", raw, expect)
        assert out.status is Status.PASS and out.evidence["tag"] == name
        assert f"named '{name}'" in out.advice[0]


def test_tag_missing_fails_listing_the_tags(raw, run):
    raw[F.TAGS] = [F.TagFact("t1", "Non Defective", 519)]
    out = run("tag_image_count", raw, DEF)
    assert out.status is Status.FAIL
    assert out.message == "Project 'Casting Defect Detection' has no tag 'Defect'; its tags are 'Non Defective'."
    assert "My Tags" in out.hint
    raw[F.TAGS] = []
    assert "it has no tags yet" in run("tag_image_count", raw, DEF).message


def test_tag_missing_with_a_misspelled_one_suggests_renaming_it(raw, run):
    raw[F.TAGS] = [F.TagFact("t1", "Non Defect", 519), F.TagFact("t2", "Defect", 781)]
    out = run("tag_image_count", raw, NON)
    assert out.status is Status.FAIL
    assert "rename it to 'Non Defective'" in out.hint and "tag 'Non Defect'" in out.hint


def test_a_tag_of_the_other_category_is_never_called_a_misspelling(raw, run, ctx):
    # "Non Defect" scores 0.75 against "Defect"; renaming it would relabel good castings as defects.
    raw[F.TAGS] = [F.TagFact("t1", "Non Defect", 519)]
    out = run("tag_image_count", raw, DEF)
    assert out.status is Status.FAIL and "rename" not in out.hint and "My Tags" in out.hint
    # Also without the lab's tag list (a context built without lab parameters): the qualifier rule holds.
    from checks.base import run_check
    out = run_check("tag_image_count", with_derived(raw, ctx), DEF, replace(ctx, params={
        k: v for k, v in ctx.params.items() if k != F.TAGS}))
    assert out.status is Status.FAIL and "rename" not in out.hint


def test_misspelling_needs_want_to_be_the_closest_lab_tag(raw, run):
    # A real typo of "Defect" is still caught, with the lab's tag list in play.
    raw[F.TAGS] = [F.TagFact("t1", "Non Defective", 519), F.TagFact("t2", "Defekt", 781)]
    out = run("tag_image_count", raw, DEF)
    assert out.status is Status.FAIL and "edit tag 'Defekt' and rename it to 'Defect'" in out.hint
    # A spelling variant of another lab tag is accepted as that tag, so it is not renamed to this one.
    raw[F.TAGS] = [F.TagFact("t1", "Non-Defective", 519)]
    assert "rename" not in run("tag_image_count", raw, {"tag": "Non Defect", "min_images": 1,
                                                        "lab_tags": ["Non Defective", "Non Defect"]}).hint
    # "Defective" is closer to "Non Defective" (0.82) than to "Defect" (0.80): ambiguous, so no rename...
    raw[F.TAGS] = [F.TagFact("t1", "Defective", 781)]
    assert "rename" not in run("tag_image_count", raw, DEF).hint
    # ...unless expect["lab_tags"] says this lab has no other tag it could belong to.
    assert "rename it to 'Defect'" in run("tag_image_count", raw, {**DEF, "lab_tags": ["Defect"]}).hint


def test_lab_parameters_list_every_tag_the_lab_names(ctx):
    assert set(ctx.params[F.TAGS]) == {"Non Defective", "Defect"}


def test_tag_too_few_images_fails_with_counts(raw, run):
    raw[F.TAGS] = [F.TagFact("t2", "Defect", 700)]
    out = run("tag_image_count", raw, DEF)
    assert out.status is Status.FAIL
    assert "holds 700 images; this lab needs at least 781." in out.message and "81 missing" in out.hint


def test_tag_split_over_variants_fails_and_says_so(raw, run):
    raw[F.TAGS] = [F.TagFact("t2", "Defect", 400), F.TagFact("t3", "\u201cDefect", 381)]
    out = run("tag_image_count", raw, DEF)
    assert out.status is Status.FAIL and "381 images carry the variant" in out.message
    assert "delete the variant tag" in out.hint


def test_tag_checks_point_at_task_2_without_the_project(raw, run):
    raw[F.PROJECTS] = []
    out = run("tag_image_count", raw, DEF)
    assert out.status is Status.FAIL
    assert out.message == "Complete Task 2 first: no Custom Vision project named 'Casting Defect Detection' was found."


def test_untagged_images_are_advice_unless_the_lab_says_fail(raw, run):
    assert run("project_untagged_images", raw).advice == ()
    raw[F.UNTAGGED_COUNT] = 3
    out = run("project_untagged_images", raw)
    assert out.status is Status.PASS and "3 untagged images" in out.advice[0]
    out = run("project_untagged_images", raw, {"fail": True})
    assert out.status is Status.FAIL and out.message.endswith("has 3 untagged images.") and "Untagged" in out.hint


def test_extra_tags_are_reported_when_the_lab_lists_its_tags(raw, run):
    raw[F.TAGS] = raw[F.TAGS] + [F.TagFact("t9", "Scratch", 4)]
    expect = {"fail": False, "tags": ["Non Defective", "Defect"]}
    out = run("project_untagged_images", raw, expect)
    assert out.status is Status.PASS and "'Scratch'" in out.advice[0]
    out = run("project_untagged_images", raw, {**expect, "fail": True})
    assert out.status is Status.FAIL and "'Scratch'" in out.message


def test_untagged_images_never_decide_the_step(raw, run, ctx):
    from checks import summarize
    raw[F.UNTAGGED_COUNT] = 3
    tags = run("tag_image_count", raw, DEF)
    out = run("project_untagged_images", raw)
    assert out.advisory and "3 untagged images" in out.advice[0]
    assert summarize([tags, out]).status is Status.PASS
    # Untagged images could not be counted: the step still passes, and the student is told as advice.
    raw[F.UNTAGGED_COUNT] = F.FactUnavailable(F.UNTAGGED_COUNT, "throttled", "HTTP 429")
    out = run("project_untagged_images", raw)
    assert out.status is Status.ERROR and out.advisory
    assert out.advice == ("labgrader could not check this time for untagged images or tags the lab does not "
                          "use; it checks again when you press Validate.",)
    s = summarize([tags, out], "Upload and tag the defective images")
    assert s.status is Status.PASS and s.hint is None
    # With `fail: true` the lab makes it a requirement: its ERROR and FAIL decide the step again.
    expect = {"fail": True, "tags": ["Non Defective", "Defect"]}
    out = run("project_untagged_images", raw, expect)
    assert not out.advisory and out.advice == () and summarize([tags, out]).status is Status.ERROR
    raw[F.UNTAGGED_COUNT] = 3
    out = run("project_untagged_images", raw, expect)
    assert out.status is Status.FAIL and summarize([tags, out]).status is Status.FAIL


# -- iterations -------------------------------------------------------------------------------------------

def test_iteration_completed_pass_pending_fail(raw, run):
    out = run("iteration_completed", raw)
    assert out.status is Status.PASS and "finished training (Completed)" in out.message
    raw[F.ITERATIONS] = [iteration(status="Training", created=NOW - timedelta(minutes=4))]
    out = run("iteration_completed", raw)
    assert out.status is Status.PENDING and "training for 4 minutes" in out.message and "few minutes" in out.hint
    assert out.recheck_after == 30 and "Validate" not in out.hint  # past two minutes: every half minute
    raw[F.ITERATIONS] = [iteration(status="Training", created=NOW - timedelta(seconds=20))]
    assert run("iteration_completed", raw).recheck_after == 10  # a young training: soon
    raw[F.ITERATIONS] = [iteration(status="Failed", training_error="Not enough images per tag")]
    out = run("iteration_completed", raw)
    assert out.status is Status.FAIL and out.message.endswith("failed: Not enough images per tag.")
    raw[F.ITERATIONS] = []
    out = run("iteration_completed", raw)
    assert out.status is Status.FAIL and "no trained iteration" in out.message and "Quick Training" in out.hint


def test_newest_iteration_decides(raw, run):
    raw[F.ITERATIONS] = [iteration("old"), iteration("new", "Iteration 2", status="Failed",
                                                      created=NOW - timedelta(minutes=2))]
    out = run("iteration_completed", raw)
    assert out.status is Status.FAIL and "'Iteration 2'" in out.message and "no details" in out.message


def test_training_type_pass_fail_error(raw, run):
    assert run("iteration_training_type", raw).status is Status.PASS
    raw[F.ITERATIONS] = [iteration(training_type="Advanced")]
    out = run("iteration_training_type", raw)
    assert out.status is Status.FAIL
    assert "trained with Advanced Training; this lab asks for Quick Training." in out.message
    raw[F.ITERATIONS] = [iteration(training_type=None)]
    assert run("iteration_training_type", raw).status is Status.ERROR
    raw[F.ITERATIONS] = []
    assert run("iteration_training_type", raw).status is Status.FAIL


def test_performance_pass_shows_numbers(raw, run):
    out = run("iteration_performance", raw)
    assert out.status is Status.PASS
    assert "precision 98.1% and recall 97.7% at the 50% probability threshold" in out.message
    raw[F.PERFORMANCE] = performance(precision=0.7, recall=0.7)
    assert run("iteration_performance", raw).status is Status.PASS  # the floor itself passes


def test_performance_fail_below_floor(raw, run):
    raw[F.PERFORMANCE] = performance(precision=0.65, recall=0.9)
    out = run("iteration_performance", raw)
    assert out.status is Status.FAIL
    assert "precision 65% and recall 90%" in out.message and "at least 70% precision" in out.message
    assert out.evidence["per_tag"][0]["tag"] == "Defect"


def test_performance_pending_while_retraining_and_fail_without_model(raw, run):
    raw[F.ITERATIONS] = [iteration(), iteration("it2", status="Training", created=NOW - timedelta(minutes=1))]
    out = run("iteration_performance", raw)
    assert out.status is Status.PENDING and "checked when it completes" in out.message
    raw[F.PERFORMANCE] = None  # the validator skips PERFORMANCE during a retrain: still PENDING, not ERROR
    out = run("iteration_performance", raw)
    assert out.status is Status.PENDING and "checked when it completes" in out.message
    raw[F.ITERATIONS] = [iteration(status="Failed")]
    raw[F.PERFORMANCE] = None
    assert run("iteration_performance", raw).status is Status.FAIL


def test_performance_grader_mixups_are_errors(raw, run):
    raw[F.PERFORMANCE] = performance(threshold=0.8)
    assert run("iteration_performance", raw).status is Status.ERROR
    raw[F.PERFORMANCE] = performance(iteration_id="another")
    assert run("iteration_performance", raw).status is Status.ERROR
    raw[F.PERFORMANCE] = None
    assert run("iteration_performance", raw).status is Status.ERROR


# -- quick test -------------------------------------------------------------------------------------------

def test_quicktest_pass_for_each_tag(raw, run):
    out = run("quicktest_top_tag", raw, {"tag": "Defect"})
    assert out.status is Status.PASS and "'Defect' (99.9%)" in out.message
    assert run("quicktest_top_tag", raw, {"tag": "Non Defective"}).status is Status.PASS
    raw[F.PREDICTIONS] = [prediction("NonDefective", iteration_id=None)]
    assert run("quicktest_top_tag", raw, {"tag": "Non Defective"}).status is Status.PASS


def test_quicktest_fail_none_wrong_tag_and_old_iteration(raw, run):
    raw[F.PREDICTIONS] = []
    out = run("quicktest_top_tag", raw, {"tag": "Defect"})
    assert out.status is Status.FAIL and "No stored Quick Test result" in out.message and "Quick Test" in out.hint
    raw[F.PREDICTIONS] = [prediction("Non Defective", 0.97)]
    out = run("quicktest_top_tag", raw, {"tag": "Defect"})
    assert out.status is Status.FAIL and "'Non Defective' (97%)" in out.message
    raw[F.PREDICTIONS] = [prediction("Defect", iteration_id="old-iteration")]
    out = run("quicktest_top_tag", raw, {"tag": "Defect"})
    assert out.status is Status.FAIL and "older iteration" in out.message


def test_quicktest_after_a_retrain_asks_to_test_the_new_iteration(raw, run):
    # PREDICTIONS lists every iteration's stored predictions; only the newest trained iteration's count.
    raw[F.ITERATIONS] = [iteration(), iteration("it2", "Iteration 2", created=NOW - timedelta(minutes=10))]
    raw[F.PREDICTIONS] = [prediction("Non Defective", iteration_id="it1", minutes_ago=2),
                          prediction("Defect", iteration_id="it1", minutes_ago=3)]
    out = run("quicktest_top_tag", raw, {"tag": "Defect"})
    assert out.status is Status.FAIL and "older iteration, not on 'Iteration 2'" in out.message
    assert "choose iteration 'Iteration 2'" in out.hint and out.evidence["other_iterations"] == ["it1"]
    raw[F.PREDICTIONS].insert(0, prediction("Defect", iteration_id="it2", minutes_ago=1))
    assert run("quicktest_top_tag", raw, {"tag": "Defect"}).status is Status.PASS


def test_quicktest_while_retraining_is_pending_unless_the_trained_one_passes(raw, run):
    raw[F.ITERATIONS] = [iteration(), iteration("it2", "Iteration 2", status="Training",
                                                created=NOW - timedelta(minutes=3))]
    # The validator skips PREDICTIONS during a retrain: wait for the new iteration.
    raw[F.PREDICTIONS] = None
    out = run("quicktest_top_tag", raw, {"tag": "Defect"})
    assert out.status is Status.PENDING and "'Iteration 2'" in out.message and "training for 3 minutes" in out.message
    assert "choose iteration 'Iteration 2'" in out.hint
    # What exists passes on the trained iteration: judged on it.
    raw[F.PREDICTIONS] = [prediction("Defect", iteration_id="it1")]
    assert run("quicktest_top_tag", raw, {"tag": "Defect"}).status is Status.PASS
    # What exists does not pass: the new iteration is the one to test, once trained.
    out = run("quicktest_top_tag", raw, {"tag": "Non Defective"})
    assert out.status is Status.PENDING and out.evidence["predictions"][0]["top_tag"] == "Defect"


def test_quicktest_points_at_task_4_without_a_model(raw, run):
    raw[F.ITERATIONS] = [iteration(status="Training")]
    out = run("quicktest_top_tag", raw, {"tag": "Defect"})
    assert out.status is Status.FAIL and out.message.startswith("Complete Task 4 first:")
    assert "Train the model with Quick Training" in out.hint


# -- export -----------------------------------------------------------------------------------------------

def test_exportable_pass_and_fails(raw, run):
    out = run("iteration_exportable", raw)
    assert out.status is Status.PASS and out.message.endswith("can be exported to TensorFlow, CoreML and ONNX.")
    raw[F.ITERATIONS] = [iteration(exportable=False, exportable_to=())]
    out = run("iteration_exportable", raw)
    assert out.status is Status.FAIL and "compact domain" in out.message
    raw[F.ITERATIONS] = [iteration(exportable_to=("CoreML",))]
    out = run("iteration_exportable", raw)
    assert out.status is Status.FAIL and "not to TensorFlow and ONNX." in out.message
    raw[F.ITERATIONS] = []
    assert run("iteration_exportable", raw).message.startswith("Complete Task 4 first:")
