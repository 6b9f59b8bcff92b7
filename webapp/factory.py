"""The app factory behind ``webapp.create_app`` (imported on first use, so that ``labgrader`` commands that
need no app, such as ``--help`` and ``validate``, never import Flask's extensions, SQLAlchemy or Alembic)."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flask import Flask

from . import config as config_mod
from . import models  # noqa: F401 - registers the tables on db.metadata (migrations compare against it)
from .extensions import MIGRATIONS_DIR, db, migrate
from .lti import models as _lti_models  # noqa: F401 - the LTI tool's tables, likewise
from .services import standings as _standings  # noqa: F401 - keeps attendee standings current on every flush

log = logging.getLogger(__name__)

# Registered in this order when the module exists; a module may also define ``init_app(app)``.
BLUEPRINT_MODULES = ("webapp.health", "webapp.auth", "webapp.student", "webapp.proctor", "webapp.api",
                     "webapp.practice", "webapp.lti")


class SchemaError(RuntimeError):
    """The database schema is not at the migrations' head."""


def create_app(test_config: dict[str, Any] | None = None, *, check_schema: bool = True) -> Flask:
    """Build the app: configuration, database, blueprints.

    Raises :class:`SchemaError` when the database is not migrated (unless ``AUTO_MIGRATE``, which
    upgrades it) and ``check_schema`` is on; the ``labgrader db`` commands turn it off.
    """
    test_config = dict(test_config or {})
    # Tests and the demo keep their instance folder (generated secret key, SQLite file) out of the checkout.
    instance_path = test_config.pop("INSTANCE_PATH", None)
    app = Flask(__name__, instance_relative_config=True, instance_path=instance_path)
    config_mod.load(app, test_config)
    from .security import DatabaseId

    app.url_map.converters["int"] = DatabaseId  # before any route is added: every <int:...> is a bounded id
    from .accesslog import redact_logger

    redact_logger(app.logger)  # Flask logs an unhandled exception with the path: never a launch token
    if app.config["TRUSTED_PROXIES"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]

    db.init_app(app)
    migrate.init_app(app, db)
    with app.app_context():
        _tune_engine(db.engine)
        try:
            if app.config["AUTO_MIGRATE"]:
                upgrade_database()
            elif check_schema:
                ensure_migrated()
        except BaseException:
            db.engine.dispose()  # the app is not returned: close its connections now
            raise

    for name in BLUEPRINT_MODULES:
        module = _optional_module(name)
        if module is None:
            continue
        if hasattr(module, "init_app"):
            module.init_app(app)
        if hasattr(module, "bp"):
            app.register_blueprint(module.bp)

    from .services import jobs

    jobs.init_app(app)
    from .services import observation

    observation.init_app(app)
    if not app.testing:
        # Whatever WSGI server runs the app (gunicorn, `labgrader demo`, flask run, ...), its first request
        # starts this process's background threads; tests start them where they need them.
        app.before_request(lambda: start_background(app))
    return app


def start_background(app: Flask) -> None:
    """Start this process's background threads (each idempotent): the webhook outbox sweeper, which sends
    retries and events a crashed process left unsent, and its part in scheduling the automatic checks."""
    from .services import autocheck, webhooks

    webhooks.start_sweeper(app)
    autocheck.start_scheduler(app)


def _optional_module(name: str):
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name == name:  # the feature is not there (yet); an import error inside it is a bug
            return None
        raise


def _tune_engine(engine) -> None:
    """SQLite: WAL (readers never wait for the writer) with synchronous=NORMAL, foreign keys on, wait for a
    busy writer."""
    from sqlalchemy import event

    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn, _record) -> None:
        cur = dbapi_conn.cursor()
        if engine.url.database not in (None, "", ":memory:"):
            cur.execute("PRAGMA journal_mode=WAL")
            # WAL's recommended setting: a commit no longer waits for an fsync (one per Validate press), and
            # is still kept when the process dies; only an OS crash or power loss can undo the last ones.
            cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=10000")
        cur.close()


def schema_revisions() -> tuple[set[str], set[str]]:
    """(the database's alembic revisions, the migrations' heads), in an app context."""
    from alembic.config import Config
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", MIGRATIONS_DIR)
    heads = set(ScriptDirectory.from_config(cfg).get_heads())
    with db.engine.connect() as conn:
        current = set(MigrationContext.configure(conn).get_current_heads())
    return current, heads


def ensure_migrated() -> None:
    """Raise :class:`SchemaError` unless the database is at the migrations' head."""
    current, heads = schema_revisions()
    if current == heads:
        return
    url = db.engine.url.render_as_string(hide_password=True)
    if not current:
        state = "has no labgrader tables"
    elif current - heads:
        state = f"is at revision {', '.join(sorted(current))}, newer than this labgrader knows"
    else:
        state = f"is at revision {', '.join(sorted(current))}, not {', '.join(sorted(heads))}"
    raise SchemaError(f"database is not migrated: {url} {state}. Run `labgrader db upgrade`.")


def upgrade_database() -> None:
    """Apply every pending migration (``labgrader db upgrade`` does the same), holding the migration lock
    so processes starting together on a fresh database (``AUTO_MIGRATE``) migrate it once, one at a time."""
    from flask_migrate import upgrade

    with migration_lock():
        current, heads = schema_revisions()
        if current == heads:  # another process did it while this one waited
            return
        upgrade(directory=MIGRATIONS_DIR)


# pg_advisory_lock key: any constant bigint, the same in every labgrader process ("lgmigrat" in ASCII).
PG_MIGRATION_LOCK = 0x6C676D6967726174


@contextmanager
def migration_lock() -> Iterator[None]:
    """Exclusive across processes, in an app context: a PostgreSQL advisory lock (database-wide), or on
    SQLite an flock on ``<instance>/migrate.lock``. Blocks until the lock is free."""
    from flask import current_app

    engine = db.engine
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql(f"SELECT pg_advisory_lock({PG_MIGRATION_LOCK})")
            try:
                yield
            finally:
                conn.exec_driver_sql(f"SELECT pg_advisory_unlock({PG_MIGRATION_LOCK})")
    elif engine.dialect.name == "sqlite":
        import fcntl

        instance = Path(current_app.instance_path)
        instance.mkdir(parents=True, exist_ok=True)
        with (instance / "migrate.lock").open("a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)
    else:
        yield
