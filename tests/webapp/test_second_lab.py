"""The second lab (Find the Flaw, object detection) through every surface, with no code of its own outside the
checks: the platform API (attendee, validations, progress), the student's guide and its Validate button, the
proctor's grid and its CSV. Its scripted student works through the official SDKs against azuresim."""

from __future__ import annotations

import csv
import io
import re

import pytest

from azuresim.student import DetectionStudent
from labguide.packs import load_pack
from webapp.services import apikeys, attendees, launch, proctors

LAB = "find-the-flaw"
PASSWORD = "Sup3r-Secret-Lab-Passw0rd"
PROCTOR_PASSWORD = "proctor-password-123"


@pytest.fixture(scope="module")
def pack():
    return load_pack(LAB)


@pytest.fixture
def api(app, client):
    _, key = apikeys.create("platform")
    return lambda method, path, **kw: client.open(path, method=method, headers={"Authorization": f"Bearer {key}"},
                                                  **kw)


def _csrf(html: str) -> str:
    m = re.search(r'<meta name="csrf-token" content="([^"]+)"', html)
    assert m
    return m.group(1)


def test_api_guide_grid_and_csv_work_for_the_second_lab(app, client, api, attendee, sim, pack):
    azure = {k: v for k, v in attendee.items() if k != "injects"}
    body = {"class": "Tuesday", "display_name": "Mary Jackson", "azure": azure,
            "injects": {**(attendee.get("injects") or {}), "AzureAdUserPassword": PASSWORD}}

    labs = {lab["id"]: lab for lab in api("GET", "/api/v1/labs").get_json()["labs"]}
    assert labs[LAB]["title"] == pack.title and labs[LAB]["steps"] == len(pack.steps)
    assert api("PUT", f"/api/v1/labs/{LAB}/attendees/mary", json=body).status_code == 201
    url = f"/api/v1/labs/{LAB}/attendees/mary"

    # Before anything: Task 3 points at the missing resource.
    first = api("POST", url + "/validations", json={"step": "3"}).get_json()
    assert first["status"] == "FAIL" and "Task 1" in first["message"]

    # The student's guide: the lab's own tasks and Validate buttons, the password masked.
    who = attendees.get(LAB, "mary")
    assert client.get(f"/launch/{launch.make_token(who)}").status_code == 303
    page = client.get("/lab").get_data(as_text=True)
    assert "Find the Flaw" in page and "Upload the castings and draw the defect regions" in page
    for step in pack.steps:
        assert step.id in page
    assert PASSWORD not in page
    token = _csrf(page)
    task2 = next(s for s in pack.steps if s.task == "2")
    badge = client.post(f"/lab/steps/{task2.id}/validate", headers={"X-CSRFToken": token, "HX-Request": "true"})
    assert badge.status_code == 200 and 'data-status="FAIL"' in badge.get_data(as_text=True)

    # The scripted student does the lab; the whole lab validates through the API in one call.
    DetectionStudent(attendee).do_all()
    results = api("POST", url + "/validations/batch", json={}).get_json()["results"]
    assert [r["task"] for r in results] == [s.task for s in pack.steps]
    assert [r["status"] for r in results] == ["PASS"] * len(pack.steps), [r["message"] for r in results]
    task5 = next(r for r in results if r["task"] == "5")
    assert "on the defect in" in task5["checks"][0]["message"]

    progress = api("GET", url + "/progress").get_json()
    assert progress["totals"]["passed"] == len(pack.steps) and progress["score"]["percent"] == 100

    # A classmate who boxed the wrong places: the proctor's grid names the reason.
    other = sim.create_attendee("second-lab-classmate")
    mate = {**body, "display_name": "Lynn Conway", "azure": {k: v for k, v in other.items() if k != "injects"},
            "injects": {**(other.get("injects") or {}), "AzureAdUserPassword": PASSWORD}}
    assert api("PUT", f"/api/v1/labs/{LAB}/attendees/lynn", json=mate).status_code == 201
    student = DetectionStudent(other)
    for task, mistake in (("1", None), ("2", None), ("3", "wrong-tag")):
        student.do(task, mistake)
    assert api("POST", f"/api/v1/labs/{LAB}/attendees/lynn/validations", json={"step": "3"}).get_json()[
        "status"] == "FAIL"

    proctors.add("pat@example.com", PROCTOR_PASSWORD)
    proctors.grant("pat@example.com", LAB, "Tuesday")
    client.post("/logout")
    login = client.get("/proctor/login").get_data(as_text=True)
    signed = client.post("/proctor/login", data={"email": "pat@example.com", "password": PROCTOR_PASSWORD,
                                                 "csrf_token": _csrf(login)})
    assert signed.status_code in (200, 302, 303)
    grid = client.get(f"/proctor/labs/{LAB}/classes/Tuesday").get_data(as_text=True)
    assert "Mary Jackson" in grid and "Lynn Conway" in grid
    cells = dict(re.findall(r'data-testid="cell-([a-z]+-[\d.]+)" data-status="([A-Z_]+)"', grid))
    assert cells["mary-5"] == "PASS" and cells["lynn-3"] == "FAIL" and cells["lynn-4"] == "NOT_STARTED"
    reasons = re.search(r'data-testid="reasons-3".*?</section>', grid, re.S).group(0)
    assert "no region tagged" in reasons and "Casting" in reasons

    table = list(csv.reader(io.StringIO(
        client.get(f"/proctor/labs/{LAB}/classes/Tuesday/grid.csv").get_data(as_text=True))))
    header, rows = table[0], {r[0]: dict(zip(table[0], r, strict=True)) for r in table[1:]}
    assert header[-len(pack.steps):] == [f"Task {s.task}" for s in pack.steps]
    assert rows["mary"]["done"] == str(len(pack.steps)) and rows["mary"]["Task 5"] == "PASS"
    assert rows["lynn"]["Task 3"] == "FAIL"
