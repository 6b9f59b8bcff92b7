"""The schema: migrations from empty on both backends, the refusal of an un-migrated database, and the
columns' behaviour (timezone-aware datetimes, constraints, cascades)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from webapp import SchemaError, ensure_migrated, schema_revisions, upgrade_database
from webapp.extensions import db
from webapp.models import Attempt, Attendee, Cohort, Lab, StepSummary


def test_auto_migrate_brings_an_empty_database_to_head(app):
    current, heads = schema_revisions()
    assert current == heads and heads
    tables = set(sa.inspect(db.engine).get_table_names())
    assert {"labs", "cohorts", "attendees", "attempts", "step_summaries", "api_keys", "proctors",
            "proctor_cohorts", "alembic_version"} <= tables


def test_unmigrated_database_is_refused_with_the_fix(make_app, tmp_path):
    url = f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    with pytest.raises(SchemaError, match=r"database is not migrated: .* Run `labgrader db upgrade`"):
        make_app(DATABASE_URL=url)
    app = make_app(DATABASE_URL=url, check_schema=False)
    with app.app_context():
        upgrade_database()
        ensure_migrated()
    make_app(DATABASE_URL=url)  # now it starts


def test_unmigrated_postgres_schema_is_refused_then_upgraded(make_app, pg_schema_url):
    import psycopg

    from tests.webapp.conftest import PG_URL, schema_url

    schema = "lg_empty_" + pg_schema_url.rsplit("lg_", 1)[1]
    with psycopg.connect(PG_URL.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        url = schema_url(PG_URL, schema)
        with pytest.raises(SchemaError, match="has no labgrader tables"):
            make_app(DATABASE_URL=url)
        app = make_app(DATABASE_URL=url, AUTO_MIGRATE=True)
        with app.app_context():
            ensure_migrated()
            assert "attendees" in sa.inspect(db.engine).get_table_names()
            db.engine.dispose()
    finally:
        with psycopg.connect(PG_URL.replace("+psycopg", ""), autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def test_sqlite_runs_in_wal_mode_with_foreign_keys(make_app, tmp_path):
    app = make_app(DATABASE_URL=f"sqlite:///{tmp_path / 'wal.sqlite3'}", AUTO_MIGRATE=True)
    with app.app_context(), db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def _attendee(lab_id="spot-the-flaw", external_id="a1") -> Attendee:
    if db.session.get(Lab, lab_id) is None:
        db.session.add(Lab(id=lab_id, title="t", version="1"))
    a = Attendee(lab_id=lab_id, external_id=external_id, display_name=external_id, injects={}, azure={})
    db.session.add(a)
    db.session.commit()
    return a


def test_datetimes_come_back_timezone_aware_utc(app):
    a = _attendee()
    db.session.expire_all()
    again = db.session.get(Attendee, a.id)
    assert again.created_at.tzinfo is not None
    assert again.created_at.utcoffset().total_seconds() == 0
    assert abs((datetime.now(UTC) - again.created_at).total_seconds()) < 60


def test_naive_datetimes_are_rejected(app):
    a = _attendee()
    db.session.add(Attempt(attendee_id=a.id, step_id="s", status="PASS", result={}, trigger="api",
                           started_at=datetime(2024, 1, 1)))
    with pytest.raises(Exception, match="naive datetime"):
        db.session.commit()
    db.session.rollback()


def test_external_id_is_unique_per_lab(app):
    _attendee(external_id="same")
    db.session.add(Attendee(lab_id="spot-the-flaw", external_id="same", injects={}, azure={}))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_cohort_name_is_unique_per_lab(app):
    db.session.add(Lab(id="spot-the-flaw", title="t", version="1"))
    db.session.add_all([Cohort(lab_id="spot-the-flaw", name="A"), Cohort(lab_id="spot-the-flaw", name="A")])
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_deleting_an_attendee_deletes_their_attempts_and_summaries(app):
    a = _attendee()
    now = datetime.now(UTC)
    db.session.add(Attempt(attendee_id=a.id, step_id="s", status="FAIL", result={}, trigger="api", started_at=now))
    db.session.add(StepSummary(attendee_id=a.id, step_id="s", status="FAIL", last_status="FAIL", first_attempt_at=now,
                               last_attempt_at=now, failing_checks=[]))
    db.session.commit()
    db.session.execute(sa.delete(Attendee).where(Attendee.id == a.id))
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Attempt)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(StepSummary)) == 0


def test_migrations_match_the_models(app):
    """A model change without its migration would make `labgrader db upgrade` build the wrong schema."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    with db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, db.metadata)
    assert diff == []
