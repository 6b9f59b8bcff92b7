"""The demo's practice panel through the Flask test client against azuresim: only in demo mode, on the
session's attendee only, CSRF-protected; doing a task (right or with a mistake) changes what Validate says."""

from __future__ import annotations

import html as htmllib
import re
import subprocess
import sys

import pytest

from azuresim.student import MISTAKES
from tests.webapp.test_student_pages import STEP1, STEP2, csrf_of, status_of, validate
from webapp.practice import views
from webapp.services import attendees, launch


def _split(creds: dict) -> tuple[dict, dict]:
    return {k: v for k, v in creds.items() if k != "injects"}, dict(creds.get("injects") or {})


@pytest.fixture
def demo_app(make_app, tmp_path):
    app = make_app(DATABASE_URL=f"sqlite:///{tmp_path / 'labgrader.sqlite3'}", AUTO_MIGRATE=True, DEMO=True)
    with app.app_context():
        yield app


@pytest.fixture
def me(demo_app, attendee):
    azure, injects = _split(attendee)
    return attendees.upsert("spot-the-flaw", "you", cohort="demo", display_name="You", azure=azure, injects=injects)


def open_lab(client, who) -> tuple[str, str]:
    """Follow ``who``'s launch link; returns (the guide's HTML, its CSRF token)."""
    assert client.get(f"/launch/{launch.make_token(who)}").status_code == 303
    page = client.get("/lab")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    return html, csrf_of(html)


def practice(client, token: str, task: str, mistake: str = ""):
    return client.post("/lab/practice", data={"task": task, "mistake": mistake},
                       headers={"X-CSRFToken": token, "HX-Request": "true"})


def outcome(response) -> tuple[str, str]:
    html = response.get_data(as_text=True)
    m = re.search(r'data-testid="practice-result" data-outcome="(\w+)">\s*<p class="lg-message">(.*?)</p>', html, re.S)
    assert m, html
    return m.group(1), htmllib.unescape(" ".join(m.group(2).split()))


def selected_task(html: str) -> str:
    select = re.search(r'<select id="lg-practice-task".*?</select>', html, re.S).group(0)
    return re.search(r'<option value="([^"]+)" selected>', select).group(1)


def test_everything_is_a_404_outside_demo_mode(make_app, tmp_path, attendee):
    app = make_app(DATABASE_URL=f"sqlite:///{tmp_path / 'plain.sqlite3'}", AUTO_MIGRATE=True)
    with app.app_context():
        azure, injects = _split(attendee)
        who = attendees.upsert("spot-the-flaw", "plain", azure=azure, injects=injects)
        client = app.test_client()
        html, token = open_lab(client, who)
        assert "practice-panel" not in html and "/lab/practice" not in html
        assert practice(client, token, "1").status_code == 404
        assert client.get("/lab/practice/mistakes?task=1").status_code == 404
        assert client.get("/lab/practice/static/practice.css").status_code == 404


def test_the_guide_carries_an_accessible_panel_defaulting_to_task_1(demo_app, me):
    html, _ = open_lab(demo_app.test_client(), me)
    panel = re.search(r'<aside class="lg-practice" aria-labelledby="lg-practice-title".*?</aside>', html, re.S)
    assert panel, "no practice <aside> on the guide page"
    panel = panel.group(0)
    assert '<h2 id="lg-practice-title">' in panel
    assert '<label for="lg-practice-task">' in panel and '<label for="lg-practice-mistake">' in panel
    assert 'name="csrf_token"' in panel and 'hx-post="/lab/practice"' in panel
    assert selected_task(html) == "1"
    # Every task is offered; the mistake select starts with "correctly" and lists Task 1's mistakes.
    assert re.findall(r'<option value="([\d.]+)"', panel) == ["1", "2", "3.1", "3.2", "4", "5.1", "5.2", "6"]
    assert 'Task 1: Create a Custom Vision resource' in panel
    mistakes = re.findall(r'<option value="([a-z-]*)">', panel)
    assert mistakes == ["", *MISTAKES["1"]]


def test_choosing_a_task_lists_its_mistakes(demo_app, me):
    client = demo_app.test_client()
    open_lab(client, me)
    html = client.get("/lab/practice/mistakes?task=2").get_data(as_text=True)
    assert re.findall(r'<option value="([a-z-]*)">', html) == ["", *MISTAKES["2"]]
    assert "as some students do: picks Multilabel instead of Multiclass" in html
    assert client.get("/lab/practice/mistakes?task=9").status_code == 404


def test_doing_task_1_turns_its_fail_into_a_pass(demo_app, me, attendee):
    client = demo_app.test_client()
    _, token = open_lab(client, me)
    assert status_of(validate(client, token, STEP1).get_data(as_text=True)) == "FAIL"

    response = practice(client, token, "1")
    assert response.status_code == 200
    kind, text = outcome(response)
    name = f"customvision-casting-{attendee['injects']['DeploymentID']}"
    assert kind == "done"
    assert text == (f"Created Custom Vision '{name}' (F0) in eastus. "
                    "Now press Validate under Task 1 to see what labgrader says.")

    assert status_of(validate(client, token, STEP1).get_data(as_text=True)) == "PASS"
    html, _ = open_lab(client, me)
    assert selected_task(html) == "2"  # the next task not yet passed


