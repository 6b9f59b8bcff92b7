"""PostgreSQL specifics: the session's private schema, timestamptz round trips, and concurrent first
attempts on one step from several web threads (the summary row race)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from checks.outcome import Status
from webapp.extensions import db
from webapp.models import Attempt, StepSummary
from webapp.services import attendees, validation

from .test_services import STEP1, _result

SUB = "00000000-0000-0000-0000-000000000001"  # a well-formed subscription id


@pytest.fixture
def db_url(pg_schema_url):
    return pg_schema_url


def test_tables_live_in_the_sessions_own_schema(app, pg_schema_url):
    schema = db.session.execute(sa.text("SELECT current_schema()")).scalar()
    assert schema.startswith("lg_") and pg_schema_url.endswith(schema)
    assert db.engine.dialect.name == "postgresql"
    assert "attendees" in sa.inspect(db.engine).get_table_names(schema=schema)


def test_timestamps_are_stored_as_timestamptz_and_read_as_utc(app, lab_id):
    who = attendees.upsert(lab_id, "tz", azure={"subscription_id": SUB, "resource_group": "rg"})
    paris = timezone(timedelta(hours=2))
    at = datetime(2025, 5, 1, 14, 0, tzinfo=paris)
    result = _result(STEP1, "1", Status.FAIL, ("account_training_exists",), at=at)
    validation.record(who, result, result.to_json(), trigger="api", triggered_by=None)
    db.session.expire_all()
    stored = db.session.scalars(sa.select(Attempt)).one().started_at
    assert stored == at and stored.utcoffset() == timedelta(0) and stored.hour == 12
    kind = db.session.execute(sa.text(
        "SELECT data_type FROM information_schema.columns WHERE table_name='attempts' AND column_name='started_at'"
        " AND table_schema = current_schema()")).scalar()
    assert kind == "timestamp with time zone"


def test_concurrent_first_attempts_on_one_step_both_count(app, lab_id):
    who = attendees.upsert(lab_id, "racer", azure={"subscription_id": SUB, "resource_group": "rg"})
    who_id, n = who.id, 6
    barrier = threading.Barrier(n)
    errors: list[BaseException] = []

    def press() -> None:
        with app.app_context():
            try:
                me = db.session.get(type(who), who_id)
                result = _result(STEP1, "1", Status.FAIL, ("account_training_exists",),
                                 at=datetime.now(UTC))
                barrier.wait(timeout=10)
                validation.record(me, result, result.to_json(), trigger="student", triggered_by=None)
            except BaseException as exc:  # collected and asserted in the main thread
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=press) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert errors == []
    db.session.expire_all()
    summary = db.session.get(StepSummary, (who_id, STEP1))
    assert (summary.attempts, summary.fails, summary.consecutive_fails) == (n, n, n)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Attempt)) == n
