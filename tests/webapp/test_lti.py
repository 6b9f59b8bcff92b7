"""labgrader as an LTI 1.3 tool, end to end over HTTP: a platform built on the independent ``lti1p3platform``
library (tests/webapp/lti_platform.py) launches labgrader served on loopback; a requests session plays the
browser through the OIDC login, the platform's authorization and the auto-posted launch form."""

from __future__ import annotations

import base64
import json
import logging
import re
import threading

import pytest
from werkzeug.serving import make_server

from azuresim.student import Student
from tests.webapp.lti_platform import (
    INSTITUTION_FACULTY,
    INSTRUCTOR,
    LEARNER,
    TA,
    Browser,
    LaunchSpec,
    Platform,
    pem_pair,
)
from webapp.cli import main
from webapp.extensions import db
from webapp.lti import keys
from webapp.lti import tool as lti_tool
from webapp.lti.models import LtiGradeTarget, LtiKey, LtiPlatform
from webapp.services import apikeys, jobs

LAB = "spot-the-flaw"
STEP1 = "d59e98f0-5614-4e26-b82c-18374ffffb6c"


class Tool:
    """The app under test, served over HTTP on loopback, and its API."""

    def __init__(self, app) -> None:
        self.app = app
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()
        _, key = apikeys.create("platform")
        self.api_headers = {"Authorization": f"Bearer {key}"}
        self.http = Browser()

    def api(self, method: str, path: str, body: dict | None = None):
        return self.http.session.request(method, self.url + "/api/v1" + path, json=body, headers=self.api_headers,
                                         timeout=60)

    def close(self) -> None:
        self.http.session.close()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def tool(app):
    served = Tool(app)
    yield served
    served.close()
    jobs.shutdown(app)


@pytest.fixture
def platform(tool):
    made = Platform(tool.url)
    r = tool.api("POST", "/lti/platforms", {"name": "Test LMS", **made.registration_fields()})
    assert r.status_code == 201, r.text
    yield made
    made.close()


@pytest.fixture
def ada(tool, attendee):
    """An attendee the lab platform registered (with azuresim credentials), in class 'Monday'."""
    r = tool.api("PUT", f"/labs/{LAB}/attendees/ada", {"class": "Monday", "display_name": "Ada L.",
                                                       "azure": attendee})
    assert r.status_code == 201, r.text
    return attendee


def learner(**kw) -> LaunchSpec:
    return LaunchSpec(user_id="lms-user-ada", roles=[LEARNER], custom={"lab": LAB, "attendee": "ada"}, **kw)


def instructor(custom: dict | None = None, **kw) -> LaunchSpec:
    return LaunchSpec(user_id="lms-teacher-1", roles=[INSTRUCTOR], custom=custom or {"lab": LAB}, name="Grace H.", **kw)


def title(page) -> str:
    match = re.search(r"<h1>(.*?)</h1>", page.text, re.S)
    return match.group(1).strip() if match else ""


# -- the launch ------------------------------------------------------------------------------------------------


def test_learner_launch_opens_their_guide_and_binds_the_session(tool, platform, ada, caplog):
    caplog.set_level(logging.DEBUG)
    browser = Browser()
    page = browser.launch(platform.login_url(learner()))
    assert page.status_code == 200 and page.url == tool.url + "/lab", (page.status_code, page.url)
    assert "Validate" in page.text
    # The session is the attendee's: the guide opens again without a launch; a fresh browser gets nothing.
    assert browser.get(tool.url + "/lab").status_code == 200
    assert Browser().get(tool.url + "/lab").status_code == 401
    # No proctor rights came with it.
    assert "/proctor/login" in browser.get(tool.url + f"/proctor/labs/{LAB}/classes/Monday").url
    # The link's line item is remembered for the score, as the LMS user who launched.
    target = db.session.scalars(db.select(LtiGradeTarget)).one()
    assert target.user_id == "lms-user-ada" and target.lineitem_url == platform.lineitem_url
    # Neither the id_token nor the tool's private key is logged.
    _, fields = browser.last_launch_form
    assert fields["id_token"] not in caplog.text and fields["id_token"].split(".")[1] not in caplog.text
    assert keys.private_pem(keys.current()).splitlines()[1] not in caplog.text


