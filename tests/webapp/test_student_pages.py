"""The student pages through the Flask test client: launch links, the guide with the attendee's values,
secret reveal, Validate fragments against azuresim (FAIL then PASS, ERROR), CSRF, the rate limit and
cross-attendee isolation."""

from __future__ import annotations

import json
import re
import uuid

import pytest
from cryptography.fernet import Fernet

from azuresim.student import Student
from labguide.render import GUIDE_JS
from webapp.services import attempts, attendees, launch

STEP1 = "d59e98f0-5614-4e26-b82c-18374ffffb6c"
STEP2 = "0b268237-4be0-4453-a6ac-5603f697a1a9"
PASSWORD = "Sup3r-Secret-Lab-Passw0rd"
OTHER_PASSWORD = "An0ther-Secret-Passw0rd!"


def _split(creds: dict) -> tuple[dict, dict]:
    return {k: v for k, v in creds.items() if k != "injects"}, dict(creds.get("injects") or {})


@pytest.fixture
def me(app, lab_id, attendee):
    azure, injects = _split(attendee)
    return attendees.upsert(lab_id, "student-1", cohort="Monday", display_name="Ada Lovelace",
                            injects={**injects, "AzureAdUserPassword": PASSWORD}, azure=azure)


@pytest.fixture
def other(app, lab_id):
    return attendees.upsert(lab_id, "student-2", cohort="Monday", display_name="Grace Hopper",
                            injects={"DeploymentID": "777777", "AzureAdUserPassword": OTHER_PASSWORD},
                            azure={"subscription_id": str(uuid.uuid4()), "resource_group": "rg-other-person",
                                   "tenant_id": str(uuid.uuid4()), "client_id": "c",
                                   "client_secret": "other-client-secret"})


def open_lab(client, who) -> str:
    """Follow ``who``'s launch link; returns the CSRF token of their guide page."""
    response = client.get(f"/launch/{launch.make_token(who)}")
    assert response.status_code == 303 and response.headers["Location"].endswith("/lab")
    page = client.get("/lab")
    assert page.status_code == 200
    return csrf_of(page.get_data(as_text=True))


def csrf_of(html: str) -> str:
    m = re.search(r'<meta name="csrf-token" content="([^"]+)"', html)
    assert m, "the page carries no CSRF meta tag"
    return m.group(1)


def validate(client, token: str, step: str = STEP1, **extra):
    return client.post(f"/lab/steps/{step}/validate", headers={"X-CSRFToken": token, "HX-Request": "true"},
                       data=extra)


def status_of(html: str) -> str:
    m = re.search(r'data-testid="result" data-status="([A-Z_]+)"', html)
    assert m, html[:500]
    return m.group(1)


# -- launch ---------------------------------------------------------------------------------------------


def test_launch_opens_the_attendees_guide(client, me, other, attendee):
    open_lab(client, me)
    html = client.get("/lab").get_data(as_text=True)
    assert "Ada Lovelace" in html
    deployment = attendee["injects"]["DeploymentID"]
    assert f'<span class="lg-value">{deployment}</span>' in html
    assert f'<span class="lg-value">{attendee["resource_group"]}</span>' in html
    assert "777777" not in html and "rg-other-person" not in html and "Grace Hopper" not in html
    assert f'data-testid="validate-{STEP1}"' in html and f'hx-post="/lab/steps/{STEP1}/validate"' in html
    assert f'id="lg-badge-{STEP1}"' in html and f'data-testid="badge-{STEP1}"' in html
    assert 'aria-live="polite"' in html and f'id="lg-history-{STEP1}"' in html
    assert 'data-testid="progress-text">0 of 8<' in html
    assert "vendor/htmx/htmx.min.js" in html and "https://" not in re.findall(r'<script[^>]*>', html)[0]


