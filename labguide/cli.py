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
