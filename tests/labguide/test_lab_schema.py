"""lab.yaml's JSON Schema (generated from the checks' declarations) and the lint that uses it."""

from __future__ import annotations

import json
import shutil

import jsonschema
import pytest
import yaml
from click.testing import CliRunner

from checks import registry
from labguide.lint import lint_pack
from labguide.packs import BUILTIN_DIR, available_packs, load_pack
from labguide.schema import PUBLISHED, dumps, lab_schema
from webapp.cli import main


def test_the_schema_is_a_valid_json_schema_and_the_published_file_is_current():
    schema = lab_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert PUBLISHED.read_text(encoding="utf-8") == dumps(schema), (
        "labguide/lab.schema.json is stale: run `labgrader guide schema -o labguide/lab.schema.json`")


def test_every_check_and_its_keys_are_in_the_schema():
    schema = lab_schema()
    check = schema["properties"]["steps"]["items"]["properties"]["checks"]["items"]
    assert check["properties"]["id"]["enum"] == registry.all_ids()
    rules = {r["if"]["properties"]["id"]["const"]: r["then"]["properties"]["expect"] for r in check["allOf"]}
    tag = rules["tag_image_count"]
    assert tag["required"] == ["tag"] and tag["additionalProperties"] is False
    assert tag["properties"]["min_images"]["default"] == 1
    assert rules["iteration_training_type"]["properties"]["training_type"]["enum"] == ["Regular", "Advanced"]


@pytest.mark.parametrize("name", [p.id for p in available_packs(include_env=False)])
def test_built_in_packs_validate_against_the_schema_and_lint_clean(name):
    pack = load_pack(BUILTIN_DIR / name)
    data = yaml.safe_load(pack.yaml_path.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(lab_schema()).validate(data)
    assert lint_pack(pack) == []


def test_guide_schema_prints_the_schema():
    result = CliRunner().invoke(main, ["guide", "schema"])
    assert result.exit_code == 0
    assert json.loads(result.stdout) == lab_schema()


def _variant(tmp_path, replacements):
    root = tmp_path / "variant"
    shutil.copytree(BUILTIN_DIR / "spot-the-flaw", root)
    text = (root / "lab.yaml").read_text(encoding="utf-8")
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new, 1)
    (root / "lab.yaml").write_text(text, encoding="utf-8")
    return root, text.splitlines()


def _line(lines, needle):
    return next(i for i, line in enumerate(lines, 1) if needle in line)


def test_lint_looks_inside_expect_with_lines_and_suggestions(tmp_path):
    root, lines = _variant(tmp_path, [
        ("expect: { tag: Non Defective, min_images: 519 }", "expect: { tag: Scratched, min_image: 4000 }"),
        ("expect: { tag: Defect, min_images: 781 }", 'expect:\n          min_images: "sixty"'),
        ("expect: { training_type: Regular }", "expect: { training_type: Quick }"),
        ("expect: { sku: F0 }", "expect: { sku: F0, colour: blue }"),
        ("expect: { threshold: 0.5, precision_min: 0.7, recall_min: 0.7 }",
         "expect: { threshold: 0.5, precision_min: 70, recall_min: 0.7 }"),
        ('region: "{Region}"', 'region: "{Regoin}"'),
    ])
    found = [str(p) for p in lint_pack(load_pack(root))]
    expected = [
        (_line(lines, "colour: blue"), "colour: check 'account_training_tier' has no expectation 'colour'"),
        (_line(lines, "min_image: 4000"), "min_image: check 'tag_image_count' has no expectation 'min_image'; "
                                          "did you mean min_images?"),
        (_line(lines, 'min_images: "sixty"') - 2,
         "check 'tag_image_count' needs expectation 'tag'"),
        (_line(lines, 'min_images: "sixty"'), "min_images: must be a whole number (at least 1), not 'sixty'"),
        (_line(lines, "training_type: Quick"), "'Quick' is not allowed for check 'iteration_training_type' "
                                               "(allowed: Regular, Advanced)"),
        (_line(lines, "precision_min: 70"), "precision_min: must be at most 1, not 70"),
        (_line(lines, "{Regoin}"), "expectation uses {Regoin}, which is not a declared inject"),
    ]
    for line, words in expected:
        assert any(f.startswith(f"lab.yaml:{line}: ") and words in f for f in found), (line, words, found)
    assert len(found) == len(expected), found


def test_lint_reports_unknown_and_missing_keys_of_the_pack_itself(tmp_path):
    root, lines = _variant(tmp_path, [
        ("    requires: [d59e98f0-5614-4e26-b82c-18374ffffb6c]", "    require: [d59e98f0-5614-4e26-b82c-18374ffffb6c]"),
        ("guide: guide.md", "guide: guide.md\nauthor: me"),
        ('    task: "4"\n', ""),
        ("    secret: true", "    secrett: true"),
        ("version: 1", "version: [1]"),
        ("- id: iteration_exportable", "- id: iteration_exportable\n        expects: { platforms: [ONNX] }"),
    ])
    found = [str(p) for p in lint_pack(load_pack(root))]
    assert (f"lab.yaml:{_line(lines, 'secrett')}: injects.AzureAdUserPassword: unknown key 'secrett'; did you mean "
            "secret?") in found
    assert f"lab.yaml:{_line(lines, 'version: [1]')}: version: must be a whole number or text, not [1]" in found
    assert any(f.startswith(f"lab.yaml:{_line(lines, 'expects: {')}: ") and "unknown key 'expects'; did you mean "
               "expect?" in f for f in found), found
    assert f"lab.yaml:{_line(lines, 'require:')}: steps[1]: unknown key 'require'; did you mean requires?" in found
    assert any(f.startswith(f"lab.yaml:{_line(lines, 'author: me')}: lab.yaml: unknown key 'author'") for f in found)
    assert any("steps[4] needs 'task'" in f for f in found), found


def test_a_check_id_that_is_not_registered_is_reported_once(tmp_path):
    root, lines = _variant(tmp_path, [("- id: project_description", "- id: project_descripton")])
    found = [str(p) for p in lint_pack(load_pack(root))]
    assert [f for f in found if "project_descripton" in f] == [
        f"lab.yaml:{_line(lines, 'project_descripton')}: check 'project_descripton' (step "
        "0b268237-4be0-4453-a6ac-5603f697a1a9, Task 2) is not registered; `labgrader checks list` shows the checks "
        "there are"]
