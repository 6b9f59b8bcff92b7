"""Background jobs through Redis (RQ): a web app submits, a worker in another app (as `labgrader worker`
builds it) runs the job in an app context. Real Redis at 127.0.0.1:6379, database 15."""

from __future__ import annotations

import socket

import pytest
import sqlalchemy as sa

from tests.conftest import redis_url, require
from webapp.cli import main
from webapp.extensions import db
from webapp.models import Attendee
from webapp.services import attendees, jobs

REDIS_URL = redis_url(15)
LAB = "spot-the-flaw"


def count_attendees(lab: str) -> int:
    """A job: needs an app context and the database."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(Attendee).filter_by(lab_id=lab))


def rename(attendee_id: int, name: str) -> str:
    """A job that writes."""
    who = db.session.get(Attendee, attendee_id)
    who.display_name = name
    db.session.commit()
    return who.external_id


def boom() -> None:
    raise RuntimeError("job failed")


def _redis_up() -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", 6379)) == 0


@pytest.fixture
def db_url(tmp_path):
    return f"sqlite:///{tmp_path / 'labgrader.sqlite3'}"


@pytest.fixture
def redis_db():
    require(_redis_up(), "Redis is not reachable at 127.0.0.1:6379")
    import redis

    conn = redis.Redis.from_url(REDIS_URL)
    conn.flushdb()
    yield conn
    conn.flushdb()
    conn.close()


@pytest.fixture
def web(make_app, db_url, redis_db):
    return make_app(DATABASE_URL=db_url, AUTO_MIGRATE=True, REDIS_URL=REDIS_URL)


@pytest.fixture
def worker_app(make_app, db_url, redis_db, web):
    """Another app on the same database and Redis: the worker process's."""
    return make_app(DATABASE_URL=db_url, REDIS_URL=REDIS_URL)


def _run_worker(app) -> None:
    """What `labgrader worker --burst` does: run every queued job, then return."""
    w = jobs.worker(app)
    try:
        assert w.work(burst=True)
    finally:
        w.connection.close()


def test_a_job_runs_in_the_worker_in_an_app_context(web, worker_app, sim):
    with web.app_context():
        ada = attendees.upsert(LAB, "ada", azure=sim.create_attendee("rq-ada"))
        counted = jobs.submit(count_attendees, LAB)
        renamed = jobs.submit(rename, ada.id, "Ada Lovelace")
        assert counted.get_status() == "queued" and renamed.get_status() == "queued"
        assert jobs.queue().count == 2
        assert web.extensions.get("labgrader.jobs") is None  # no thread pool started in the web process
    _run_worker(worker_app)
    counted.refresh(), renamed.refresh()
    assert counted.get_status() == "finished" and counted.return_value() == 1
    assert renamed.get_status() == "finished" and renamed.return_value() == "ada"
    with web.app_context():
        db.session.expire_all()
        assert attendees.get(LAB, "ada").display_name == "Ada Lovelace"


def test_a_failed_job_is_kept_as_failed_and_the_worker_goes_on(web, worker_app):
    with web.app_context():
        failed = jobs.submit(boom)
        after = jobs.submit(count_attendees, LAB)
    _run_worker(worker_app)
    failed.refresh(), after.refresh()
    assert failed.get_status() == "failed" and "job failed" in (failed.latest_result().exc_string or "")
    assert after.get_status() == "finished" and after.return_value() == 0


def test_without_redis_jobs_run_in_a_thread_pool(make_app, db_url):
    app = make_app(DATABASE_URL=db_url, AUTO_MIGRATE=True)
    with app.app_context():
        assert jobs.submit(count_attendees, LAB).result(timeout=10) == 0


def test_worker_command(web, sim):
    with web.app_context():
        attendees.upsert(LAB, "bob", azure=sim.create_attendee("rq-bob"))
        job = jobs.submit(count_attendees, LAB)
    result = web.test_cli_runner().invoke(main, ["worker", "--burst"])
    assert result.exit_code == 0, result.output
    job.refresh()
    assert job.get_status() == "finished" and job.return_value() == 1


def test_worker_command_needs_redis(make_app, db_url):
    app = make_app(DATABASE_URL=db_url, AUTO_MIGRATE=True)
    result = app.test_cli_runner().invoke(main, ["worker", "--burst"])
    assert result.exit_code == 1 and "LABGRADER_REDIS_URL is not set" in result.output


def test_the_validators_custom_vision_limit_is_shared_through_redis(make_app, db_url, redis_db):
    from validator.azure.ratelimit import RateLimiter, RedisRateLimiter
    from webapp.services import cache, observation

    shared = make_app(DATABASE_URL=db_url, AUTO_MIGRATE=True, REDIS_URL=REDIS_URL)
    with shared.app_context():
        runtime = observation.observation()
        assert isinstance(runtime.limiters.free, RedisRateLimiter)
        assert isinstance(runtime.limiters.standard, RedisRateLimiter)
        assert runtime.redis is cache.redis_client()  # the app's one Redis client
        assert runtime.caches.shared  # keys sealed with the app's encryption key
    alone = make_app(DATABASE_URL=db_url)
    with alone.app_context():
        assert isinstance(observation.observation().limiters.free, RateLimiter)
        assert not observation.observation().caches.shared
