"""The lab author's commands: `checks list`, `lab new`, `lab list`, and clear errors for a bad pack."""

from __future__ import annotations

import json
import re
import shutil

from click.testing import CliRunner

from checks import registry
from labguide.lint import lint_pack
from labguide.packs import BUILTIN_DIR, load_pack
from webapp.cli import main


def test_checks_list_json_is_every_check_from_its_declaration():
    result = CliRunner().invoke(main, ["checks", "list", "--json"])
    assert result.exit_code == 0, result.output
    entries = {e["id"]: e for e in json.loads(result.stdout)}
    assert sorted(entries) == registry.all_ids()
    tag = entries["tag_image_count"]
    assert tag["observes"] == list(registry.get("tag_image_count").reads)
    assert tag["requires"] == ["project"] and entries["project_exists"]["requires"] == ["training_account"]
    assert entries["iteration_exportable"]["requires"] == ["project", "trained_iteration"]
    assert entries["project_description"]["requires"] == []  # its task creates the project: it says so itself
    keys = {k["name"]: k for k in tag["expects"]}
    assert keys["tag"]["required"] is True and keys["tag"]["type"] == "tag"
    assert keys["min_images"]["default"] == 1 and keys["min_images"]["type"] == "integer"
    assert tag["example"] == {"id": "tag_image_count", "expect": {"tag": "Defect", "min_images": 781}}
    training = {k["name"]: k for k in entries["iteration_training_type"]["expects"]}["training_type"]
    assert training["allowed"] == ["Regular", "Advanced"] and training["default"] == "Regular"


def test_checks_list_text_shows_keys_types_defaults_and_an_example():
    result = CliRunner().invoke(main, ["checks", "list"])
    assert result.exit_code == 0
    block = result.stdout.split("\n\n")
    training = next(b for b in block if b.startswith("iteration_training_type"))
    assert "training_type: text (one of Regular, Advanced); default Regular." in training
    assert "- id: iteration_training_type" in training and "training_type: Regular" in training
    assert "observes: training_account, project, latest_iteration" in training
    assert "  requires: project (when absent, the task that creates it is named)" in training


def test_lab_new_scaffolds_a_pack_that_lints_clean_with_fresh_step_ids(tmp_path):
    runner = CliRunner()
    first = runner.invoke(main, ["lab", "new", "gears-lab", "--dir", str(tmp_path)])
    assert first.exit_code == 0, first.output
    pack = load_pack(tmp_path / "gears-lab")
    assert pack.id == "gears-lab" and lint_pack(pack) == []
    again = runner.invoke(main, ["lab", "new", "gears-lab-2", "--dir", str(tmp_path)])
    ids = {s.id for s in pack.steps} | {s.id for s in load_pack(tmp_path / "gears-lab-2").steps}
    assert again.exit_code == 0 and len(ids) == 4
    assert all(re.fullmatch(r"[0-9a-f-]{36}", i) for i in ids)
    assert "yaml-language-server: $schema=file://" in (tmp_path / "gears-lab" / "lab.yaml").read_text()
    exists = runner.invoke(main, ["lab", "new", "gears-lab", "--dir", str(tmp_path)])
    assert exists.exit_code == 2 and "exists already" in exists.output
    bad = runner.invoke(main, ["lab", "new", "Gears Lab", "--dir", str(tmp_path)])
    assert bad.exit_code == 2 and "lower-case" in bad.output


def test_lab_list_names_the_built_in_packs():
    result = CliRunner().invoke(main, ["lab", "list"], env={"LABGRADER_PACK_DIRS": ""})
    assert result.exit_code == 0
    assert "spot-the-flaw" in result.stdout and str(BUILTIN_DIR) in result.stdout


def _creds(tmp_path):
    path = tmp_path / "creds.json"
    path.write_text(json.dumps({"tenant_id": "t", "client_id": "c", "client_secret": "s", "subscription_id": "x",
                                "resource_group": "rg", "region": "eastus"}))
    return str(path)


def test_unknown_lab_names_the_pack_folders_the_variable_and_the_known_packs(tmp_path):
    result = CliRunner().invoke(main, ["validate", "--lab", "no-such-lab", "--attendee", _creds(tmp_path),
                                       "--task", "1"], env={"LABGRADER_PACK_DIRS": str(tmp_path)})
    assert result.exit_code == 2
    text = " ".join(result.output.split())
    assert "no lab pack named 'no-such-lab'" in text and "LABGRADER_PACK_DIRS" in text
    assert "spot-the-flaw" in text and str(tmp_path) in text


def test_an_unknown_check_id_at_validate_time_is_exit_2_with_a_clear_message(tmp_path):
    root = tmp_path / "typo"
    shutil.copytree(BUILTIN_DIR / "spot-the-flaw", root)
    lab = root / "lab.yaml"
    lab.write_text(lab.read_text().replace("- id: iteration_exportable", "- id: iteration_exportible"))
    result = CliRunner().invoke(main, ["validate", "--lab", str(root), "--attendee", _creds(tmp_path), "--task", "1"])
    assert result.exit_code == 2, result.output
    text = " ".join(result.output.split())
    assert "runs check 'iteration_exportible'" in text and "Task 6" in text and "guide lint" in text
    assert "Traceback" not in result.output and result.exception is None or isinstance(result.exception, SystemExit)