def test_instructor_lands_on_the_class_grid_of_their_course_only(tool, platform, ada):
    other = tool.api("PUT", f"/labs/{LAB}/attendees/bob", {"class": "Tuesday", "azure": ada})
    assert other.status_code == 201
    browser = Browser()
    page = browser.launch(platform.login_url(instructor(custom={"lab": LAB, "class": "Monday"})))
    assert page.status_code == 200 and page.url.endswith(f"/proctor/labs/{LAB}/classes/Monday"), page.url
    assert "Ada L." in page.text
    assert browser.get(tool.url + f"/proctor/labs/{LAB}/classes/Tuesday").status_code == 404
    # A TA launching from another course (class named by the course title) sees that class instead.
    ta = LaunchSpec(user_id="lms-ta-1", roles=[TA], custom={"lab": LAB})
    page = Browser().launch(platform.login_url(ta))
    assert page.url.endswith(f"/proctor/labs/{LAB}/classes/Computer%20Vision%20101"), page.url


def test_a_student_cannot_become_an_instructor(tool, platform, ada):
    # An institution role does not count in a course where the person is a learner.
    spec = learner()
    spec.roles = [LEARNER, INSTITUTION_FACULTY]
    browser = Browser()
    page = browser.launch(platform.login_url(spec))
    assert page.url == tool.url + "/lab"
    # Editing the signed roles claim breaks the signature: refused.
    browser = Browser()
    action, fields = browser.authorize(platform.login_url(learner()))
    header, body, signature = fields["id_token"].split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    claims["https://purl.imsglobal.org/spec/lti/claim/roles"] = [INSTRUCTOR]
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    refused = browser.post(action, {**fields, "id_token": f"{header}.{forged}.{signature}"})
    assert refused.status_code == 401 and title(refused) == "This launch is not signed by your platform"


def test_unregistered_learner_gets_a_clear_page(tool, platform, ada):
    spec = learner()
    spec.custom = {"lab": LAB, "attendee": "nobody"}
    page = Browser().launch(platform.login_url(spec))
    assert page.status_code == 403 and title(page) == "You are not registered for this lab"
    assert "ask your instructor to register you" in page.text
    no_lab = learner()
    no_lab.custom = {"attendee": "ada"}
    page = Browser().launch(platform.login_url(no_lab))
    assert page.status_code == 400 and title(page) == "This link names no lab"


@pytest.mark.parametrize("spoil, status, heading", [
    ("expired", 401, "This launch has expired"),
    ("signature", 401, "This launch is not signed by your platform"),
    ("audience", 401, "This launch is not for this labgrader"),
    ("deployment", 403, "This deployment is not registered"),
])
def test_refused_launches(tool, platform, ada, spoil, status, heading, caplog):
    caplog.set_level(logging.DEBUG)
    spec = learner()
    if spoil == "expired":
        spec.expired = True
    elif spoil == "signature":
        spec.signing_key = pem_pair()[0]
    elif spoil == "audience":
        spec.audience = "another-tool"
    else:
        spec.deployment_id = "deploy-unknown"
    browser = Browser()
    page = browser.launch(platform.login_url(spec))
    assert page.status_code == status and title(page) == heading, (page.status_code, title(page))
    assert browser.get(tool.url + "/lab").status_code == 401  # no session was opened
    assert browser.last_launch_form[1]["id_token"] not in caplog.text


def test_a_replayed_launch_is_refused(tool, platform, ada):
    browser = Browser()
    assert browser.launch(platform.login_url(learner())).url == tool.url + "/lab"
    action, fields = browser.last_launch_form
    again = browser.post(action, fields)  # the same id_token and state, in the same browser
    assert again.status_code == 401 and title(again) == "This launch was already used"
    stranger = Browser().post(action, fields)  # or in another browser (no state cookie)
    assert stranger.status_code == 401


def test_the_platforms_keys_are_fetched_once_for_a_class(tool, platform, ada):
    for _ in range(3):
        assert Browser().launch(platform.login_url(learner())).url == tool.url + "/lab"
    assert platform.jwks_fetches == 1


def test_a_rotated_platform_key_is_fetched_when_a_launch_names_it(tool, platform, ada, monkeypatch):
    assert Browser().launch(platform.login_url(learner())).url == tool.url + "/lab"
    platform.rotate_key()
    # Within the refetch interval an unknown key id is not fetched for: a forged token cannot make the tool
    # hammer the platform, and the launch is refused.
    refused = Browser().launch(platform.login_url(learner()))
    assert refused.status_code == 401 and platform.jwks_fetches == 1, (refused.status_code, title(refused))
    # Past it, the tool fetches the key set again and trusts the new key (and keeps it).
    monkeypatch.setattr(lti_tool, "JWKS_REFETCH_AFTER", 0)
    assert Browser().launch(platform.login_url(learner())).url == tool.url + "/lab"
    assert Browser().launch(platform.login_url(learner())).url == tool.url + "/lab"
    assert platform.jwks_fetches == 2


