"""The OpenAPI document: valid OpenAPI 3, lists every /api/v1 route, and the real answers conform to the
schemas it states. The docs page loads the vendored Swagger UI and points it at the document."""

from __future__ import annotations

import re

import jsonschema
import pytest
from openapi_spec_validator import validate

from azuresim.student import Student
from webapp.services import apikeys

PREFIX = "/api/v1"
UNDOCUMENTED = {f"{PREFIX}/openapi.json", f"{PREFIX}/docs"}  # the document itself and its page


@pytest.fixture
def spec(client):
    r = client.get(f"{PREFIX}/openapi.json")
    assert r.status_code == 200 and r.mimetype == "application/json"
    return r.get_json()


def test_document_is_valid_openapi_3(spec):
    assert spec["openapi"].startswith("3.")
    validate(spec)  # raises on any violation of the OpenAPI schema


def test_document_lists_every_route_and_method(spec, app):
    routes: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(PREFIX) and rule.rule not in UNDOCUMENTED:
            path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
            routes.setdefault(path, set()).update(m.lower() for m in rule.methods - {"HEAD", "OPTIONS"})
    documented = {path: {m for m in ops if m != "parameters"} for path, ops in spec["paths"].items()}
    assert documented == routes
    assert {f"{PREFIX}/labs", f"{PREFIX}/labs/{{lab}}", f"{PREFIX}/labs/{{lab}}/progress",
            f"{PREFIX}/labs/{{lab}}/attendees/{{attendee}}",
            f"{PREFIX}/labs/{{lab}}/attendees/{{attendee}}/validations",
            f"{PREFIX}/labs/{{lab}}/attendees/{{attendee}}/progress"} <= set(routes)


def test_document_states_auth_errors_and_step_forms(spec):
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http", "scheme": "bearer", "description": spec["components"]["securitySchemes"]["bearerAuth"][
            "description"]}
    assert spec["security"] == [{"bearerAuth": []}]
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            if method == "parameters":
                continue
            assert "401" in op["responses"], (method, path)
            assert op["summary"], (method, path)
    step = spec["components"]["schemas"]["ValidationIn"]["properties"]["step"]
    assert "task number" in step["description"] and "3.1" in step["description"]
    assert "client_secret" not in spec["components"]["schemas"]["AttendeeOut"]["properties"]
    assert "client_secret" not in spec["components"]["schemas"]["AzurePublic"]["properties"]


def _conforms(spec: dict, body, method: str, path: str, status: int) -> None:
    """``body`` validates against the schema the document gives for this operation and status."""
    responses = spec["paths"][path][method]["responses"]
    response = responses.get(str(status)) or responses["default"]
    if "$ref" in response:
        response = spec["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
    schema = response["content"]["application/json"]["schema"]
    jsonschema.Draft202012Validator({**schema, "components": spec["components"]}).validate(body)


def test_answers_conform_to_the_document(spec, client, lab_id, attendee):
    auth = {"Authorization": f"Bearer {apikeys.create('platform')[1]}"}
    attendee_path = f"{PREFIX}/labs/{{lab}}/attendees/{{attendee}}"
    url = f"{PREFIX}/labs/{lab_id}/attendees/ada"
    Student(attendee).do("1")
    calls = [
        ("get", f"{PREFIX}/labs", f"{PREFIX}/labs", None),
        ("get", f"{PREFIX}/labs/{{lab}}", f"{PREFIX}/labs/{lab_id}", None),
        ("put", attendee_path, url, {"class": "Monday", "azure": attendee}),
        ("get", attendee_path, url, None),
        ("post", attendee_path + "/validations", url + "/validations", {"step": "1"}),
        ("post", attendee_path + "/validations", url + "/validations", {"step": "2"}),
        ("post", attendee_path + "/validations/batch", url + "/validations/batch", {"steps": ["1", "2"]}),
        ("get", attendee_path + "/progress", url + "/progress", None),
        ("get", f"{PREFIX}/labs/{{lab}}/progress", f"{PREFIX}/labs/{lab_id}/progress?class=Monday", None),
        ("get", attendee_path, f"{PREFIX}/labs/{lab_id}/attendees/nobody", None),  # 404 envelope
        ("post", attendee_path + "/validations", url + "/validations", {"step": 1}),  # 400 envelope
    ]
    statuses = []
    for method, path, real, body in calls:
        r = client.open(real, method=method.upper(), json=body, headers=auth)
        statuses.append(r.status_code)
        _conforms(spec, r.get_json(), method, path, r.status_code)
    assert statuses == [200, 200, 201, 200, 200, 200, 200, 200, 200, 404, 400]


def test_docs_page_uses_the_vendored_ui(client, app):
    r = client.get(f"{PREFIX}/docs")
    assert r.status_code == 200 and r.mimetype == "text/html"
    page = r.get_data(as_text=True)
    assert f'data-spec-url="{PREFIX}/openapi.json"' in page
    assert "https://" not in page and "http://" not in page  # nothing from a CDN
    assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', page)
    assert any(a.endswith("swagger-ui-bundle.js") for a in assets) and any(a.endswith(".css") for a in assets)
    for asset in assets:
        got = client.get(asset)
        assert got.status_code == 200 and len(got.data) > 100, asset
        got.close()
    assert "script-src 'self'" in r.headers["Content-Security-Policy"]
