"""The proctor pages through the Flask test client: sign in/out, grant scoping, the grid (content, sort,
filter, live fragment), common failure reasons, the stuck flag, the funnel SVG, CSV exports (injection
safe), the attendee timeline and re-validate against azuresim."""

from __future__ import annotations

import csv
import io
import re
import time
import uuid
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest

import validator
from azuresim.student import Student
from checks.outcome import Outcome, Status
from webapp import charts
from webapp.extensions import db
from webapp.proctor.csvout import safe_cell
from webapp.services import attempts, attendees, proctors, validation

STEP1 = "d59e98f0-5614-4e26-b82c-18374ffffb6c"
STEP2 = "0b268237-4be0-4453-a6ac-5603f697a1a9"
PASSWORD = "proctor-password-123"
SECRET = "Sup3r-Secret-Lab-Passw0rd"


def _result(step: str, task: str, status: Status, failing: tuple[tuple[str, str], ...] = (),
            at: datetime | None = None, evidence: dict | None = None):
    checks = tuple(Outcome(c, Status.FAIL, msg, "Fix it.", evidence or {"seen": "x"}) for c, msg in failing)
    return validator.StepResult(lab="spot-the-flaw", step=step, task=task, title="t", status=status,
                                message=f"{status.value} on task {task}.", hint=None, checks=checks,
                                started_at=at or datetime.now(UTC), duration_ms=5, azure_calls=1)


def _record(who, result) -> None:
    validation.record(who, result, result.to_json(), trigger="sweep", triggered_by=None)


def _plain(lab_id: str, external_id: str, name: str, cohort: str = "Monday"):
    return attendees.upsert(lab_id, external_id, cohort=cohort, display_name=name,
                            injects={"AzureAdUserPassword": SECRET},
                            azure={"subscription_id": str(uuid.uuid4()), "resource_group": "rg"})


MULTILABEL = ("project_classification_multiclass", "Project 'Casting Defect Detection' is Multilabel.")
DOMAIN = ("project_domain_compact", "Project uses domain 'General'.")


@pytest.fixture
def monday(app, lab_id):
    """Monday's class: Ada passed Tasks 1 and 2; Bob failed Task 2 three times (Multilabel); Cy failed it
    once, long ago (domain and Multilabel); Dee has not started. Tuesday has Eve."""
    app.config.update(STUCK_AFTER_FAILS=3, STUCK_AFTER_MINUTES=20)
    ada, bob, cy, dee = (_plain(lab_id, x, n) for x, n in
                         (("ada", "Ada Lovelace"), ("bob", "Bob Builder"), ("cy", "Cy Young"), ("dee", "Dee Dee")))
    eve = _plain(lab_id, "eve", "Eve Tuesday", cohort="Tuesday")
    for who in (ada, bob, cy):
        _record(who, _result(STEP1, "1", Status.PASS))
    _record(ada, _result(STEP2, "2", Status.PASS))
    for _ in range(3):
        _record(bob, _result(STEP2, "2", Status.FAIL, (MULTILABEL,)))
    _record(cy, _result(STEP2, "2", Status.FAIL, (DOMAIN, MULTILABEL), at=datetime.now(UTC) - timedelta(minutes=45)))
    _record(eve, _result(STEP1, "1", Status.FAIL, (("account_training_exists", "=HYPERLINK(\"x\")"),)))
    return {"ada": ada, "bob": bob, "cy": cy, "dee": dee, "eve": eve}


@pytest.fixture
def proctor(app, lab_id):
    proctors.add("pat@example.com", PASSWORD)
    proctors.grant("pat@example.com", lab_id, "Monday")
    return "pat@example.com"


def csrf_of(html: str) -> str:
    m = re.search(r'<meta name="csrf-token" content="([^"]+)"', html)
    assert m
    return m.group(1)


def sign_in(client, email: str = "pat@example.com", password: str = PASSWORD, next_url: str | None = None):
    token = csrf_of(client.get("/proctor/login").get_data(as_text=True))
    data = {"email": email, "password": password, "csrf_token": token}
    if next_url:
        data["next"] = next_url
    return client.post("/proctor/login", data=data)