def test_launch_link_expired_tampered_revoked(app, client, me):
    token = launch.make_token(me)
    app.config["LAUNCH_LINK_MAX_AGE"] = -1
    expired = client.get(f"/launch/{token}")
    assert expired.status_code == 403 and "expired" in expired.get_data(as_text=True)
    app.config["LAUNCH_LINK_MAX_AGE"] = 3600
    tampered = client.get(f"/launch/{token[:-3]}xyz")
    assert tampered.status_code == 400 and "open the lab again" in tampered.get_data(as_text=True)
    assert client.get("/lab").status_code == 401  # no session was opened by either

    open_lab(client, me)
    launch.revoke(me)
    assert client.get(f"/launch/{token}").status_code == 400
    # Revoking the links also ends the session the old link opened.
    assert client.get("/lab").status_code == 401


def test_one_attendee_per_session(app, client, me, other):
    open_lab(client, me)
    open_lab(client, other)
    html = client.get("/lab").get_data(as_text=True)
    assert "Grace Hopper" in html and "Ada Lovelace" not in html


def sessionless_csrf(client) -> str:
    """A valid CSRF token for a browser without a lab session (the proctor login page hands one out)."""
    return csrf_of(client.get("/proctor/login").get_data(as_text=True))


def test_without_a_session_every_student_route_is_401(client, me):
    token = sessionless_csrf(client)  # so a POST gets past CSRF and reaches the session check
    for method, path in [("get", "/lab"), ("post", f"/lab/steps/{STEP1}/validate"), ("get", "/lab/attempts/1"),
                         ("post", "/lab/reveal/AzureAdUserPassword"), ("get", "/lab/images/architecture.svg"),
                         ("get", f"/lab/steps/{STEP1}/history"), ("get", "/lab/progress")]:
        response = getattr(client, method)(path, headers={"X-CSRFToken": token})
        html = response.get_data(as_text=True)
        assert response.status_code == 401, (path, response.status_code)
        assert "<html" in html and "Open the lab again from your lab platform" in html, path
        assert PASSWORD not in html
    assert attempts.history(me) == []


def test_a_session_that_ended_answers_htmx_with_a_fragment(client, me):
    token = open_lab(client, me)
    launch.revoke(me)  # ends the session the link opened
    response = validate(client, token)
    html = response.get_data(as_text=True)
    assert response.status_code == 401 and status_of(html) == "SESSION_ENDED"
    assert "<html" not in html and "<header" not in html  # a badge's worth, not a whole page
    assert "open your launch link again" in html
    assert attempts.history(me) == []


# -- secrets --------------------------------------------------------------------------------------------


def test_secret_is_masked_and_revealed_to_its_owner_only(client, me, other):
    token = open_lab(client, me)
    html = client.get("/lab").get_data(as_text=True)
    assert PASSWORD not in html and "lg-mask" in html
    assert 'data-url="/lab/reveal/AzureAdUserPassword"' in html
    assert client.post("/lab/reveal/AzureAdUserPassword").status_code == 400  # no CSRF token
    shown = client.post("/lab/reveal/AzureAdUserPassword", headers={"X-CSRFToken": token})
    assert (shown.status_code, shown.get_data(as_text=True)) == (200, PASSWORD)
    assert shown.headers["Cache-Control"] == "no-store"
    assert client.post("/lab/reveal/DeploymentID", headers={"X-CSRFToken": token}).status_code == 404
    other_token = open_lab(client, other)
    theirs = client.post("/lab/reveal/AzureAdUserPassword", headers={"X-CSRFToken": other_token})
    assert theirs.get_data(as_text=True) == OTHER_PASSWORD


# -- validate -------------------------------------------------------------------------------------------


