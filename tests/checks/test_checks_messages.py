"""One cause, one sentence: follow-ons, advice beside a FAIL, fixes that match the observed facts, and the
plain sentences (and identities) of what a validation observed."""

from __future__ import annotations

from dataclasses import replace

from checkfacts import COMPACT, GENERAL, OD_COMPACT, RG, account, iteration, project, with_derived

from checks import facts as F
from checks.found import describe, identities
from checks.outcome import Outcome, Status
from checks.summary import causes, is_follow_on, step_advice, summarize

TAGS_32 = {"tag": "Defect", "min_images": 781}
UNTAGGED = {"fail": False, "tags": ["Non Defective", "Defect"]}


def _fail(cid, msg, follows=None, advice=(), advisory=False):
    return Outcome(cid, Status.FAIL, msg, f"fix {cid}", {}, tuple(advice), advisory, follows_from=follows)


# -- follow-ons and advice -----------------------------------------------------------------------------

def test_a_follow_on_never_gives_the_message_even_when_listed_first():
    cause = _fail("project_type_classification", "It is an Object Detection project.")
    follow = _fail("project_classification_multiclass", "So its classification type is not checked.",
                   "project_type_classification", advice=("Choose Multiclass.",))
    outcomes = [follow, cause]
    assert is_follow_on(follow, outcomes) and not is_follow_on(cause, outcomes)
    assert causes(outcomes) == [cause]
    assert summarize(outcomes).message == "It is an Object Detection project."
    assert step_advice(outcomes, Status.FAIL) == ()


def test_a_follow_on_whose_cause_is_not_in_the_step_stands_on_its_own():
    alone = _fail("account_training_region", "No training resource, so its region cannot be checked.",
                  "account_training_exists")
    passed = Outcome("account_training_exists", Status.PASS, "Found it.")
    assert not is_follow_on(alone, [alone])
    assert not is_follow_on(alone, [alone, passed])  # a cause that passed explains nothing
    assert summarize([alone]).status is Status.FAIL
    assert summarize([alone]).message == alone.message


def test_advisory_advice_waits_while_the_step_fails_and_is_said_once():
    fix = _fail("tag_image_count", "No tag 'Defect'.", advice=("Shared note.",))
    tidy = Outcome("project_untagged_images", Status.PASS, "Tag 'Defects' ...", None, {},
                   ("Rename 'Defects'.", "Shared note."), advisory=True)
    assert step_advice([fix, tidy], Status.FAIL) == ("Shared note.",)
    ok = replace(fix, status=Status.PASS)
    assert step_advice([ok, tidy], Status.PASS) == ("Shared note.", "Rename 'Defects'.")


# -- Task 1 ---------------------------------------------------------------------------------------------

def test_wrong_name_on_free_tier_says_to_free_the_places_first(raw, run):
    raw[F.ACCOUNTS] = [account("cv-casting"), account("cv-casting-Prediction", kind="CustomVision.Prediction")]
    out = run("account_training_exists", raw)
    assert out.status is Status.FAIL
    assert out.hint.startswith("A resource cannot be renamed. Delete 'cv-casting' and 'cv-casting-Prediction'")
    assert "one Free (F0) Custom Vision training resource and one prediction resource" in out.hint
    assert out.hint.endswith("Review + create.") and "name it 'customvision-casting-100001'" in out.hint


def test_a_resource_of_another_kind_holding_the_name_is_deleted_first(raw, run):
    raw[F.ACCOUNTS] = [account("customvision-casting-100001", kind="CognitiveServices", sku="S0")]
    out = run("account_training_exists", raw)
    assert out.hint.startswith("Delete 'customvision-casting-100001' in the Azure portal and purge it")
    assert "cannot change its kind" in out.hint and "renamed" not in out.hint
    pred = run("account_prediction_exists", raw)
    assert pred.status is Status.FAIL and pred.follows_from == "account_training_exists"
    step = [out, pred]
    assert is_follow_on(pred, step) and summarize(step).message == out.message


def test_a_missing_prediction_resource_beside_a_training_one_is_its_own_cause(raw, run):
    raw[F.ACCOUNTS] = [account()]
    pred = run("account_prediction_exists", raw)
    assert pred.status is Status.FAIL and pred.follows_from is None


# -- Task 2 ---------------------------------------------------------------------------------------------

def test_object_detection_is_one_cause_with_two_follow_ons(raw, run):
    raw[F.PROJECTS] = [project(domain_id=OD_COMPACT, classification_type=None)]
    outs = [run(cid, raw) for cid in ("project_type_classification", "project_classification_multiclass",
                                      "project_domain_compact")]
    cause, multiclass, domain = outs
    assert cause.status is Status.FAIL and "Object Detection" in cause.message
    for o in (multiclass, domain):
        assert o.status is Status.FAIL and o.follows_from == "project_type_classification"
        assert "no classification type" not in o.message and "Task 2" in o.hint
        assert is_follow_on(o, outs)
    assert causes(outs) == [cause]


