"""A PENDING step checks itself again (its own route and budget, never the student's presses), says when in
every surface's own words, resumes after a reload and stops once the step settles; a refused press keeps the
last result. Through the Flask test client against azuresim, with a training held running until a test ends it."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner

import validator
from azuresim.student import Student
from checks.outcome import RECHECK_AFTER, Outcome, Status
from webapp.models import Attempt
from webapp.services import apikeys, attempts, attendees, launch
from webapp.student.views import recheck_delay

STEP1 = "d59e98f0-5614-4e26-b82c-18374ffffb6c"
STEP4 = "3c9e5f1a-7b2d-4e8f-a6c0-2d4b6e8f0a33"
SMALL = {"Non Defective": 30, "Defect": 40}
RECHECK_SENTENCE = "Checking again by itself in"


@pytest.fixture
def me(app, lab_id, attendee):
    azure = {k: v for k, v in attendee.items() if k != "injects"}
    return attendees.upsert(lab_id, "student-1", display_name="Ada Lovelace", azure=azure,
                            injects=dict(attendee.get("injects") or {}))


class Training:
    """The attendee's Task 4 training, running until :meth:`finish`."""

    def __init__(self, sim, attendee) -> None:
        self.sim, self.subscription = sim, attendee["subscription_id"]

    def finish(self) -> None:
        now = datetime.now(UTC)
        with self.sim.state.lock:
            for acct in self.sim.state.accounts.values():
                if acct.subscription_id != self.subscription or acct.cv is None:
                    continue
                for project in acct.cv.projects.values():
                    for it in project.iterations.values():
                        it.finishes_at = min(it.finishes_at, now)


@pytest.fixture
def training(sim, attendee) -> Training:
    student = Student(attendee, counts=dict(SMALL), wait_for_training=False)
    for task in ("1", "2", "3.1", "3.2"):
        student.do(task)
    before, sim.training_seconds = sim.training_seconds, 3600  # no clock decides when it ends: the test does
    try:
        student.do("4")
    finally:
        sim.training_seconds = before
    return Training(sim, attendee)


def open_lab(client, who) -> str:
    assert client.get(f"/launch/{launch.make_token(who)}").status_code == 303
    page = client.get("/lab").get_data(as_text=True)
    return re.search(r'<meta name="csrf-token" content="([^"]+)"', page).group(1)


def post(client, token: str, step: str, route: str = "validate"):
    return client.post(f"/lab/steps/{step}/{route}", headers={"X-CSRFToken": token, "HX-Request": "true"})


def status_of(html: str) -> str:
    return re.search(r'data-testid="result" data-status="([A-Z_]+)"', html).group(1)


def badge_of(page: str, step: str) -> str:
    """The step's badge in a whole guide page (up to its history, which follows it)."""
    start = page.index(f'id="lg-badge-{step}"')
    return page[start:page.index(f'id="lg-history-{step}"', start)]


def triggers(attendee_row) -> list[str]:
    return [a.trigger for a in reversed(attempts.history(attendee_row, STEP4))]


# -- the recheck route ------------------------------------------------------------------------------------


def test_a_pending_step_rechecks_within_its_own_budget_and_stops_when_it_settles(app, client, me, training):
    app.config.update(VALIDATE_RATE_LIMIT="2 per minute", RECHECK_RATE_LIMIT="5 per minute")
    token = open_lab(client, me)
    pressed = post(client, token, STEP4).get_data(as_text=True)
    assert status_of(pressed) == "PENDING"
    # The badge asks its own route, when the check said to (10 s for a young training; 5 per minute spaces
    # rechecks 12 s apart, so the budget wins), and never asks for a press.
    assert f'hx-post="/lab/steps/{STEP4}/recheck"' in pressed and 'hx-trigger="load delay:12s"' in pressed
    assert RECHECK_SENTENCE in pressed and "Validate again" not in pressed and "press Validate" not in pressed

    for _ in range(3):
        again = post(client, token, STEP4, "recheck")
        assert again.status_code == 200 and status_of(again.get_data(as_text=True)) == "PENDING"
    assert post(client, token, STEP4).status_code == 200  # three rechecks later, the student's press still works
    assert triggers(me) == ["student", "recheck", "recheck", "recheck", "student"]

    training.finish()
    settled = post(client, token, STEP4, "recheck").get_data(as_text=True)
    assert status_of(settled) in ("PASS", "FAIL") and "lg-recheck" not in settled and "hx-trigger" not in settled
    assert "Your attempts at Task 4 (6)" in settled  # the history and progress follow, out of band

    # Settled: a recheck (the last of this minute's budget) answers the stored result and asks Azure nothing.
    calls = sum(training.sim.calls.values())
    stored = post(client, token, STEP4, "recheck")
    html = stored.get_data(as_text=True)
    assert stored.status_code == 200 and status_of(html) == status_of(settled) and "(last check, at " in html
    assert "lg-recheck" not in html and len(triggers(me)) == 6 and sum(training.sim.calls.values()) == calls


