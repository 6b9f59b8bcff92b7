"""The platform API's failures: keys (missing, wrong, revoked, a launch link instead of a key), every bad
input naming its field, unknown lab/attendee/step/class, and the one error envelope for them all."""

from __future__ import annotations

import io
from urllib.parse import urlsplit

import pytest

from webapp.services import apikeys, attendees, labs, launch

STEP1 = "d59e98f0-5614-4e26-b82c-18374ffffb6c"


@pytest.fixture
def key(app) -> str:
    return apikeys.create("platform")[1]


@pytest.fixture
def auth(key) -> dict:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def ada(app, lab_id, attendee):
    azure = {k: v for k, v in attendee.items() if k != "injects"}
    return attendees.upsert(lab_id, "ada", cohort="Monday", display_name="Ada Lovelace",
                            injects=attendee["injects"], azure=azure)


def envelope(response, status: int, code: str, field: str | None = None) -> dict:
    """The error body, after checking it is the envelope with this status, code and field."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) == {"status", "code", "message", "field"}
    assert (error["status"], error["code"], error["field"]) == (status, code, field)
    assert error["message"].strip()
    return error


# -- keys -----------------------------------------------------------------------------------------------


def test_missing_key(client, app):
    r = client.get("/api/v1/labs")
    envelope(r, 401, "missing_api_key")
    assert r.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("header", [
    "Bearer lg_0123456789ab_" + "A" * 43,  # well-formed, unknown
    "Bearer not-a-key",
    "Basic dXNlcjpwYXNz",
    "Bearer ",
])
def test_wrong_key(client, key, header):
    r = client.get("/api/v1/labs", headers={"Authorization": header})
    envelope(r, 401, "invalid_api_key")
    assert r.headers["WWW-Authenticate"].startswith("Bearer")


def test_revoked_key(client, key, auth):
    assert client.get("/api/v1/labs", headers=auth).status_code == 200
    apikeys.revoke("platform")
    envelope(client.get("/api/v1/labs", headers=auth), 401, "invalid_api_key")


def test_a_key_that_differs_in_its_secret_part_is_refused(client, key):
    forged = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")  # right prefix, wrong secret
    envelope(client.get("/api/v1/labs", headers={"Authorization": f"Bearer {forged}"}), 401, "invalid_api_key")


def test_a_launch_link_opens_nothing_in_the_api(client, app, lab_id, ada, sim, key):
    """An attendee's launch token is not an API key: not on their own data, not on another's."""
    bob = attendees.upsert(lab_id, "bob", display_name="Bob Builder", azure=sim.create_attendee("api-bob"))
    token = launch.make_token(ada)
    for path, method, body in [
        (f"/api/v1/labs/{lab_id}/attendees/bob/validations", "POST", {"step": "1"}),
        (f"/api/v1/labs/{lab_id}/attendees/bob/progress", "GET", None),
        (f"/api/v1/labs/{lab_id}/attendees/bob", "GET", None),
        (f"/api/v1/labs/{lab_id}/attendees/ada/progress", "GET", None),
    ]:
        r = client.open(path, method=method, json=body, headers={"Authorization": f"Bearer {token}"})
        envelope(r, 401, "invalid_api_key")
        assert "Bob Builder" not in r.get_data(as_text=True) and bob.azure["subscription_id"] not in r.get_data(
            as_text=True)
        # Nor in the query string, nor as a cookie.
        r = client.open(f"{path}?token={token}", method=method, json=body)
        envelope(r, 401, "missing_api_key")
    from webapp.services import attempts

    assert attempts.history(bob) == []  # nothing was validated on anyone's behalf


def test_docs_and_document_need_no_key(client, app):
    assert client.get("/api/v1/openapi.json").status_code == 200
    assert client.get("/api/v1/docs").status_code == 200


# -- bad input ------------------------------------------------------------------------------------------


def test_malformed_json(client, auth, lab_id):
    r = client.put(f"/api/v1/labs/{lab_id}/attendees/ada", data='{"class": "Monday",',
                   headers={**auth, "Content-Type": "application/json"})
    envelope(r, 400, "malformed_json")


@pytest.mark.parametrize("body", ["[1, 2]", '"text"', "42"])
def test_body_must_be_an_object(client, auth, lab_id, body):
    r = client.put(f"/api/v1/labs/{lab_id}/attendees/ada", data=body,
                   headers={**auth, "Content-Type": "application/json"})
    envelope(r, 400, "invalid_input")


@pytest.mark.parametrize(("body", "field"), [
    ({"display_name": 5}, "display_name"),
    ({"class": ["Monday"]}, "class"),
    ({"injects": ["Region"]}, "injects"),
    ({"azure": "secret"}, "azure"),
    ({"azure": {"subscription_id": 5}}, "azure.subscription_id"),
    ({"azure": {"client_secret": {"v": 1}}}, "azure.client_secret"),
    ({"azure": {"colour": "blue"}}, "azure.colour"),
    ({"colour": "blue"}, "colour"),
])
def test_wrong_types_and_unknown_fields_name_the_field(client, auth, lab_id, body, field):
    r = client.put(f"/api/v1/labs/{lab_id}/attendees/ada", json=body, headers=auth)
    error = envelope(r, 400, "invalid_input", field)
    assert error["message"].startswith(field)


@pytest.mark.parametrize(("body", "field"), [({}, "step"), ({"step": 3}, "step"), ({"step": None}, "step"),
                                             ({"step": "1", "extra": True}, "extra")])
def test_validation_body_errors(client, auth, lab_id, ada, body, field):
    r = client.post(f"/api/v1/labs/{lab_id}/attendees/ada/validations", json=body, headers=auth)
    envelope(r, 400, "invalid_input", field)


@pytest.mark.parametrize(("path", "body", "field"), [
    ("bad id", {"azure": {}}, "attendee"),
    ("newbie", {}, "azure.subscription_id"),  # creating without credentials
    ("newbie", {"azure": {"tenant_id": "t", "client_id": "c", "client_secret": "s", "subscription_id": "x"}},
     "azure.resource_group"),
    ("ada", {"injects": {"Region": {"nested": 1}}}, "injects.Region"),
    ("ada", {"class": " "}, "class"),
    ("ada", {"display_name": "x" * 300}, "display_name"),
])
def test_unacceptable_values_are_422_naming_the_field(client, auth, lab_id, attendee, ada, path, body, field):
    r = client.put(f"/api/v1/labs/{lab_id}/attendees/{path}", json=body, headers=auth)
    error = envelope(r, 422, "invalid_value", field)
    assert attendee["client_secret"] not in r.get_data(as_text=True)
    assert field in error["message"]


def test_not_json(client, auth, lab_id):
    r = client.put(f"/api/v1/labs/{lab_id}/attendees/ada", data="class=Monday",
                   headers={**auth, "Content-Type": "application/x-www-form-urlencoded"})
    envelope(r, 415, "unsupported_media_type")
    r = client.post(f"/api/v1/labs/{lab_id}/attendees/ada/validations", data='{"step": "1"}', headers=auth)
    envelope(r, 415, "unsupported_media_type")


def test_oversized_body(client, auth, lab_id):
    body = {"injects": {f"K{i}": "v" * 1000 for i in range(100)}}
    envelope(client.put(f"/api/v1/labs/{lab_id}/attendees/ada", json=body, headers=auth), 413, "body_too_large")


def test_oversized_body_without_a_length(client, auth, lab_id):
    data = b'{"injects": {"K": "' + b"v" * 70_000 + b'"}}'
    # A chunked upload: no Content-Length to refuse early, so the limit applies while reading.
    r = client.put(f"/api/v1/labs/{lab_id}/attendees/ada",
                   headers={**auth, "Content-Type": "application/json", "Transfer-Encoding": "chunked"},
                   environ_overrides={"wsgi.input": io.BytesIO(data), "wsgi.input_terminated": True})
    assert "at least" in envelope(r, 413, "body_too_large")["message"]


# -- unknown things -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/api/v1/labs/no-such-lab"),
    ("GET", "/api/v1/labs/no-such-lab/progress"),
    ("PUT", "/api/v1/labs/no-such-lab/attendees/ada"),
    ("GET", "/api/v1/labs/no-such-lab/attendees/ada"),
    ("POST", "/api/v1/labs/no-such-lab/attendees/ada/validations"),
    ("GET", "/api/v1/labs/no-such-lab/attendees/ada/progress"),
])
def test_unknown_lab(client, auth, method, path):
    body = {"step": "1"} if method == "POST" else {"display_name": "x"} if method == "PUT" else None
    error = envelope(client.open(path, method=method, json=body, headers=auth), 404, "not_found")
    assert "no-such-lab" in error["message"]


@pytest.mark.parametrize(("method", "suffix"), [("GET", ""), ("POST", "/validations"), ("GET", "/progress")])
def test_unknown_attendee(client, auth, lab_id, ada, method, suffix):
    body = {"step": "1"} if method == "POST" else None
    r = client.open(f"/api/v1/labs/{lab_id}/attendees/zed{suffix}", method=method, json=body, headers=auth)
    assert "zed" in envelope(r, 404, "not_found")["message"]


@pytest.mark.parametrize("step", ["9.9", "00000000-0000-0000-0000-000000000000"])
def test_unknown_step(client, auth, lab_id, ada, step):
    r = client.post(f"/api/v1/labs/{lab_id}/attendees/ada/validations", json={"step": step}, headers=auth)
    assert step in envelope(r, 404, "not_found", "step")["message"]


def test_unknown_and_bad_class(client, auth, lab_id, ada):
    r = client.get(f"/api/v1/labs/{lab_id}/progress?class=Sunday", headers=auth)
    assert "Sunday" in envelope(r, 404, "not_found")["message"]
    envelope(client.get(f"/api/v1/labs/{lab_id}/progress?class=%20", headers=auth), 422, "invalid_value", "class")
    r = client.get(f"/api/v1/labs/{lab_id}/progress?class={'x' * 300}", headers=auth)
    envelope(r, 422, "invalid_value", "class")


def test_unknown_route_and_method(client, auth, app):
    envelope(client.get("/api/v1/nothing-here", headers=auth), 404, "not_found")
    envelope(client.post("/api/v1/nothing-here", json={}, headers=auth), 404, "not_found")
    r = client.delete("/api/v1/labs", headers=auth)
    envelope(r, 405, "method_not_allowed")
    assert "GET" in r.headers["Allow"]
    # Outside /api/v1 the app's own pages answer, not the envelope.
    assert client.get("/not-the-api").mimetype != "application/json"


# -- failures of labgrader itself -----------------------------------------------------------------------


def test_internal_error_shows_no_internals(client, auth, monkeypatch):
    def broken():
        raise RuntimeError("connection to postgresql://admin:hunter2@db failed")

    monkeypatch.setattr(labs, "packs", broken)
    r = client.get("/api/v1/labs", headers=auth)
    error = envelope(r, 500, "internal_error")
    assert "hunter2" not in r.get_data(as_text=True) and "RuntimeError" not in error["message"]


def test_validations_are_rate_limited_per_key_attendee_and_step(client, app, auth, lab_id, ada, sim):
    """The real limiter (VALIDATE_RATE_LIMIT): a third Validate of one step within the window is refused in
    the envelope with Retry-After; the same step named by its task number counts as the same step; other
    steps, attendees and API keys have their own counts."""
    app.config["VALIDATE_RATE_LIMIT"] = "2 per minute"
    attendees.upsert(lab_id, "bob", azure=sim.create_attendee("api-rate-bob"))
    url = f"/api/v1/labs/{lab_id}/attendees/ada/validations"
    task = labs.pack(lab_id).step(STEP1).task
    assert client.post(url, json={"step": STEP1}, headers=auth).status_code == 200
    assert client.post(url, json={"step": task}, headers=auth).status_code == 200
    r = client.post(url, json={"step": STEP1}, headers=auth)
    error = envelope(r, 429, "too_many_requests")
    assert 1 <= int(r.headers["Retry-After"]) <= 60
    assert f"retry in {r.headers['Retry-After']} seconds" in error["message"] and "2 per minute" in error["message"]
    other_step = next(s.id for s in labs.pack(lab_id).steps if s.task != task)
    assert client.post(url, json={"step": other_step}, headers=auth).status_code == 200
    bob = f"/api/v1/labs/{lab_id}/attendees/bob/validations"
    assert client.post(bob, json={"step": STEP1}, headers=auth).status_code == 200
    other_key = {"Authorization": f"Bearer {apikeys.create('second-platform')[1]}"}
    assert client.post(url, json={"step": STEP1}, headers=other_key).status_code == 200
    from webapp.services import attempts

    assert len(attempts.history(ada, STEP1)) == 3  # the refused one ran nothing


def test_a_refused_request_costs_no_validation(client, app, auth, lab_id, ada):
    """Requests refused before the view (no key, bad body) do not use up the limit."""
    app.config["VALIDATE_RATE_LIMIT"] = "1 per minute"
    url = f"/api/v1/labs/{lab_id}/attendees/ada/validations"
    for _ in range(3):
        envelope(client.post(url, json={"step": STEP1}), 401, "missing_api_key")
        envelope(client.post(url, json={"stp": STEP1}, headers=auth), 400, "invalid_input", "step")
    assert client.post(url, json={"step": STEP1}, headers=auth).status_code == 200
    envelope(client.post(url, json={"step": STEP1}, headers=auth), 429, "too_many_requests")


def test_a_launch_session_opens_nothing_in_the_api(client, app, lab_id, ada, sim):
    """A student who opened their launch link holds a session cookie; the API ignores it for everyone."""
    bob = attendees.upsert(lab_id, "bob", display_name="Bob Builder", azure=sim.create_attendee("api-bob2"))
    opened = client.get(urlsplit(launch.make_link(ada)).path)
    assert opened.status_code in (200, 302, 303)
    assert client.get_cookie(app.config.get("SESSION_COOKIE_NAME", "session")) is not None
    for who in ("bob", "ada"):
        for method, suffix, body in [("POST", "/validations", {"step": "1"}), ("GET", "/progress", None),
                                     ("GET", "", None), ("PUT", "", {"display_name": "Mallory"})]:
            r = client.open(f"/api/v1/labs/{lab_id}/attendees/{who}{suffix}", method=method, json=body)
            envelope(r, 401, "missing_api_key")
            assert "Bob Builder" not in r.get_data(as_text=True)
    from webapp.services import attempts

    assert attempts.history(bob) == [] and attempts.history(ada) == []
    assert attendees.get(lab_id, "ada").display_name == "Ada Lovelace"
