"""Check before class in the web service: the platform API runs ``labgrader doctor`` for an attendee and keeps the
report (answers conform to the OpenAPI document); the proctor's class page checks the whole class and the grid
marks attendees whose check failed; an attendee's report page lists every item with its fix."""

from __future__ import annotations

import itertools
import time

from checks import grants
from webapp.extensions import db
from webapp.models import DoctorCheck
from webapp.services import apikeys, attendees, proctors

from .test_api_openapi import PREFIX, _conforms
from .test_proctor_pages import csrf_of, sign_in

_n = itertools.count(1)


def _grader_attendee(sim, lab_id: str, external_id: str, role, cohort: str = "Monday"):
    creds = sim.create_attendee(f"web-doc-{next(_n)}", grader_role=role, grader_scope="resource_group")
    azure = {k: v for k, v in creds.items() if k not in ("injects", "student")}
    return attendees.upsert(lab_id, external_id, cohort=cohort, display_name=external_id.title(),
                            injects=creds["injects"], azure=azure)


def test_api_runs_and_keeps_the_check(app, client, sim, lab_id):
    auth = {"Authorization": f"Bearer {apikeys.create('platform')[1]}"}
    _grader_attendee(sim, lab_id, "good", grants.MINIMAL_ROLE)
    _grader_attendee(sim, lab_id, "reader", "Reader")
    spec = client.get(f"{PREFIX}/openapi.json").get_json()
    path = f"{PREFIX}/labs/{{lab}}/attendees/{{attendee}}/doctor"
    assert set(spec["paths"][path]) >= {"get", "post"}

    none = client.get(f"{PREFIX}/labs/{lab_id}/attendees/good/doctor", headers=auth)
    assert none.status_code == 404
    _conforms(spec, none.get_json(), "get", path, 404)

    good = client.post(f"{PREFIX}/labs/{lab_id}/attendees/good/doctor", json={}, headers=auth)
    assert good.status_code == 200, good.get_json()
    _conforms(spec, good.get_json(), "post", path, 200)
    assert good.get_json()["status"] == "PASS"

    bad = client.post(f"{PREFIX}/labs/{lab_id}/attendees/reader/doctor", json={}, headers=auth)
    body = bad.get_json()
    assert bad.status_code == 200 and body["status"] == "FAIL"
    item = next(i for i in body["items"] if i["id"] == "list-keys")
    assert item["status"] == "FAIL" and grants.LIST_KEYS in item["message"]

    again = client.get(f"{PREFIX}/labs/{lab_id}/attendees/reader/doctor", headers=auth)
    assert again.status_code == 200 and again.get_json()["items"] == body["items"]
    _conforms(spec, again.get_json(), "get", path, 200)
    assert client.post(f"{PREFIX}/labs/{lab_id}/attendees/nobody/doctor", json={}, headers=auth).status_code == 404
    assert client.post(f"{PREFIX}/labs/{lab_id}/attendees/good/doctor", json={}).status_code == 401


def test_no_secret_reaches_the_stored_report(app, client, sim, lab_id):
    who = _grader_attendee(sim, lab_id, "leaky", grants.MINIMAL_ROLE)
    secret = attendees.credentials(who)["client_secret"]
    from webapp.services import doctor

    doctor.run(who, checked_by="test")
    assert secret not in str(db.session.get(DoctorCheck, who.id).report)


def test_check_before_class_marks_the_attendees_whose_check_failed(app, client, sim, lab_id):
    proctors.add("pat@example.com", "proctor-password-123")
    proctors.grant("pat@example.com", lab_id, "Monday")
    good = _grader_attendee(sim, lab_id, "good", grants.MINIMAL_ROLE)
    bad = _grader_attendee(sim, lab_id, "reader", "Reader")
    sign_in(client)
    grid = "/proctor/labs/spot-the-flaw/classes/Monday"
    page = client.get(grid).get_data(as_text=True)
    assert 'data-testid="doctor-class"' in page and "Check before class" in page
    assert client.post(grid + "/doctor").status_code == 400  # no CSRF token
    done = client.post(grid + "/doctor", data={"csrf_token": csrf_of(page)})
    assert done.status_code == 303
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        db.session.rollback()  # see the background jobs' commits
        if db.session.get(DoctorCheck, good.id) and db.session.get(DoctorCheck, bad.id):
            break
        time.sleep(0.2)
    assert db.session.get(DoctorCheck, bad.id).status == "FAIL"
    assert db.session.get(DoctorCheck, good.id).status == "PASS"

    live = client.get(grid + "/grid").get_data(as_text=True)
    assert 'data-testid="doctor-failed-reader"' in live
    assert 'data-testid="doctor-failed-good"' not in live

    report = client.get(f"/proctor/attendees/{bad.id}/doctor").get_data(as_text=True)
    assert 'data-item="list-keys" data-status="FAIL"' in report
    assert grants.LIST_KEYS in report and "Cognitive Services User" in report
    again = client.post(f"/proctor/attendees/{bad.id}/doctor", data={"csrf_token": csrf_of(report)})
    assert again.status_code == 303
    assert 'data-testid="doctor-link"' in client.get(f"/proctor/attendees/{bad.id}").get_data(as_text=True)


def test_other_proctors_cannot_see_or_run_the_check(app, client, sim, lab_id):
    proctors.add("tue@example.com", "proctor-password-123")
    proctors.grant("tue@example.com", lab_id, "Tuesday")
    who = _grader_attendee(sim, lab_id, "mon", grants.MINIMAL_ROLE)
    sign_in(client, email="tue@example.com")
    assert client.get(f"/proctor/attendees/{who.id}/doctor").status_code == 404
    token = csrf_of(client.get("/proctor/").get_data(as_text=True))
    assert client.post(f"/proctor/attendees/{who.id}/doctor", data={"csrf_token": token}).status_code == 404
    assert client.post("/proctor/labs/spot-the-flaw/classes/Monday/doctor",
                       data={"csrf_token": token}).status_code == 404