def test_classification_checks_judge_classification_projects_as_before(raw, run):
    raw[F.PROJECTS] = [project(domain_id=GENERAL, classification_type="Multilabel")]
    assert run("project_classification_multiclass", raw).message.endswith("This lab needs Multiclass.")
    assert run("project_domain_compact", raw).status is Status.FAIL
    raw[F.PROJECTS] = [project(domain_id=COMPACT)]
    assert run("project_domain_compact", raw).status is Status.PASS


# -- Task 3 ---------------------------------------------------------------------------------------------

def test_a_misspelled_tag_is_renamed_never_deleted(raw, run):
    raw[F.TAGS] = [F.TagFact("t1", "Non Defective", 519), F.TagFact("t2", "Defects", 781)]
    fix = run("tag_image_count", raw, TAGS_32)
    assert "rename it to 'Defect'" in fix.hint
    tidy = run("project_untagged_images", raw, UNTAGGED)
    assert tidy.advisory and tidy.evidence["extra_tags"] == [] and tidy.evidence["misspelled_tags"] == {
        "Defects": "Defect"}
    assert all("elete" not in a for a in tidy.advice) and any("rename it to 'Defect'" in a for a in tidy.advice)
    # Beside the FAIL the rename is said once, by the fix.
    assert step_advice([fix, tidy], summarize([fix, tidy]).status) == ()


def test_extra_tags_holding_images_are_retagged_before_any_delete(raw, run):
    raw[F.TAGS] = [F.TagFact("t1", "Non Defective", 519), F.TagFact("t2", "Defect", 781),
                   F.TagFact("t3", "Scratch", 12), F.TagFact("t4", "Spare", 0)]
    tidy = run("project_untagged_images", raw, UNTAGGED)
    scratch = next(a for a in tidy.advice if "'Scratch'" in a)
    assert "12 images" in scratch and "tag them with it, then delete tag 'Scratch'" in scratch
    spare = next(a for a in tidy.advice if "'Spare'" in a)
    assert "with no images" in spare and "Delete it" in spare
    assert not any("the extra tags" in a for a in tidy.advice)


def test_missing_tag_with_untagged_images_says_to_tag_them(raw, run):
    raw[F.TAGS] = [F.TagFact("t1", "Non Defective", 519)]
    raw[F.UNTAGGED_COUNT] = 781
    out = run("tag_image_count", raw, TAGS_32)
    assert "781 images have no tag" in out.message
    assert out.hint.startswith("In customvision.ai, select Untagged") and "Add images" not in out.hint
    raw[F.UNTAGGED_COUNT] = 700
    assert "upload the rest with Add images" in run("tag_image_count", raw, TAGS_32).hint


def test_missing_tag_hint_when_untagged_images_are_not_counted(raw, run):
    """Task 3.1 does not count untagged images (no extra call): the fix names both ways."""
    raw[F.TAGS] = [F.TagFact("t2", "Defect", 781)]
    del raw[F.UNTAGGED_COUNT]
    out = run("tag_image_count", raw)
    assert "select them under Untagged if they are uploaded already, or select Add images" in out.hint
    assert "untagged" not in out.evidence
    raw[F.UNTAGGED_COUNT] = F.FactUnavailable(F.UNTAGGED_COUNT, "throttled")
    assert run("tag_image_count", raw).status is Status.FAIL  # never an ERROR for a fact it only uses
    raw[F.UNTAGGED_COUNT] = 0
    assert run("tag_image_count", raw).hint.startswith("In customvision.ai, select Add images, choose the images")


def test_too_few_images_with_untagged_ones(raw, run):
    raw[F.TAGS] = [F.TagFact("t1", "Non Defective", 519), F.TagFact("t2", "Defect", 700)]
    raw[F.UNTAGGED_COUNT] = 81
    out = run("tag_image_count", raw, TAGS_32)
    assert "also has 81 untagged images" in out.message and "select Untagged" in out.hint
    assert "fewer than" not in out.hint


# -- Task 4 ---------------------------------------------------------------------------------------------

def test_a_failed_training_blames_no_image_counts(raw, run):
    raw[F.ITERATIONS] = [iteration(status="Failed", training_error="Training failed: the pipeline broke.")]
    out = run("iteration_completed", raw)
    assert out.status is Status.FAIL and "the pipeline broke" in out.message
    assert "5 images" not in out.hint and "choose Quick Training" in out.hint and "proctor" in out.hint
    perf = run("iteration_performance", raw)
    assert perf.follows_from == "iteration_completed" and is_follow_on(perf, [out, perf])


# -- what was found, and by identity --------------------------------------------------------------------

def _reads(*cids):
    from checks import registry
    return [name for cid in cids for name in registry.get(cid).reads]


