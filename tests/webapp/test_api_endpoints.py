"""The platform API's success paths through the test client, validations through the real SDKs against
azuresim, the OpenAPI document and the docs page. Every response body of a test is checked for secrets."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from azuresim.student import Student
from webapp.services import apikeys, launch

STEP1 = "d59e98f0-5614-4e26-b82c-18374ffffb6c"
STEP2 = "0b268237-4be0-4453-a6ac-5603f697a1a9"
PASSWORD = "Sup3r-Secret-Lab-Passw0rd"


class ApiClient:
    """The test client with a bearer key, keeping every response body so a test can look for secrets."""

    def __init__(self, client, key: str) -> None:
        self.client, self.key, self.bodies = client, key, []

    def call(self, method: str, path: str, **kw):
        headers = {"Authorization": f"Bearer {self.key}", **kw.pop("headers", {})}
        response = self.client.open(path, method=method, headers=headers, **kw)
        self.bodies.append(response.get_data(as_text=True))
        return response

    def get(self, path: str, **kw):
        return self.call("GET", path, **kw)

    def put(self, path: str, body: dict, **kw):
        return self.call("PUT", path, json=body, **kw)

    def post(self, path: str, body: dict, **kw):
        return self.call("POST", path, json=body, **kw)


@pytest.fixture
def api(app, client):
    _, plaintext = apikeys.create("platform")
    return ApiClient(client, plaintext)


@pytest.fixture
def secrets_absent(api, attendee):
    """After the test: neither the client secret nor the password inject is in any response body."""
    yield
    assert api.bodies, "the test made no API call"
    for body in api.bodies:
        assert attendee["client_secret"] not in body
        assert PASSWORD not in body
        assert "client_secret\":" not in body.replace(" ", "")  # not even the field name with a value


def _put(api, lab_id, external_id, attendee, **extra):
    body = {"class": "Monday", "display_name": "Ada Lovelace",
            "injects": {"AzureAdUserPassword": PASSWORD}, "azure": attendee, **extra}
    return api.put(f"/api/v1/labs/{lab_id}/attendees/{external_id}", body)


# -- labs -----------------------------------------------------------------------------------------------


def test_list_labs(api, lab_id):
    r = api.get("/api/v1/labs")
    assert r.status_code == 200
    labs = {lab["id"]: lab for lab in r.get_json()["labs"]}
    assert labs[lab_id]["steps"] >= 6 and labs[lab_id]["title"].startswith("Spot the Flaw")


def test_get_lab_lists_steps_checks_and_no_secret_default(api, lab_id):
    r = api.get(f"/api/v1/labs/{lab_id}")
    assert r.status_code == 200
    lab = r.get_json()
    step1 = lab["steps"][0]
    assert step1["id"] == STEP1 and step1["task"] == "1" and step1["requires"] == []
    assert {"id": "account_training_tier", "title": step1["checks"][2]["title"]} in step1["checks"]
    assert all(c["title"] for s in lab["steps"] for c in s["checks"])
    assert lab["steps"][1]["requires"] == [STEP1]
    injects = {i["key"]: i for i in lab["injects"]}
    assert injects["AzureAdUserPassword"] == {"key": "AzureAdUserPassword", "secret": True, "default": None,
                                              "description": injects["AzureAdUserPassword"]["description"]}
    assert injects["Region"]["default"] == "eastus" and not injects["Region"]["secret"]
    assert "Demo-Passw0rd!" not in r.get_data(as_text=True)
    assert [t["task"] for t in lab["tasks"]][:3] == ["1", "2", "3.1"]


# -- attendees ------------------------------------------------------------------------------------------


def test_put_creates_then_updates_and_never_returns_secrets(api, lab_id, attendee, secrets_absent):
    r = _put(api, lab_id, "student-1", attendee)
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["attendee"] == "student-1" and body["class"] == "Monday" and body["display_name"] == "Ada Lovelace"
    assert body["client_secret_set"] is True and body["secret_injects_set"] == ["AzureAdUserPassword"]
    assert body["azure"]["subscription_id"] == attendee["subscription_id"]
    assert "client_secret" not in body["azure"] and "AzureAdUserPassword" not in body["injects"]
    assert body["injects"]["DeploymentID"] == attendee["injects"]["DeploymentID"]
    assert body["launch_url"].startswith("http://localhost/launch/")
    assert launch.verify(body["launch_url"].rsplit("/", 1)[1]).external_id == "student-1"

    # An update that leaves azure out keeps the stored credentials, the secret included.
    r = api.put(f"/api/v1/labs/{lab_id}/attendees/student-1", {"display_name": "Ada King", "class": "Tuesday"})
    assert r.status_code == 200
    assert r.get_json()["display_name"] == "Ada King" and r.get_json()["class"] == "Tuesday"
    assert r.get_json()["client_secret_set"] is True

    r = api.get(f"/api/v1/labs/{lab_id}/attendees/student-1")
    assert r.status_code == 200 and r.get_json()["display_name"] == "Ada King"


# -- validations ----------------------------------------------------------------------------------------


def test_validation_by_task_number_and_id_and_progress(api, lab_id, attendee, secrets_absent):
    assert _put(api, lab_id, "student-1", attendee).status_code == 201
    url = f"/api/v1/labs/{lab_id}/attendees/student-1"

    r = api.post(url + "/validations", {"step": "1"})
    assert r.status_code == 200  # a FAIL is an answer, not an HTTP error
    failed = r.get_json()
    assert failed["status"] == "FAIL" and failed["step"] == STEP1 and failed["task"] == "1"
    assert failed["message"] and any(c["status"] == "FAIL" for c in failed["checks"])

    Student(attendee).do("1")
    r = api.post(url + "/validations", {"step": STEP1})
    assert r.status_code == 200 and r.get_json()["status"] == "PASS"

    r = api.get(url + "/progress")
    assert r.status_code == 200
    prog = r.get_json()
    step = prog["steps"][STEP1]
    assert step["status"] == "PASS" and step["attempts"] == 2 and step["passed_at"] and step["last_attempt_at"]
    assert step["task"] == "1" and step["title"] == "Create a Custom Vision resource"
    assert prog["steps"][STEP2] == {"task": "2", "title": "Create the Custom Vision project", "status": None,
                                    "attempts": 0, "last_message": "", "last_attempt_at": None, "passed_at": None,
                                    "out_of_date": False}
    assert step["out_of_date"] is False
    assert prog["totals"]["passed"] == 1 and prog["totals"]["steps"] == len(prog["steps"])
    assert prog["totals"]["by_status"]["NOT_STARTED"] == len(prog["steps"]) - 1
    assert set(prog["steps"]) == {s["id"] for s in api.get(f"/api/v1/labs/{lab_id}").get_json()["steps"]}


def test_step_result_has_the_cli_json_shape(api, lab_id, attendee, tmp_path):
    assert _put(api, lab_id, "student-1", attendee).status_code == 201
    from validator.cli import validate_command

    path = tmp_path / "attendee.json"
    path.write_text(json.dumps(attendee), encoding="utf-8")
    cli = CliRunner().invoke(validate_command, ["--attendee", str(path), "--task", "2", "--json"])
    assert cli.exit_code == 1, cli.output  # not passed yet
    (from_cli,) = json.loads(cli.output)

    r = api.post(f"/api/v1/labs/{lab_id}/attendees/student-1/validations", {"step": "2"})
    from_api = r.get_json()
    assert r.status_code == 200
    assert set(from_api) == set(from_cli)
    assert [set(c) for c in from_api["checks"]] == [set(c) for c in from_cli["checks"]]
    for key in ("lab", "step", "task", "title", "status", "message", "hint"):
        assert from_api[key] == from_cli[key], key


def test_validating_several_steps_at_once(api, lab_id, attendee, sim, secrets_absent):
    assert _put(api, lab_id, "student-1", attendee).status_code == 201
    url = f"/api/v1/labs/{lab_id}/attendees/student-1"
    Student(attendee).do("1")

    r = api.post(url + "/validations/batch", {"steps": ["2", "1", STEP1]})
    assert r.status_code == 200
    results = r.get_json()["results"]
    assert [(x["task"], x["status"]) for x in results] == [("2", "FAIL"), ("1", "PASS")]  # STEP1 is task 1
    alone = api.post(url + "/validations", {"step": "2"}).get_json()
    for key in ("status", "message", "hint", "checks", "found", "observed"):
        assert results[0][key] == alone[key], key
    prog = api.get(url + "/progress").get_json()
    assert prog["steps"][STEP1]["attempts"] == 1 and prog["steps"][STEP2]["attempts"] == 2

    # No steps named: the whole lab, in lab order, each fact fetched once.
    before = sim.call_count()
    r = api.post(url + "/validations/batch", {})
    assert r.status_code == 200
    whole = r.get_json()["results"]
    steps = [s["id"] for s in api.get(f"/api/v1/labs/{lab_id}").get_json()["steps"]]
    assert [x["step"] for x in whole] == steps
    assert sim.call_count() - before <= 9

    # An unknown step records nothing.
    r = api.post(url + "/validations/batch", {"steps": ["1", "99"]})
    assert r.status_code == 404
    assert api.get(url + "/progress").get_json()["steps"][STEP1]["attempts"] == 2
    assert api.post(url + "/validations/batch", {"steps": []}).status_code == 400  # the API envelope for bad input


# -- class progress -------------------------------------------------------------------------------------


def test_class_progress(api, lab_id, attendee, sim, secrets_absent):
    other = sim.create_attendee("api-classmate")
    assert _put(api, lab_id, "ada", attendee).status_code == 201
    assert _put(api, lab_id, "bob", other, display_name="Bob", **{"class": "Monday"}).status_code == 201
    assert api.put(f"/api/v1/labs/{lab_id}/attendees/eve", {"class": "Friday", "azure": other}).status_code == 201
    for who in ("ada", "bob"):
        assert api.post(f"/api/v1/labs/{lab_id}/attendees/{who}/validations", {"step": "1"}).status_code == 200

    r = api.get(f"/api/v1/labs/{lab_id}/progress?class=Monday")
    assert r.status_code == 200
    grid = r.get_json()
    assert grid["class"] == "Monday"
    assert [(a["attendee"], a["display_name"]) for a in grid["attendees"]] == [("ada", "Ada Lovelace"),
                                                                              ("bob", "Bob")]
    assert grid["attendees"][0]["steps"][STEP1]["status"] == "FAIL"
    step1 = grid["steps"][0]
    assert step1["step"] == STEP1 and step1["counts"]["FAIL"] == 2 and step1["passed"] == 0
    reasons = {f["check_id"]: f for f in step1["failures"]}
    assert reasons["account_training_exists"]["count"] == 2 and reasons["account_training_exists"]["example"]
    assert [f["count"] for f in step1["failures"]] == sorted((f["count"] for f in step1["failures"]), reverse=True)
    assert grid["totals"]["by_status"]["FAIL"] == 2

    everyone = api.get(f"/api/v1/labs/{lab_id}/progress").get_json()
    assert {a["attendee"] for a in everyone["attendees"]} == {"ada", "bob", "eve"} and everyone["class"] is None


def test_stuck_attendees_are_listed_per_step(api, lab_id, attendee, app):
    app.config["STUCK_AFTER_FAILS"] = 2
    assert _put(api, lab_id, "ada", attendee).status_code == 201
    for _ in range(2):
        api.post(f"/api/v1/labs/{lab_id}/attendees/ada/validations", {"step": "1"})
    grid = api.get(f"/api/v1/labs/{lab_id}/progress?class=Monday").get_json()
    assert grid["steps"][0]["stuck"] == [{"attendee": "ada", "display_name": "Ada Lovelace",
                                          "reason": "2 failed attempts in a row"}]
    assert grid["steps"][1]["stuck"] == []


def test_api_key_use_is_recorded(app, client):
    key, plaintext = apikeys.create("recorded")
    assert key.last_used_at is None
    assert client.get("/api/v1/labs", headers={"Authorization": f"Bearer {plaintext}"}).status_code == 200
    assert apikeys.get("recorded").last_used_at is not None
