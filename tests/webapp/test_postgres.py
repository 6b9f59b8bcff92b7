"""PostgreSQL specifics: the session's private schema, timestamptz round trips, and concurrent first
attempts on one step from several web threads (the summary row race)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from checks.outcome import Status
from webapp.extensions import db
from webapp.models import Attempt, Attendee, StepSummary
from webapp.services import attendees, validation

from .test_services import STEP1, _result

SUB = "00000000-0000-0000-0000-000000000001"  # a well-formed subscription id


@pytest.fixture
def db_url(pg_schema_url):
    return pg_schema_url


def _all_at_once(app, who_id: int, presses: list) -> None:
    """Run each press (a function of the attendee, as its thread's own session reads them) in a thread of its own
    with an app context, released together by a barrier; fails on any error a press raised."""
    barrier = threading.Barrier(len(presses))
    errors: list[BaseException] = []

    def run(press) -> None:
        with app.app_context():
            try:
                me = db.session.get(Attendee, who_id)
                barrier.wait(timeout=10)
                press(me)
            except BaseException as exc:  # collected and asserted in the main thread
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(p,)) for p in presses]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert errors == []
    db.session.expire_all()


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

    def press(me) -> None:
        result = _result(STEP1, "1", Status.FAIL, ("account_training_exists",), at=datetime.now(UTC))
        validation.record(me, result, result.to_json(), trigger="student", triggered_by=None)

    _all_at_once(app, who_id, [press] * n)
    summary = db.session.get(StepSummary, (who_id, STEP1))
    assert (summary.attempts, summary.fails, summary.consecutive_fails) == (n, n, n)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Attempt)) == n



STEP52, STEP6 = "7e1a8b3c-9d4f-4a0b-c8e2-4f6d8a0b2c55", "9f2b0c4d-ae5a-4b1c-d9f3-5a7e9b1c3d66"


@pytest.mark.parametrize("round_", range(3))
def test_attempts_on_several_steps_at_once_leave_the_standing_right(app, lab_id, round_):
    """Attempts on three steps of one attendee recorded together from several threads: the standing each
    leaves behind (worked out from all their summaries while holding the standing row) ends up as the
    attendee's own page works it out, and no record fails on the standing row."""
    from webapp.models import AttendeeStanding
    from webapp.services import progress

    from .test_class_paging import STEP4, STEP51, _on, _record

    t0 = datetime.now(UTC) - timedelta(minutes=10)
    who = attendees.upsert(lab_id, f"together-{round_}", azure={"subscription_id": SUB, "resource_group": "rg"})
    _record(who, STEP51, "5.1", Status.PASS, at=t0, observed=_on("it1"))
    who_id = who.id
    # Task 4 retrained (it2, the newest); 5.2 and 6 judged on it1 a minute before: out of date once 4 lands.
    presses = [(STEP4, "4", _on("it2"), t0 + timedelta(minutes=2)),
               (STEP52, "5.2", _on("it1"), t0 + timedelta(minutes=1)),
               (STEP6, "6", _on("it1"), t0 + timedelta(minutes=1))]
    _all_at_once(app, who_id, [
        lambda me, p=p: _record(me, p[0], p[1], Status.PASS, at=p[3], observed=p[2]) for p in presses])
    stale = sorted(s.step_id for s in progress.attendee(db.session.get(type(who), who_id)).steps if s.stale)
    assert stale == sorted([STEP51, STEP52, STEP6])
    assert db.session.get(AttendeeStanding, who_id).out_of_date == stale