def test_unknown_platform_login_is_refused(tool, platform):
    page = Browser().get(tool.url + "/lti/login?iss=https://evil.example&login_hint=x&target_link_uri=y")
    assert page.status_code == 400 and title(page) == "This platform is not registered"


# -- registrations and keys -------------------------------------------------------------------------------


def test_platform_registrations_through_the_api(tool, platform):
    listed = tool.api("GET", "/lti/platforms").json()["platforms"]
    assert [p["issuer"] for p in listed] == [platform.issuer]
    assert listed[0]["frame_origins"] == [platform.url]
    bad = tool.api("POST", "/lti/platforms", {"name": "x", **platform.registration_fields(),
                                              "key_set_url": "http://lms.example.com/jwks"})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "key_set_url"
    dup = tool.api("POST", "/lti/platforms", {"name": "again", **platform.registration_fields()})
    assert dup.status_code == 422 and dup.json()["error"]["field"] == "client_id"
    assert tool.http.session.get(tool.url + "/api/v1/lti/platforms", timeout=10).status_code == 401
    doc = tool.http.session.get(tool.url + "/api/v1/openapi.json", timeout=10).json()
    assert "/api/v1/lti/platforms" in doc["paths"] and "/api/v1/lti/platforms/{platform_id}" in doc["paths"]
    pid = listed[0]["id"]
    assert tool.api("DELETE", f"/lti/platforms/{pid}").status_code == 204
    assert tool.api("GET", f"/lti/platforms/{pid}").status_code == 404
    page = Browser().get(platform.login_url(learner()))
    assert page.status_code == 400  # its launches stop


def test_cli_platforms_and_key_rotation(runner, app):
    args = ["lti", "platform", "add", "Moodle", "--issuer", "https://moodle.example.edu", "--client-id", "abc",
            "--deployment-id", "1", "--deployment-id", "2", "--auth-login-url", "https://moodle.example.edu/auth",
            "--auth-token-url", "https://moodle.example.edu/token", "--key-set-url", "https://moodle.example.edu/jwks"]
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    assert db.session.scalars(db.select(LtiPlatform)).one().deployment_ids == ["1", "2"]
    listed = runner.invoke(main, ["lti", "platform", "list"])
    assert "Moodle\thttps://moodle.example.edu\tabc\t1,2" in listed.output
    again = runner.invoke(main, args)
    assert again.exit_code != 0 and "already registered" in again.output
    assert runner.invoke(main, ["lti", "platform", "remove", "Moodle"]).exit_code == 0
    assert db.session.scalars(db.select(LtiPlatform)).all() == []

    first = keys.current()
    client = app.test_client()
    assert [k["kid"] for k in client.get("/lti/jwks").get_json()["keys"]] == [first.kid]
    result = runner.invoke(main, ["lti", "key", "rotate", "--keep-old-hours", "1"])
    assert result.exit_code == 0 and f"retired {first.kid}" in result.output
    published = client.get("/lti/jwks").get_json()["keys"]
    assert len(published) == 2 and published[1]["kid"] == first.kid and published[0]["kid"] != first.kid
    assert all(set(k) >= {"kty", "n", "e", "kid", "alg", "use"} and "d" not in k for k in published)
    # The private half is stored encrypted.
    row = db.session.get(LtiKey, first.id)
    assert b"PRIVATE KEY" not in row.private_blob and "PRIVATE KEY" in keys.private_pem(row)
    second = published[0]["kid"]
    result = runner.invoke(main, ["lti", "key", "rotate", "--keep-old-hours", "0"])
    assert result.exit_code == 0
    now = [k["kid"] for k in client.get("/lti/jwks").get_json()["keys"]]
    assert second not in now and first.kid in now and len(now) == 2  # no overlap asked for the second key


# -- grades, deep linking, roster -------------------------------------------------------------------------------


def test_score_goes_to_the_line_item_when_a_step_passes(tool, platform, ada):
    browser = Browser()
    assert browser.launch(platform.login_url(learner())).url == tool.url + "/lab"
    platform.score_statuses = [503]  # the LMS fails once: the post is tried again
    Student(ada).do("1")
    r = tool.api("POST", f"/labs/{LAB}/attendees/ada/validations", {"step": STEP1})
    assert r.status_code == 200 and r.json()["status"] == "PASS", r.text
    score = platform.wait_scores(1)[0]
    assert score["userId"] == "lms-user-ada" and score["scoreMaximum"] == 100
    assert 0 < score["scoreGiven"] < 100
    assert score["activityProgress"] == "InProgress" and score["gradingProgress"] == "FullyGraded"
    assert score["timestamp"].endswith("Z") and "pass mark" in score["comment"]
    progress = tool.api("GET", f"/labs/{LAB}/attendees/ada/progress").json()
    assert score["scoreGiven"] == progress["score"]["percent"]
    db.session.expire_all()
    target = db.session.scalars(db.select(LtiGradeTarget)).one()
    assert target.pending_score is None and target.last_score == score["scoreGiven"]
    # The same result again changes no score: nothing more is posted.
    assert tool.api("POST", f"/labs/{LAB}/attendees/ada/validations", {"step": STEP1}).json()["status"] == "PASS"
    jobs.shutdown(tool.app)
    assert len(platform.scores) == 1


