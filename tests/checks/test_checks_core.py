"""The machinery: outcomes, templating, name rules, selection, run_check's guards, summarize, registry."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from datetime import timedelta

import pytest
from checkfacts import NOW, RG, account, iteration, project

from checks import facts as F
from checks import registry, summarize
from checks.base import (
    UNAVAILABLE_MESSAGES,
    Check,
    Context,
    Requirement,
    check,
    prerequisite_missing,
    run_check,
    unavailable_outcome,
)
from checks.expect import ExpectationError, NameRule, render, tag_key
from checks.outcome import Outcome, Status
from checks.params import lab_parameters
from checks.select import latest_iteration, select_project, select_training_account
from checks.wording import duration, pct

# -- lab.yaml contract ------------------------------------------------------------------------------------

def test_every_check_named_in_lab_yaml_is_registered(lab):
    named = {c["id"] for s in lab["steps"] for c in s["checks"]}
    assert named <= set(registry.all_ids()), named - set(registry.all_ids())


def test_registered_checks_read_only_declared_facts_and_unknown_ids_raise():
    for cid in registry.all_ids():
        c = registry.get(cid)
        assert c.id == cid and c.title and set(c.reads) <= set(F.ALL)
        assert all(r.fact in c.reads and r.fact.produced_by for r in c.requires), cid
    with pytest.raises(KeyError, match="no_such_check"):
        registry.get("no_such_check")


def test_fact_declarations_are_consistent():
    assert len({str(f) for f in F.ALL}) == len(F.ALL)
    for fact in F.ALL:
        assert set(fact.depends_on) <= set(F.ALL), fact
        assert F.declaration(str(fact)) is fact and fact.doc.endswith(".")
        assert fact.derived != bool(fact.observe), fact
        if fact.parameter is not None:
            assert fact.parameter.check_id in registry.all_ids()
        if fact.produced_by is not None:
            assert fact.produced_by in registry.all_ids()
    # Dependencies come first in ALL's closure order, and a name or a declaration resolves alike.
    assert F.closure(["project"]) == F.closure([F.PROJECT]) == (F.ACCOUNTS, F.TRAINING_ACCOUNT, F.PROJECTS, F.PROJECT)
    with pytest.raises(KeyError):
        F.declaration("nope")


def test_a_fact_is_its_name_and_types_its_value():
    assert F.PROJECT == "project" and {F.PROJECT: 1}["project"] == 1 and str(F.PROJECT) == "project"
    assert type(str(F.PROJECT)) is str and json.dumps({F.PROJECT: [F.TAGS]}) == '{"project": ["tags"]}'
    assert F.PROJECT.__orig_class__.__args__ == (F.ProjectFact | None,)
    rtype = F.resources("Microsoft.Storage/storageAccounts/")
    assert rtype == F.resources("microsoft.storage/storageaccounts") and rtype.observe == F.resources("x/y").observe
    assert F.declaration(str(rtype)) == rtype and rtype.resource_type == "microsoft.storage/storageaccounts"
    snap = F.Snapshot({F.PROJECT: None, "tags": []})
    assert snap[F.PROJECT] is None and snap[F.TAGS] == [] and F.ITERATIONS not in snap and len(snap) == 2
    assert snap.get(F.ITERATIONS, "absent") == "absent"
    assert F.FactUnavailable(F.PROJECT, "timeout").fact.__class__ is str  # plain data in evidence and JSON


def test_whole_lab_passes_for_a_student_who_did_everything(lab, raw, run):
    for step in lab["steps"]:
        outcomes = [run(c["id"], raw, c.get("expect") or {}) for c in step["checks"]]
        assert [o.status for o in outcomes] == [Status.PASS] * len(outcomes), [o.message for o in outcomes]
        for o in outcomes:
            assert o.message.endswith(".") and o.check_id
        assert summarize(outcomes, step["title"]).status is Status.PASS


# -- outcome ----------------------------------------------------------------------------------------------

def test_outcome_to_json_is_json_ready():
    o = Outcome("x", Status.FAIL, "Bad.", "Fix it.", {"when": NOW, "names": ("a", "b")}, ["tip"])
    data = o.to_json()
    assert data == {"check_id": "x", "status": "FAIL", "message": "Bad.", "hint": "Fix it.",
                    "evidence": {"when": NOW.isoformat(), "names": ["a", "b"]}, "advice": ["tip"],
                    "advisory": False, "recheck_after": None, "follows_from": None}
    json.dumps(data)
    assert o.advice == ("tip",)


def test_follows_from_is_a_field_and_old_outcomes_keep_theirs():
    o = Outcome("project_domain_compact", Status.FAIL, "No project.", "Create it.", {"project": None},
                follows_from="project_exists")
    assert Outcome.from_json(json.loads(json.dumps(o.to_json()))) == o
    # Attempts recorded before the field carried it as an evidence key.
    old = {**o.to_json(), "evidence": {"project": None, "follows_from": "project_exists"}}
    del old["follows_from"]
    assert Outcome.from_json(old) == o
    with pytest.raises(ValueError, match="follows_from"):
        Outcome("x", Status.FAIL, "m.", None, {"follows_from": "y"})


# -- expectations -----------------------------------------------------------------------------------------

def test_render_fills_injects_and_escapes_them_inside_patterns():
    out = render({"name": {"pattern": "cv(-?{Id})?x{2,3}"}, "region": "{Region}", "n": 5, "l": ["{Region}"]},
                 {"Id": "1.2", "Region": "eastus"})
    assert out == {"name": {"pattern": r"cv(-?1\.2)?x{2,3}"}, "region": "eastus", "n": 5, "l": ["eastus"]}


def test_render_names_a_missing_inject():
    with pytest.raises(ExpectationError, match="Region"):
        render({"region": "{Region}"}, {})


@pytest.mark.parametrize(("spec", "name", "ok"), [
    ("Casting Defect Detection", "  casting  defect detection ", True),
    ({"exact": "cv-casting"}, "CV-Casting", True),
    ({"exact": "cv-casting"}, "cv-casting2", False),
    ({"prefix": "customvision"}, "CustomVision-abc", True),
    ({"prefix": "customvision"}, "my-customvision", False),
    ({"pattern": "customvision-?casting(-?100001)?"}, "customvisioncasting100001", True),
    ({"pattern": "customvision-?casting(-?100001)?"}, "customvision-casting", True),
    ({"pattern": "customvision-?casting(-?100001)?"}, "customvision-casting-100002", False),
])
def test_name_rules(spec, name, ok):
    assert NameRule.parse(spec).matches(name) is ok


def test_name_rule_rejects_malformed_specs_and_suggests_readable_names():
    for bad in ({"exact": "a", "prefix": "b"}, {"pattern": "("}, 42, {}):
        with pytest.raises(ExpectationError):
            NameRule.parse(bad)
    assert NameRule.parse({"pattern": r"customvision-?casting(-?100001)?"}).suggestion() == \
        "customvision-casting-100001"
    assert NameRule.parse({"pattern": "x+", "example": "x-1"}).describe() == "named 'x-1'"


def test_tag_key_folds_spacing_hyphens_and_quotes():
    assert len({tag_key(n) for n in ["Non Defective", "Non-Defective", "NonDefective", "non defective"]}) == 1
    assert len({tag_key(n) for n in ["Defect", "\u201cDefect", '"Defect"', "'defect'"]}) == 1
    assert tag_key("Defect") != tag_key("Non Defective")


# -- selection --------------------------------------------------------------------------------------------

def test_select_training_account_by_rule_kind_and_group():
    rule = {"pattern": "customvision-?casting(-?100001)?"}
    pred = account("customvision-casting", kind="CustomVision.Prediction")
    other_rg = account("customvision-casting", rg="elsewhere")
    failed = account("customvisioncasting", state="Failed")
    good = account("customvision-casting-100001")
    assert select_training_account([pred, other_rg], rule, RG) is None
    assert select_training_account([failed, good, pred], rule, RG) is good
    assert select_training_account([account("cv")], None, RG).name == "cv"


def test_select_project_prefers_exact_spelling_then_newest():
    old = project(id="old", created=NOW - timedelta(days=2))
    new = project(id="new", created=NOW - timedelta(days=1))
    variant = project(id="var", name="casting defect detection", created=NOW)
    assert select_project([old, variant, new], "Casting Defect Detection").id == "new"
    assert select_project([variant], "Casting Defect Detection").id == "var"
    assert select_project([old], "Other") is None


def test_latest_and_trained_iterations():
    a = iteration("a", created=NOW - timedelta(hours=2))
    b = iteration("b", status="Training", created=NOW - timedelta(minutes=1))
    assert latest_iteration([a, b]).id == "b"
    assert F.TRAINED_ITERATION.settle({F.ITERATIONS: [a, b]}).id == "a"
    assert F.LATEST_ITERATION.settle({F.ITERATIONS: []}) is None


def test_settling_propagates_unavailability_instead_of_not_found():
    out = F.PROJECT.settle({F.PROJECTS: F.FactUnavailable(F.PROJECTS, "throttled", "429")}, "x")
    assert out == F.FactUnavailable(F.PROJECT, "throttled", "429")
    assert F.PROJECT.settle({F.PROJECTS: None}, "x") is None  # no training resource, so no project either
    assert F.TAGS.settle({F.TRAINING_ACCOUNT: account(), F.PROJECT: project()}) is F.OBSERVE


def test_settling_rules_declared_with_the_fact():
    # Deleted accounts matter only when the training resource is missing.
    assert F.DELETED_ACCOUNTS.settle({F.TRAINING_ACCOUNT: account()}) == []
    assert F.DELETED_ACCOUNTS.settle({F.TRAINING_ACCOUNT: None}) is F.OBSERVE
    gone = F.FactUnavailable(F.ACCOUNTS, "timeout")
    assert F.DELETED_ACCOUNTS.settle({F.TRAINING_ACCOUNT: gone.relabel(F.TRAINING_ACCOUNT)}).fact == "deleted_accounts"
    # While a retrain runs, performance is not read: the check says PENDING from the running iteration.
    done, running = iteration("a", created=NOW - timedelta(hours=2)), iteration("b", status="Training")
    facts = {F.TRAINING_ACCOUNT: account(), F.PROJECT: project(), F.ITERATIONS: [done, running],
             F.TRAINED_ITERATION: done}
    assert F.PERFORMANCE.settle(facts) is None
    assert F.PERFORMANCE.settle({**facts, F.ITERATIONS: [done]}) is F.OBSERVE
    # Predictions are listed with the iterations, and set aside afterwards when nothing is trained.
    assert F.PREDICTIONS.call_needs == (F.TRAINING_ACCOUNT, F.PROJECT)
    assert F.PREDICTIONS.judge({**facts, F.TRAINED_ITERATION: None}, ["p"]) is None
    assert F.PREDICTIONS.judge(facts, ["p"]) == ["p"]


def test_lab_parameters_come_from_the_lab_rendered(ctx):
    assert ctx.params[F.PROJECT] == "Casting Defect Detection"
    assert ctx.params[F.PERFORMANCE] == 0.5
    assert ctx.params[F.TRAINING_ACCOUNT] == {"pattern": "customvision-?casting(-?100001)?"}
    assert lab_parameters([], {}) == {F.PERFORMANCE: 0.5, F.DETECTION_PERFORMANCE: (0.5, 0.3)}
    # A fact with several parameters gets them as a tuple, each from the lab or its default.
    pairs = [("iteration_detection_performance", {"threshold": "0.6"})]
    assert lab_parameters(pairs, {})[F.DETECTION_PERFORMANCE] == ("0.6", 0.3)


# -- run_check guards -------------------------------------------------------------------------------------

def _all_fact_names_for(cid):
    return registry.get(cid).reads


@pytest.mark.parametrize("cid", registry.all_ids())
@pytest.mark.parametrize("kind", F.UNAVAILABLE_KINDS)
def test_unavailable_fact_is_error_not_fail_for_every_check(cid, kind, good, ctx, lab, detection_lab):
    c = registry.get(cid)
    expect = next((ch.get("expect") or {} for pack in (lab, detection_lab) for s in pack["steps"]
                   for ch in s["checks"] if ch["id"] == cid), None)
    if expect is None:  # a check the built-in labs do not use: a declarative resource check
        expect = {"type": "Microsoft.Storage/storageAccounts", "api_version": "2023-05-01", "location": "eastus",
                  "sku": "Standard_LRS", "kind": "StorageV2", "tags": {"a": "b"},
                  "properties": [{"path": "supportsHttpsTrafficOnly", "equals": True}]}
    assert c.reads_for(expect)
    for name in c.reads_for(expect):
        facts = {**good, name: F.FactUnavailable(name, kind, "HTTP 4xx/5xx from the service")}
        out = run_check(c, facts, expect, ctx)
        assert out.status is Status.ERROR, (cid, name)
        assert out.check_id == cid and out.evidence["fact"] == name and out.evidence["kind"] == kind
        assert "not a problem with your work" in out.hint


def test_every_unavailable_kind_has_its_own_sentence_said_once():
    assert set(UNAVAILABLE_MESSAGES) == set(F.UNAVAILABLE_KINDS)
    assert len({m for m, _ in UNAVAILABLE_MESSAGES.values()}) == len(F.UNAVAILABLE_KINDS)
    for kind in F.UNAVAILABLE_KINDS:
        out = unavailable_outcome("c", F.FactUnavailable(F.ACCOUNTS, kind))
        assert out.status is Status.ERROR
        assert out.hint.startswith("This is not a problem with your work")
        assert "not a problem with your work" not in out.message.lower()
    assert "2 per second" in UNAVAILABLE_MESSAGES["busy"][0]
    assert "few seconds" in UNAVAILABLE_MESSAGES["busy"][1]
    assert "refills" in UNAVAILABLE_MESSAGES["quota"][1] and "proctor" in UNAVAILABLE_MESSAGES["quota"][1]
    assert "proctor" in UNAVAILABLE_MESSAGES["internal"][1]


def test_not_found_names_the_resource_group_and_says_retrying_will_not_help(good, ctx):
    from dataclasses import replace
    facts = {**good, F.ACCOUNTS: F.FactUnavailable(F.ACCOUNTS, "not_found", "ResourceGroupNotFound")}
    out = run_check("account_training_exists", facts, {"name": {"pattern": "x"}},
                    replace(ctx, resource_group="rg-lab-100001"))
    assert out.status is Status.ERROR and "'rg-lab-100001'" in out.message
    assert "will not help" in out.hint and "proctor" in out.hint


def test_error_messages_per_kind_and_root_cause_first(good, ctx):
    facts = {**good, F.ACCOUNTS: F.FactUnavailable(F.ACCOUNTS, "throttled", "key 0123456789abcdef0123456789abcdef")}
    out = run_check("project_exists", facts, {"name": "Casting Defect Detection"}, ctx)
    assert out.message == "Azure is throttling requests right now (HTTP 429)."
    assert out.hint == "This is not a problem with your work: try Validate again in a minute."
    assert out.evidence["fact"] == F.ACCOUNTS and "0123456789abcdef" not in out.evidence["detail"]
    with pytest.raises(ValueError):
        F.FactUnavailable(F.ACCOUNTS, "bogus")


def test_a_bug_in_a_check_is_an_error_and_is_logged(caplog):
    calls = []

    def boom(facts, expect, ctx):
        calls.append(1)
        raise ZeroDivisionError

    c = Check("test_boom", "boom", (F.ACCOUNTS,), boom)
    with caplog.at_level(logging.ERROR, logger="checks.base"):
        out = run_check(c, {F.ACCOUNTS: []}, {})
    assert calls and out.status is Status.ERROR and "internal error" in out.message
    assert "ZeroDivisionError" in caplog.text
    # A fact the validator never gathered is a grader bug too, and evaluate is not called.
    calls.clear()
    assert run_check(c, {}, {}).status is Status.ERROR and not calls


def test_missing_inject_and_bad_rule_are_errors(good, ctx):
    from dataclasses import replace
    out = run_check("account_training_region", good, {"region": "{Nope}"}, ctx)
    assert out.status is Status.ERROR and "Nope" in out.evidence["internal"]
    out = run_check("account_training_exists", good, {"name": {"pattern": "("}}, replace(ctx, inject={}))
    assert out.status is Status.ERROR


def test_check_decorator_rejects_undeclared_facts():
    with pytest.raises(ValueError, match="undeclared"):
        check("x_y_z", title="t", reads=("nope",))


def _requiring(id, requires, reads=(F.TRAINING_ACCOUNT, F.PROJECT, F.TRAINED_ITERATION)):
    called = []

    def judge(facts, expect, ctx):
        called.append(facts)
        return Outcome("", Status.PASS, "Fine.")

    return Check(id, "t", reads, judge, requires=requires, expects=()), called


def test_a_required_fact_that_is_absent_gets_the_prerequisite_from_the_runner():
    c, called = _requiring("test_requires_project", (Requirement(F.PROJECT),))
    ctx = Context(resource_group=RG, check_tasks={"project_exists": "2", "account_training_exists": "1"},
                  task_titles={"2": "Create a project"}, params={F.PROJECT: "Casting Defect Detection"})
    facts = {F.TRAINING_ACCOUNT: account(), F.PROJECT: None, F.TRAINED_ITERATION: None}
    out = run_check(c, facts, {}, ctx)
    assert (out.check_id, out.status) == ("test_requires_project", Status.FAIL) and not called
    assert out.message == "Complete Task 2 first: no Custom Vision project named 'Casting Defect Detection' was found."
    assert "Task 2 (Create a project)" in out.hint and out.evidence == {"prerequisite_task": "2"}
    # The earliest absent fact is named: without a training resource, Task 1.
    out = run_check(c, {**facts, F.TRAINING_ACCOUNT: None, F.ACCOUNTS: []}, {}, ctx)
    assert out.message == ("Complete Task 1 first: no Custom Vision training resource was found in resource group "
                           f"'{RG}'.")
    # The check runs, with a typed snapshot, once what it requires is there.
    assert run_check(c, {**facts, F.PROJECT: project()}, {}, ctx).status is Status.PASS
    assert isinstance(called[0], F.Snapshot) and called[0][F.PROJECT].name == "Casting Defect Detection"


def test_a_requirement_gives_its_purpose_and_an_unobservable_fact_stays_an_error():
    c, called = _requiring("test_requires_trained", (F.PROJECT, Requirement(F.TRAINED_ITERATION, "to export")))
    ctx = Context(check_tasks={"iteration_completed": "4"})
    facts = {F.TRAINING_ACCOUNT: account(), F.PROJECT: project(), F.TRAINED_ITERATION: None}
    out = run_check(c, facts, {}, ctx)
    assert out.message == ("Complete Task 4 first: project 'Casting Defect Detection' has no trained iteration to "
                           "export yet.")
    out = run_check(c, {**facts, F.PROJECT: F.FactUnavailable(F.PROJECTS, "throttled")}, {}, ctx)
    assert out.status is Status.ERROR and not called
    # A requirement must be read, and be a fact some task produces (so the runner can name it).
    with pytest.raises(ValueError, match="requires"):
        check("x_y_w", title="t", reads=(F.TAGS,), requires=(F.TAGS,))(lambda facts, expect, ctx: None)
    with pytest.raises(ValueError, match="requires"):
        check("x_y_v", title="t", reads=(F.PROJECT,), requires=(F.TRAINED_ITERATION,))(lambda facts, expect, ctx: None)
    assert "x_y_w" not in registry.all_ids()


def test_prerequisite_missing_wording():
    out = prerequisite_missing("1", "no Custom Vision training resource was found in resource group 'X'",
                               title="Create a Custom Vision resource")
    assert out.status is Status.FAIL
    assert out.message == ("Complete Task 1 first: no Custom Vision training resource was found in "
                           "resource group 'X'.")
    assert "Task 1 (Create a Custom Vision resource)" in out.hint
    assert prerequisite_missing(None, "x").message == "Complete the earlier task first: x."


# -- summarize --------------------------------------------------------------------------------------------

def _o(status, msg="m.", hint=None):
    return Outcome("c", status, msg, hint)


def test_summarize_precedence_and_messages():
    s = summarize([_o(Status.PASS), _o(Status.PENDING, "Training."), _o(Status.FAIL, "Wrong tier.", "Change it."),
                   _o(Status.ERROR, "Azure is throttling requests right now (HTTP 429).")])
    assert s.status is Status.FAIL and s.message == "Wrong tier."
    assert s.hint.startswith("Change it.") and "throttling" in s.hint
    s = summarize([_o(Status.PENDING, "Training."), _o(Status.ERROR, "Timeout.", "Retry.")])
    assert (s.status, s.message, s.hint) == (Status.ERROR, "Timeout.", "Retry.")
    s = summarize([_o(Status.PASS), _o(Status.PENDING, "Training.", "Wait.")])
    assert (s.status, s.message) == (Status.PENDING, "Training.")
    s = summarize([_o(Status.PASS)], "Train the model")
    assert s.status is Status.PASS and "'Train the model'" in s.message and s.message.endswith(".")
    assert summarize([]).status is Status.ERROR
    status, message, hint = summarize([_o(Status.PASS)])  # unpacks as a 3-tuple
    assert status is Status.PASS


# -- wording ----------------------------------------------------------------------------------------------

def test_advisory_outcomes_never_decide_the_step():
    advisory = Outcome("a", Status.ERROR, "Timeout.", "Retry.", advice=("Could not count.",), advisory=True)
    assert summarize([_o(Status.PASS), advisory]) == (Status.PASS, "Everything labgrader checks for this step is "
                                                                   "in place.", None)
    s = summarize([_o(Status.PENDING, "Training.", "Wait."), replace(advisory, status=Status.FAIL)])
    assert s == (Status.PENDING, "Training.", "Wait.")
    # A FAIL beside an advisory ERROR does not claim other checks could not run.
    assert summarize([_o(Status.FAIL, "Wrong.", "Fix."), advisory]).hint == "Fix."
    assert summarize([advisory]).status is Status.PASS


def test_an_advisory_check_advises_and_severity_is_validated():
    def few(facts, expect, ctx):
        return Outcome("", Status.FAIL, "Only 3 images.", "Add more.")

    c = Check("test_few", "Enough images are uploaded", (F.ACCOUNTS,), few, severity="advice")
    out = run_check(c, {F.ACCOUNTS: []}, {})
    assert out.status is Status.FAIL and out.advisory and out.advice == ("Only 3 images. Add more.",)
    assert not run_check(c, {F.ACCOUNTS: []}, {"fail": True}).advisory
    out = run_check(c, {F.ACCOUNTS: F.FactUnavailable(F.ACCOUNTS, "timeout")}, {})
    assert out.advice == ("labgrader could not check this time whether enough images are uploaded.",)
    with pytest.raises(ValueError):
        Check("test_bad", "t", (), few, severity="optional")


def test_wording_helpers():
    assert pct(0.5) == "50%" and pct(0.7123) == "71.2%" and pct(None) == "unknown"
    assert duration(timedelta(seconds=30)) == "less than a minute"
    assert duration(timedelta(minutes=1)) == "1 minute"
    assert duration(timedelta(minutes=65)) == "1 hour 5 minutes"
    assert duration(timedelta(hours=2)) == "2 hours"
