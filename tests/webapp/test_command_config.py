"""Commands run outside the app (`labgrader validate`, `doctor`) read the configuration as the app does: the same
instance folder, LABGRADER_* variables, and the .env files and --env-file Flask's CLI loaded for every command."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from flask import Flask

from webapp import config


def test_instance_folder_is_the_apps(monkeypatch):
    assert str(config.default_instance_path()) == Flask("webapp.factory").instance_path  # a checkout
    # installed under the interpreter's prefix
    packages = os.path.dirname(os.path.dirname(config.__file__))
    monkeypatch.setattr(sys, "prefix", os.path.dirname(packages))
    assert str(config.default_instance_path()) == Flask("webapp.factory").instance_path


def _validate(tmp_path, attendee, *args: str) -> subprocess.CompletedProcess:
    path = tmp_path / "attendee.json"
    path.write_text(json.dumps(attendee), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LABGRADER_", "FLASK_"))}
    return subprocess.run([sys.executable, "-m", "webapp.cli", *args, "validate", "--attendee", str(path), "--task",
                           "1"], capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env)


def test_env_files_configure_validate(sim, attendee, tmp_path):
    (tmp_path / ".env").write_text("LABGRADER_STUCK_AFTER_FAILS=twenty\n", encoding="utf-8")
    done = _validate(tmp_path, attendee)
    assert done.returncode == 1 and "Error: LABGRADER_STUCK_AFTER_FAILS from environment" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr

    (tmp_path / ".env").unlink()
    (tmp_path / "prod.env").write_text("LABGRADER_REDIS_URL=\nLABGRADER_VALIDATE_RATE_LIMIT=often\n", encoding="utf-8")
    done = _validate(tmp_path, attendee, "--env-file", "prod.env")
    assert done.returncode == 1 and "LABGRADER_VALIDATE_RATE_LIMIT from environment" in done.stderr, done.stderr

    done = _validate(tmp_path, attendee)  # nothing configured: graded (Task 1 is not done: FAIL, exit 1)
    assert done.returncode == 1 and "Task 1" in done.stdout and "FAIL" in done.stdout, done.stdout + done.stderr