def test_describe_task1_lists_the_resource_group_in_plain_words(good):
    good[F.ACCOUNTS] = [*good[F.ACCOUNTS], account("other", kind="CognitiveServices", sku="S0", state="Creating")]
    lines = describe(good, _reads("account_training_exists", "account_prediction_exists"), RG)
    assert lines == [
        f"Resource group '{RG}': 2 Custom Vision resources: 'customvision-casting-100001' (training, F0, eastus) "
        "and 'customvision-casting-100001-Prediction' (prediction, F0, eastus); 1 other Azure AI resource: "
        "'other' (CognitiveServices, S0, eastus, provisioning state Creating).",
    ]


def test_describe_project_tags_iterations_and_quick_tests(good):
    project_line = describe(good, _reads("project_exists", "project_domain_compact"), RG)
    assert project_line[-1] == ("Project 'Casting Defect Detection': Classification, Multiclass, domain "
                                "'General (compact)', Export Capabilities: Basic platforms, description "
                                "'Classifying casting images as ok or defective'.")
    tags = describe(good, _reads("tag_image_count", "project_untagged_images"), RG)
    assert "Project 'Casting Defect Detection' has 2 tags: 'Non Defective' (519 images) and 'Defect' " \
           "(781 images)." in tags
    assert "No image in project 'Casting Defect Detection' is untagged." in tags
    training = describe(good, _reads("iteration_completed", "iteration_performance"), RG)
    assert any(line.startswith("Newest iteration of project 'Casting Defect Detection': 'Iteration 1' "
                               "(Completed, Quick Training, exportable to") for line in training)
    assert any("precision 98.1% and recall 97.7%" in line for line in training)
    tests = describe(good, _reads("quicktest_top_tag"), RG)
    assert "2 Quick Test results on iteration 'Iteration 1', top predictions: 'Defect' (99.9%) and " \
           "'Non Defective' (98%)." in tests


def test_describe_says_an_unreadable_fact_once_by_its_root(good):
    good[F.ACCOUNTS] = F.FactUnavailable(F.ACCOUNTS, "throttled", "429")
    for name in (F.TRAINING_ACCOUNT, F.PROJECTS, F.PROJECT, F.TAGS, F.UNTAGGED_COUNT):
        good[name] = F.FactUnavailable(name, "throttled", "429")
    lines = describe(good, _reads("tag_image_count", "project_untagged_images"), RG)
    assert lines == [f"labgrader could not read the Azure AI resources in resource group '{RG}' this time."]


def test_describe_says_nothing_raw(good):
    every = [name for name in F.ALL if name != F.DELETED_ACCOUNTS]
    for line in describe(good, every, RG):
        assert line.endswith(".") and "{" not in line and "_id" not in line and "follows_from" not in line


def test_identities_name_what_a_verdict_rests_on(good, ctx):
    acct = replace(account(), resource_id="/subscriptions/S/resourceGroups/RG/providers/x/accounts/CV")
    good = with_derived({**good, F.ACCOUNTS: [acct]}, replace(ctx))
    good[F.TRAINING_ACCOUNT] = acct
    seen = identities(good, _reads("quicktest_top_tag"))
    assert seen == {F.TRAINING_ACCOUNT: "/subscriptions/s/resourcegroups/rg/providers/x/accounts/cv",
                    F.PROJECT: "p1", F.LATEST_ITERATION: "it1", F.TRAINED_ITERATION: "it1"}
    assert identities(good, _reads("project_exists")) == {F.TRAINING_ACCOUNT: seen[F.TRAINING_ACCOUNT]}
    good[F.TRAINED_ITERATION] = None
    good[F.PROJECT] = F.FactUnavailable(F.PROJECT, "timeout")
    seen = identities(good, _reads("iteration_exportable"))
    assert seen[F.TRAINED_ITERATION] is None and F.PROJECT not in seen


def test_describe_images_names_region_tags_in_the_order_they_are_drawn(good):
    """Not in a set's order, which changes from one process to the next with string hashing (PYTHONHASHSEED)."""
    box = F.Box(0.1, 0.1, 0.2, 0.2)
    drawn = ("Pit", "Crack", "Rim", "Scratch", "Burr", "Porosity")  # a set keeps these six in order 1 time in 720
    good[F.IMAGES] = F.ImagesFact(images=(
        F.ImageFact("i1", regions=tuple(F.RegionFact(tag, box) for tag in drawn)),
        F.ImageFact("i2", regions=(F.RegionFact("Crack", box), F.RegionFact("Crack", box))),
        F.ImageFact("i3"),
    ))
    assert describe(good, [F.IMAGES], RG) == [
        "Project 'Casting Defect Detection' has 3 images: 1 image with a 'Pit' region, 2 images with a 'Crack' "
        "region, 1 image with a 'Rim' region, 1 image with a 'Scratch' region, 1 image with a 'Burr' region and "
        "1 image with a 'Porosity' region, 1 without a region."]
