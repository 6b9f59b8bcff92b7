"""Hardening (issue 10), through HTTP where it is HTTP behaviour: cookies and HSTS that apply, no launch token
in the error log, ALLOW_CUSTOM_CLOUD enforced where credentials are used, no 5xx on hostile input, sessions
that end on the server, launch links that never follow the Host header, background jobs without Redis, bounded
proctor sign-in, no-store answers, and the API document's word on ``azure``."""

from __future__ import annotations

import re
import threading
import time
import uuid
from datetime import timedelta

import pytest

from webapp.extensions import db
from webapp.services import apikeys, attendees, launch, proctors

LAB = "spot-the-flaw"
PASSWORD = "proctor-password-123"


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    """For tests about the HTTP surface, where the database does not matter."""
    return f"sqlite:///{tmp_path / 'labgrader.sqlite3'}"


@pytest.fixture
def plain(app):
    """An attendee with well-formed credentials for public Azure (never used to call it)."""
    return attendees.upsert(LAB, "plain-1", cohort="Monday", display_name="Plain One",
                            azure={"subscription_id": str(uuid.uuid4()), "resource_group": "rg"})


@pytest.fixture
def auth(app) -> dict:
    return {"Authorization": f"Bearer {apikeys.create('platform')[1]}"}


@pytest.fixture
def pat(app):
    proctors.add("pat@example.com", PASSWORD, is_admin=True)
    return "pat@example.com"


def csrf_of(html: str) -> str:
    m = re.search(r'<meta name="csrf-token" content="([^"]+)"', html)
    assert m, html[:300]
    return m.group(1)


def sign_in(client, email: str = "pat@example.com", password: str = PASSWORD, **kw):
    token = csrf_of(client.get("/proctor/login", **kw).get_data(as_text=True))
    return client.post("/proctor/login", data={"email": email, "password": password, "csrf_token": token}, **kw)


def open_lab(client, who) -> str:
    assert client.get(f"/launch/{launch.make_token(who)}").status_code == 303
    page = client.get("/lab")
    assert page.status_code == 200
    return csrf_of(page.get_data(as_text=True))


def session_cookie(client) -> str:
    cookie = client.get_cookie("session")
    assert cookie is not None
    return cookie.value


# -- 1. cookies and HSTS ---------------------------------------------------------------------------------


def test_an_https_base_url_makes_the_session_cookie_secure_and_sends_hsts(make_app, sqlite_url):
    app = make_app(DATABASE_URL=sqlite_url, AUTO_MIGRATE=True, BASE_URL="https://labs.example.com")
    r = app.test_client().get("/proctor/login")
    cookie = r.headers["Set-Cookie"]
    assert "; Secure" in cookie and "SameSite=Lax" in cookie and "HttpOnly" in cookie, cookie
    assert r.headers["Strict-Transport-Security"] == "max-age=31536000"


def test_https_through_a_trusted_proxy_makes_the_cookie_secure(make_app, sqlite_url):
    app = make_app(DATABASE_URL=sqlite_url, AUTO_MIGRATE=True, TRUSTED_PROXIES=1)
    r = app.test_client().get("/proctor/login", headers={"X-Forwarded-Proto": "https"})
    assert "; Secure" in r.headers["Set-Cookie"] and "SameSite=Lax" in r.headers["Set-Cookie"]
    assert "Strict-Transport-Security" in r.headers


def test_plain_http_keeps_samesite_but_sends_no_hsts(make_app, sqlite_url):
    app = make_app(DATABASE_URL=sqlite_url, AUTO_MIGRATE=True)
    r = app.test_client().get("/proctor/login", headers={"X-Forwarded-Proto": "https"})  # no proxy trusted
    assert "SameSite=Lax" in r.headers["Set-Cookie"] and "Secure" not in r.headers["Set-Cookie"]
    assert "Strict-Transport-Security" not in r.headers


# -- 4. no 5xx on hostile input -------------------------------------------------------------------------


