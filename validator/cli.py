"""``labgrader validate``: validate steps for one attendee from the command line."""

from __future__ import annotations

import json
import shutil
import sys
import textwrap
from pathlib import Path

import click

from checks.outcome import Status


@click.command("validate")
@click.option("--attendee", "attendee_file", required=True, type=click.Path(exists=True, dir_okay=False),
              help="Credentials JSON of the attendee (as azuresim or the lab platform gives it), "
                   "optionally with an 'injects' object.")
@click.option("--step", "step", help="Validation step id (a UUID from the guide).")
@click.option("--task", "task", help="Task number, e.g. 1 or 3.1.")
@click.option("--all", "all_steps", is_flag=True, help="Validate every step of the lab, in order.")
@click.option("--lab", "lab_name", default="spot-the-flaw", show_default=True, help="Lab pack name or folder.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of StepResults.")
@click.option("--budget", type=float, default=20.0, show_default=True,
              help="Seconds one step may take at most, retries included.")
def validate_command(attendee_file, step, task, all_steps, lab_name, as_json, budget):
    """Validate one step, one task, or the whole lab for one attendee.

    Exit status: 0 when every step passed, 1 when any did not, 2 on bad input.
    """
    from webapp.config import ConfigError
    from webapp.services.observation import for_command

    from . import Options, UnknownStep, validate_many

    chosen = [x for x in (step, task, all_steps or None) if x]
    if len(chosen) != 1:
        raise click.UsageError("give exactly one of --step ID, --task N or --all")
    lab, attendee = lab_and_attendee(lab_name, attendee_file)
    options = Options(budget_seconds=budget)
    try:
        # The whole lab from one snapshot: each fact fetched once for every step that reads it. With REDIS_URL
        # configured, its Custom Vision calls keep to the F0 pace the web service's keep to.
        with for_command() as runtime:
            results = validate_many(attendee, None if all_steps else [step or task], lab, options, runtime=runtime)
    except UnknownStep as exc:
        raise click.BadParameter(str(exc), param_hint="--step/--task") from exc
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(json.dumps([r.to_json() for r in results], indent=2))
    else:
        _print_table(results)
    sys.exit(0 if all(r.status is Status.PASS for r in results) else 1)


INDENT = " " * 10  # under the task number, beside which the table's first line starts
FOUND_WIDTH = (60, 100)  # the found sentences wrap to the terminal, kept within these columns


def _print_table(results) -> None:
    width = max(len(r.title) for r in results)
    columns = min(max(shutil.get_terminal_size((FOUND_WIDTH[1], 24)).columns, FOUND_WIDTH[0]), FOUND_WIDTH[1])
    for r in results:
        click.echo(f"Task {r.task:<4} {r.title:<{width}}  {r.status.value:<7} "
                   f"{r.duration_ms:>5} ms  {r.azure_calls:>2} calls")
        click.echo(f"{INDENT}{r.message}")
        if r.hint and r.status is not Status.PASS:
            click.echo(f"          Fix: {r.hint}")
        if r.recheck_after:
            click.echo(f"          Still in progress: run this command again in {r.recheck_after} seconds.")
        for note in r.advice:
            click.echo(f"          Note: {note}")
        if r.found:
            click.echo(f"{INDENT}Found:")
            for sentence in r.found:
                click.echo(_bullet(sentence, columns))


def _bullet(sentence: str, columns: int) -> str:
    """One found sentence as a wrapped bullet; names and paths are never split (a copied name still works)."""
    return textwrap.fill(sentence, columns, initial_indent=f"{INDENT}  - ", subsequent_indent=f"{INDENT}    ",
                         break_long_words=False, break_on_hyphens=False)


def lab_and_attendee(lab_name: str, attendee_file: str):
    """The lab pack and the attendee of a credentials JSON file; click's BadParameter naming the bad option."""
    from checks import registry
    from labguide.packs import PackError, load_pack

    from . import Attendee
    from .azure.cloud import CredentialsError

    try:
        lab = load_pack(lab_name)
    except (PackError, FileNotFoundError, KeyError) as exc:
        raise click.BadParameter(str(exc), param_hint="--lab") from exc
    known = set(registry.all_ids())
    unknown = [(s, c.id) for s in lab.steps for c in s.checks if c.id not in known]
    if unknown:
        step, cid = unknown[0]
        raise click.BadParameter(
            f"lab pack '{lab.id}' runs check '{cid}' (step {step.id}, Task {step.task}), which is not a registered "
            f"check. `labgrader guide lint {lab_name}` lists every problem of the pack; `labgrader checks list` "
            "shows the checks there are.", param_hint="--lab")
    try:
        data = json.loads(Path(attendee_file).read_text(encoding="utf-8"))
        return lab, Attendee.from_json(data, lab)
    except (OSError, json.JSONDecodeError, CredentialsError, ValueError) as exc:
        raise click.BadParameter(str(exc), param_hint="--attendee") from exc


@click.group("checks")
def checks_group() -> None:
    """The registered checks: what each observes and expects."""


@checks_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the catalogue as JSON.")
def checks_list(as_json: bool) -> None:
    """Every registered check: the facts it observes, its expectation keys (type, default) and an example."""
    from checks.catalogue import as_text, catalogue, declaration_problems

    broken = declaration_problems()
    if broken:  # its example or default would be shown as a value lab.yaml may use
        raise click.ClickException("; ".join(broken))
    entries = catalogue()
    click.echo(json.dumps(entries, indent=2) if as_json else as_text(entries), nl=as_json)