def test_validate_fail_then_pass(client, me, attendee):
    token = open_lab(client, me)
    first = validate(client, token)
    html = first.get_data(as_text=True)
    assert first.status_code == 200 and status_of(html) == "FAIL"
    assert "How to fix it:" in html and "What was found" in html and "has no Custom Vision resources." in html
    assert "data-check=" not in html and "lg-evidence" not in html  # raw evidence is for proctors only
    assert 'hx-swap-oob="true"' in html and "Your attempts at Task 1 (1)" in html
    assert 'data-testid="progress-text">0 of 8<' in html
    assert "Checked in" in html and "hx-trigger" not in html  # a FAIL does not poll

    Student(attendee).do("1")
    second = validate(client, token).get_data(as_text=True)
    assert status_of(second) == "PASS", second
    assert "Your attempts at Task 1 (2)" in second and 'data-testid="progress-text">1 of 8<' in second
    assert PASSWORD not in second and attendee["client_secret"] not in second
    page = client.get("/lab").get_data(as_text=True)
    assert "(last check, at " in page and 'data-status="PASS"' in page and 'data-testid="progress-text">1 of 8<' in page


def test_error_badge_says_it_is_not_the_students_fault(app, client, me, sim):
    token = open_lab(client, me)
    app.config["VALIDATE_BUDGET_SECONDS"] = 2.0
    sim.faults.add({"operation": "Accounts_ListByResourceGroup", "status": 503})
    html = validate(client, token).get_data(as_text=True)
    assert status_of(html) == "ERROR"
    assert html.count("not a problem with your work") == 1  # the hint says it; the badge does not repeat it


def test_credentials_labgrader_cannot_decrypt_are_a_recorded_error(app, client, me):
    token = open_lab(client, me)
    app.config["ENCRYPTION_KEY"] = Fernet.generate_key().decode()  # the key changed since they were stored
    response = validate(client, token)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and status_of(html) == "ERROR"
    assert "labgrader cannot use the Azure credentials stored for this lab" in html
    assert html.count("not a problem with your work") == 1 and "tell your proctor" in html
    assert "Your attempts at Task 1 (1)" in html  # recorded, so the proctor sees it too
    (attempt,) = attempts.history(me)
    assert attempt.status == "ERROR" and "cannot be decrypted" in json.dumps(attempt.result)


def test_a_grader_crash_is_an_error_fragment_or_page_never_werkzeugs(make_app, tmp_path):
    app = make_app(DATABASE_URL=f"sqlite:///{tmp_path / 'crash.sqlite3'}", AUTO_MIGRATE=True,
                   PROPAGATE_EXCEPTIONS=False)

    def crash():
        raise RuntimeError("a bug in labgrader")

    app.add_url_rule("/lab/crash", view_func=crash)
    client = app.test_client()
    fragment = client.get("/lab/crash", headers={"HX-Request": "true"})
    html = fragment.get_data(as_text=True)
    assert fragment.status_code == 500 and status_of(html) == "ERROR" and "<html" not in html
    assert "not a problem with your work" in html and "Internal Server Error" not in html
    page = client.get("/lab/crash")
    html = page.get_data(as_text=True)
    assert page.status_code == 500 and "<html" in html and 'data-testid="server-error"' in html
    assert "a bug in labgrader" not in html  # no internals


def test_validate_works_while_the_rate_limit_store_is_down(make_app, tmp_path, attendee):
    # Nothing listens on port 9 of loopback: every call to this "Redis" fails at once.
    app = make_app(DATABASE_URL=f"sqlite:///{tmp_path / 'noredis.sqlite3'}", AUTO_MIGRATE=True,
                   RATELIMIT_STORAGE_URI="redis://127.0.0.1:9/0")
    try:
        with app.app_context():
            azure, injects = _split(attendee)
            who = attendees.upsert("spot-the-flaw", "no-redis", azure=azure, injects=injects)
            client = app.test_client()
            token = open_lab(client, who)
            response = validate(client, token)
            assert response.status_code == 200 and status_of(response.get_data(as_text=True)) == "FAIL"
    finally:
        # The limiter is one object per process and remembers a dead store across apps (Flask-Limiter's
        # _storage_dead, revived only on a backed-off check): later tests' apps would count their hits in the
        # fallback store, then lose them when it revives, and a second press would pass the limit.
        from webapp.security import limiter

        limiter._storage_dead = False


