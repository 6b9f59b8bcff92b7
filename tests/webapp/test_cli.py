"""The process surface: configuration sources, the `labgrader` commands, `serve` under gunicorn, and
`/healthz` + `/readyz`."""

from __future__ import annotations

import http.client
import os
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.conftest import redis_url, require
from webapp.cli import main
from webapp.config import ConfigError, derive_encryption_key
from webapp.extensions import db
from webapp.models import ApiKey
from webapp.services import apikeys, proctors

from .conftest import TEST_SECRET_KEY


@pytest.fixture
def db_url(tmp_path):
    """The CLI is backend-neutral; SQLite keeps these tests fast (services run on both backends)."""
    return f"sqlite:///{tmp_path / 'labgrader.sqlite3'}"


# -- configuration -----------------------------------------------------------------------------------------


def test_environment_instance_file_and_create_app_precedence(make_app, tmp_path, monkeypatch, db_url):
    instance = tmp_path / "instance"
    instance.mkdir()
    (instance / "labgrader.toml").write_text('stuck_after_fails = 7\nvalidate_rate_limit = "2 per minute"\n'
                                             'base_url = "https://from-file"\n')
    monkeypatch.setenv("LABGRADER_STUCK_AFTER_FAILS", "9")
    monkeypatch.setenv("LABGRADER_AUTO_MIGRATE", "yes")
    monkeypatch.setenv("LABGRADER_PACK_DIRS", os.pathsep.join(["/a", "/b"]))
    app = make_app(DATABASE_URL=db_url, BASE_URL="https://from-test")
    assert app.config["STUCK_AFTER_FAILS"] == 9  # environment beats the file
    assert app.config["VALIDATE_RATE_LIMIT"] == "2 per minute"  # the file beats the default
    assert app.config["BASE_URL"] == "https://from-test"  # create_app beats both
    assert app.config["AUTO_MIGRATE"] is True
    assert app.config["PACK_DIRS"] == ["/a", "/b"]
    assert app.config["LAUNCH_LINK_MAX_AGE"] == 7 * 24 * 3600


def test_bad_value_names_the_variable(make_app, monkeypatch, db_url):
    monkeypatch.setenv("LABGRADER_STUCK_AFTER_MINUTES", "twenty")
    with pytest.raises(ConfigError, match="LABGRADER_STUCK_AFTER_MINUTES from environment"):
        make_app(DATABASE_URL=db_url, AUTO_MIGRATE=True)


def test_secret_key_is_generated_once_and_kept_private(make_app, tmp_path, db_url):
    first = make_app(DATABASE_URL=db_url, AUTO_MIGRATE=True, SECRET_KEY=None)
    second = make_app(DATABASE_URL=db_url, SECRET_KEY=None)
    key_file = tmp_path / "instance" / "secret_key"
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"] != TEST_SECRET_KEY
    assert len(first.config["SECRET_KEY"]) >= 40
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert first.config["ENCRYPTION_KEY"] == derive_encryption_key(first.config["SECRET_KEY"])


def test_default_database_is_sqlite_in_the_instance_folder(make_app, tmp_path):
    app = make_app(AUTO_MIGRATE=True)
    assert app.config["DATABASE_URL"] == f"sqlite:///{tmp_path / 'instance' / 'labgrader.sqlite3'}"
    assert (tmp_path / "instance" / "labgrader.sqlite3").is_file()


def test_encryption_key_derivation_depends_on_the_secret():
    assert derive_encryption_key("a" * 40) == derive_encryption_key("a" * 40) != derive_encryption_key("b" * 40)


# -- commands ----------------------------------------------------------------------------------------------