@pytest.mark.parametrize("number", ["2147483648", "9223372036854775808", "1" * 30, "9" * 5000])
def test_ids_beyond_the_databases_range_are_not_found(app, plain, pat, number):
    student, proctor = app.test_client(), app.test_client()
    open_lab(student, plain)
    assert student.get(f"/lab/attempts/{number}").status_code == 404
    assert sign_in(proctor).status_code == 303
    assert proctor.get(f"/proctor/attendees/{number}").status_code == 404
    token = csrf_of(proctor.get("/proctor/").get_data(as_text=True))
    assert proctor.post(f"/proctor/attendees/{number}/revalidate", data={"csrf_token": token}).status_code == 404


NUL = "a\x00b"


def test_nul_characters_are_refused_not_a_500(app, plain, pat, auth):
    client = app.test_client()
    for body, field in (({"display_name": NUL}, "display_name"), ({"class": NUL}, "class"),
                        ({"injects": {"DeploymentID": NUL}}, "injects.DeploymentID"),
                        ({"injects": {NUL: "x"}}, "injects"),
                        ({"azure": {"resource_group": NUL}}, "azure.resource_group")):
        r = client.put(f"/api/v1/labs/{LAB}/attendees/plain-1", json=body, headers=auth)
        assert r.status_code == 422 and r.get_json()["error"]["field"] == field, (body, r.get_data(as_text=True))
    for path in ("/api/v1/labs/spot-the-flaw/attendees/a%00b", "/api/v1/labs/spot-the-flaw/attendees/a%00b/progress"):
        assert client.get(path, headers=auth).status_code == 404
    assert client.get(f"/api/v1/labs/{LAB}/progress?class=a%00b", headers=auth).status_code == 422
    assert sign_in(client, email="pat\x00@example.com").status_code == 401
    assert sign_in(client).status_code == 303
    assert client.get("/proctor/labs/spot-the-flaw/classes/a%00b").status_code == 404
    assert client.get("/proctor/labs/spot-the-flaw/classes/Monday").status_code == 200


def test_json_nested_too_deep_or_with_huge_numbers_is_a_400(client, auth):
    deep = '{"injects": ' + "[" * 5000 + "]" * 5000 + "}"
    huge = '{"injects": {"DeploymentID": ' + "9" * 5000 + "}}"
    for body in (deep, huge):
        r = client.put(f"/api/v1/labs/{LAB}/attendees/x", data=body, headers={**auth, "Content-Type":
                                                                              "application/json"})
        assert r.status_code == 400 and r.get_json()["error"]["code"] == "malformed_json", r.get_data(as_text=True)


def test_page_forms_have_a_body_limit_and_no_echo_of_a_huge_email(client, app):
    token = csrf_of(client.get("/proctor/login").get_data(as_text=True))
    big = client.post("/proctor/login", data={"email": "x" * (3 * 1024 * 1024) + "@example.com", "password": "p",
                                              "csrf_token": token})
    assert big.status_code == 413
    long = client.post("/proctor/login", data={"email": "y" * 10_000 + "@example.com", "password": "p",
                                               "csrf_token": token})
    assert long.status_code == 401 and "y" * 300 not in long.get_data(as_text=True)


def test_azure_fields_and_inject_keys_are_capped(client, auth):
    base = {"subscription_id": str(uuid.uuid4()), "resource_group": "rg"}
    r = client.put(f"/api/v1/labs/{LAB}/attendees/capped", json={"azure": {**base, "resource_group": "r" * 3000}},
                   headers=auth)
    assert r.status_code == 422 and r.get_json()["error"]["field"] == "azure.resource_group"
    many = {f"Key{i}": "v" for i in range(attendees.MAX_INJECTS + 1)}
    r = client.put(f"/api/v1/labs/{LAB}/attendees/capped", json={"azure": base, "injects": many}, headers=auth)
    assert r.status_code == 422 and r.get_json()["error"]["field"] == "injects"
    ok = client.put(f"/api/v1/labs/{LAB}/attendees/capped", json={"azure": base}, headers=auth)
    assert ok.status_code == 201