def test_validate_needs_the_csrf_token(client, me):
    open_lab(client, me)
    response = client.post(f"/lab/steps/{STEP1}/validate", headers={"HX-Request": "true"})
    assert response.status_code == 400
    assert "Reload the page" in response.get_data(as_text=True)
    assert attempts.history(me) == []


def test_rate_limit_answers_with_the_wait(app, client, me):
    app.config["VALIDATE_RATE_LIMIT"] = "1 per minute"
    token = open_lab(client, me)
    assert validate(client, token, STEP2).status_code == 200
    limited = validate(client, token, STEP2)
    html = limited.get_data(as_text=True)
    assert limited.status_code == 429 and 'data-status="RATE_LIMITED"' in html
    wait = int(limited.headers["Retry-After"])
    assert 50 <= wait <= 60 and f"again in <span data-countdown=\"{wait}\"" in html
    # The badge keeps the last result: the notice goes in above it, nothing else is swapped.
    assert limited.headers["HX-Reswap"] == "none" and f'hx-swap-oob="afterbegin:#lg-badge-{STEP2}"' in html
    assert "hx-trigger" not in html  # a press the student made: they decide when to press again
    assert "You pressed Validate" in html
    assert len(attempts.history(me)) == 1
    assert validate(client, token, STEP1).status_code == 200  # the limit is per step


def test_cross_attendee_access_is_404(client, me, other, attendee):
    token = open_lab(client, me)
    validate(client, token)
    mine = attempts.history(me)[0]
    assert client.get(f"/lab/attempts/{mine.id}").status_code == 200
    assert client.get(f"/lab/steps/{STEP1}/history").status_code == 200
    other_token = open_lab(client, other)
    assert client.get(f"/lab/attempts/{mine.id}").status_code == 404
    assert client.get("/lab/attempts/999999").status_code == 404
    assert validate(client, other_token, "not-a-step-of-this-lab").status_code == 404
    history = client.get(f"/lab/steps/{STEP1}/history").get_data(as_text=True)
    assert "(0)" in history and attendee["resource_group"] not in history


def test_pack_images_only(client, me):
    open_lab(client, me)
    with client.get("/lab/images/architecture.svg") as image:  # closing it closes the file it streams
        assert image.status_code == 200 and image.mimetype == "image/svg+xml"
        # Opened by itself, an SVG is a document of this origin: no script may run in it.
        csp = image.headers["Content-Security-Policy"]
        assert "default-src 'none'" in csp and "sandbox" in csp and "script-src" not in csp
        assert image.headers["X-Content-Type-Options"] == "nosniff"
    for path in ("/lab/images/../lab.yaml", "/lab/images/%2e%2e/lab.yaml", "/lab/images/..%2flab.yaml"):
        assert client.get(path).status_code == 404, path


def test_security_headers(client, me):
    open_lab(client, me)
    response = client.get("/lab")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert client.get("/lab/guide.css").mimetype == "text/css"


def test_the_guide_controls_come_from_one_script(client, me):
    open_lab(client, me)
    html = client.get("/lab").get_data(as_text=True)
    assert '<script src="/lab/guide.js" defer></script>' in html
    guide_js = client.get("/lab/guide.js")
    assert guide_js.mimetype == "text/javascript" and guide_js.get_data(as_text=True) == GUIDE_JS
    assert "lg-copy" in GUIDE_JS and "method: 'POST'" in GUIDE_JS and "X-CSRFToken" in GUIDE_JS
    with client.get("/static/js/labgrader.js") as page_js:
        assert "lg-copy" not in page_js.get_data(as_text=True) and "lg-reveal" not in page_js.get_data(as_text=True)