def test_db_upgrade_migrates_an_empty_database(make_app, tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    app = make_app(DATABASE_URL=url, check_schema=False)
    runner = app.test_cli_runner()
    refused = runner.invoke(main, ["api-key", "list"])
    assert refused.exit_code == 1 and "Run `labgrader db upgrade`" in refused.output
    assert runner.invoke(main, ["db", "upgrade"]).exit_code == 0
    assert runner.invoke(main, ["api-key", "list"]).exit_code == 0


def test_api_key_commands(runner, app):
    created = runner.invoke(main, ["api-key", "create", "platform"])
    assert created.exit_code == 0, created.output
    plaintext = created.stdout.strip()
    assert apikeys.verify(plaintext).name == "platform"
    assert "cannot be shown again" in created.stderr
    listed = runner.invoke(main, ["api-key", "list"])
    assert "platform" in listed.output and "active" in listed.output and plaintext not in listed.output
    assert db.session.scalar(db.select(ApiKey)).key_hash not in listed.output
    duplicate = runner.invoke(main, ["api-key", "create", "platform"])
    assert duplicate.exit_code == 1 and "already exists" in duplicate.output
    revoked = runner.invoke(main, ["api-key", "revoke", "platform"])
    assert revoked.exit_code == 0 and "revoked" in revoked.output
    assert apikeys.verify(plaintext) is None
    assert "revoked" in runner.invoke(main, ["api-key", "list"]).output
    missing = runner.invoke(main, ["api-key", "revoke", "nope"])
    assert missing.exit_code == 1 and "no API key named 'nope'" in missing.output


def test_proctor_commands(runner, app, lab_id):
    added = runner.invoke(main, ["proctor", "add", "grace@example.com", "--password-stdin"],
                          input="correct horse battery\n")
    assert added.exit_code == 0, added.output
    assert proctors.authenticate("grace@example.com", "correct horse battery") is not None
    prompted = runner.invoke(main, ["proctor", "add", "alan@example.com", "--admin"],
                             input="enigma machine 1\nenigma machine 1\n")
    assert prompted.exit_code == 0 and "(admin)" in prompted.output
    assert "enigma machine 1" not in prompted.output
    short = runner.invoke(main, ["proctor", "add", "x@example.com", "--password-stdin"], input="short\n")
    assert short.exit_code == 1 and "at least" in short.output
    granted = runner.invoke(main, ["proctor", "grant", "grace@example.com", lab_id, "Monday AM"])
    assert granted.exit_code == 0 and "Monday AM" in granted.output
    listed = runner.invoke(main, ["proctor", "list"]).output
    assert f"grace@example.com\t{lab_id}/Monday AM" in listed and "alan@example.com\tall classes" in listed
    bad_lab = runner.invoke(main, ["proctor", "grant", "grace@example.com", "no-such-lab", "X"])
    assert bad_lab.exit_code == 1 and "no lab pack" in bad_lab.output


def test_config_command_lists_every_option(runner):
    out = runner.invoke(main, ["config"]).output
    for name in ("SECRET_KEY", "ENCRYPTION_KEY", "DATABASE_URL", "REDIS_URL", "STUCK_AFTER_FAILS", "AUTO_MIGRATE"):
        assert f"LABGRADER_{name}" in out


# -- health ------------------------------------------------------------------------------------------------


def test_healthz_and_readyz(client):
    assert client.get("/healthz").json == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json == {"status": "ok", "checks": {"database": "ok"}}


def test_readyz_says_not_migrated(make_app, tmp_path):
    app = make_app(DATABASE_URL=f"sqlite:///{tmp_path / 'empty.sqlite3'}", check_schema=False)
    ready = app.test_client().get("/readyz")
    assert ready.status_code == 503 and ready.json["checks"]["database"] == "not migrated"


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_readyz_checks_redis(make_app, db_url):
    require(_port_open(6379), "Redis is not reachable at 127.0.0.1:6379")
    app = make_app(DATABASE_URL=db_url, AUTO_MIGRATE=True, REDIS_URL=redis_url(15))
    ready = app.test_client().get("/readyz")
    assert ready.status_code == 200 and ready.json["checks"]["redis"] == "ok"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    down = make_app(DATABASE_URL=db_url, REDIS_URL=f"redis://127.0.0.1:{closed}/0")
    ready = down.test_client().get("/readyz")
    assert ready.status_code == 503 and ready.json["checks"]["redis"].startswith("unreachable")


# -- serve -------------------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(tmp_path: Path, db_file: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LABGRADER_")}
    env.update(LABGRADER_DATABASE_URL=f"sqlite:///{db_file}", LABGRADER_SECRET_KEY=TEST_SECRET_KEY)
    port = _free_port()
    cmd = [sys.executable, "-m", "webapp.cli", "serve", "--port", str(port), "--workers", "1", "--threads", "2"]
    proc = subprocess.Popen(cmd, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    proc.port = port  # type: ignore[attr-defined]
    return proc


def test_serve_refuses_an_unmigrated_database(tmp_path):
    proc = _serve(tmp_path, tmp_path / "empty.sqlite3")
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert "database is not migrated" in out and "labgrader db upgrade" in out


def test_serve_answers_health_checks(make_app, tmp_path):
    db_file = tmp_path / "served.sqlite3"
    make_app(DATABASE_URL=f"sqlite:///{db_file}", AUTO_MIGRATE=True)
    proc = _serve(tmp_path, db_file)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                answer = requests.get(f"http://127.0.0.1:{proc.port}/readyz", timeout=2)
                break
            except (requests.ConnectionError, requests.Timeout):  # gunicorn listens before its worker is ready
                assert proc.poll() is None, proc.stdout.read()
                assert time.monotonic() < deadline, "gunicorn did not start within 30 s"
                time.sleep(0.2)
        assert answer.status_code == 200 and answer.json()["checks"]["database"] == "ok"
        # An idle client connection outlives gunicorn's 2 s default: a platform pressing every few seconds keeps it.
        conn = http.client.HTTPConnection("127.0.0.1", proc.port, timeout=10)
        try:
            for pause in (0, 3):
                time.sleep(pause)
                conn.request("GET", "/healthz")
                assert conn.getresponse().read() and conn.sock is not None
        finally:
            conn.close()
    finally:
        proc.terminate()
        proc.communicate(timeout=30)
