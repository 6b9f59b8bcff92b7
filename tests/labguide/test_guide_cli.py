"""``labgrader guide lint`` and ``labgrader guide render`` through the real command group."""

from __future__ import annotations

import json

import click
from click.testing import CliRunner

from labguide.cli import attendee_injects
from webapp.cli import main


def test_guide_group_is_registered():
    ctx = click.Context(main)  # commands are imported when first asked for (webapp.cli.LAZY_COMMANDS)
    assert "guide" in main.list_commands(ctx)
    assert {"lint", "render"} <= set(main.get_command(ctx, "guide").commands)


def test_lint_broken_guide_exits_nonzero_with_one_line_per_problem(tmp_path):
    guide = tmp_path / "guide.md"
    guide.write_text("### Task 1: A\n\n![](images/none.png)\n\n<validation step=\"s\"/>\n<validation step=\"s\"/>\n")
    result = CliRunner().invoke(main, ["guide", "lint", str(guide)])
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "guide.md: no lab.yaml beside the guide, so its steps, injects and checks cannot be checked",
        "guide.md:3: image 'images/none.png' not found: expected images/none.png",
        "guide.md:6: validation step s appears again (first at line 5)",
    ]


def test_lint_unknown_pack_is_a_clear_error():
    result = CliRunner().invoke(main, ["guide", "lint", "no-such-pack"])
    assert result.exit_code == 1
    assert "no lab pack named 'no-such-pack'" in result.output


def test_render_writes_a_page_with_attendee_values(tmp_path):
    creds = {"tenant_id": "t", "client_id": "c", "client_secret": "never-shown", "subscription_id": "s",
             "resource_group": "ODL-rg-7", "region": "westeurope",
             "injects": {"DeploymentID": "777123", "AzureAdUserPassword": "P@ss-never-shown"}}
    attendee = tmp_path / "attendee.json"
    attendee.write_text(json.dumps(creds))
    out = tmp_path / "out.html"

    result = CliRunner().invoke(main, ["guide", "render", "spot-the-flaw", "--attendee", str(attendee), "-o", str(out)])
    assert result.exit_code == 0, result.output
    page = out.read_text()
    assert ">ODL-rg-7<" in page and ">westeurope<" in page and ">777123<" in page
    assert "never-shown" not in page
    # No e-mail in the file and no --demo: the page marks it instead of inventing one.
    assert "[AzureAdUserEmail: not provided]" in page


def test_render_demo_to_stdout():
    result = CliRunner().invoke(main, ["guide", "render", "spot-the-flaw", "--demo"])
    assert result.exit_code == 0
    assert ">student@example.com<" in result.stdout and "not provided]" not in result.stdout


def test_attendee_injects_prefers_explicit_injects():
    creds = {"region": "eastus", "resource_group": "rg1", "injects": {"Region": "westus", "X": None}}
    assert attendee_injects(creds) == {"Region": "westus", "ResourceGroup": "rg1"}