GRID = "/proctor/labs/spot-the-flaw/classes/Monday"


# -- sign in --------------------------------------------------------------------------------------------


def test_login_logout(client, proctor):
    assert client.get("/proctor/").status_code == 302  # to the login page
    wrong = sign_in(client, password="not-the-password")
    unknown = sign_in(client, email="nobody@example.com")
    assert wrong.status_code == unknown.status_code == 401
    message = "That email and password do not match a proctor account"
    assert message in wrong.get_data(as_text=True) and message in unknown.get_data(as_text=True)
    ok = sign_in(client, next_url=GRID)
    assert ok.status_code == 303 and ok.headers["Location"].endswith(GRID)
    assert "Monday" in client.get("/proctor/").get_data(as_text=True)
    token = csrf_of(client.get("/proctor/").get_data(as_text=True))
    assert client.post("/proctor/logout").status_code == 400  # CSRF token required
    assert client.post("/proctor/logout", data={"csrf_token": token}).status_code == 303
    assert client.get("/proctor/").status_code == 302


def test_login_refuses_an_offsite_next(client, proctor):
    for target in ("https://evil.example.com/", "//evil.example.com/x", "/\\evil.example.com"):
        response = sign_in(client, next_url=target)
        assert response.headers["Location"].endswith("/proctor/"), target
        client.post("/proctor/logout", data={"csrf_token": csrf_of(client.get("/proctor/").get_data(as_text=True))})


