"""``labgrader doctor``: check labgrader's Azure access for one attendee before class."""

from __future__ import annotations

import json
import sys

import click

_MARK = {"PASS": "PASS", "FAIL": "FAIL", "WARN": "WARN", "SKIP": "SKIP"}


@click.command("doctor")
@click.option("--attendee", "attendee_file", type=click.Path(exists=True, dir_okay=False),
              help="Credentials JSON of the attendee (as the lab platform or azuresim gives it). Required unless "
                   "--print-role.")
@click.option("--lab", "lab_name", default="spot-the-flaw", show_default=True, help="Lab pack name or folder.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--budget", type=float, default=45.0, show_default=True,
              help="Seconds the whole check may take, retries included.")
@click.option("--print-role", is_flag=True, help="Print the minimal custom role's JSON definition and exit.")
def doctor_command(attendee_file, lab_name, as_json, budget, print_role):
    """Prove that labgrader can grade this attendee's lab: sign-in, subscription, resource group, and every
    permission the lab's checks need, each with PASS/FAIL and the fix.

    Exit status: 0 when nothing failed (warnings allowed), 1 when something did, 2 on bad input.
    """
    from checks import grants
    from webapp.config import ConfigError
    from webapp.services.observation import for_command

    from .cli import lab_and_attendee
    from .doctor import run

    if print_role:
        click.echo(json.dumps(grants.MINIMAL_ROLE, indent=2))
        return
    if not attendee_file:
        raise click.UsageError("give --attendee FILE (or --print-role)")
    lab, attendee = lab_and_attendee(lab_name, attendee_file)
    try:
        with for_command() as runtime:  # with REDIS_URL, on the web service's F0 pace
            report = run(attendee, lab, budget_seconds=budget, runtime=runtime)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=2))
    else:
        width = max(len(i.title) for i in report.items)
        for item in report.items:
            click.echo(f"{_MARK[item.status]:<5} {item.title:<{width}}  {item.message}")
            if item.fix and item.status != "PASS":
                click.echo(f"{'':<5} {'':<{width}}  Fix: {item.fix}")
        click.echo(f"\n{report.status}: {report.summary()}")
    sys.exit(0 if report.ok else 1)