def test_deep_linking_lets_an_instructor_pick_a_lab(tool, platform):
    browser = Browser()
    picker = browser.launch(platform.login_url(instructor(deep_link=True)))
    assert picker.status_code == 200 and title(picker).startswith("Choose a lab"), picker.text[:300]
    assert f'value="{LAB}"' in picker.text
    answer = browser.submit(picker, lab=LAB)
    assert answer.status_code == 200 and "frame-ancestors" in answer.headers["Content-Security-Policy"]
    assert platform.url in answer.headers["Content-Security-Policy"].split("form-action")[1]
    done = browser.submit(answer)  # the auto-posting form, back to the LMS, which checks the signature
    assert done.status_code == 200
    (item,) = platform.deep_link_items[0]
    assert item["type"] == "ltiResourceLink" and item["custom"] == {"lab": LAB}
    assert item["url"] == tool.url + "/lti/launch" and item["lineItem"]["scoreMaximum"] == 100
    # A learner cannot open the picker.
    spec = learner(deep_link=True)
    page = Browser().launch(platform.login_url(spec))
    assert page.status_code == 403 and title(page) == "Only instructors add labs"


def test_roster_on_the_grid_shows_students_who_have_not_launched(tool, platform, ada):
    platform.members = [
        {"user_id": "lms-user-ada", "name": "Ada L.", "roles": [LEARNER], "status": "Active"},
        {"user_id": "lms-user-cy", "name": "Cy Newcomer", "roles": [LEARNER], "status": "Active"},
        {"user_id": "lms-teacher-1", "name": "Grace H.", "roles": [INSTRUCTOR], "status": "Active"},
    ]
    browser = Browser()
    page = browser.launch(platform.login_url(instructor(custom={"lab": LAB, "class": "Monday"})))
    assert page.status_code == 200
    assert "Cy Newcomer" in page.text and "not launched" in page.text.lower()
    assert "Grace H." not in page.text.split("Course roster")[1]  # staff are not students


def test_only_lti_sessions_may_be_framed_and_only_by_their_platform(tool, platform, ada):
    browser = Browser()
    guide = browser.launch(platform.login_url(learner()))
    policy = guide.headers["Content-Security-Policy"]
    assert policy.endswith(f"frame-ancestors 'self' {platform.url}") and "X-Frame-Options" not in guide.headers
    # Over HTTP the session cookie stays Lax (SameSite=None needs Secure, so HTTPS: see the browser test).
    assert "SameSite=None" not in guide.history[0].headers.get("Set-Cookie", "")
    other = Browser().get(tool.url + "/proctor/login")
    assert "frame-ancestors 'none'" in other.headers["Content-Security-Policy"]
    assert other.headers["X-Frame-Options"] == "DENY"
    refused = Browser().get(tool.url + "/lti/login?iss=https://evil.example&login_hint=x")
    assert refused.headers["Content-Security-Policy"].endswith(f"frame-ancestors 'self' {platform.url}")


def test_a_score_earned_before_the_first_launch_is_posted_at_the_launch(tool, platform, ada):
    Student(ada).do("1")
    assert tool.api("POST", f"/labs/{LAB}/attendees/ada/validations", {"step": STEP1}).json()["status"] == "PASS"
    percent = tool.api("GET", f"/labs/{LAB}/attendees/ada/progress").json()["score"]["percent"]
    assert percent > 0 and platform.scores == []  # no LMS link yet: nowhere to post
    assert Browser().launch(platform.login_url(learner())).url == tool.url + "/lab"
    (score,) = platform.wait_scores(1)
    assert score["scoreGiven"] == percent and score["userId"] == "lms-user-ada"
    Browser().launch(platform.login_url(learner()))  # launching again: already there, nothing more is sent
    jobs.shutdown(tool.app)
    assert len(platform.scores) == 1


