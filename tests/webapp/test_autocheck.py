"""Automatic checks through HTTP: a class turned on through the platform API, a scripted student doing the lab
against azuresim, and the grid following without a press. Waits are bounded and wait for a state, never a
duration."""

from __future__ import annotations

import json
import time
from urllib.parse import urlsplit

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from webapp.cli import main
from webapp.extensions import db
from webapp.models import Attempt, Attendee, AutoCheck, AutoCheckRun, WebhookEvent
from webapp.services import apikeys, autocheck, jobs, webhooks

from .conftest import empty_database

LAB = "spot-the-flaw"
STEP1 = "d59e98f0-5614-4e26-b82c-18374ffffb6c"
QUICK = {"enabled": True, "every": 0.2, "after_pending": 0.2, "idle_after": 600}


@pytest.fixture
def auto_app(make_app, db_url):
    app = make_app(DATABASE_URL=db_url, AUTO_MIGRATE=True, AUTO_CHECK_TICK_SECONDS=0.1,
                   WEBHOOK_ALLOW_PRIVATE_TARGETS=True, STUCK_AFTER_FAILS=2)
    with app.app_context():
        yield app
        autocheck.stop_scheduler(app)
        empty_database()


class Api:
    def __init__(self, client, key: str) -> None:
        self.client, self.headers = client, {"Authorization": f"Bearer {key}"}

    def __call__(self, method: str, path: str, body: dict | None = None):
        return self.client.open("/api/v1" + path, method=method, headers=self.headers, json=body)


@pytest.fixture
def api(auto_app):
    return Api(auto_app.test_client(), apikeys.create("platform")[1])


def _class(api, setting: dict, cohort: str = "Monday") -> dict:
    r = api("PUT", f"/labs/{LAB}/classes/{cohort}/auto-check", setting)
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def _attendee(api, name: str, azure: dict, cohort: str = "Monday") -> str:
    r = api("PUT", f"/labs/{LAB}/attendees/{name}", {"class": cohort, "azure": azure})
    assert r.status_code in (200, 201), r.get_json()
    return f"/labs/{LAB}/attendees/{name}"


def _press(api, url: str, step: str = "1") -> dict:
    r = api("POST", url + "/validations", {"step": step})
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def _progress(api, url: str) -> dict:
    r = api("GET", url + "/progress")
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def _auto_attempts(name: str, step: str | None = None) -> list[Attempt]:
    db.session.rollback()
    query = (select(Attempt).join(Attendee, Attendee.id == Attempt.attendee_id)
             .where(Attendee.external_id == name, Attempt.trigger == "auto"))
    if step:
        query = query.where(Attempt.step_id == step)
    return list(db.session.scalars(query.order_by(Attempt.id)))


def _runs(name: str) -> list[AutoCheckRun]:
    db.session.rollback()
    return list(db.session.scalars(select(AutoCheckRun).join(Attendee, Attendee.id == AutoCheckRun.attendee_id)
                                   .where(Attendee.external_id == name).order_by(AutoCheckRun.id)))