def test_login_needs_csrf(client, proctor):
    response = client.post("/proctor/login", data={"email": "pat@example.com", "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/proctor/").status_code == 302


def test_login_rotates_the_session(client, proctor, monday):
    from webapp.services import launch

    client.get(f"/launch/{launch.make_token(monday['ada'])}")
    assert client.get("/lab").status_code == 200
    sign_in(client)
    assert client.get("/lab").status_code == 401  # the student session did not survive the proctor's sign-in


# -- scoping --------------------------------------------------------------------------------------------


def test_a_proctor_sees_only_granted_classes(client, proctor, monday):
    sign_in(client)
    index = client.get("/proctor/").get_data(as_text=True)
    assert "Monday" in index and "Tuesday" not in index
    assert client.get(GRID).status_code == 200
    for path in ("/proctor/labs/spot-the-flaw/classes/Tuesday", "/proctor/labs/spot-the-flaw/classes/Tuesday/grid",
                 "/proctor/labs/spot-the-flaw/classes/Tuesday/grid.csv",
                 "/proctor/labs/spot-the-flaw/classes/Tuesday/attempts.csv",
                 "/proctor/labs/spot-the-flaw/classes/Nope", "/proctor/labs/no-lab/classes/Monday",
                 f"/proctor/attendees/{monday['eve'].id}", "/proctor/attendees/99999"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "Eve Tuesday" not in response.get_data(as_text=True)
    token = csrf_of(client.get("/proctor/").get_data(as_text=True))
    assert client.post(f"/proctor/attendees/{monday['eve'].id}/revalidate",
                       data={"csrf_token": token, "step": STEP1}).status_code == 404


def test_an_admin_sees_every_class(client, lab_id, monday):
    proctors.add("root@example.com", PASSWORD, is_admin=True)
    sign_in(client, "root@example.com")
    index = client.get("/proctor/").get_data(as_text=True)
    assert "Monday" in index and "Tuesday" in index
    assert client.get("/proctor/labs/spot-the-flaw/classes/Tuesday").status_code == 200


# -- the grid -------------------------------------------------------------------------------------------


def test_grid_content_reasons_stuck_and_funnel(client, proctor, monday):
    sign_in(client)
    html = client.get(GRID).get_data(as_text=True)
    assert 'data-testid="cell-ada-2" data-status="PASS"' in html
    bob = (r'data-testid="cell-bob-2" data-status="FAIL"[^>]*>\s*'
           r'<span aria-hidden="true"><svg [^<]*<path[^>]*/></svg></span> FAIL')
    assert re.search(bob, html)  # the word, not only the colour
    assert 'data-testid="cell-dee-1" data-status="NOT_STARTED"' in html
    assert "Eve Tuesday" not in html
    # Time on the current step: Cy has spent 45 minutes on Task 2.
    assert re.search(r'data-testid="time-cy">4[56] min on it', html)
    # Most common failure reasons of Task 2: Multilabel (2 attendees) before the domain (1).
    reasons = re.search(r'data-testid="reasons-2".*?</section>', html, re.S).group(0)
    assert "<strong>2 attendees:</strong> Project &#39;Casting Defect Detection&#39; is Multilabel." in reasons
    assert reasons.index("project_classification_multiclass") < reasons.index("project_domain_compact")
    assert "<strong>1 attendee:</strong> Project uses domain" in reasons
    # Stuck: Bob (three FAILs in a row) and Cy (45 minutes), not Ada or Dee.
    assert 'data-testid="stuck-bob"' in html and "3 failed attempts in a row" in html
    assert 'data-testid="stuck-cy"' in html and 'data-testid="stuck-ada"' not in html
    # The funnel: an accessible SVG with the numbers in words.
    svg = re.search(r'<svg (?!class="lg-svg").*?</svg>', html, re.S).group(0)  # the funnel, not an icon
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    assert root.get("role") == "img" and root.find(f"{ns}title") is not None
    desc = root.find(f"{ns}desc").text
    assert "Task 1: 3 of 4 passed" in desc and "Task 2: 1 of 4 passed, 2 working on it" in desc
    assert SECRET not in html
    assert 'hx-trigger="every 5s"' in html  # live updates


def test_grid_sort_and_filter(client, proctor, monday):
    sign_in(client)

    def order(query: str) -> list[str]:
        html = client.get(f"{GRID}/grid?{query}").get_data(as_text=True)
        return re.findall(r'<tr data-testid="row-([a-z]+)"', html)

    assert order("") == ["ada", "bob", "cy", "dee"]
    assert order("sort=progress") == ["ada", "bob", "cy", "dee"]
    assert order("sort=time")[0] == "cy"
    assert order("stuck=1") == ["bob", "cy"]
    assert order("status=NOT_STARTED") == ["ada", "dee"]  # the status of the task each is on now
    assert order("status=FAIL&sort=name") == ["bob", "cy"]
    assert order("q=lovelace") == ["ada"]
    fragment = client.get(f"{GRID}/grid?stuck=1").get_data(as_text=True)
    assert fragment.startswith('<div id="lg-live"') and "stuck=1" in fragment  # polling keeps the filter


def test_grid_fragment_reflects_new_attempts(client, proctor, monday):
    sign_in(client)
    before = client.get(f"{GRID}/grid").get_data(as_text=True)
    assert 'data-testid="cell-dee-1" data-status="NOT_STARTED"' in before
    _record(monday["dee"], _result(STEP1, "1", Status.PENDING))
    after = client.get(f"{GRID}/grid").get_data(as_text=True)
    assert 'data-testid="cell-dee-1" data-status="PENDING"' in after


# -- CSV ------------------------------------------------------------------------------------------------


def test_csv_exports_are_injection_safe(app, client, lab_id, monday):
    proctors.add("root@example.com", PASSWORD, is_admin=True)
    evil = _plain(lab_id, "mallory", "=cmd|' /C calc'!A0")
    _record(evil, _result(STEP1, "1", Status.FAIL, (("account_training_exists", "+SUM(1,2)"),)))
    sign_in(client, "root@example.com")
    grid_csv = client.get(f"{GRID}.csv".replace("Monday.csv", "Monday/grid.csv"))
    assert grid_csv.mimetype == "text/csv" and "attachment" in grid_csv.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(grid_csv.get_data(as_text=True))))
    by_id = {r["external_id"]: r for r in rows}
    assert set(by_id) == {"ada", "bob", "cy", "dee", "mallory"}
    assert by_id["ada"]["Task 2"] == "PASS" and by_id["bob"]["stuck"] == "3 failed attempts in a row"
    assert by_id["dee"]["Task 1"] == "NOT_STARTED" and by_id["ada"]["done"] == "2"
    assert by_id["mallory"]["display_name"] == "'=cmd|' /C calc'!A0"

    with client.get(f"{GRID}/attempts.csv") as response:
        text = response.get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 3 + 1 + 3 + 1 + 1  # Monday's attempts only, Eve's (Tuesday) left out
    assert {r["external_id"] for r in rows} == {"ada", "bob", "cy", "mallory"}
    assert SECRET not in text
    assert not any(cell.startswith(("=", "+", "-", "@")) for r in rows for cell in r.values())