def test_a_recheck_never_asks_azure_about_a_step_that_is_not_pending(app, client, me, sim):
    token = open_lab(client, me)
    calls = sum(sim.calls.values())
    never = post(client, token, STEP1, "recheck")
    assert never.status_code == 200 and never.get_data(as_text=True) == ""  # nothing stored: nothing to show
    assert post(client, token, STEP1).status_code == 200  # a FAIL: nothing is done yet
    calls = sum(sim.calls.values())
    for _ in range(3):
        html = post(client, token, STEP1, "recheck").get_data(as_text=True)
        assert status_of(html) == "FAIL" and "(last check, at " in html and "How to fix it:" in html
    assert sum(sim.calls.values()) == calls and len(attempts.history(me)) == 1


def test_an_exhausted_recheck_budget_reschedules_without_touching_the_badge_or_the_presses(app, client, me):
    app.config.update(VALIDATE_RATE_LIMIT="1 per minute", RECHECK_RATE_LIMIT="2 per minute")
    token = open_lab(client, me)
    assert post(client, token, STEP1).status_code == 200
    for _ in range(2):
        assert post(client, token, STEP1, "recheck").status_code == 200
    refused = post(client, token, STEP1, "recheck")
    html = refused.get_data(as_text=True)
    wait = int(refused.headers["Retry-After"])
    assert refused.status_code == 429 and refused.headers["HX-Reswap"] == "none" and 1 <= wait <= 60
    # Only the waiting recheck is replaced (same id), by one due when the budget allows it again.
    assert html.count('hx-swap-oob="true"') == 1 and f'id="lg-recheck-{STEP1}"' in html
    assert f'hx-trigger="load delay:{wait}s"' in html and 'data-status=' not in html
    # The presses keep their own count: used up by the first press, not by the rechecks.
    assert "You pressed Validate" in post(client, token, STEP1).get_data(as_text=True)


def test_rechecks_and_presses_are_counted_per_step(app, client, me):
    app.config.update(RECHECK_RATE_LIMIT="1 per minute")
    token = open_lab(client, me)
    assert post(client, token, STEP1, "recheck").status_code == 200
    assert post(client, token, STEP4, "recheck").status_code == 200
    assert post(client, token, STEP1, "recheck").status_code == 429


def test_a_recheck_needs_the_session_and_the_csrf_token(app, client, me):
    assert post(client, "x", STEP1, "recheck").status_code in (400, 401)
    open_lab(client, me)
    response = client.post(f"/lab/steps/{STEP1}/recheck", headers={"HX-Request": "true"})
    assert response.status_code == 400 and attempts.history(me) == []
    assert post(client, open_lab(client, me), "not-a-step", "recheck").status_code == 404


# -- after a reload ---------------------------------------------------------------------------------------


def test_a_reloaded_pending_step_shows_when_it_was_checked_and_keeps_rechecking(app, client, me, training):
    token = open_lab(client, me)
    assert status_of(post(client, token, STEP4).get_data(as_text=True)) == "PENDING"
    (attempt,) = attempts.history(me, STEP4)
    badge = badge_of(client.get("/lab").get_data(as_text=True), STEP4)
    assert status_of(badge) == "PENDING" and f'<time datetime="{attempt.started_at.isoformat()}"' in badge
    assert f"{attempt.started_at:%H:%M:%S} UTC</time>" in badge  # the server's words; the page makes it local
    assert "nothing to do until it finishes" in badge and RECHECK_SENTENCE in badge
    assert f'hx-post="/lab/steps/{STEP4}/recheck"' in badge and "Validate again" not in badge

    training.finish()
    assert status_of(post(client, token, STEP4, "recheck").get_data(as_text=True)) in ("PASS", "FAIL")
    settled = badge_of(client.get("/lab").get_data(as_text=True), STEP4)
    assert "(last check, at " in settled and "lg-recheck" not in settled and "hx-trigger" not in settled


