"""Automatic checks in a deployment: two ``labgrader serve`` instances and one ``labgrader worker`` on one
PostgreSQL and one Redis. Every process tries to start the tick chain; one chain ticks, and each check that
falls due runs once."""

from __future__ import annotations

import secrets
import time

import pytest
import requests
from sqlalchemy import select

from tests.conftest import redis_url
from webapp.extensions import db
from webapp.models import Attempt, AutoCheckRun
from webapp.services import apikeys, attendees, autocheck, labs

from .conftest import TEST_SECRET_KEY
from .servers import clean_env, serve, start
from .test_instances import db_url, fresh_pg_url, redis_db  # noqa: F401 - PostgreSQL and Redis, as there

pytestmark = pytest.mark.slow

LAB = "spot-the-flaw"


def wait_for(condition, what: str, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"waited {seconds} s for {what}"
        time.sleep(0.2)


def test_two_instances_with_one_redis_run_each_automatic_check_once(app, db_url, redis_db, tmp_path, sim):  # noqa: F811
    with app.app_context():
        auth = {"Authorization": f"Bearer {apikeys.create('platform')[1]}"}
    env = clean_env(DATABASE_URL=db_url, SECRET_KEY=TEST_SECRET_KEY, REDIS_URL=redis_url(14),
                    ALLOW_CUSTOM_CLOUD="true", AUTO_CHECK_TICK_SECONDS="0.3", VALIDATE_BUDGET_SECONDS="10")
    running = []
    try:
        running.append(serve(env, tmp_path, "instance-a"))
        running.append(serve(env, tmp_path, "instance-b"))
        running.append(start(["worker", "--name", f"w-{secrets.token_hex(3)}"], env, tmp_path, "worker"))
        a, b, _ = running
        base = f"/api/v1/labs/{LAB}"
        # One check per attendee for the whole test: the schedule never falls due again.
        put = requests.put(f"{a.url}{base}/classes/Monday/auto-check", headers=auth, timeout=10,
                           json={"enabled": True, "every": 3600, "after_pending": 3600, "idle_after": 3600})
        assert put.status_code == 200, put.text
        creds = sim.create_attendee("auto-instances")
        made = requests.put(f"{b.url}{base}/attendees/ada", headers=auth, timeout=10,
                            json={"class": "Monday", "injects": creds["injects"],
                                  "azure": {k: v for k, v in creds.items() if k != "injects"}})
        assert made.status_code == 201, made.text
        pressed = requests.post(f"{a.url}{base}/attendees/ada/validations", json={"step": "1"}, headers=auth,
                                timeout=30)
        assert pressed.status_code == 200 and pressed.json()["status"] == "FAIL"

        with app.app_context():
            who = attendees.get(LAB, "ada").id
            steps = len(labs.pack(LAB).steps)

            def runs() -> list[AutoCheckRun]:
                db.session.rollback()
                return list(db.session.scalars(select(AutoCheckRun).filter_by(attendee_id=who)))

            wait_for(lambda: runs() and all(r.done for r in runs()), "the automatic check")

            def ticks() -> dict[bytes, int]:
                return {k: int(v) for k, v in redis_db.hgetall(autocheck.TICKS_KEY).items()}

            seen = sum(ticks().values())
            wait_for(lambda: sum(ticks().values()) >= seen + 5, "five more ticks")
            assert len(ticks()) == 1, ticks()  # one chain ticked, however many processes tried to start one
            assert len(runs()) == 1
            auto = list(db.session.scalars(select(Attempt.step_id).filter_by(attendee_id=who, trigger="auto")))
            assert len(auto) == steps == len(set(auto))  # every unfinished step validated, once
    finally:
        for process in running:
            process.stop()
        for process in running:
            if "Traceback" in process.output():
                print(process.output()[-3000:])
