"""Each check declares its expectation keys once; the checks read their expectations through it."""

from __future__ import annotations

import logging
from dataclasses import replace

import pytest

from checks import registry
from checks.base import Check, run_check
from checks.expect import INTEGER, NAME_RULE, TAG, ExpectationError, Expectations, Key, NameRule, check_expect
from checks.outcome import Status


def test_every_registered_check_declares_its_expectations(lab):
    for cid in registry.all_ids():
        c = registry.get(cid)
        assert c.expects is not None, f"{cid} declares no expectation keys (check(..., expects=...))"
        for k in c.expects:
            assert k.description.strip(), (cid, k.name)
        # Registration does not validate its defaults and examples (no JSON Schema at start-up): this does.
        assert c.declaration_problems() == [], cid
    # The built-in lab's own expectations satisfy every declaration.
    for s in lab["steps"]:
        for ch in s["checks"]:
            assert check_expect(ch["id"], registry.get(ch["id"]).expects, ch.get("expect") or {}) == [], ch


def test_defaults_are_applied_once_and_undeclared_keys_cannot_be_read():
    c = registry.get("tag_image_count")
    exp = c.expectations({"tag": "Defect"})
    assert isinstance(exp, Expectations)
    assert exp["min_images"] == 1 and exp["lab_tags"] is None
    with pytest.raises(KeyError, match="does not declare"):
        exp["min_image"]
    with pytest.raises(KeyError):
        exp.get("threshold", 0.5)
    perf = registry.get("iteration_performance").expectations({})
    assert (perf["threshold"], perf["precision_min"], perf["recall_min"]) == (0.5, 0.0, 0.0)
    assert isinstance(registry.get("account_training_exists").expectations(
        {"name": {"prefix": "cv-"}})["name"], NameRule)


@pytest.mark.parametrize(("cid", "expect", "words"), [
    ("tag_image_count", {"tag": "Scratched", "min_image": 4000}, ["min_image", "did you mean min_images?"]),
    ("tag_image_count", {"min_images": 3}, ["needs expectation 'tag'"]),
    ("tag_image_count", {"tag": "Defect", "min_images": "sixty"}, ["min_images", "whole number", "'sixty'"]),
    ("tag_image_count", {"tag": "Defect", "min_images": 0}, ["at least 1"]),
    ("iteration_training_type", {"training_type": "Quick"}, ["'Quick'", "Regular, Advanced"]),
    ("iteration_performance", {"precision_min": 70}, ["at most 1"]),
    ("account_training_tier", {"sku": "F1"}, ["F0, S0", "did you mean F0?"]),
    ("account_training_exists", {"name": {"pattern": "("}}, ["not a valid regular expression"]),
    ("account_training_exists", {"name": {"regex": "x"}}, ["name"]),
    ("quicktest_top_tag", {"tag": "{Tag}"}, ["{Inject} template"]),
    ("account_training_provisioned", {"region": "eastus"}, ["takes no expectations"]),
])
def test_bad_expectations_are_named_in_the_authors_words(cid, expect, words):
    problems = check_expect(cid, registry.get(cid).expects, expect)
    text = " ".join(p.message for p in problems)
    assert problems and all(w in text for w in words), text


@pytest.mark.parametrize(("expect", "words"), [
    ({"tag": "Scratched", "min_image": 4000}, "did you mean min_images?"),
    ({"tag": "Defect", "min_images": "sixty"}, "'sixty'"),
    ({"min_images": 3}, "needs expectation 'tag'"),
])
def test_a_bad_expectation_is_an_error_with_a_clear_reason_not_a_pass_or_a_traceback(good, ctx, caplog, expect,
                                                                                    words):
    with caplog.at_level(logging.ERROR, logger="checks.base"):
        out = run_check("tag_image_count", good, expect, ctx)
    assert out.status is Status.ERROR and words in out.evidence["internal"]
    assert "Traceback" not in caplog.text and words in caplog.text


def test_templated_keys_are_rendered_and_others_compared_as_written(ctx):
    c = registry.get("account_training_region")
    assert c.expectations({"region": "{Region}"}, {"Region": "westus2"})["region"] == "westus2"
    with pytest.raises(ExpectationError, match="Nope"):
        c.expectations({"region": "{Nope}"}, {})


def _contradicting(cid: str = "test_bad_default") -> Check:
    """A check whose declared default and example its own key refuses (a string for a whole number)."""
    def fn(facts, expect, ctx):
        raise AssertionError

    return Check(cid, "t", (), fn, expects=(Key("n", INTEGER, "n", default="x", example="y"),))


def test_a_declaration_that_contradicts_itself_is_reported_and_refused():
    def fn(facts, expect, ctx):
        raise AssertionError

    # A default or example its key refuses: said by the tests (above), `checks list` and `guide lint` (below).
    problems = _contradicting().declaration_problems()
    assert len(problems) == 2 and "default of 'n' is invalid" in problems[0] and "example of 'n'" in problems[1]
    assert "whole number" in problems[0]
    with pytest.raises(ValueError, match="twice"):
        Check("test_twice", "t", (), fn, expects=(Key("a", TAG, "a"), Key("a", TAG, "b")))
    with pytest.raises(ValueError, match="required"):
        Key("a", NAME_RULE, "a", required=True, default="x")


def test_an_advisory_check_takes_fail_and_an_example_is_valid():
    c = registry.get("project_untagged_images")
    assert c.declared("fail").default is False
    for cid in registry.all_ids():
        ex = registry.get(cid).example()
        assert ex["id"] == cid
        if registry.get(cid).expects is not None:
            assert check_expect(cid, registry.get(cid).expects, ex.get("expect", {})) == [], ex


def test_checks_list_and_lint_refuse_a_check_whose_declaration_contradicts_itself(monkeypatch):
    from click.testing import CliRunner

    from labguide.lint import lint_pack
    from labguide.packs import load_pack
    from webapp.cli import main

    # The built-in pack's tag_image_count, declared with a default its key refuses.
    real = registry.get("tag_image_count")
    bad = replace(real, expects=tuple(replace(k, default="many") if k.name == "min_images" else k
                                      for k in real.expects))
    monkeypatch.setitem(registry._REGISTRY, "tag_image_count", bad)
    listed = CliRunner().invoke(main, ["checks", "list"])
    assert listed.exit_code == 1 and "the default of 'min_images' is invalid" in listed.output
    found = [p for p in lint_pack(load_pack("spot-the-flaw")) if "min_images" in p.message]
    assert len(found) == 1 and "not in this pack" in found[0].message and found[0].path == "lab.yaml"