def test_a_score_the_lms_keeps_refusing_stays_pending_until_resent(tool, platform, ada, runner, monkeypatch):
    from webapp.lti import grades

    monkeypatch.setattr(grades, "RETRY_DELAYS", (0.05, 0.05, 0.05))  # the same four tries, sooner
    assert Browser().launch(platform.login_url(learner())).url == tool.url + "/lab"
    platform.score_statuses = [500, 502, 503, 500]
    Student(ada).do("1")
    assert tool.api("POST", f"/labs/{LAB}/attendees/ada/validations", {"step": STEP1}).json()["status"] == "PASS"
    jobs.shutdown(tool.app)  # waits for the background post and its retries
    db.session.expire_all()
    target = db.session.scalars(db.select(LtiGradeTarget)).one()
    assert platform.scores == [] and target.pending_score is not None and target.tries == 4
    assert target.last_error == "HTTP 500 from the platform" and target.last_score is None
    pending = target.pending_score
    result = runner.invoke(main, ["lti", "grades", "resend"])
    assert result.exit_code == 0 and "1 score(s) accepted" in result.output
    assert platform.scores[0]["scoreGiven"] == pending
    db.session.expire_all()
    target = db.session.scalars(db.select(LtiGradeTarget)).one()
    assert target.pending_score is None and target.last_error is None


def test_a_learner_maps_by_the_lms_user_id_the_attendee_record_names(tool, platform, ada):
    r = tool.api("PUT", f"/labs/{LAB}/attendees/ada", {"lms_user_id": "lms-user-ada"})
    assert r.status_code == 200 and r.json()["lms_user_id"] == "lms-user-ada", r.text
    # Another attendee of the lab cannot take it; nothing of that request is stored.
    taken = tool.api("PUT", f"/labs/{LAB}/attendees/eve", {"lms_user_id": "lms-user-ada", "azure": ada})
    assert taken.status_code == 422 and taken.json()["error"]["field"] == "lms_user_id"
    assert tool.api("GET", f"/labs/{LAB}/attendees/eve").status_code == 404
    spec = learner()
    spec.custom = {"lab": LAB}  # no attendee parameter: the LMS user id decides
    browser = Browser()
    assert browser.launch(platform.login_url(spec)).url == tool.url + "/lab"
    assert "Ada L." in browser.get(tool.url + "/lab").text
    other = LaunchSpec(user_id="lms-user-zed", roles=[LEARNER], custom={"lab": LAB})
    page = Browser().launch(platform.login_url(other))
    assert page.status_code == 403 and title(page) == "You are not registered for this lab"
    # null forgets it: the same launch no longer opens Ada's guide.
    cleared = tool.api("PUT", f"/labs/{LAB}/attendees/ada", {"lms_user_id": None})
    assert cleared.status_code == 200 and cleared.json()["lms_user_id"] is None
    assert Browser().launch(platform.login_url(spec)).status_code == 403


def test_with_redis_the_score_post_is_a_queued_job_a_worker_runs(make_app, tmp_path, attendee):
    """With REDIS_URL the post is an RQ job: the Validate answers before any post; `labgrader worker` (here
    its burst mode, in another app on the same database and Redis) posts the score."""
    import socket

    import redis

    from tests.conftest import redis_url, require

    with socket.socket() as s:
        s.settimeout(1)
        require(s.connect_ex(("127.0.0.1", 6379)) == 0, "Redis is not reachable at 127.0.0.1:6379")
    url = redis_url(15)
    conn = redis.Redis.from_url(url)
    conn.flushdb()
    db_url = f"sqlite:///{tmp_path / 'rq.sqlite3'}"
    web = make_app(DATABASE_URL=db_url, AUTO_MIGRATE=True, REDIS_URL=url)
    worker_app = make_app(DATABASE_URL=db_url, REDIS_URL=url)
    try:
        with web.app_context():
            served = Tool(web)
            lms = Platform(served.url)
            try:
                assert served.api("POST", "/lti/platforms", {"name": "LMS", **lms.registration_fields()}).ok
                assert served.api("PUT", f"/labs/{LAB}/attendees/ada", {"azure": attendee}).ok
                assert Browser().launch(lms.login_url(learner())).url == served.url + "/lab"
                Student(attendee).do("1")
                r = served.api("POST", f"/labs/{LAB}/attendees/ada/validations", {"step": STEP1})
                assert r.json()["status"] == "PASS"
                assert jobs.queue().count == 1 and lms.scores == []  # queued, not sent by the web process
                w = jobs.worker(worker_app)
                try:
                    assert w.work(burst=True)
                finally:
                    w.connection.close()
                (score,) = lms.wait_scores(1)
                assert score["userId"] == "lms-user-ada" and score["scoreGiven"] > 0
            finally:
                lms.close()
                served.close()
    finally:
        conn.flushdb()
        conn.close()
