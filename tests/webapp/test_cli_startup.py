"""`labgrader --help` and `labgrader validate` import only what they use: neither Flask nor the web app's database
stack (SQLAlchemy, Alembic, Flask-SQLAlchemy) nor, for --help, the Azure SDKs. Each runs in a fresh process. The
help lists each command with its own short help without importing it."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys

import click
import pytest

from webapp.cli import APP_COMMANDS

HEAVY = ("sqlalchemy", "alembic", "flask_sqlalchemy", "flask_migrate", "flask_smorest", "flask_limiter", "flask",
         "werkzeug", "jinja2")

PROBE = """
import sys
from webapp.cli import main
try:
    main.main(sys.argv[1:], prog_name="labgrader")
except SystemExit:
    pass
print("MODULES", sorted({m.split(".")[0] for m in sys.modules}))
"""


def _modules(*args: str) -> tuple[set[str], str]:
    done = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, timeout=120)
    line = next(x for x in done.stdout.splitlines() if x.startswith("MODULES "))
    return set(eval(line.split(" ", 1)[1])), done.stdout  # noqa: S307 - our own probe's printed list


def test_help_imports_neither_the_database_stack_nor_azure():
    modules, out = _modules("--help")
    assert "validate" in out and "serve" in out and "limiter" in out
    assert not modules & {*HEAVY, "azure", "msrest"}, sorted(modules & {*HEAVY, "azure", "msrest"})


def test_validate_imports_no_database_stack(sim, attendee, tmp_path):
    path = tmp_path / "attendee.json"
    path.write_text(json.dumps(attendee), encoding="utf-8")
    modules, out = _modules("validate", "--attendee", str(path), "--task", "1")
    assert "Task 1" in out and "FAIL" in out, out
    assert not modules & set(HEAVY), sorted(modules & set(HEAVY))


@pytest.mark.parametrize("name", sorted(n for n, (target, _) in APP_COMMANDS.items()
                                         if (target or "").startswith("webapp.app_cli:")))
def test_app_commands_help_line_is_their_own(name):
    """These commands were imported with the group and listed with their own short help: still so."""
    target, line = APP_COMMANDS[name]
    module, attr = target.split(":")
    command = getattr(importlib.import_module(module), attr)
    assert command.get_short_help_str(200) == click.Command(name, help=line).get_short_help_str(200)


def test_app_commands_still_run_without_flasks_test_runner(tmp_path):
    """`labgrader config` and `db current` build the app through the ScriptInfo the group makes when they run."""
    env = {"LABGRADER_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "LABGRADER_SECRET_KEY": "k" * 48}
    out = subprocess.run([sys.executable, "-m", "webapp.cli", "config", "--show-encryption-key"], capture_output=True,
                         text=True, timeout=120, env={**_environ(), **env})
    assert out.returncode == 0 and len(out.stdout.strip()) == 44, out.stdout + out.stderr
    db = subprocess.run([sys.executable, "-m", "webapp.cli", "db", "current"], capture_output=True, text=True,
                        timeout=120, env={**_environ(), **env})
    assert db.returncode == 0, db.stdout + db.stderr


def _environ() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith("LABGRADER_")}


def test_an_app_command_finds_the_app_again_once_imported(tmp_path):
    """The group keeps a command once imported; an app command run again still gets the ScriptInfo it needs."""
    from click.testing import CliRunner

    from webapp.cli import main

    env = {"LABGRADER_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "LABGRADER_SECRET_KEY": "k" * 48}
    for _ in range(2):
        result = CliRunner().invoke(main, ["config", "--show-encryption-key"], env=env)
        assert result.exit_code == 0 and len(result.stdout.strip()) == 44, result.output
