"""``labgrader guide ...``: lint a lab pack and render its guide for authors."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from labguide.packs import LabPack, PackError, credential_injects, load_pack


# Credentials-file fields that double as inject values when the file's "injects" object lacks them.
@click.group()
def guide() -> None:
    """Lab guides: lint a pack, render a guide."""


def _load(pack_or_guide: str) -> LabPack:
    try:
        return load_pack(pack_or_guide)
    except (PackError, OSError) as exc:
        raise click.ClickException(str(exc)) from exc


@guide.command()
@click.argument("pack_or_guide")
def lint(pack_or_guide: str) -> None:
    """Check a pack (name or folder) or a guide file: steps, injects, images and checks all agree.

    Prints one line per problem and exits 1 if there are any.
    """
    from labguide.lint import lint_pack

    pack = _load(pack_or_guide)
    problems = lint_pack(pack)
    for problem in problems:
        click.echo(problem)
    if problems:
        click.echo(f"{pack.id}: {len(problems)} problem(s)", err=True)
        sys.exit(1)
    click.echo(f"{pack.id}: OK ({len(pack.guide.tasks)} tasks, {len(pack.steps)} validation steps)")


def attendee_injects(credentials: dict) -> dict[str, str]:
    """Inject values from a credentials JSON: its ``injects`` object, plus region/resource_group if absent."""
    explicit = {str(k): str(v) for k, v in (credentials.get("injects") or {}).items() if v is not None}
    return {**credential_injects(credentials), **explicit}


@guide.command()
@click.argument("pack")
@click.option("--attendee", "attendee_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Credentials JSON of one attendee; its 'injects' object and region/resource_group fill injects.")
@click.option("--demo", is_flag=True, help="Fill injects the attendee file lacks with lab.yaml's demo defaults.")
@click.option("--show-secrets", is_flag=True,
              help="Write secret inject values in clear (only for a page you keep to yourself).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the page here instead of standard output.")
def render(pack: str, attendee_file: Path | None, demo: bool, show_secrets: bool, output: Path | None) -> None:
    """Render PACK's guide as a standalone HTML page for one attendee."""
    from labguide.render import render_page

    lab = _load(pack)
    injects: dict[str, str] = lab.demo_injects() if demo else {}
    if attendee_file is not None:
        try:
            credentials = json.loads(attendee_file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise click.ClickException(f"{attendee_file}: not a readable JSON file: {exc}") from exc
        if not isinstance(credentials, dict):
            raise click.ClickException(f"{attendee_file}: expected a JSON object")
        injects.update(attendee_injects(credentials))
    page = render_page(lab, injects, show_secrets=show_secrets)
    if output is None:
        click.echo(page)
    else:
        output.write_text(page, encoding="utf-8")
        click.echo(f"wrote {output}", err=True)


@guide.command()
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the schema here instead of standard output.")
def schema(output: Path | None) -> None:
    """Print the JSON Schema of lab.yaml, generated from the registered checks' declarations.

    Editors that speak the YAML language server validate and complete lab.yaml with it (README, "Writing a
    lab"); `labguide/lab.schema.json` in the package holds the same schema.
    """
    from labguide.schema import dumps

    text = dumps()
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}", err=True)


@click.group()
def lab() -> None:
    """Lab packs: list them, scaffold a new one."""


@lab.command("list")
def lab_list() -> None:
    """Every lab pack labgrader finds (built-in, then LABGRADER_PACK_DIRS), with its folder."""
    from labguide.packs import available_packs

    errors: list[PackError] = []
    for pack in available_packs(errors=errors):
        click.echo(f"{pack.id:<24} {len(pack.steps):>2} steps  {pack.root}")
    for exc in errors:
        click.echo(f"(not loaded) {exc}", err=True)


@lab.command("new")
@click.argument("name")
@click.option("--dir", "parent", type=click.Path(file_okay=False, path_type=Path), default=Path("."),
              show_default=True, help="Folder to create the pack in.")
def lab_new(name: str, parent: Path) -> None:
    """Scaffold lab pack NAME (guide.md and lab.yaml with fresh step ids) that lints clean.

    Try it with `labgrader guide lint PATH`, `labgrader sim act --lab PATH` and `labgrader validate --lab PATH`.
    """
    from labguide.scaffold import ScaffoldError, scaffold

    try:
        root = scaffold(name, parent)
    except ScaffoldError as exc:
        raise click.UsageError(str(exc)) from exc
    click.echo(f"created {root} (guide.md, lab.yaml, images/); next: labgrader guide lint {root}")
