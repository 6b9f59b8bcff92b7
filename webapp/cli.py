"""The ``labgrader`` command line: one click group (Flask's CLI support) gathering each package's commands."""

from __future__ import annotations

import click
from flask.cli import FlaskGroup


def _create_app():
    from webapp import create_app

    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_default_commands=False, add_version_option=False)
def main() -> None:
    """labgrader: validate hands-on Azure labs task by task."""


def _register() -> None:
    from azuresim.cli import sim
    from labguide.cli import guide
    from validator.cli import validate_command

    main.add_command(sim)
    main.add_command(guide)
    main.add_command(validate_command)


_register()
