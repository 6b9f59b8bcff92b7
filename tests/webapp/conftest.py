"""Fixtures for the web app: ``app`` on SQLite and on PostgreSQL, ``client``, ``runner``, ``lab_id``.

``db_url`` is parametrized over both backends, so every test using ``app`` runs on each. PostgreSQL is
at 127.0.0.1:5432 (database ``test``), or ``LABGRADER_TEST_PG_URL``; each test session works in a fresh
schema of its own, dropped at the end. Without PostgreSQL those runs skip (and fail under CI=true).
"""

from __future__ import annotations

import os
import secrets
import shutil
from pathlib import Path

import pytest
from flask import current_app

from tests.conftest import require
from webapp import create_app
from webapp.extensions import db

PG_URL = os.environ.get("LABGRADER_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
TEST_SECRET_KEY = "test-secret-key-not-for-production-0123456789"
LAB = "spot-the-flaw"


def _pg_error() -> str | None:
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed (pip install 'labgrader[postgres]')"
    try:
        with psycopg.connect(PG_URL.replace("+psycopg", ""), connect_timeout=2):
            return None
    except psycopg.Error as exc:
        return f"PostgreSQL at {PG_URL} is not reachable: {str(exc).strip().splitlines()[0]}"


@pytest.fixture(scope="session")
def pg_schema_url():
    """A URL whose search_path is a fresh schema, for this session only."""
    error = _pg_error()
    require(error is None, error or "")
    import psycopg

    url, schema = PG_URL, f"lg_{secrets.token_hex(4)}"
    plain = url.replace("+psycopg", "")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    yield schema_url(url, schema)
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def schema_url(url: str, schema: str) -> str:
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options=-csearch_path%3D{schema}"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """A SQLite database migrated to the newest revision once per test run (per xdist worker).

    Migrating takes about half a second; each SQLite test starts from a copy of this file instead, and
    the app's AUTO_MIGRATE then only confirms the revision.
    """
    folder = tmp_path_factory.mktemp("sqlite-template")
    path = folder / "labgrader.sqlite3"
    app = create_app({"INSTANCE_PATH": str(folder / "instance"), "SECRET_KEY": TEST_SECRET_KEY, "TESTING": True,
                      "DATABASE_URL": f"sqlite:///{path}", "AUTO_MIGRATE": True})
    with app.app_context():
        with db.engine.begin() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")  # everything in the main file
        db.engine.dispose()
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        copy = tmp_path / "labgrader.sqlite3"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), copy)
        return f"sqlite:///{copy}"
    return request.getfixturevalue("pg_schema_url")


@pytest.fixture
def clean_env(monkeypatch):
    """No LABGRADER_* variable of the developer's shell leaks into a test."""
    for key in list(os.environ):
        if key.startswith("LABGRADER_"):
            monkeypatch.delenv(key)


@pytest.fixture
def make_app(tmp_path, clean_env):
    """``make_app(**config)``: an app with a private instance folder and test defaults; cleaned up after."""
    made = []

    def make(check_schema: bool = True, **config):
        # The tests' Azure is azuresim, whose credentials carry its endpoints and CA.
        config = {"INSTANCE_PATH": str(tmp_path / "instance"), "SECRET_KEY": TEST_SECRET_KEY, "TESTING": True,
                  "ALLOW_CUSTOM_CLOUD": True, **config}
        app = create_app(config, check_schema=check_schema)
        made.append(app)
        return app

    yield make
    from webapp.services import jobs, observation

    for app in made:
        jobs.shutdown(app)
        observation.close(app)
        if app.extensions.get("labgrader.redis") is not None:
            app.extensions["labgrader.redis"].close()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def empty_database() -> None:
    """On PostgreSQL (one schema for the whole session), in an app context: every row of the app's tables
    deleted and their id sequences restarted, as a fresh database would be. On SQLite (a file per test),
    nothing. DELETE, children first: on a test's few rows it takes ~2 ms where TRUNCATE took ~60 ms."""
    from webapp.services import jobs

    jobs.shutdown(current_app)  # a job still running would write into the next test's rows
    db.session.rollback()  # its read locks would hold up the deletes
    if db.engine.dialect.name != "postgresql":
        return
    with db.engine.begin() as conn:
        for table in reversed(db.metadata.sorted_tables):
            conn.execute(table.delete())
        conn.exec_driver_sql("SELECT setval(s.oid, 1, false) FROM pg_class s JOIN pg_namespace n ON n.oid = "
                             "s.relnamespace WHERE s.relkind = 'S' AND n.nspname = current_schema()")


@pytest.fixture
def app(make_app, db_url):
    """A migrated app on ``db_url``; on PostgreSQL its rows are deleted after the test."""
    app = make_app(DATABASE_URL=db_url, AUTO_MIGRATE=True)
    with app.app_context():
        yield app
        empty_database()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def lab_id() -> str:
    return LAB