# -- 10. no-store -----------------------------------------------------------------------------------------


def test_proctor_pages_and_api_answers_are_not_stored(app, plain, pat, auth):
    client = app.test_client()
    assert client.get("/proctor/login").headers["Cache-Control"] == "no-store"
    sign_in(client)
    for path in ("/proctor/", f"/proctor/attendees/{plain.id}", f"/proctor/labs/{LAB}/classes/Monday",
                 f"/proctor/labs/{LAB}/classes/Monday/grid"):
        assert client.get(path).headers.get("Cache-Control") == "no-store", path
    for path in (f"/api/v1/labs/{LAB}/attendees/plain-1", f"/api/v1/labs/{LAB}/progress", "/api/v1/labs"):
        assert client.get(path, headers=auth).headers.get("Cache-Control") == "no-store", path
    put = client.put(f"/api/v1/labs/{LAB}/attendees/plain-1", json={"display_name": "P"}, headers=auth)
    assert put.headers.get("Cache-Control") == "no-store" and "launch_url" in put.get_json()
    with client.get("/static/css/labgrader.css") as static:
        assert "no-store" not in (static.headers.get("Cache-Control") or "")


# -- 2. no launch token in the error log ----------------------------------------------------------------


def test_a_failing_launch_link_leaves_no_token_in_the_error_log(make_app, tmp_path):
    """The issue's case through gunicorn: the database breaks, /launch/<token> answers 500, Flask logs the
    exception with the request's path; the log must not hold the token (which still opens the guide later)."""
    import sqlite3

    import requests

    from tests.webapp.conftest import TEST_SECRET_KEY

    from .servers import clean_env, serve

    db_file = tmp_path / "served.sqlite3"
    app = make_app(DATABASE_URL=f"sqlite:///{db_file}", AUTO_MIGRATE=True)
    with app.app_context():
        token = launch.make_token(attendees.upsert(LAB, "ada", azure={"subscription_id": str(uuid.uuid4()),
                                                                      "resource_group": "rg"}))
        db.engine.dispose()
    server = serve(clean_env(DATABASE_URL=f"sqlite:///{db_file}", SECRET_KEY=TEST_SECRET_KEY), tmp_path)
    try:
        assert requests.get(f"{server.url}/launch/{token}", allow_redirects=False, timeout=10).status_code == 303
        with sqlite3.connect(db_file) as conn:  # the database loses its attendees table
            conn.execute("ALTER TABLE attendees RENAME TO attendees_gone")
        failed = requests.get(f"{server.url}/launch/{token}", allow_redirects=False, timeout=10)
        assert failed.status_code == 500 and token not in failed.text
    finally:
        server.stop()
    out = server.output()
    assert "Exception on /launch/*** [GET]" in out and "Traceback" in out, out
    assert token not in out and token.split(".")[-1] not in out


# -- 5. sessions end on the server ----------------------------------------------------------------------


def test_a_copied_proctor_cookie_opens_nothing_after_logout(app, pat):
    laptop, thief = app.test_client(), app.test_client()
    assert sign_in(laptop).status_code == 303
    thief.set_cookie("session", session_cookie(laptop))
    assert thief.get("/proctor/").status_code == 200  # a copy works while the session lasts...
    token = csrf_of(laptop.get("/proctor/").get_data(as_text=True))
    assert laptop.post("/proctor/logout", data={"csrf_token": token}).status_code == 303
    assert thief.get("/proctor/").status_code == 302  # ...and not after its owner signed out
    assert sign_in(laptop).status_code == 303  # signing in again works, in a new session
    assert laptop.get("/proctor/").status_code == 200 and thief.get("/proctor/").status_code == 302


def test_a_copied_student_cookie_opens_nothing_after_logout(app, plain):
    mine, thief = app.test_client(), app.test_client()
    token = open_lab(mine, plain)
    thief.set_cookie("session", session_cookie(mine))
    assert thief.get("/lab").status_code == 200
    assert mine.post("/lab/logout", headers={"X-CSRFToken": token}).status_code == 200
    assert thief.get("/lab").status_code == 401 and mine.get("/lab").status_code == 401
    open_lab(mine, plain)  # the launch link still works: signing out did not revoke it
    assert thief.get("/lab").status_code == 401


