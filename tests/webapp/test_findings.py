""""What was found" in plain words for students; raw evidence behind "Technical details" for proctors."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

import pytest
from flask import render_template

import validator
from azuresim.student import Student
from checks.outcome import Outcome, Status
from webapp.extensions import db
from webapp.services import attempts, attendees, launch, proctors, validation
from webapp.student.badges import look
from webapp.student.findings import findings, technical

STEP2 = "0b268237-4be0-4453-a6ac-5603f697a1a9"
PASSWORD = "proctor-password-123"

OD = Outcome("project_type_classification", Status.FAIL, "Project 'P' is an Object Detection project.",
             "Create it again.", {"domain_type": "ObjectDetection"})
FOLLOW = Outcome("project_classification_multiclass", Status.FAIL,
                 "Project 'P' is an Object Detection project, so its classification type is checked later.",
                 "Create it again.", follows_from="project_type_classification")
DESCRIPTION = Outcome("project_description", Status.FAIL, "Project 'P' has no description.",
                      "Set Description.", {"description": ""})


def _result(status=Status.FAIL, checks=(OD, FOLLOW), message=None, found=(), observed=None, step=STEP2, task="2",
            at=None):
    return validator.StepResult(
        lab="spot-the-flaw", step=step, task=task, title="t", status=status,
        message=message if message is not None else (checks[0].message if checks else "Everything is in place."),
        hint=checks[0].hint if checks else None, checks=tuple(checks), started_at=at or datetime.now(UTC),
        duration_ms=5, azure_calls=1, found=tuple(found), observed=dict(observed or {}),
    )


# -- the presenter --------------------------------------------------------------------------------------

def test_findings_are_the_observations_then_other_causes_never_a_follow_on():
    result = _result(checks=(OD, FOLLOW, DESCRIPTION), found=("Project 'P': Object Detection, domain 'X'.",))
    shown = findings(result)
    assert [(f.kind, f.label, f.text) for f in shown] == [
        ("seen", None, "Project 'P': Object Detection, domain 'X'."),
        ("fix", "Also to fix:", "Project 'P' has no description. Set Description."),
    ]
    marked = {t.outcome.check_id: t.follow_on for t in technical(result)}
    assert marked == {"project_type_classification": False, "project_classification_multiclass": True,
                      "project_description": False}


def test_findings_of_results_recorded_before_found_existed():
    err = Outcome("tag_image_count", Status.ERROR, "Azure is throttling requests right now (HTTP 429).", "Retry.",
                  {"fact": "tags", "kind": "throttled"})
    ok = Outcome("project_exists", Status.PASS, "Found project 'P'.", None, {"project_id": "p1"})
    result = _result(status=Status.ERROR, checks=(ok, err, err, err), message=err.message)
    assert [(f.kind, f.text) for f in findings(result)] == [("seen", "Found project 'P'.")]  # the ERROR: once, above
    old = _result(checks=(OD, FOLLOW))
    assert findings(old) == []  # the cause is the message; its follow-on is not a finding


def test_the_badge_shows_plain_words_and_no_evidence(app):
    result = _result(checks=(OD, FOLLOW), found=("Project 'P': Object Detection, domain 'General (compact)'.",))
    with app.test_request_context():
        html = render_template("student/_badge.html", result=result, look=look(result.status),
                               step=type("S", (), {"id": STEP2})(), recheck_delay=None)
    found = html[html.index('data-testid="found"'):html.index("</details>")]
    assert "Project &#39;P&#39;: Object Detection" in found
    for raw in ("follows_from", "domain_type", "<dl", "lg-chip", "data-check", "classification type is checked"):
        assert raw not in found, raw


# -- against the simulator ------------------------------------------------------------------------------

def _split(creds: dict) -> tuple[dict, dict]:
    return {k: v for k, v in creds.items() if k != "injects"}, dict(creds.get("injects") or {})


@pytest.fixture
def me(app, lab_id, attendee):
    azure, injects = _split(attendee)
    return attendees.upsert(lab_id, "finder-1", cohort="Monday", display_name="Ada Lovelace", injects=injects,
                            azure=azure)


def _csrf(html: str) -> str:
    return re.search(r'<meta name="csrf-token" content="([^"]+)"', html).group(1)


def test_object_detection_badge_has_one_cause_and_plain_findings(client, me, attendee):
    student = Student(attendee, counts={"Non Defective": 6, "Defect": 6})
    student.do("1")
    student.do("2", "object-detection")
    assert client.get(f"/launch/{launch.make_token(me)}").status_code == 303
    token = _csrf(client.get("/lab").get_data(as_text=True))
    html = client.post(f"/lab/steps/{STEP2}/validate", headers={"X-CSRFToken": token, "HX-Request": "true"}
                       ).get_data(as_text=True)
    badge = html[:html.index("</details>")]
    assert 'data-status="FAIL"' in badge and "is an Object Detection project; this lab needs Classification" in badge
    assert "classification type" not in badge  # the follow-on is neither a second FAIL nor a finding
    assert "Object Detection, domain &#39;General (compact)&#39;" in badge  # what was observed, in words
    assert "follows_from" not in html and "lg-evidence" not in html


def test_proctor_sees_technical_details_with_follow_ons_marked(client, app, lab_id):
    proctors.add("pat@example.com", PASSWORD)
    proctors.grant("pat@example.com", lab_id, "Monday")
    who = attendees.upsert(lab_id, "bob", cohort="Monday", display_name="Bob",
                           azure={"subscription_id": str(uuid.uuid4()), "resource_group": "rg"})
    result = _result(checks=(OD, FOLLOW), found=("Project 'P': Object Detection.",),
                     observed={"project": "p1"})
    validation.record(who, result, result.to_json(), trigger="sweep", triggered_by=None)
    token = _csrf(client.get("/proctor/login").get_data(as_text=True))
    client.post("/proctor/login", data={"email": "pat@example.com", "password": PASSWORD, "csrf_token": token})
    html = client.get(f"/proctor/attendees/{who.id}").get_data(as_text=True)
    technical_html = html[html.index('data-testid="technical"'):]
    assert "<summary>Technical details</summary>" in technical_html
    assert "<dt>domain_type</dt><dd>ObjectDetection</dd>" in technical_html
    assert 'data-follow-on="project_type_classification"' in technical_html and "not checked" in technical_html
    assert "<code>project</code> p1" in technical_html
    assert "Project &#39;P&#39;: Object Detection." in html


def _old_shape(data: dict) -> dict:
    """``data`` as attempts recorded before ``follows_from`` was a field stored it: an evidence key."""
    checks = []
    for c in data["checks"]:
        c = dict(c)
        cause = c.pop("follows_from")
        checks.append({**c, "evidence": {**c["evidence"], "follows_from": cause}} if cause else c)
    return {**data, "checks": checks}


def test_an_attempt_recorded_in_the_old_shape_reads_back_with_its_follow_on(client, app, lab_id):
    proctors.add("pat@example.com", PASSWORD)
    proctors.grant("pat@example.com", lab_id, "Monday")
    who = attendees.upsert(lab_id, "old", cohort="Monday", display_name="Olga",
                           azure={"subscription_id": str(uuid.uuid4()), "resource_group": "rg"})
    result = _result(checks=(OD, FOLLOW))
    stored = _old_shape(result.to_json())
    assert "follows_from" not in stored["checks"][1] and stored["checks"][1]["evidence"]["follows_from"]
    validation.record(who, result, stored, trigger="sweep", triggered_by=None)
    db.session.expire_all()
    (attempt,) = attempts.history(who)
    assert validator.StepResult.from_json(attempt.result).checks == result.checks
    token = _csrf(client.get("/proctor/login").get_data(as_text=True))
    client.post("/proctor/login", data={"email": "pat@example.com", "password": PASSWORD, "csrf_token": token})
    technical_html = client.get(f"/proctor/attendees/{who.id}").get_data(as_text=True)
    technical_html = technical_html[technical_html.index('data-testid="technical"'):]
    assert 'data-follow-on="project_type_classification"' in technical_html and "not checked" in technical_html
    assert "<dt>follows_from</dt>" not in technical_html
