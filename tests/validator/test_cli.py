"""`labgrader validate`: the same StepResult as JSON or a table, with clear errors for bad input."""

from __future__ import annotations

import json

from click.testing import CliRunner

from webapp.cli import main


def _write(tmp_path, creds):
    path = tmp_path / "creds.json"
    path.write_text(json.dumps(creds))
    return str(path)


def test_json_output_lists_step_results(sim, attendee, student, small_lab, tmp_path):
    student.do("1")
    result = CliRunner().invoke(main, ["validate", "--attendee", _write(tmp_path, attendee), "--task", "1",
                                       "--lab", str(small_lab.root), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [r["task"] for r in data] == ["1"]
    assert data[0]["status"] == "PASS"
    assert {"step", "task", "status", "message", "hint", "checks", "azure_calls", "duration_ms"} <= set(data[0])
    assert attendee["client_secret"] not in result.output


def test_all_steps_table_and_exit_status(sim, attendee, student, small_lab, tmp_path):
    student.do("1")
    result = CliRunner().invoke(main, ["validate", "--attendee", _write(tmp_path, attendee), "--all",
                                       "--lab", str(small_lab.root)])
    assert result.exit_code == 1  # later tasks are not done
    lines = result.output.splitlines()
    assert any(line.startswith("Task 1") and "PASS" in line for line in lines)
    assert any(line.startswith("Task 2") and "FAIL" in line for line in lines)
    assert "Fix:" in result.output


def test_step_by_id_matches_task(sim, attendee, small_lab, tmp_path):
    step = small_lab.steps[0]
    result = CliRunner().invoke(main, ["validate", "--attendee", _write(tmp_path, attendee), "--step", step.id,
                                       "--lab", str(small_lab.root), "--json"])
    assert json.loads(result.output)[0]["step"] == step.id


def test_bad_input_is_a_clear_error(tmp_path, attendee):
    runner = CliRunner()
    path = _write(tmp_path, attendee)
    unknown = runner.invoke(main, ["validate", "--attendee", path, "--task", "9"])
    assert unknown.exit_code == 2 and "no validation step or task '9'" in unknown.output
    both = runner.invoke(main, ["validate", "--attendee", path, "--task", "1", "--all"])
    assert both.exit_code == 2 and "exactly one" in both.output
    broken = tmp_path / "broken.json"
    broken.write_text('{"subscription_id": 5}')
    bad = runner.invoke(main, ["validate", "--attendee", str(broken), "--task", "1"])
    assert bad.exit_code == 2 and "subscription_id" in bad.output


def test_table_prints_what_was_found_wrapped_to_the_terminal(sim, attendee, student, small_lab, tmp_path,
                                                              monkeypatch):
    student.do("1")
    args = ["validate", "--attendee", _write(tmp_path, attendee), "--all", "--lab", str(small_lab.root)]
    found = [r["found"] for r in json.loads(CliRunner().invoke(main, [*args, "--json"]).output)]
    assert any(found), "the lab's first steps say what was found"
    monkeypatch.setenv("COLUMNS", "72")
    table = CliRunner().invoke(main, args).output
    # Each step's sentences follow its own row, under "Found:", in full (only wrapped between words).
    blocks = table.split("\nTask ")
    assert len(blocks) == len(found)
    for block, sentences in zip(blocks, found, strict=True):
        assert ("Found:" in block) == bool(sentences)
        flat = " ".join(block.split())
        for sentence in sentences:
            assert f"- {' '.join(sentence.split())}" in flat
    bullets = [line for line in table.splitlines() if line.startswith(" " * 12)]
    assert bullets and all(len(line) <= 72 or len(line.split()) <= 2 for line in bullets)  # one unbreakable name