def wait_for(condition, what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"waited {seconds} s for {what}"
        time.sleep(0.1)


def test_class_setting_through_the_api_and_its_errors(api):
    shown = api("GET", f"/labs/{LAB}/classes/Nobody/auto-check")
    assert shown.status_code == 404
    out = _class(api, {"enabled": True, "every": 120, "calls_per_minute": 50})
    assert out["setting"] == {"enabled": True, "every": 120, "calls_per_minute": 50}
    assert out["effective"] == {"every": 120.0, "after_pending": 60.0, "idle_after": 1800.0, "calls_per_minute": 50}
    assert api("GET", f"/labs/{LAB}/classes/Monday/auto-check").get_json() == out
    bad = api("PUT", f"/labs/{LAB}/classes/Monday/auto-check", {"enabled": True, "every": -3})
    assert bad.status_code == 422 and bad.get_json()["error"]["field"] == "every", bad.get_json()
    assert bad.get_json()["error"]["message"] == "every: must be a positive number of seconds, not -3"
    bad = api("PUT", f"/labs/{LAB}/classes/Monday/auto-check", {"every_minute": 3})
    assert bad.status_code == 400 and bad.get_json()["error"]["field"] == "every_minute", bad.get_json()
    # Spot the Flaw's lab.yaml does not turn the checks on: a class that follows the lab has none.
    assert _class(api, {})["effective"] is None
    assert _class(api, {"enabled": False})["effective"] is None


def test_automatic_checks_move_fail_to_pass_after_sim_act_with_no_press(api, auto_app, attendee, tmp_path):
    _class(api, QUICK)
    r = api("PUT", f"/labs/{LAB}/attendees/ada", {"class": "Monday", "azure": attendee})
    assert r.status_code == 201
    url = f"/labs/{LAB}/attendees/ada"
    student = auto_app.test_client()
    assert student.get(urlsplit(r.get_json()["launch_url"]).path).status_code == 303
    assert student.get("/lab").status_code == 200  # opening the guide makes the student active: no press
    autocheck.start_scheduler(auto_app)
    wait_for(lambda: _auto_attempts("ada", STEP1), "a first automatic check")
    assert _progress(api, url)["steps"][STEP1]["status"] == "FAIL"

    creds = tmp_path / "ada.json"
    creds.write_text(json.dumps(attendee))
    done = CliRunner().invoke(main, ["sim", "act", "--attendee", str(creds), "1"])
    assert done.exit_code == 0, done.output

    wait_for(lambda: _progress(api, url)["steps"][STEP1]["status"] == "PASS", "Task 1 to pass with no press")
    assert _progress(api, url)["steps"][STEP1]["attempts"] == 0  # the automatic checks are not the student's
    assert _auto_attempts("ada", STEP1)[-1].status == "PASS"
    page = student.get("/lab").get_data(as_text=True)
    assert "Your attempts at Task 1 (0; automatic checks listed too)" in page and "automatic check:" in page


def test_automatic_fails_never_make_an_attendee_stuck(api, auto_app, attendee):
    sub, _ = webhooks.create("http://127.0.0.1:9/hooks", [webhooks.ATTENDEE_STUCK])
    _class(api, QUICK)
    url = _attendee(api, "bob", attendee)
    _press(api, url)  # one FAIL of the student's (STUCK_AFTER_FAILS is 2)
    autocheck.start_scheduler(auto_app)
    wait_for(lambda: len(_auto_attempts("bob", STEP1)) >= 3, "three automatic FAILs")
    assert {a.status for a in _auto_attempts("bob", STEP1)} == {"FAIL"}

    def stuck() -> list[dict]:
        steps = api("GET", f"/labs/{LAB}/progress?class=Monday").get_json()["steps"]
        return [who for step in steps for who in step["stuck"]]

    def stuck_events() -> int:
        db.session.rollback()
        return db.session.scalar(select(func.count()).select_from(WebhookEvent)
                                 .filter_by(subscription_id=sub.id, type=webhooks.ATTENDEE_STUCK))

    assert stuck() == [] and stuck_events() == 0
    assert _progress(api, url)["steps"][STEP1]["attempts"] == 1
    _press(api, url)  # the student's second FAIL in a row: now they are stuck, and the event says so once
    assert [s["attendee"] for s in stuck()] == ["bob"]
    assert stuck_events() == 1
    wait_for(lambda: len(_auto_attempts("bob", STEP1)) >= 6, "more automatic FAILs")
    assert stuck_events() == 1


def test_idle_and_never_active_attendees_are_not_checked(api, auto_app, sim):
    _class(api, QUICK)
    active = _attendee(api, "cat", sim.create_attendee("auto-cat"))
    _attendee(api, "dan", sim.create_attendee("auto-dan"))  # never opened the guide, never validated
    idle = _attendee(api, "eve", sim.create_attendee("auto-eve"))
    _press(api, active)
    _press(api, idle)
    # Seen an hour ago: idle in Monday (idle after 10 minutes), still active in Tuesday (idle after 2 hours).
    _class(api, {**QUICK, "idle_after": 7200}, cohort="Tuesday")
    _press(api, _attendee(api, "fox", sim.create_attendee("auto-fox"), cohort="Tuesday"))
    for name in ("eve", "fox"):
        who = db.session.scalar(select(Attendee).filter_by(external_id=name))
        db.session.get(AutoCheck, who.id).last_seen_at = autocheck.utcnow() - autocheck.timedelta(hours=1)
    db.session.commit()
    autocheck.start_scheduler(auto_app)
    wait_for(lambda: len(_runs("cat")) >= 3 and _runs("fox"), "three checks of the active attendee")
    assert _runs("dan") == [] and _runs("eve") == []
    assert _auto_attempts("dan") == [] and _auto_attempts("eve") == []


def test_failing_credentials_are_skipped_until_they_change(api, auto_app, sim):
    _class(api, QUICK)
    witness = _attendee(api, "fay", sim.create_attendee("auto-fay"))
    good = sim.create_attendee("auto-gus")
    url = _attendee(api, "gus", {**good, "client_secret": "not-the-secret"})
    _press(api, witness)
    assert _press(api, url)["status"] == "ERROR"
    autocheck.start_scheduler(auto_app)
    wait_for(lambda: len(_runs("gus")) >= 1 and _runs("gus")[0].done, "the check that finds the credentials fail")
    wait_for(lambda: len(_runs("fay")) >= 4, "more checks of the other attendee")
    assert len(_runs("gus")) == 1
    gus = db.session.scalar(select(Attendee).filter_by(external_id="gus"))
    assert db.session.get(AutoCheck, gus.id).blocked_reason == "Azure rejected the credentials"

    _attendee(api, "gus", good)  # the platform sends working credentials
    wait_for(lambda: len(_runs("gus")) >= 2 and _runs("gus")[1].done, "a check with the new credentials")
    assert any(a.status != "ERROR" for a in _auto_attempts("gus"))
    assert db.session.get(AutoCheck, gus.id).blocked_on is None


def test_the_per_class_ceiling_of_calls_per_minute_holds(api, auto_app, sim):
    ceiling = 30
    _class(api, {"enabled": False})
    urls = [_attendee(api, f"c{i}", sim.create_attendee(f"auto-ceiling-{i}")) for i in range(4)]
    for url in urls:
        _press(api, url)  # active
    sim.clear_calls()
    _class(api, {**QUICK, "every": 0.01, "calls_per_minute": ceiling})

    # Ticks driven by hand, each after the checks it started have ended, until a whole tick is turned away.
    started = deferred = 0
    for _ in range(200):
        report = autocheck.tick()
        started += report.started
        deferred += report.deferred
        wait_for(lambda: all(r.done for n in range(4) for r in _runs(f"c{n}")), "the checks to end")
        if report.deferred and not report.started:
            break
    assert started >= 1 and deferred >= 1, (started, deferred)
    calls = sim.call_count()
    ledger = sum(r.calls for n in range(4) for r in _runs(f"c{n}"))
    assert 0 < calls <= ceiling, (calls, ledger)
    assert ledger == calls  # the ledger counts what Azure (the simulator) served
    # The checks went on until the ceiling stopped them: the next one (costing what the last did) would not fit.
    assert calls + min(r.calls for n in range(4) for r in _runs(f"c{n}")[-1:]) > ceiling, calls
    print(f"ceiling {ceiling}: {started} checks made {calls} calls; {deferred} turned away")


def test_lab_yaml_auto_check_is_parsed_and_linted(tmp_path):
    from labguide.packs import AutoCheckSettings, load_pack

    (tmp_path / "lab.yaml").write_text("id: t\nauto_check: {every: 120, idle_after: 600}\nsteps: []\n")
    assert load_pack(tmp_path).auto_check == AutoCheckSettings(every=120, after_pending=60, idle_after=600)
    (tmp_path / "lab.yaml").write_text("id: t\nauto_check: true\nsteps: []\n")
    assert load_pack(tmp_path).auto_check == AutoCheckSettings()
    (tmp_path / "lab.yaml").write_text("id: t\nsteps: []\n")
    assert load_pack(tmp_path).auto_check is None

    (tmp_path / "guide.md").write_text("# T\n\n## Task 1: Start\n\nDo it.\n")
    (tmp_path / "lab.yaml").write_text("id: t\nsteps: []\nauto_check:\n  every: -5\n  sooner: 3\n")
    linted = CliRunner().invoke(main, ["guide", "lint", str(tmp_path)])
    assert linted.exit_code != 0
    assert "lab.yaml:3" in linted.output and "auto_check.every must be a positive number" in linted.output
    assert "auto_check has no setting 'sooner'" in linted.output


def test_without_redis_one_process_ticks_and_another_takes_over_when_it_stops(auto_app, make_app, db_url, api, sim):
    """Two apps on one database and instance folder stand for two processes of one deployment."""
    other = make_app(DATABASE_URL=db_url, AUTO_CHECK_TICK_SECONDS=0.1)
    _class(api, QUICK)
    _press(api, _attendee(api, "hal", sim.create_attendee("auto-hal")))
    autocheck.start_scheduler(auto_app)
    wait_for(lambda: autocheck.local_ticks(auto_app) >= 3, "the first process to tick")
    autocheck.start_scheduler(other)
    seen = autocheck.local_ticks(auto_app)
    wait_for(lambda: autocheck.local_ticks(auto_app) >= seen + 5, "five more ticks")
    assert autocheck.local_ticks(other) == 0  # it waits while the first leads

    autocheck.stop_scheduler(auto_app)  # the leader ends: the other takes over, and the checks go on
    runs = len(_runs("hal"))
    try:
        wait_for(lambda: autocheck.local_ticks(other) >= 3 and len(_runs("hal")) > runs, "the other process to tick")
    finally:
        autocheck.stop_scheduler(other)
        jobs.shutdown(other)  # its checks end before the fixture empties the tables


def test_a_pending_step_is_checked_sooner_and_passes_when_training_ends(api, auto_app, attendee, sim):
    from azuresim.student import Student

    from .test_student_recheck import SMALL, STEP4, Training

    _class(api, {**QUICK, "every": 3600, "after_pending": 0.1})  # only a PENDING brings a check back soon
    student = Student(attendee, counts=dict(SMALL), wait_for_training=False)
    for task in ("1", "2", "3.1", "3.2"):
        student.do(task)
    before, sim.training_seconds = sim.training_seconds, 3600  # running until the test ends it
    try:
        student.do("4")
    finally:
        sim.training_seconds = before
    url = _attendee(api, "ida", attendee)
    assert _press(api, url, "4")["status"] == "PENDING"
    autocheck.start_scheduler(auto_app)
    wait_for(lambda: len(_auto_attempts("ida", STEP4)) >= 2, "a second automatic check of the PENDING step")
    assert {a.status for a in _auto_attempts("ida", STEP4)} == {"PENDING"}

    Training(sim, attendee).finish()
    wait_for(lambda: _progress(api, url)["steps"][STEP4]["status"] == "PASS", "Task 4 to pass with no press")
    assert _auto_attempts("ida", STEP4)[-1].status == "PASS"


def test_a_proctor_turns_a_class_on_and_off_on_the_class_page(api, auto_app):
    import re

    from webapp.services import proctors

    proctors.add("pat@example.com", "proctor-password-123")
    proctors.grant("pat@example.com", LAB, "Monday")
    proctors.grant("pat@example.com", LAB, "Tuesday")
    _class(api, {"calls_per_minute": 40}, cohort="Monday")  # the platform's own setting stays
    client = auto_app.test_client()
    page = client.get("/proctor/login").get_data(as_text=True)
    token = re.search(r'<meta name="csrf-token" content="([^"]+)"', page).group(1)
    assert client.post("/proctor/login", data={"email": "pat@example.com", "password": "proctor-password-123",
                                               "csrf_token": token}).status_code in (200, 303)
    page = client.get(f"/proctor/labs/{LAB}/classes/Monday").get_data(as_text=True)
    assert "Off: the grid moves when students press Validate." in page
    token = re.search(r'<meta name="csrf-token" content="([^"]+)"', page).group(1)  # the signed-in session's

    def save(**form) -> str:
        r = client.post(f"/proctor/labs/{LAB}/classes/Monday/auto-check", data={"csrf_token": token, **form},
                        follow_redirects=True)
        assert r.status_code == 200
        return r.get_data(as_text=True)

    page = save(enabled="on", every_minutes="2")
    assert "Automatic checks are on: each active attendee&#39;s unfinished tasks are validated every 2 minutes" in page
    assert "validated every 2 minutes, without a press" in page
    shown = api("GET", f"/labs/{LAB}/classes/Monday/auto-check").get_json()
    assert shown["setting"] == {"enabled": True, "every": 120.0, "calls_per_minute": 40}
    assert shown["effective"]["calls_per_minute"] == 40

    page = save(enabled="on", every_minutes="-1")
    assert "give a number of minutes greater than 0" in page
    assert api("GET", f"/labs/{LAB}/classes/Monday/auto-check").get_json()["setting"]["every"] == 120.0

    page = save(enabled="lab", every_minutes="")
    assert "Automatic checks are off for this class." in page
    assert api("GET", f"/labs/{LAB}/classes/Monday/auto-check").get_json()["setting"] == {"calls_per_minute": 40}
    refused = client.post(f"/proctor/labs/{LAB}/classes/Wednesday/auto-check",
                          data={"csrf_token": token, "enabled": "on"})
    assert refused.status_code == 404  # not a class of theirs


def test_an_attendee_whose_lab_pack_is_gone_does_not_stop_the_others(api, auto_app, sim):
    from webapp.models import Lab

    _class(api, QUICK)
    _press(api, _attendee(api, "joy", sim.create_attendee("auto-joy")))
    db.session.add(Lab(id="removed-lab", title="gone"))
    ghost = Attendee(lab_id="removed-lab", external_id="ghost", display_name="", injects={}, azure={})
    db.session.add(ghost)
    db.session.flush()
    db.session.add(AutoCheck(attendee_id=ghost.id, last_seen_at=autocheck.utcnow(), last_calls=0))
    db.session.commit()
    report = autocheck.tick()
    assert report.started == 1  # joy's check, though the ghost's lab cannot be loaded
    wait_for(lambda: _runs("joy") and _runs("joy")[0].done, "joy's check")