def test_safe_cell():
    assert [safe_cell(v) for v in ("=1+1", "+1", "-1", "@A1", "\tx", "plain", 5, None)] == [
        "'=1+1", "'+1", "'-1", "'@A1", "'\tx", "plain", "5", ""]


def test_funnel_svg_escapes_and_scales():
    svg = charts.funnel_svg([charts.FunnelStep("Task <1>", 2, 3), charts.FunnelStep("Task 2", 0, 0)], 4,
                            chart_id="f1", title="A & B")
    root = ET.fromstring(svg)  # well-formed despite the markup in the labels
    rects = [r for r in root.iter("{http://www.w3.org/2000/svg}rect") if r.get("data-passed") is not None]
    assert [int(r.get("width")) for r in rects] == [charts.BAR_W // 2, 0]
    assert root.get("aria-labelledby") == "f1-title f1-desc" and "A &amp; B" in svg
    assert charts.funnel_svg([], 0).count("<rect") == 0


# -- one attendee ---------------------------------------------------------------------------------------


def test_attendee_timeline_shows_evidence_not_secrets(client, proctor, monday):
    sign_in(client)
    _record(monday["bob"], _result(STEP2, "2", Status.FAIL, (MULTILABEL,), evidence={"classification_type":
                                                                                       "Multilabel"}))
    html = client.get(f"/proctor/attendees/{monday['bob'].id}").get_data(as_text=True)
    assert "Bob Builder" in html and "Technical details" in html
    assert "<dt>classification_type</dt><dd>Multilabel</dd>" in html
    assert html.count('<li data-status="FAIL"') == 4 and 'data-testid="revalidate"' in html
    assert SECRET not in html


def test_revalidate_one_step_and_all(app, client, lab_id, attendee, proctor):
    azure = {k: v for k, v in attendee.items() if k != "injects"}
    who = attendees.upsert(lab_id, "live-1", cohort="Monday", display_name="Live One",
                           injects={**attendee["injects"], "AzureAdUserPassword": SECRET}, azure=azure)
    sign_in(client)
    page = client.get(f"/proctor/attendees/{who.id}").get_data(as_text=True)
    token = csrf_of(page)
    assert client.post(f"/proctor/attendees/{who.id}/revalidate", data={"step": STEP1}).status_code == 400
    Student(attendee).do("1")
    done = client.post(f"/proctor/attendees/{who.id}/revalidate", data={"step": STEP1, "csrf_token": token})
    assert done.status_code == 303
    latest = attempts.history(who)[0]
    assert (latest.status, latest.trigger, latest.triggered_by) == ("PASS", "proctor", "pat@example.com")
    assert "Task 1: PASS." in client.get(f"/proctor/attendees/{who.id}").get_data(as_text=True)

    client.post(f"/proctor/attendees/{who.id}/revalidate", data={"step": "all", "csrf_token": token})
    deadline = time.monotonic() + 60
    while len(attempts.history(who)) < 1 + 8 and time.monotonic() < deadline:
        db.session.rollback()  # end this thread's read transaction so the job's commits become visible
        time.sleep(0.2)
    assert len(attempts.history(who)) == 9
    statuses = {a.step_id: a.status for a in attempts.history(who)[:8]}
    assert statuses[STEP1] == "PASS" and statuses[STEP2] == "FAIL"


def test_unusable_credentials_are_one_recorded_error(app, client, lab_id, monday, proctor):
    from cryptography.fernet import Fernet

    ada = monday["ada"]
    sign_in(client)
    token = csrf_of(client.get(f"/proctor/attendees/{ada.id}").get_data(as_text=True))
    before = len(attempts.history(ada))
    app.config["ENCRYPTION_KEY"] = Fernet.generate_key().decode()  # Ada's stored secrets no longer decrypt
    done = client.post(f"/proctor/attendees/{ada.id}/revalidate", data={"step": STEP2, "csrf_token": token})
    assert done.status_code == 303
    latest = attempts.history(ada)[0]
    assert (latest.status, latest.trigger) == ("ERROR", "proctor") and len(attempts.history(ada)) == before + 1
    page = client.get(f"/proctor/attendees/{ada.id}").get_data(as_text=True)
    assert "Task 2: ERROR. labgrader cannot use the Azure credentials stored for this lab" in page
    assert "cannot be decrypted" in page  # the evidence tells the proctor why
    # The whole-lab re-validate records that once, not once per task.
    from webapp.proctor.views import revalidate_all

    assert revalidate_all(ada.id, "pat@example.com") == 1
    assert len(attempts.history(ada)) == before + 2


def test_a_class_with_a_slash_in_its_name(client, lab_id, proctor):
    _plain(lab_id, "am-1", "Morning Person", cohort="Mon/AM")
    proctors.grant("pat@example.com", lab_id, "Mon/AM")
    sign_in(client)
    index = client.get("/proctor/").get_data(as_text=True)
    url = "/proctor/labs/spot-the-flaw/classes/Mon/AM"
    assert f'href="{url}"' in index
    page = client.get(url)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "<h1>Mon/AM" in html and "Morning Person" in html
    assert f'hx-get="{url}/grid"' in html and f'href="{url}/grid.csv"' in html
    grid = client.get(f"{url}/grid")
    assert grid.status_code == 200 and 'data-testid="live-grid"' in grid.get_data(as_text=True)
    with client.get(f"{url}/grid.csv") as csv_response:
        assert csv_response.status_code == 200 and "am-1" in csv_response.get_data(as_text=True)
    with client.get(f"{url}/attempts.csv") as csv_response:
        assert csv_response.status_code == 200 and csv_response.mimetype == "text/csv"
    assert client.get("/proctor/labs/spot-the-flaw/classes/Mon").status_code == 404  # no class "Mon"


def test_login_limit_is_per_address_and_email(app, client, proctor):
    proctors.add("sam@example.com", PASSWORD)
    for _ in range(10):
        assert sign_in(client, email="Pat@Example.com", password="wrong-guess-123").status_code == 401
    # Case or spaces do not make a fresh allowance for the same account...
    limited = sign_in(client, email=" pat@example.com", password="wrong-guess-123")
    assert limited.status_code == 429 and "Too many sign-in attempts for this email" in limited.get_data(as_text=True)
    # ... while another proctor behind the same address signs in as usual.
    assert sign_in(client, email="sam@example.com").status_code == 303


def test_an_ended_sign_in_answers_htmx_with_a_fragment(client, proctor, monday):
    sign_in(client)
    assert client.get(f"{GRID}/grid", headers={"HX-Request": "true"}).status_code == 200
    client.post("/proctor/logout", data={"csrf_token": csrf_of(client.get("/proctor/").get_data(as_text=True))})
    response = client.get(f"{GRID}/grid", headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 401 and "<html" not in html and 'data-status="SESSION_ENDED"' in html
    assert 'href="/proctor/login"' in html and "Sign in again" in html


def test_the_live_grid_keeps_its_last_update_when_a_refresh_fails(client, proctor, monday):
    sign_in(client)
    html = client.get(GRID).get_data(as_text=True)
    # The note the page script fills in (and unhides) when a refresh answers non-2xx; the grid stays.
    assert '<p id="lg-live-note" class="lg-live-note" role="status" data-testid="live-paused" hidden></p>' in html
    with client.get("/static/js/labgrader.js") as script:
        js = script.get_data(as_text=True)
    assert "htmx:beforeSwap" in js and "shouldSwap = false" in js and "Live updates paused" in js
