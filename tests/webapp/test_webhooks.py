"""Webhooks through HTTP: subscriptions in the platform API, and signed events reaching a receiver on
loopback while a scripted student does the lab against azuresim. Signatures are verified with the Standard
Webhooks reference library (``standardwebhooks``), not with labgrader's code."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select
from standardwebhooks.webhooks import Webhook

from azuresim.student import Student
from webapp.cli import main
from webapp.extensions import db
from webapp.models import WebhookEvent, WebhookSubscription
from webapp.services import apikeys, webhooks

from .conftest import empty_database

STEP1 = "d59e98f0-5614-4e26-b82c-18374ffffb6c"
STEP2 = "0b268237-4be0-4453-a6ac-5603f697a1a9"
FAST = {"WEBHOOK_ALLOW_PRIVATE_TARGETS": True, "WEBHOOK_RETRY_BASE_SECONDS": 0.1, "WEBHOOK_RETRY_MAX_SECONDS": 0.5,
        "WEBHOOK_SWEEP_SECONDS": 0.1, "WEBHOOK_TIMEOUT_SECONDS": 3}


class Receiver:
    """An HTTP server on loopback that records every request and answers from a script of statuses (then 200)."""

    def __init__(self, statuses: list[int] | None = None, headers: dict[str, str] | None = None) -> None:
        self.requests: list[tuple[dict[str, str], bytes, int]] = []
        self.statuses = list(statuses or [])
        self.extra = headers or {}
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                    receiver.requests.append(({k.lower(): v for k, v in self.headers.items()}, body, status))
                self.send_response(status)
                for k, v in receiver.extra.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def accepted(self) -> list[tuple[dict[str, str], bytes]]:
        with self.lock:
            return [(h, b) for h, b, s in self.requests if 200 <= s < 300]

    def wait(self, predicate, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(self):
                return
            time.sleep(0.05)
        raise AssertionError(f"receiver: condition not met within {timeout} s; got {len(self.requests)} requests")

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    made: list[Receiver] = []

    def make(*a, **kw) -> Receiver:
        made.append(Receiver(*a, **kw))
        return made[-1]

    yield make
    for r in made:
        r.close()


@pytest.fixture
def hook_app(make_app, db_url):
    """An app allowing loopback targets, with fast retries and the outbox sweeper running."""
    app = make_app(DATABASE_URL=db_url, AUTO_MIGRATE=True, **FAST)
    with app.app_context():
        webhooks.start_sweeper(app)
        yield app
        webhooks.stop_sweeper(app)
        empty_database()


class Api:
    def __init__(self, client, key: str) -> None:
        self.client, self.headers = client, {"Authorization": f"Bearer {key}"}

    def __call__(self, method: str, path: str, body: dict | None = None, **kw):
        return self.client.open("/api/v1" + path, method=method, headers=self.headers, json=body, **kw)


@pytest.fixture
def hapi(hook_app):
    _, key = apikeys.create("platform")
    return Api(hook_app.test_client(), key)


def _subscribe(hapi, url: str, events=webhooks.EVENTS, **extra) -> dict:
    r = hapi("POST", "/webhooks", {"url": url, "events": list(events), **extra})
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def _verified(secret: str, rec: Receiver) -> list[dict]:
    hook = Webhook(secret)
    return [dict(hook.verify(body, headers), _id=headers["webhook-id"]) for headers, body in rec.accepted()]


def _student(hapi, attendee, external_id="ada", cohort="Monday"):
    r = hapi("PUT", f"/labs/spot-the-flaw/attendees/{external_id}", {"class": cohort, "azure": attendee})
    assert r.status_code == 201, r.get_json()
    return f"/labs/spot-the-flaw/attendees/{external_id}"


def _validate(hapi, url: str, step: str) -> dict:
    r = hapi("POST", url + "/validations", {"step": step})
    assert r.status_code == 200, r.get_json()
    return r.get_json()


# -- subscriptions ------------------------------------------------------------------------------------------


def test_subscription_crud_secret_once_and_encrypted(hapi, hook_app):
    created = _subscribe(hapi, "http://127.0.0.1:9/x", [webhooks.STEP_STATUS_CHANGED], lab="spot-the-flaw",
                         description="the LMS")
    secret = created.pop("secret")
    assert secret.startswith("whsec_") and created["enabled"] and created["lab"] == "spot-the-flaw"
    row = db.session.get(WebhookSubscription, created["id"])
    assert secret.encode() not in row.secret_blob and webhooks.secret_of(row) == secret

    for r in (hapi("GET", f"/webhooks/{created['id']}"), hapi("GET", "/webhooks")):
        assert r.status_code == 200 and "whsec_" not in r.get_data(as_text=True)
    assert hapi("GET", "/webhooks").get_json()["webhooks"][0]["id"] == created["id"]

    r = hapi("PATCH", f"/webhooks/{created['id']}", {"events": ["attendee.completed"], "class": "Monday",
                                                       "enabled": False})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["events"] == ["attendee.completed"] and r.get_json()["class"] == "Monday"
    assert not r.get_json()["enabled"] and r.get_json()["disabled_reason"]
    assert hapi("DELETE", f"/webhooks/{created['id']}").status_code == 204
    assert hapi("GET", f"/webhooks/{created['id']}").status_code == 404

    bad = hapi("POST", "/webhooks", {"url": "https://x.example/", "events": ["nope"]})
    assert bad.status_code == 400 and bad.get_json()["error"]["field"].startswith("events")
    assert hapi("POST", "/webhooks", {"url": "https://x.example/"}).status_code == 400


@pytest.mark.parametrize("url", ["http://hooks.example.com/x", "https://127.0.0.1/x", "https://10.1.2.3/x",
                                 "https://169.254.169.254/latest", "https://[::1]/x", "https://localhost/x",
                                 "https://user:pw@hooks.example.com/x"])
def test_unsafe_targets_are_refused_when_saved(make_app, url):
    app = make_app(DATABASE_URL="sqlite://", AUTO_MIGRATE=True)
    with app.app_context(), pytest.raises(webhooks.UnsafeTarget):
        webhooks.check_url(url)


def test_send_time_check_resolves_and_refuses_private_addresses(make_app):
    app = make_app(DATABASE_URL="sqlite://", AUTO_MIGRATE=True)
    with app.app_context():
        with pytest.raises(webhooks.UnsafeTarget, match="not a public address"):
            webhooks.check_target("https://localhost:8443/x", allow_private=False)  # resolves to loopback
        with pytest.raises(webhooks.UnsafeTarget, match="metadata"):
            webhooks.check_target("http://169.254.169.254/", allow_private=True)
        webhooks.check_target("http://127.0.0.1:1/x", allow_private=True)
        webhooks.check_target("https://8.8.8.8/x", allow_private=False)  # a literal: nothing is resolved or sent


def _once(read, ready, timeout: float = 15):
    """``read()`` once ``ready`` holds of it, or at the deadline: the sender records a delivery just after the
    receiver answers, so on a loaded machine what the API says can lag what the receiver saw."""
    deadline = time.monotonic() + timeout
    while not ready(value := read()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return value


# -- deliveries ------------------------------------------------------------------------------------------------


def test_scripted_student_events_are_signed_and_verify(hapi, hook_app, attendee, receiver):
    rec = receiver()
    secret = _subscribe(hapi, rec.url, [webhooks.STEP_STATUS_CHANGED, webhooks.ATTENDEE_STUCK,
                                        webhooks.ATTENDEE_COMPLETED])["secret"]
    url = _student(hapi, attendee)
    for _ in range(3):
        assert _validate(hapi, url, STEP1)["status"] == "FAIL"  # the third FAIL in a row: stuck
    Student(attendee).do("1")
    assert _validate(hapi, url, STEP1)["status"] == "PASS"
    assert _validate(hapi, url, STEP1)["status"] == "PASS"  # no change: no event

    rec.wait(lambda r: len(r.accepted()) >= 3)
    time.sleep(0.3)  # anything extra would have arrived by now
    events = _verified(secret, rec)
    assert [e["type"] for e in events] == ["step.status_changed", "attendee.stuck", "step.status_changed"]
    first, stuck, passed = events
    assert first["data"]["previous_status"] is None and first["data"]["status"] == "FAIL"
    assert first["data"]["result"]["status"] == "FAIL" and first["data"]["result"]["step"] == STEP1
    assert first["data"]["attendee"] == "ada" and first["data"]["class"] == "Monday"
    assert stuck["data"]["step"] == STEP1 and "3 FAILs" in stuck["data"]["reason"]
    assert passed["data"]["previous_status"] == "FAIL" and passed["data"]["status"] == "PASS"
    assert len({e["_id"] for e in events}) == 3
    everything = b"".join(b for _, b in rec.accepted()).decode()
    assert attendee["client_secret"] not in everything

    # A tampered body or another secret does not verify.
    headers, body = rec.accepted()[0]
    with pytest.raises(Exception):  # noqa: B017 - the library's WebhookVerificationError
        Webhook(secret).verify(body.replace(b"FAIL", b"PASS"), headers)
    with pytest.raises(Exception):  # noqa: B017
        Webhook(webhooks.new_secret()).verify(body, headers)


@pytest.mark.slow
def test_completing_the_lab_sends_attendee_completed(hapi, hook_app, attendee, receiver):
    rec = receiver()
    secret = _subscribe(hapi, rec.url, [webhooks.ATTENDEE_COMPLETED])["secret"]
    url = _student(hapi, attendee)
    Student(attendee).do_all()
    steps = [s["id"] for s in hapi("GET", "/labs/spot-the-flaw").get_json()["steps"]]
    for step in steps:
        assert _validate(hapi, url, step)["status"] == "PASS", step
    rec.wait(lambda r: len(r.accepted()) >= 1)
    events = _verified(secret, rec)
    assert [e["type"] for e in events] == ["attendee.completed"] and events[0]["data"]["attendee"] == "ada"


def test_receiver_failing_then_recovering_gets_every_event_once_in_order(hapi, hook_app, attendee, receiver):
    rec = receiver(statuses=[500, 503, 429])
    secret = _subscribe(hapi, rec.url, [webhooks.STEP_STATUS_CHANGED])["secret"]
    url = _student(hapi, attendee)
    assert _validate(hapi, url, STEP1)["status"] == "FAIL"
    Student(attendee).do("1")
    assert _validate(hapi, url, STEP1)["status"] == "PASS"
    assert _validate(hapi, url, STEP2)["status"] == "FAIL"

    rec.wait(lambda r: len(r.accepted()) >= 3)
    time.sleep(0.5)
    events = _verified(secret, rec)
    assert len(events) == 3 and len({e["_id"] for e in events}) == 3  # each once (accepted) per id
    assert [(e["data"]["step"], e["data"]["status"]) for e in events] == [(STEP1, "FAIL"), (STEP1, "PASS"),
                                                                          (STEP2, "FAIL")]
    assert [s for _, _, s in rec.requests][:3] == [500, 503, 429]
    # Retries carried the first event's id.
    assert {h["webhook-id"] for h, _, _ in rec.requests[:4]} == {events[0]["_id"]}

    sub_id = hapi("GET", "/webhooks").get_json()["webhooks"][0]["id"]
    log = _once(lambda: hapi("GET", f"/webhooks/{sub_id}/deliveries").get_json()["deliveries"],
                lambda log: len(log) >= 6)
    assert [d["status_code"] for d in reversed(log)] == [500, 503, 429, 200, 200, 200]
    assert all(d["latency_ms"] >= 0 for d in log) and not log[-1]["ok"] and log[0]["ok"]
    states = _once(lambda: hapi("GET", f"/webhooks/{sub_id}/events").get_json()["events"],
                   lambda states: all(e["state"] != "pending" for e in states))
    assert {e["state"] for e in states} == {"delivered"} and max(e["tries"] for e in states) == 4

    # Redeliver: the same id again.
    r = hapi("POST", f"/webhooks/{sub_id}/events/{events[0]['_id']}/redeliver", {})
    assert r.status_code == 202, r.get_json()
    rec.wait(lambda r: len(r.accepted()) >= 4)
    assert rec.accepted()[-1][0]["webhook-id"] == events[0]["_id"]


def test_client_errors_are_not_retried_and_a_long_run_disables(hapi, hook_app, attendee, receiver):
    hook_app.config["WEBHOOK_DISABLE_AFTER_FAILURES"] = 2
    rec = receiver(statuses=[410, 410])
    sub = _subscribe(hapi, rec.url, [webhooks.STEP_STATUS_CHANGED])
    url = _student(hapi, attendee)
    _validate(hapi, url, STEP1)
    rec.wait(lambda r: len(r.requests) >= 1)
    _validate(hapi, url, STEP2)
    rec.wait(lambda r: len(r.requests) >= 2)
    time.sleep(0.5)
    assert len(rec.requests) == 2  # one try each: 410 is not retried
    body = _once(lambda: hapi("GET", f"/webhooks/{sub['id']}").get_json(), lambda body: not body["enabled"])
    assert not body["enabled"] and "2 failed deliveries in a row" in body["disabled_reason"]
    events = _once(lambda: hapi("GET", f"/webhooks/{sub['id']}/events").get_json()["events"],
                   lambda events: all(e["state"] != "pending" for e in events))
    assert [e["state"] for e in events] == ["failed", "failed"] and "not retried" in events[0]["last_error"]

    # Disabled: no new events are written for it; enabled again, it gets the next ones.
    Student(attendee).do("1")
    _validate(hapi, url, STEP1)
    time.sleep(0.4)
    assert len(rec.requests) == 2
    assert hapi("PATCH", f"/webhooks/{sub['id']}", {"enabled": True}).get_json()["enabled"]
    _validate(hapi, url, STEP2)  # FAIL again: no change, no event
    Student(attendee).do("2")
    _validate(hapi, url, STEP2)
    rec.wait(lambda r: len(r.accepted()) >= 1)


def test_send_time_ssrf_check_refuses_without_the_setting(hapi, hook_app, attendee, receiver):
    rec = receiver()
    sub = _subscribe(hapi, rec.url, [webhooks.STEP_STATUS_CHANGED])
    hook_app.config["WEBHOOK_ALLOW_PRIVATE_TARGETS"] = False  # e.g. the setting was turned off since
    _validate(hapi, _student(hapi, attendee), STEP1)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        log = hapi("GET", f"/webhooks/{sub['id']}/deliveries").get_json()["deliveries"]
        if log:
            break
        time.sleep(0.05)
    assert log and "refused to send" in log[0]["error"] and log[0]["status_code"] is None
    assert rec.requests == []


def test_retry_after_is_honoured(hook_app):
    hook_app.config["WEBHOOK_RETRY_MAX_SECONDS"] = 3600
    assert webhooks._backoff(1, 120) >= 120
    assert webhooks._retry_after("7") == 7 and webhooks._retry_after("soon") is None
    assert 0.05 <= webhooks._backoff(1, None) <= 0.1 and webhooks._backoff(30, None) <= 3600


def test_events_a_crash_left_unsent_are_delivered_by_the_sweep(hapi, hook_app, attendee, receiver, monkeypatch):
    """The process 'dies' right after the attempt's commit (no kick, no sweeper): the event is in the outbox,
    committed with the attempt, and the next sweeper sends it."""
    rec = receiver()
    secret = _subscribe(hapi, rec.url, [webhooks.STEP_STATUS_CHANGED])["secret"]
    webhooks.stop_sweeper(hook_app)
    monkeypatch.setattr(webhooks, "kick", lambda key: None)
    _validate(hapi, _student(hapi, attendee), STEP1)
    db.session.rollback()
    rows = list(db.session.scalars(select(WebhookEvent)))
    assert [(r.type, r.state) for r in rows] == [("step.status_changed", "pending")]
    time.sleep(0.3)
    assert rec.requests == []
    webhooks.start_sweeper(hook_app)
    rec.wait(lambda r: len(r.accepted()) == 1)
    assert _verified(secret, rec)[0]["_id"] == rows[0].msg_id


def test_webhook_list_cli(hapi, hook_app):
    _subscribe(hapi, "http://127.0.0.1:9/x", [webhooks.ATTENDEE_STUCK])
    result = hook_app.test_cli_runner().invoke(main, ["webhook", "list"])
    assert result.exit_code == 0, result.output
    assert "http://127.0.0.1:9/x" in result.output and "attendee.stuck" in result.output
    assert "whsec_" not in result.output


# -- a crash of the real web process ------------------------------------------------------------------------


@pytest.mark.slow
def test_kill_9_between_the_attempt_and_the_delivery_loses_no_event(make_app, db_url, tmp_path, attendee,
                                                                     receiver):
    """``labgrader serve`` records a FAIL and starts sending its event to a receiver that does not answer;
    kill -9 of the whole process group then. The next ``serve`` sends the event, under the same id."""
    import requests

    from .conftest import TEST_SECRET_KEY
    from .servers import clean_env, serve

    setup = make_app(DATABASE_URL=db_url, AUTO_MIGRATE=True, WEBHOOK_ALLOW_PRIVATE_TARGETS=True)
    with setup.app_context():
        key = apikeys.create("platform")[1]
        sub, secret = webhooks.create("http://127.0.0.1:1/unused", [webhooks.STEP_STATUS_CHANGED])
        sub_id = sub.id
    hang, arrived = threading.Event(), threading.Event()
    rec = receiver()
    # The first request gets no answer until the test lets it go (after the kill); the rest answer 200.
    original = rec.server.RequestHandlerClass.do_POST

    def slow_first(handler, _calls=[]):  # noqa: B006 - counts calls across the handler's instances
        _calls.append(1)
        if len(_calls) == 1:
            arrived.set()
            hang.wait(30)
        original(handler)

    rec.server.RequestHandlerClass.do_POST = slow_first
    with setup.app_context():
        webhooks.update_subscription(db.session.get(WebhookSubscription, sub_id), url=rec.url)
    env = clean_env(DATABASE_URL=db_url, SECRET_KEY=TEST_SECRET_KEY, ALLOW_CUSTOM_CLOUD="true",
                    WEBHOOK_ALLOW_PRIVATE_TARGETS="true", WEBHOOK_TIMEOUT_SECONDS="3", WEBHOOK_SWEEP_SECONDS="0.2",
                    WEBHOOK_RETRY_BASE_SECONDS="0.2", WEBHOOK_RETRY_MAX_SECONDS="1")
    auth = {"Authorization": f"Bearer {key}"}
    first = serve(env, tmp_path, "serve-1")
    try:
        base = f"{first.url}/api/v1/labs/spot-the-flaw/attendees/ada"
        assert requests.put(base, json={"azure": attendee}, headers=auth, timeout=30).status_code == 201
        r = requests.post(base + "/validations", json={"step": STEP1}, headers=auth, timeout=60)
        assert r.status_code == 200 and r.json()["status"] == "FAIL"
        assert arrived.wait(20), first.output()  # the first send is under way (and gets no answer)
        first.kill()
    finally:
        first.stop()
    hang.set()
    with setup.app_context():
        db.session.rollback()
        event = db.session.scalar(select(WebhookEvent))
        assert event is not None and event.state == "pending" and event.delivered_at is None

    second = serve(env, tmp_path, "serve-2")
    try:
        rec.wait(lambda r: len(r.accepted()) >= 2, timeout=30)  # the hung request's answer, then the resend
        with setup.app_context():
            deadline = time.monotonic() + 15  # the sender records the delivery just after the receiver answers
            while time.monotonic() < deadline:
                db.session.rollback()
                if db.session.get(WebhookEvent, event.id).state == "delivered":
                    break
                time.sleep(0.1)
            db.session.rollback()
    finally:
        second.stop()
    ids = {h["webhook-id"] for h, _ in rec.accepted()}
    assert ids == {event.msg_id}  # one event, one id, however many times it went out
    body = Webhook(secret).verify(rec.accepted()[-1][1], rec.accepted()[-1][0])
    assert body["data"]["status"] == "FAIL" and body["data"]["attendee"] == "ada"
    with setup.app_context():
        db.session.rollback()
        assert db.session.get(WebhookEvent, event.id).state == "delivered"
        empty_database()  # on PostgreSQL the session's schema is shared by later tests


# -- scores ------------------------------------------------------------------------------------------------------


def test_score_in_progress_grid_csv_and_events(hapi, hook_app, attendee, receiver):
    """Spot the Flaw: 8 steps, Task 4 weighs 2 (total 9), pass mark 70; a passed step keeps its credit."""
    rec = receiver()
    secret = _subscribe(hapi, rec.url, [webhooks.SCORE_CHANGED])["secret"]
    url = _student(hapi, attendee)
    assert hapi("GET", url + "/progress").get_json()["score"] == {"percent": 0.0, "pass_mark": 70.0,
                                                                  "passes": False}
    Student(attendee).do("1")
    assert _validate(hapi, url, STEP1)["status"] == "PASS"
    one = round(100 / 9, 1)
    assert hapi("GET", url + "/progress").get_json()["score"]["percent"] == one
    rec.wait(lambda r: len(r.accepted()) >= 1)
    event = _verified(secret, rec)[0]
    assert event["type"] == "score.changed" and event["data"]["previous_score"] == 0.0
    assert event["data"]["score"] == one and event["data"]["passes"] is False

    # The resource moves to the S0 tier: Task 1 FAILs now, but keeps its credit (keep_credit: true).
    Student(attendee).do("1", "wrong-tier")
    assert _validate(hapi, url, STEP1)["status"] == "FAIL"
    assert hapi("GET", url + "/progress").get_json()["score"]["percent"] == one
    rows = hapi("GET", "/labs/spot-the-flaw/progress?class=Monday").get_json()["attendees"]
    assert rows[0]["score"] == {"percent": one, "pass_mark": 70.0, "passes": False}
    time.sleep(0.3)
    assert len(rec.accepted()) == 1  # the score did not change: no event


def test_score_rule_weights_credit_and_pass_mark():
    from webapp.services.progress import StepProgress, score

    cells = [StepProgress("a", "1", "", "PASS", credited=True, weight=1),
             StepProgress("b", "2", "", "FAIL", credited=True, weight=2),  # passed once: kept
             StepProgress("c", "3", "", "FAIL", credited=False, weight=1)]
    assert score(cells, 70) == (75.0, True)
    assert score(cells, None) == (75.0, None)
    assert score([], 50) == (0.0, False)


def test_lab_yaml_weights_and_scoring_are_linted(tmp_path):
    from labguide.packs import load_pack

    (tmp_path / "lab.yaml").write_text(
        "id: t\nscoring: {pass_mark: 120, keep_credit: maybe, extra: 1}\n"
        "steps:\n  - id: s1\n    task: '1'\n    weight: 0\n  - id: s2\n    task: '2'\n    weight: 3\n")
    pack = load_pack(tmp_path)
    assert [s.weight for s in pack.steps] == [1.0, 3.0] and pack.pass_mark is None and pack.keep_credit
    text = " ".join(m for _, m in pack.problems)
    assert "weight must be a positive number" in text and "pass_mark" in text and "keep_credit" in text
    assert "no setting 'extra'" in text
