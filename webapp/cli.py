"""The ``labgrader`` command line: one click group gathering each package's commands, each imported when run.

Only the commands that run on the web app (:data:`APP_COMMANDS`) import Flask: they find the app through Flask's
``ScriptInfo``, as under Flask's own ``FlaskGroup``, whose options (``--env-file``, ``--app``, ``--debug``) and
``FLASK_*`` variables this group keeps. ``labgrader validate`` never uses the app, and Flask alone was a fifth of
its start-up.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource


def _create_app():
    import logging

    from webapp import create_app

    # Let `db upgrade` say what it applied (the app leaves logging to the host otherwise).
    alembic = logging.getLogger("alembic")
    if not any(type(h) is not logging.NullHandler for h in alembic.handlers):
        alembic.addHandler(logging.StreamHandler())
        alembic.setLevel(logging.INFO)

    # The `db` commands must run on an un-migrated database; the others call _require_schema().
    return create_app(check_schema=False)


# Commands imported only when run (name -> module:attribute, and the line `labgrader --help` shows), so that
# `--help` and `validate` import nothing they do not use.
COMMANDS: dict[str, tuple[str, str]] = {
    "sim": ("azuresim.cli:sim", "azuresim: a loopback Azure for tests, demos and dry runs."),
    "guide": ("labguide.cli:guide", "Lab guides: lint a pack, render a guide, print lab.yaml's JSON Schema."),
    "lab": ("labguide.cli:lab", "Lab packs: list them, scaffold a new one."),
    "checks": ("validator.cli:checks_group", "The registered checks: what each observes and expects."),
    "validate": ("validator.cli:validate_command", "Validate one step, one task, or the whole lab for one attendee."),
    "doctor": ("validator.doctor_cli:doctor_command",
               "Prove that labgrader can grade this attendee's lab: sign-in, subscription, role, keys."),
    "demo": ("webapp.demo:demo_command", "Run labgrader on azuresim with a seeded class: no configuration."),
    "bench": ("validator.bench:bench_command",
              "Measure labgrader against azuresim: per step, whole lab, per-check scripts, start-up, memory."),
}

# The commands that run on the web app, given Flask's ScriptInfo. Those without a module are the app's own
# (Flask-Limiter's through its `flask.commands` entry point, flask-smorest's on app.cli): Flask's FlaskGroup
# finds them, building the app only for them.
APP_COMMANDS: dict[str, tuple[str | None, str]] = {
    "serve": ("webapp.app_cli:serve", "Serve the web app under gunicorn (refuses an un-migrated database)."),
    "proctor": ("webapp.app_cli:proctor", "Proctor accounts: who may watch which classes."),
    "attendee": ("webapp.app_cli:attendee", "Attendees: their launch links."),
    "worker": ("webapp.app_cli:worker", "Run background jobs from the Redis queue (needs LABGRADER_REDIS_URL); "
               "start one or more next to the web instances."),
    "api-key": ("webapp.app_cli:api_key", "Bearer keys for the platform API."),
    "config": ("webapp.app_cli:config_help",
               "List the configuration options (LABGRADER_* variables or instance/labgrader.toml)."),
    "db": ("flask_migrate.cli:db", "Perform database migrations."),
    "webhook": ("webapp.webhook_cli:webhook", "Webhook subscriptions of the platform API (list)."),
    "lti": ("webapp.lti.cli:lti", "LTI 1.3: register learning platforms (LMSs); rotate the tool's key."),
    "limiter": (None, "Flask-Limiter maintenance & utility commands"),
    "openapi": (None, "OpenAPI commands."),
}


class LazyGroup(click.Group):
    """A group whose commands are imported when run and whose help lists them from the tables above."""

    def make_context(self, info_name: str | None, args: list[str], parent: click.Context | None = None,
                     **extra: Any) -> click.Context:
        os.environ["FLASK_RUN_FROM_CLI"] = "true"  # as FlaskGroup: an app.run() outside a __main__ guard is a no-op
        return super().make_context(info_name, args, parent=parent, **extra)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(self.commands) | set(COMMANDS) | set(APP_COMMANDS))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:  # the app's commands (or none) find the app through Flask's ScriptInfo
            _script_info(ctx)
        if name in self.commands:
            return self.commands[name]
        target = (COMMANDS.get(name) or APP_COMMANDS.get(name) or (None, ""))[0]
        if target is None:  # the app's own commands, or none: Flask's group looks (and builds the app)
            from flask.cli import FlaskGroup

            return FlaskGroup(create_app=_create_app, add_default_commands=False).get_command(ctx, name)
        module, attr = target.split(":")
        command = getattr(importlib.import_module(module), attr)
        self.add_command(command, name)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        limit = formatter.width - 6 - max(len(n) for n in self.list_commands(ctx))
        rows = []
        for name in self.list_commands(ctx):
            command = self.commands.get(name)
            if command is not None and command.hidden:
                continue
            if command is None:  # not imported: the line click shows for a command with this help
                command = click.Command(name, help={**COMMANDS, **APP_COMMANDS}[name][1])
            rows.append((name, command.get_short_help_str(limit)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def _script_info(ctx: click.Context):
    """The ScriptInfo through which an app command builds the app (``with_appcontext``): Flask's CLI test runner
    gives its own; otherwise one for ``create_app``, made here so that the other commands never import Flask."""
    from flask.cli import ScriptInfo

    root = ctx.find_root()
    if not isinstance(root.obj, ScriptInfo):
        root.obj = ScriptInfo(app_import_path=root.meta.get(_APP_KEY), create_app=_create_app)
    return root.obj


def _require_schema() -> None:
    from webapp import SchemaError, ensure_migrated

    try:
        ensure_migrated()
    except SchemaError as exc:
        raise click.ClickException(str(exc)) from None


def _fail(exc: Exception) -> click.ClickException:
    return click.ClickException(str(exc))


# -- Flask's CLI options, kept without importing Flask -------------------------------------------------------

_APP_KEY = "labgrader.app_import_path"


def _load_env_files(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """Set variables not already set from the nearest ``.flaskenv``, then ``.env``, then ``--env-file``, later
    ones winning (what ``flask.cli.load_dotenv`` does; FLASK_SKIP_DOTENV=1 skips the first two). python-dotenv
    is imported only when there is a file to read."""
    defaults = os.environ.get("FLASK_SKIP_DOTENV", "").lower() in ("", "0", "false", "no")
    files = [f for f in (_nearest(".flaskenv"), _nearest(".env")) if f is not None] if defaults else []
    if value is not None and os.path.isfile(value):
        files.append(Path(value))
    if not files and value is None:
        return value
    try:
        import dotenv
    except ImportError:
        if value is not None:
            raise click.BadParameter("python-dotenv must be installed to load an env file.", ctx=ctx,
                                     param=param) from None
        if Path(".env").is_file() or Path(".flaskenv").is_file():
            click.secho(" * Tip: There are .env files present. Install python-dotenv to use them.", fg="yellow",
                        err=True)
        return value
    data: dict[str, str | None] = {}
    for path in files:
        data |= dotenv.dotenv_values(path, encoding="utf-8")
    for key, text in data.items():
        if key not in os.environ and text is not None:
            os.environ[key] = text
    return value


def _nearest(name: str) -> Path | None:
    """File ``name`` in the working directory or the closest folder above it (python-dotenv's find_dotenv)."""
    here = Path.cwd()
    return next((d / name for d in (here, *here.parents) if (d / name).is_file()), None)


def _keep_app(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is not None:
        ctx.meta[_APP_KEY] = value
    return value


def _set_debug(ctx: click.Context, param: click.Parameter, value: bool) -> bool | None:
    # Unless given, leave FLASK_DEBUG as the environment has it; the app reads it when built.
    if ctx.get_parameter_source(param.name) in (ParameterSource.DEFAULT, ParameterSource.DEFAULT_MAP):
        return None
    os.environ["FLASK_DEBUG"] = "1" if value else "0"
    return value


# Flask's own wording, as `labgrader --help` has always shown it. --env-file comes first: eager, so the variables
# are set before anything reads them.
_OPTIONS = (
    click.Option(["-e", "--env-file"], type=click.Path(exists=True, dir_okay=False), is_eager=True,
                 expose_value=False, callback=_load_env_files,
                 help="Load environment variables from this file, taking precedence over those set by '.env' and "
                      "'.flaskenv'. Variables set directly in the environment take highest precedence. "
                      "python-dotenv must be installed."),
    click.Option(["-A", "--app"], metavar="IMPORT", is_eager=True, expose_value=False, callback=_keep_app,
                 help="The Flask application or factory function to load, in the form 'module:name'. Module can be "
                      "a dotted import or file path. Name is not required if it is 'app', 'application', "
                      "'create_app', or 'make_app', and can be 'name(args)' to pass arguments."),
    click.Option(["--debug/--no-debug"], expose_value=False, callback=_set_debug, help="Set debug mode."),
)


@click.group(cls=LazyGroup, params=list(_OPTIONS), context_settings={"auto_envvar_prefix": "FLASK"})
def main() -> None:
    """labgrader: validate hands-on Azure labs task by task."""


if __name__ == "__main__":  # python -m webapp.cli
    main()