def test_a_chosen_mistake_is_made_and_named(demo_app, me):
    client = demo_app.test_client()
    _, token = open_lab(client, me)
    kind, text = outcome(practice(client, token, "1", "wrong-tier"))
    assert kind == "done"
    assert text.startswith("Done as chosen (picks the Standard S0 training tier instead of Free F0): ")
    assert "(S0)" in text and text.endswith("Now press Validate under Task 1 to see what labgrader says.")
    result = validate(client, token, STEP1).get_data(as_text=True)
    assert status_of(result) == "FAIL" and "S0" in result and "F0" in result


def test_a_task_whose_prerequisite_is_missing_says_which_to_do_first(demo_app, me):
    client = demo_app.test_client()
    _, token = open_lab(client, me)
    response = practice(client, token, "2")
    assert response.status_code == 200  # an answer the panel expects: no error in the browser's console
    kind, text = outcome(response)
    assert kind == "error"
    assert text == "Could not do Task 2 (no Custom Vision training resource). Do Task 1 first."
    assert status_of(validate(client, token, STEP2).get_data(as_text=True)) == "FAIL"


@pytest.mark.parametrize(("task", "mistake", "says"), [
    ("7", "", "Choose a task from the list"),
    ("1", "multilabel", "Task 1 has no such mistake"),
])
def test_unknown_tasks_and_mistakes_are_refused(demo_app, me, task, mistake, says):
    client = demo_app.test_client()
    _, token = open_lab(client, me)
    response = practice(client, token, task, mistake)
    assert response.status_code == 422
    assert outcome(response)[0] == "error" and says in outcome(response)[1]


def test_it_needs_a_session_and_a_csrf_token(demo_app, me):
    client = demo_app.test_client()
    # A valid CSRF token without a lab session: the session check itself must answer (401).
    token = csrf_of(client.get("/proctor/login").get_data(as_text=True))
    response = client.post("/lab/practice", data={"task": "1"}, headers={"X-CSRFToken": token, "HX-Request": "true"})
    assert response.status_code == 401 and 'data-status="SESSION_ENDED"' in response.get_data(as_text=True)
    assert client.get("/lab/practice/mistakes?task=1").status_code == 401
    open_lab(client, me)
    refused = client.post("/lab/practice", data={"task": "1"}, headers={"HX-Request": "true"})
    assert refused.status_code == 400 and "out of date" in refused.get_data(as_text=True)


def test_it_acts_on_the_sessions_attendee_only(demo_app, me, sim):
    other_creds = sim.create_attendee("practice-other")
    azure, injects = _split(other_creds)
    other = attendees.upsert("spot-the-flaw", "other", azure=azure, injects=injects)
    client = demo_app.test_client()
    _, token = open_lab(client, me)
    # A form field naming another attendee is ignored: the session decides whose Azure is touched.
    client.post("/lab/practice", data={"task": "1", "attendee": str(other.id), "attendee_id": str(other.id)},
                headers={"X-CSRFToken": token, "HX-Request": "true"})
    other_client = demo_app.test_client()
    _, other_token = open_lab(other_client, other)
    assert status_of(validate(other_client, other_token, STEP1).get_data(as_text=True)) == "FAIL"
    assert status_of(validate(client, token, STEP1).get_data(as_text=True)) == "PASS"


@pytest.mark.parametrize(("authority", "simulated"), [
    ("https://127.0.0.1:8443", True),
    ("https://127.8.9.10:8443/", True),
    ("https://[::1]:8443", True),
    ("https://localhost:8443", True),
    ("https://login.microsoftonline.com", False),
    ("https://127.0.0.1.example.com", False),
    ("https://10.0.0.5:8443", False),
    ("not a url", False),
    (None, False),
])
def test_only_a_loopback_simulator_counts(authority, simulated):
    assert views.is_loopback_authority(authority) is simulated


def test_the_panel_refuses_an_attendee_of_a_real_cloud(demo_app, attendee):
    # DEMO set on a server whose attendees sign in at real Entra ID: the grader must never act there.
    azure, injects = _split(attendee)
    azure["authority_host"] = "https://login.microsoftonline.com"
    real = attendees.upsert("spot-the-flaw", "real-cloud", azure=azure, injects=injects)
    client = demo_app.test_client()
    html, token = open_lab(client, real)
    assert "practice-panel" not in html
    assert practice(client, token, "1").status_code == 404
    assert client.get("/lab/practice/mistakes?task=1").status_code == 404


def test_the_scripted_student_is_imported_on_use_only():
    code = ("import sys; import webapp.practice.views; from webapp import create_app; "
            "print('azuresim.student' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_one_scripted_student_per_attendee(demo_app, me, attendee):
    first = views.student_for(me)
    assert views.student_for(me) is first
    azure, _ = _split(attendee)
    changed = attendees.upsert("spot-the-flaw", "you", azure={**azure, "region": "westeurope"})
    again = views.student_for(changed)
    assert again is not first and again.region == "westeurope"  # new credentials, a new student