def test_sessions_expire_on_the_server_well_before_a_month(make_app, sqlite_url):
    app = make_app(DATABASE_URL=sqlite_url, AUTO_MIGRATE=True)
    assert app.permanent_session_lifetime == timedelta(hours=12)  # Flask's own default is 31 days
    assert app.permanent_session_lifetime < timedelta(seconds=app.config["LAUNCH_LINK_MAX_AGE"])
    short = make_app(DATABASE_URL=sqlite_url, SESSION_LIFETIME=1)
    with short.app_context():
        who = attendees.upsert(LAB, "brief", azure={"subscription_id": str(uuid.uuid4()), "resource_group": "rg"})
        proctors.add("pat@example.com", PASSWORD)
        student, proctor = short.test_client(), short.test_client()
        open_lab(student, who)
        assert sign_in(proctor).status_code == 303 and proctor.get("/proctor/").status_code == 200
        time.sleep(1.2)
        assert student.get("/lab").status_code == 401
        assert proctor.get("/proctor/").status_code == 302


def test_removing_a_proctor_removes_their_sessions(app, pat):
    from webapp.models import LoginSession

    client = app.test_client()
    sign_in(client)
    assert db.session.query(LoginSession).filter(LoginSession.proctor_id.is_not(None)).count() == 1
    proctors.remove(pat)
    assert db.session.query(LoginSession).count() == 0


# -- 6. launch links never follow the Host header -------------------------------------------------------


def put_ada(client, auth, host: str):
    return client.put(f"/api/v1/labs/{LAB}/attendees/ada", headers={**auth, "Host": host},
                      json={"azure": {"subscription_id": str(uuid.uuid4()), "resource_group": "rg"}})


def test_without_base_url_a_foreign_host_gets_no_launch_link(client, auth):
    refused = put_ada(client, auth, "evil.example.com")
    assert refused.status_code == 500 and refused.get_json()["error"]["code"] == "base_url_not_configured"
    assert "evil" not in refused.get_data(as_text=True) and "LABGRADER_BASE_URL" in refused.get_data(as_text=True)
    with pytest.raises(Exception, match="no attendee"):
        attendees.get(LAB, "ada")  # refused before anything was written
    for host in ("localhost", "127.0.0.1:8000", "[::1]:8000"):
        made = put_ada(client, auth, host)
        assert made.status_code in (200, 201) and made.get_json()["launch_url"].startswith(f"http://{host}/launch/")
    assert client.get(f"/api/v1/labs/{LAB}/attendees/ada", headers={**auth, "Host": "evil.example.com"}
                      ).status_code == 500


def test_base_url_decides_the_launch_link_whatever_the_host(make_app, sqlite_url):
    app = make_app(DATABASE_URL=sqlite_url, AUTO_MIGRATE=True, BASE_URL="https://labs.example.com/")
    with app.app_context():
        auth = {"Authorization": f"Bearer {apikeys.create('p')[1]}"}
        made = put_ada(app.test_client(), auth, "evil.example.com")
        assert made.status_code == 201 and made.get_json()["launch_url"].startswith("https://labs.example.com/launch/")


def test_trusted_hosts_are_checked_by_flask(make_app, sqlite_url):
    app = make_app(DATABASE_URL=sqlite_url, AUTO_MIGRATE=True, TRUSTED_HOSTS="labs.example.com, .school.example")
    with app.app_context():
        auth = {"Authorization": f"Bearer {apikeys.create('p')[1]}"}
        client = app.test_client()
        assert put_ada(client, auth, "evil.example.com").status_code == 400
        assert client.get("/proctor/login", headers={"Host": "evil.example.com"}).status_code == 400
        made = put_ada(client, auth, "labs.example.com")
        assert made.status_code == 201 and made.get_json()["launch_url"].startswith("http://labs.example.com/launch/")
        assert put_ada(client, auth, "room1.school.example").get_json()["launch_url"].startswith(
            "http://room1.school.example/launch/")


