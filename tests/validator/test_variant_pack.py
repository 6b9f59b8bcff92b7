"""A lab author's variant of Spot the Flaw (other names, tags, counts and tier; Tasks 1-4) dry-run on azuresim:
`labgrader sim act --lab PACK` does the pack's tasks, right and with its mistakes, and `labgrader validate
--lab PACK` grades them, all through the official SDKs. No Python is added for the variant."""

from __future__ import annotations

import json
import re
import shutil

import pytest
from click.testing import CliRunner

from azuresim.student import LabPlan
from labguide.lint import lint_pack
from labguide.packs import BUILTIN_DIR, load_pack
from webapp.cli import main

_TASKS = "### Task 5"  # the variant keeps Tasks 1-4 of the guide


@pytest.fixture(scope="module")
def variant(tmp_path_factory):
    root = tmp_path_factory.mktemp("packs") / "gear-flaws"
    shutil.copytree(BUILTIN_DIR / "spot-the-flaw", root)
    text = (root / "lab.yaml").read_text(encoding="utf-8")
    for old, new in [
        ("id: spot-the-flaw", "id: gear-flaws"),
        ('name: { pattern: "customvision-?casting(-?{DeploymentID})?" }',
         'name: { exact: "cv-gears-{DeploymentID}" }'),
        ("expect: { sku: F0 }", "expect: { sku: S0 }"),
        ("expect: { sku: F0 }", "expect: { sku: S0 }"),
        ("name: Casting Defect Detection", "name: Gear Inspection"),
        ("description: Classifying casting images as ok or defective", "description: Spotting scratched gears"),
        ("tag: Non Defective, min_images: 519", "tag: Clean, min_images: 6"),
        ("tag: Defect, min_images: 781", "tag: Scratched, min_images: 7"),
        ("tags: [Non Defective, Defect]", "tags: [Clean, Scratched]"),
        ("precision_min: 0.7, recall_min: 0.7", "precision_min: 0.0, recall_min: 0.0"),
    ]:
        assert old in text, old
        text = text.replace(old, new, 1)
    text = text[:text.index("  - id: 5d0f6a2b")]  # Tasks 1-4 only
    (root / "lab.yaml").write_text(text, encoding="utf-8")
    guide = (root / "guide.md").read_text(encoding="utf-8")
    (root / "guide.md").write_text(guide[:guide.index(_TASKS)], encoding="utf-8")
    return load_pack(root)


def test_the_plan_comes_from_the_packs_expectations(variant):
    plan = LabPlan.from_pack(variant, {"DeploymentID": "424242"})
    assert plan == LabPlan(account_name="cv-gears-424242", training_sku="S0", prediction_sku="S0",
                           project_name="Gear Inspection", description="Spotting scratched gears",
                           good_tag="Clean", defect_tag="Scratched", good_count=6, defect_count=7)


def test_a_variant_pack_is_dry_run_with_sim_act_and_graded_by_validate(sim, attendee, variant, tmp_path):
    assert [str(p) for p in lint_pack(variant) if "has no <validation" not in str(p)] == []
    creds = tmp_path / "creds.json"
    creds.write_text(json.dumps(attendee))
    runner = CliRunner()

    def act(task, *extra):
        result = runner.invoke(main, ["sim", "act", task, "--attendee", str(creds), "--lab", str(variant.root),
                                      *extra])
        assert result.exit_code == 0, result.output
        return result.output

    def grade(task):
        result = runner.invoke(main, ["validate", "--attendee", str(creds), "--lab", str(variant.root),
                                      "--task", task, "--json"])
        assert result.exit_code in (0, 1), result.output
        return json.loads(result.output)

    assert "(S0)" in act("1") and re.search(r"cv-gears-\w+", act("1"))
    assert [r["status"] for r in grade("1")] == ["PASS"]
    assert "Gear Inspection" in act("2")
    assert [r["status"] for r in grade("2")] == ["PASS"]
    # A named mistake uses the pack's own tag: the misspelling is of 'Scratched', and the check names it.
    assert "tag 'Scratcheds'" in act("3.2", "--mistake", "misspelled-tag")
    failed = grade("3.2")[0]
    assert failed["status"] == "FAIL" and "'Scratched'" in failed["message"]
    assert "uploaded 7 defective images with tag 'Scratched'" in act("3.2")
    assert "uploaded 6 good images with tag 'Clean'" in act("3.1")
    assert [r["status"] for r in grade("3.1") + grade("3.2")] == ["PASS", "PASS"]
    act("4")
    assert [r["status"] for r in grade("4")] == ["PASS"]


def test_a_step_naming_an_unregistered_check_is_an_error_and_the_others_are_graded(sim, attendee, tmp_path, runtime):
    from validator import Attendee, validate_many

    root = tmp_path / "typo"
    shutil.copytree(BUILTIN_DIR / "spot-the-flaw", root)
    lab_yaml = root / "lab.yaml"
    lab_yaml.write_text(lab_yaml.read_text().replace("- id: iteration_exportable", "- id: iteration_exportible"))
    lab = load_pack(root)
    results = {r.task: r for r in validate_many(Attendee.from_json(attendee, lab), None, lab, runtime=runtime)}
    typo = results["6"]
    assert typo.status.value == "ERROR" and "names a check labgrader does not have" in typo.message
    assert "not a problem with your work" in typo.hint
    assert typo.checks[0].evidence == {"unknown_checks": ["iteration_exportible"]}
    assert results["1"].status.value == "FAIL"  # nothing made yet: graded as usual