def test_a_reloaded_pending_step_is_due_as_its_result_asked_counted_from_that_check(app):
    app.config["RECHECK_RATE_LIMIT"] = "12 per minute"  # at most one every 5 s
    with app.test_request_context():
        assert recheck_delay(None) is None  # not PENDING: no recheck
        assert recheck_delay(10) == 10 and recheck_delay(30) == 30
        assert recheck_delay(2) == 5  # never sooner than the budget spaces them
        assert recheck_delay(30, since=datetime.now(UTC) - timedelta(seconds=12)) in (18, 19)
        assert recheck_delay(30, since=datetime.now(UTC) - timedelta(minutes=5)) == 5  # overdue: soon


# -- one number, each surface's own words -----------------------------------------------------------------


def _pending(*outcomes: Outcome) -> validator.StepResult:
    return validator.StepResult(lab="spot-the-flaw", step=STEP4, task="4", title="Train", status=Status.PENDING,
                                message="Still training.", hint="Wait.", checks=outcomes,
                                started_at=datetime.now(UTC), duration_ms=5, azure_calls=2)


def test_step_results_carry_recheck_after_through_json_and_the_database():
    result = _pending(Outcome("a", Status.PENDING, "m", "h", recheck_after=30),
                      Outcome("b", Status.PENDING, "m", "h", recheck_after=10),
                      Outcome("c", Status.PENDING, "m", "h", advisory=True, recheck_after=1),
                      Outcome("d", Status.PASS, "m"))
    assert result.recheck_after == 10  # the soonest that decides the step
    data = json.loads(json.dumps(result.to_json()))
    assert data["recheck_after"] == 10 and data["checks"][1]["recheck_after"] == 10
    assert validator.StepResult.from_json(data).recheck_after == 10
    old = {**data, "checks": [{k: v for k, v in c.items() if k != "recheck_after"} for c in data["checks"]]}
    assert validator.StepResult.from_json(old).recheck_after == RECHECK_AFTER  # recorded before it existed
    done = validator.StepResult.from_json({**data, "status": "PASS"})
    assert done.recheck_after is None and done.to_json()["recheck_after"] is None


def test_the_api_gives_the_number_and_the_cli_its_own_sentence(app, client, attendee, training, lab_id, tmp_path):
    _, key = apikeys.create("platform")
    auth = {"Authorization": f"Bearer {key}"}
    url = f"/api/v1/labs/{lab_id}/attendees/student-9"
    azure = {k: v for k, v in attendee.items() if k != "injects"}
    assert client.put(url, json={"azure": azure, "injects": attendee["injects"]}, headers=auth).status_code == 201
    body = client.post(url + "/validations", json={"step": "4"}, headers=auth).get_json()
    assert body["status"] == "PENDING" and body["recheck_after"] == 10
    assert "Validate" not in body["hint"] and "Validate" not in body["message"]

    from validator.cli import validate_command

    creds = tmp_path / "ada.json"
    creds.write_text(json.dumps(attendee), encoding="utf-8")
    out = CliRunner().invoke(validate_command, ["--attendee", str(creds), "--task", "4"])
    assert out.exit_code == 1 and "PENDING" in out.output
    assert "run this command again in 10 seconds" in out.output and "Validate" not in out.output


# -- a refused press --------------------------------------------------------------------------------------


def test_a_refused_press_keeps_the_badge_and_says_when_to_press_again(app, client, me):
    app.config["VALIDATE_RATE_LIMIT"] = "1 per minute"
    token = open_lab(client, me)
    assert post(client, token, STEP1).status_code == 200
    refused = post(client, token, STEP1)
    html = refused.get_data(as_text=True)
    wait = int(refused.headers["Retry-After"])
    assert refused.status_code == 429 and refused.headers["HX-Reswap"] == "none"
    # One notice, inserted above the result the badge shows; no history or progress update, no recheck.
    assert html.count("hx-swap-oob") == 1 and f'hx-swap-oob="afterbegin:#lg-badge-{STEP1}"' in html
    assert f'data-step="{STEP1}" data-wait="{wait}"' in html and f'data-countdown="{wait}"' in html
    assert "the result below is still your latest" in html and "1 per minute" in html
    assert '<svg class="lg-svg"' in html and "&#x23F1;" not in html  # an icon every computer can draw
    assert "hx-trigger" not in html and 'data-testid="result"' not in html
    assert db_attempts(me) == 1


def db_attempts(who) -> int:
    from webapp.extensions import db

    return db.session.query(Attempt).filter_by(attendee_id=who.id).count()