# -- 7. re-validate all with Redis down -----------------------------------------------------------------


def test_revalidate_all_runs_in_process_when_redis_is_down(make_app, sqlite_url, monkeypatch):
    from webapp.proctor import views
    from webapp.services import jobs

    from .servers import free_port

    ran = threading.Event()
    monkeypatch.setattr(views, "revalidate_all", lambda attendee_id, email: ran.set() or 0)
    app = make_app(DATABASE_URL=sqlite_url, AUTO_MIGRATE=True, REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    try:
        with app.app_context():
            who = attendees.upsert(LAB, "ada", azure={"subscription_id": str(uuid.uuid4()), "resource_group": "rg"})
            proctors.add("pat@example.com", PASSWORD, is_admin=True)
            client = app.test_client()
            assert sign_in(client).status_code == 303  # the sign-in limit already falls back to memory
            token = csrf_of(client.get(f"/proctor/attendees/{who.id}").get_data(as_text=True))
            r = client.post(f"/proctor/attendees/{who.id}/revalidate", data={"step": "all", "csrf_token": token})
            assert r.status_code == 303, r.get_data(as_text=True)[:500]
            assert ran.wait(10), "the job did not run in the web process"
    finally:
        from webapp.security import limiter

        jobs.shutdown(app)
        # The process-wide limiter remembers a dead store across apps (as in test_student_pages' Redis-down
        # test): later tests would count their sign-ins in a fallback that is dropped when it revives.
        limiter._storage_dead = False


# -- 8. proctor sign-in: per address across emails, bounded hashing ------------------------------------


def test_many_emails_from_one_address_are_limited(make_app, sqlite_url):
    app = make_app(DATABASE_URL=sqlite_url, AUTO_MIGRATE=True, LOGIN_RATE_LIMIT="4 per minute")
    with app.app_context():
        client = app.test_client()
        token = csrf_of(client.get("/proctor/login").get_data(as_text=True))
        codes = [client.post("/proctor/login", data={"email": f"guess{i}@example.com", "password": "p",
                                                     "csrf_token": token}).status_code for i in range(6)]
        assert codes == [401, 401, 401, 401, 429, 429]
        other = app.test_client()  # another address is not held back
        token = csrf_of(other.get("/proctor/login").get_data(as_text=True))
        assert other.post("/proctor/login", data={"email": "x@example.com", "password": "p", "csrf_token": token},
                          environ_base={"REMOTE_ADDR": "10.0.0.9"}).status_code == 401


def test_password_checks_run_one_at_a_time_per_process(make_app, sqlite_url, monkeypatch):
    from webapp.services import proctors as service

    running, peak, lock = [0], [0], threading.Lock()
    real = service.check_password_hash

    def slow_check(stored: str, password: str) -> bool:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.15)
        with lock:
            running[0] -= 1
        return real(stored, password)

    monkeypatch.setattr(service, "check_password_hash", slow_check)
    app = make_app(DATABASE_URL=sqlite_url, AUTO_MIGRATE=True)
    with app.app_context():
        proctors.add("pat@example.com", PASSWORD)
    codes: list[int] = []

    def attempt(i: int) -> None:
        with app.app_context():
            client = app.test_client()
            token = csrf_of(client.get("/proctor/login").get_data(as_text=True))
            password = PASSWORD if i == 0 else "wrong password"
            codes.append(client.post("/proctor/login", data={"email": f"{'pat' if i < 2 else i}@example.com",
                                                              "password": password, "csrf_token": token},
                                     environ_base={"REMOTE_ADDR": f"10.0.0.{i + 1}"}).status_code)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(codes) == [303, 401, 401, 401, 401]
    assert peak[0] == service.PASSWORD_CHECKS_AT_ONCE == 1


