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
