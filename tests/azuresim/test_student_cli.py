"""`labgrader sim act`: the scripted student from the command line."""

from __future__ import annotations

import json

from webapp.cli import main


def test_act_performs_tasks_and_reports_mistakes(sim, attendee, tmp_path):
    from click.testing import CliRunner

    creds = tmp_path / "ada.json"
    creds.write_text(json.dumps(attendee))
    runner = CliRunner()
    listed = runner.invoke(main, ["sim", "act", "--attendee", str(creds), "--list"])
    assert listed.exit_code == 0 and "multilabel" in listed.output

    done = runner.invoke(main, ["sim", "act", "--attendee", str(creds), "1", "--mistake", "wrong-tier"])
    assert done.exit_code == 0, done.output
    assert "(S0)" in done.output

    bad = runner.invoke(main, ["sim", "act", "--attendee", str(creds), "2", "--mistake", "no-such-mistake"])
    assert bad.exit_code == 1 and "no mistake 'no-such-mistake'" in bad.output

    early = runner.invoke(main, ["sim", "act", "--attendee", str(creds), "5.1"])
    assert early.exit_code == 1 and "Task 2 first" in early.output


def test_act_does_the_object_detection_labs_tasks(sim, attendee, tmp_path):
    from click.testing import CliRunner

    creds = tmp_path / "grace.json"
    creds.write_text(json.dumps(attendee))
    runner = CliRunner()
    act = ["sim", "act", "--lab", "find-the-flaw", "--attendee", str(creds)]
    listed = runner.invoke(main, [*act, "--list"])
    assert listed.exit_code == 0 and "boxes-off" in listed.output and "multilabel" not in listed.output
    assert runner.invoke(main, [*act, "1"]).exit_code == 0
    made = runner.invoke(main, [*act, "2", "--mistake", "classification"])
    assert made.exit_code == 0 and "created project 'Casting Flaw Finder'" in made.output
    fixed = runner.invoke(main, [*act, "2"])
    assert fixed.exit_code == 0 and "deleted Classification project 'Casting Flaw Finder'" in fixed.output
    boxed = runner.invoke(main, [*act, "3", "--defect", "20", "--mistake", "too-few-regions"])
    assert boxed.exit_code == 0 and "drew 4 'Defect' boxes around the defect on 4 of 20" in boxed.output, boxed.output
    unknown = runner.invoke(main, [*act, "3.1"])
    assert unknown.exit_code == 1 and "unknown task '3.1'" in unknown.output