def test_a_sign_in_kept_waiting_too_long_is_told_to_retry(make_app, sqlite_url, monkeypatch):
    from webapp.services import proctors as service

    monkeypatch.setattr(service, "PASSWORD_CHECK_WAIT", 0.1)
    app = make_app(DATABASE_URL=sqlite_url, AUTO_MIGRATE=True)
    with app.app_context():
        client = app.test_client()
        token = csrf_of(client.get("/proctor/login").get_data(as_text=True))
        assert service._password_checks.acquire(timeout=5)  # another request's check is running
        try:
            busy = client.post("/proctor/login", data={"email": "pat@example.com", "password": "p",
                                                       "csrf_token": token})
        finally:
            service._password_checks.release()
        assert busy.status_code == 503 and busy.headers["Retry-After"] == "5"
        assert "busy" in busy.get_data(as_text=True)


# -- 3. ALLOW_CUSTOM_CLOUD holds where credentials are used -----------------------------------------------


def test_custom_endpoints_stored_earlier_are_not_used_once_the_setting_is_off(make_app, sqlite_url, sim, attendee):
    from tests.webapp.conftest import TEST_SECRET_KEY

    azure = {k: v for k, v in attendee.items() if k != "injects"}
    before = make_app(DATABASE_URL=sqlite_url, AUTO_MIGRATE=True, ALLOW_CUSTOM_CLOUD=True)
    with before.app_context():
        key = apikeys.create("platform")[1]
        put = before.test_client().put(f"/api/v1/labs/{LAB}/attendees/ada", json={"azure": azure},
                                       headers={"Authorization": f"Bearer {key}"})
        assert put.status_code == 201
    # Restarted with the setting off (the default), on the same database and secret key.
    after = make_app(DATABASE_URL=sqlite_url, ALLOW_CUSTOM_CLOUD=False, SECRET_KEY=TEST_SECRET_KEY)
    auth = {"Authorization": f"Bearer {key}"}
    with after.app_context():
        client = after.test_client()
        tokens = sim.call_count("token")
        result = client.post(f"/api/v1/labs/{LAB}/attendees/ada/validations", json={"step": "1"}, headers=auth)
        assert result.status_code == 200
        body = result.get_json()
        assert body["status"] == "ERROR" and body["checks"][0]["check_id"] == "credentials"
        assert "ALLOW_CUSTOM_CLOUD" in body["checks"][0]["evidence"]["problem"]
        assert sim.call_count("token") == tokens  # the simulator's endpoints were not even asked
        # A partial update does not keep them either; removing them is accepted.
        kept = client.put(f"/api/v1/labs/{LAB}/attendees/ada", json={"display_name": "Ada"}, headers=auth)
        assert kept.status_code == 422 and kept.get_json()["error"]["field"] == "azure.arm_endpoint"
        cleared = client.put(f"/api/v1/labs/{LAB}/attendees/ada", headers=auth, json={"azure": {
            "authority_host": None, "arm_endpoint": None, "credential_scope": None, "ca_bundle": None}})
        assert cleared.status_code == 200, cleared.get_data(as_text=True)
        assert not set(cleared.get_json()["azure"]) & {"authority_host", "arm_endpoint", "ca_bundle"}


# -- 11. the document and the answers agree on azure ------------------------------------------------------


def test_azure_is_not_offered_as_null(client, auth):
    azure = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]["AttendeeIn"]["properties"]["azure"]
    assert "anyOf" not in azure and "type" not in azure and azure["$ref"].endswith("/AzureCredentials")
    for name in ("newbie", "plain-1"):
        r = client.put(f"/api/v1/labs/{LAB}/attendees/{name}", json={"azure": None}, headers=auth)
        assert r.status_code == 400 and r.get_json()["error"]["field"] == "azure", r.get_data(as_text=True)
    left_out = client.put(f"/api/v1/labs/{LAB}/attendees/newbie", json={}, headers=auth)
    assert left_out.status_code == 422 and left_out.get_json()["error"]["field"] == "azure.subscription_id"
