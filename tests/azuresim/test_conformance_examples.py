"""The specs' ``examples/`` replayed against the simulator, and the harness itself checked on the specs.

Each example file becomes a request: its ``parameters`` with the example's ids mapped to ones the
simulator has (a lab project with tags, images, a trained and published iteration, built per Training
version), ARM names mapped to the attendee's, and the example's api-version. The answer must have a
status the example lists, validate against the operation's schema and have the example's shape: every
key the example shows (at every level, lists by their first element) with the same JSON type.

The simulator offers few account kinds: an ARM example whose kind (or SKU) it does not offer is sent as
``CustomVision.Training``/``S0`` in the attendee's region, since the answer's shape does not depend on it.
"""

from __future__ import annotations

import base64
import copy
import json
import re
import uuid
from pathlib import Path

import pytest

from .swagger import (
    ALL_SPECS,
    COMPACT_DOMAIN,
    PREDICTION_V31,
    TRAINING_V33,
    TRAINING_V34,
    CvWorld,
    SimSession,
    _image,
    load_spec,
    undeclared_fields,
    validate_response,
)

SHARED = Path(__file__).resolve().parents[2].parent / "shared"

# Examples whose own body contradicts their spec (so only the schema, not their shape, is the reference).
EXAMPLE_ERRATA = {
    "GetTaggedImageCount.json": "the example quotes the count as a string; the schema (and the wire) say integer",
    "GetUntaggedImageCount.json": "the example quotes the count as a string; the schema says integer",
    "GetImagePerformanceCount.json": "the example quotes the count as a string; the schema says integer",
    "QuerySuggestedImages.json": "the example's token is an object where the schema declares a string",
}
# Operations that only an object-detection project answers.
DETECTION = {"CreateImageRegions", "DeleteImageRegions", "GetImageRegionProposals", "DetectImage",
             "DetectImageWithNoStore", "DetectImageUrl", "DetectImageUrlWithNoStore"}
# Training operations that need resources of their own (they delete, publish or train).
FRESH = {"DeleteProject", "DeleteIteration", "DeleteTag", "DeleteImages", "PublishIteration",
         "UnpublishIteration", "TrainProject", "Accounts_Delete", "Accounts_Create",
         "DeletedAccounts_Get", "DeletedAccounts_Purge"}
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


# Where the simulator disagrees with the spec today (owners: azuresim), as case id -> reason. Strict: a fix
# makes the case pass, and then its entry must go. None known now.
KNOWN_MISMATCHES: dict[str, str] = {}


def _example_cases() -> list:
    if not SHARED.is_dir():
        return [pytest.param(None, None, id="no-shared-folder")]
    cases, seen = [], set()
    for rel in ALL_SPECS:
        spec = load_spec(SHARED / rel)
        for op in spec.operations.values():
            for file in op.examples.values():
                case_id = f"{spec.doc['info']['version']}/{file.name}"
                if case_id not in seen:
                    seen.add(case_id)
                    reason = KNOWN_MISMATCHES.get(case_id)
                    marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
                    cases.append(pytest.param(rel, file, id=case_id, marks=marks))
    return cases


# -- the world the examples are replayed in ----------------------------------------------------------------
class Replay:
    """The attendee, the accounts and one lab project per Training version; fresh resources on demand."""

    def __init__(self, sim) -> None:
        from azuresim.arm import KIND_SKUS

        self.kind_skus = KIND_SKUS
        self.creds = sim.create_attendee(f"conf-ex-{uuid.uuid4().hex[:6]}")
        self.s = SimSession(self.creds)
        tag = uuid.uuid4().hex[:6]
        self.training, self.prediction = f"ex-train-{tag}", f"ex-pred-{tag}"
        self.s.create_account(self.training, "CustomVision.Training", "S0")
        self.prediction_id = self.s.create_account(self.prediction, "CustomVision.Prediction", "S0")
        # No target platforms, as the portal's default: iterations then list every platform they export to.
        self.worlds = {v: self.world(v).build(f"Examples {v}", platforms=None) for v in ("v3.3", "v3.4-preview")}
        # Region and detect examples need an object-detection project.
        self.detection_worlds = {v: self.world(v).build_detection(f"Detection examples {v}")
                                 for v in ("v3.3", "v3.4-preview")}
        self.implemented = {getattr(view, "sim_operation", None) for view in sim.app.view_functions.values()}

    def world(self, version: str) -> CvWorld:
        return CvWorld(self.s, self.training, self.prediction, self.prediction_id, version)

    def fresh(self, op: str, world: CvWorld) -> CvWorld:
        """A world in the state ``op`` needs without disturbing the shared one."""
        name = f"Fresh {op} {uuid.uuid4().hex[:6]}"
        if op == "DeleteProject":
            w = self.world(world.version)
            r = w.train("POST", "/projects", json={}, params={"name": name, "domainId": COMPACT_DOMAIN})
            w.project = r.json()
            return w
        if op in ("DeleteTag", "DeleteImages"):
            w = copy.copy(world)
            pid = w.project["id"]
            r = w.train("POST", f"/projects/{pid}/tags", params={"name": name})
            w.tags = [r.json()]
            r = w.train("POST", f"/projects/{pid}/images", files=[("imageData", (None, _image(True, 60)))])
            w.image_ids = [i["image"]["id"] for i in r.json()["images"]]
            return w
        if op == "TrainProject":
            w = self.world(world.version)
            w.build(name, publish=False)
            # Something to train on again: a new tagged image makes the next training needed.
            r = w.train("POST", f"/projects/{w.project['id']}/images", params={"tagIds": w.tags[0]["id"]},
                        files=[("imageData", (None, _image(True, 61)))])
            assert r.status_code in (200, 207), r.text
            return w
        return self.world(world.version).build(name, publish=op == "UnpublishIteration")


def _csv(value) -> str:
    return ",".join(map(str, value)) if isinstance(value, list) else str(value)


def _cv_request(replay: Replay, spec, op, example: dict, world: CvWorld):
    """(method, path, query, json body, multipart files) for a Custom Vision example."""
    params = example["parameters"]
    tag_ids = [t["id"] for t in world.tags] or [None]
    image_ids = world.image_ids or [None]
    ids = {"projectId": world.project["id"], "iterationId": world.iteration.get("id"), "tagId": tag_ids[0],
           "tagIds": tag_ids[:1], "imageId": image_ids[0], "imageIds": image_ids[:2],
           "predictionId": replay.prediction_id, "publishedName": world.publish_name}
    uuid_map = {}
    for name, real in ids.items():
        value = params.get(name)
        for v in value if isinstance(value, list) else [value]:
            if isinstance(v, str) and _UUID.match(v):
                uuid_map[v.lower()] = real[0] if isinstance(real, list) else real

    def fix(value, key=""):
        """Map ids in a body; give image contents and URLs real values."""
        if isinstance(value, dict):
            return {k: fix(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [fix(v, key) for v in value]
        if isinstance(value, str):
            if key == "contents":
                return base64.b64encode(_image(False, 50)).decode()
            if key == "url":
                return world.sample_url()
            if key == "name" and op.operation_id.startswith("Update"):
                return f"{value} {uuid.uuid4().hex[:4]}"  # names are unique per account or project
            if _UUID.match(value):
                if value.lower() in uuid_map:
                    return uuid_map[value.lower()]
                if key in ("tagId", "tagIds", "id"):
                    return tag_ids[0]
                if key == "imageId":
                    return image_ids[0]
                if key == "iterationId":
                    return world.iteration.get("id")
        return value

    path, query, body, files = op.path, {}, None, None
    for p in op.parameters:
        name, where = p["name"], p.get("in")
        if name not in params and not (where == "formData" and p.get("type") == "file"):
            continue
        if where == "path":
            if name == "Endpoint":
                continue
            value = ids.get(name, params[name])
            path = path.replace("{" + name + "}", str(value[0] if isinstance(value, list) else value))
        elif where == "query":
            value = ids[name] if name in ids and name in params else fix(params[name], name)
            if name == "domainId" and params[name] not in _known_domains(replay):
                value = COMPACT_DOMAIN
            if name in ("name", "publishName"):
                value = f"{value} {uuid.uuid4().hex[:4]}" if name == "name" else f"ex-{uuid.uuid4().hex[:8]}"
            query[name] = _csv(value)
        elif where == "body":
            body = fix(params[name])
            if body == "":
                body = None
        elif where == "formData" and p.get("type") == "file":
            files = [(name, (None, _image(True, 51)))]
    return op.method.upper(), f"{world.base if spec.base_path.endswith('training') else ''}{path}", query, body, \
        files


_domains_cache: dict[str, set[str]] = {}


def _known_domains(replay: Replay) -> set[str]:
    if "ids" not in _domains_cache:
        r = replay.worlds["v3.4-preview"].train("GET", "/domains")
        _domains_cache["ids"] = {d["id"] for d in r.json()}
    return _domains_cache["ids"]


def _arm_request(replay: Replay, op, example: dict, account: str):
    params = example["parameters"]
    creds = replay.creds
    path = op.path
    names = {"subscriptionId": creds["subscription_id"], "resourceGroupName": creds["resource_group"],
             "accountName": account, "location": creds["region"]}
    for p in op.parameters:
        if p.get("in") == "path":
            path = path.replace("{" + p["name"] + "}", names.get(p["name"], str(params.get(p["name"], ""))))
    body = None
    for p in op.parameters:
        if p.get("in") == "body" and p["name"] in params:
            body = copy.deepcopy(params[p["name"]])
    if isinstance(body, dict) and op.operation_id in ("Accounts_Create", "Accounts_Update"):
        kind = body.get("kind", "CustomVision.Training")
        if kind not in replay.kind_skus:
            body["kind"] = kind = "CustomVision.Training"
        if "sku" in body and body["sku"].get("name") not in replay.kind_skus[kind]:
            body["sku"] = {"name": "S0"}
        if "location" in body:
            body["location"] = creds["region"]
        body.get("properties", {}).pop("encryption", None)  # no Key Vault here
        body.get("properties", {}).pop("userOwnedStorage", None)
    return op.method.upper(), path, params.get("api-version"), body


# -- shape comparison ------------------------------------------------------------------------------------
def _kind(value) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return {dict: "object", list: "array", str: "string"}.get(type(value), type(value).__name__)


# Objects whose keys are data, not shape (resource tags, endpoint names, image metadata).
DATA_MAPS = {"tags", "endpoints", "metadata"}
# Request features the replay leaves out (no Key Vault or storage accounts here), so the answer cannot show them.
NOT_SENT = {"$.properties.encryption", "$.properties.userOwnedStorage"}


def shape_differences(expected, actual, at: str = "$") -> list[str]:
    """Where ``actual`` lacks a key ``expected`` shows or has another JSON type (nulls match anything)."""
    if expected is None or actual is None or at in NOT_SENT:
        return []
    if at.rsplit(".", 1)[-1] in DATA_MAPS and isinstance(expected, dict) and isinstance(actual, dict):
        return []
    if _kind(expected) != _kind(actual):
        return [f"{at}: example has {_kind(expected)}, simulator sent {_kind(actual)}"]
    if isinstance(expected, dict):
        out = []
        for k, v in expected.items():
            if k not in actual:
                if v is not None and f"{at}.{k}" not in NOT_SENT:
                    out.append(f"{at}.{k}: in the example, missing from the simulator's answer")
            else:
                out += shape_differences(v, actual[k], f"{at}.{k}")
        return out
    if isinstance(expected, list) and expected and actual:
        return shape_differences(expected[0], actual[0], f"{at}[0]")
    return []


# -- fixtures and tests ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def replay(_session_sim, shared_dir):
    r = Replay(_session_sim)
    yield r
    r.s.close()


@pytest.mark.parametrize(("spec_rel", "example_file"), _example_cases())
def test_example_replays_with_the_same_shape(replay, shared_dir, spec_rel, example_file):
    spec = load_spec(shared_dir / spec_rel)
    example = json.loads(example_file.read_text(encoding="utf-8-sig"))
    op = next(o for o in spec.operations.values() if example_file in o.examples.values())
    if op.operation_id not in replay.implemented:
        pytest.skip(f"azuresim does not implement {op.operation_id}")
    if spec.is_arm:
        account = replay.training
        if op.operation_id in FRESH:
            account = f"ex-{op.operation_id[9:15].lower()}-{uuid.uuid4().hex[:6]}"
            if op.operation_id in ("Accounts_Delete", "DeletedAccounts_Get", "DeletedAccounts_Purge"):
                replay.s.create_account(account, "CustomVision.Prediction", "S0")
            if op.operation_id.startswith("DeletedAccounts_"):  # a soft-deleted account to read or purge
                replay.s.wait(replay.s.arm("DELETE", replay.s.account_path(account)))
        method, path, version, body = _arm_request(replay, op, example, account)
        resp = replay.s.arm(method, path, version, json=body)
    else:
        version = {TRAINING_V33: "v3.3", TRAINING_V34: "v3.4-preview"}.get(spec_rel, "v3.4-preview")
        world = (replay.detection_worlds if op.operation_id in DETECTION else replay.worlds)[version]
        if op.operation_id in FRESH:
            world = replay.fresh(op.operation_id, world)
        method, path, query, body, files = _cv_request(replay, spec, op, example, world)
        account = replay.prediction if spec_rel == PREDICTION_V31 else replay.training
        prefix = "/customvision/v3.1/prediction" if spec_rel == PREDICTION_V31 else ""
        kw = {"files": files} if files else {"json": body if body is not None else {}}
        resp = replay.s.cv(account, method, prefix + path, params=query, **kw)
    answer = resp.json() if resp.content else None
    where = f"{method} {resp.url} -> {resp.status_code} {resp.text[:300]}"
    assert str(resp.status_code) in example["responses"], \
        f"status {resp.status_code} is not one the example lists ({', '.join(example['responses'])}): {where}"
    validate_response(spec, op.operation_id, resp.status_code, answer)
    expected = example["responses"][str(resp.status_code)].get("body")
    if example_file.name in EXAMPLE_ERRATA:
        return  # the schema, checked above, is the reference for this one
    diffs = shape_differences(expected, answer)
    assert not diffs, f"{where}\nshape differs from {example_file.name}:\n  " + "\n  ".join(diffs)


# -- the harness, checked on the specs themselves --------------------------------------------------------
@pytest.mark.parametrize("spec_rel", ALL_SPECS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_the_specs_own_examples_validate_except_known_errata(shared_dir, spec_rel):
    """The compiled schemas accept what the spec authors wrote, so a failure elsewhere is the simulator's."""
    spec = load_spec(shared_dir / spec_rel)
    failing, checked = set(), 0
    for op in spec.operations.values():
        for file in op.examples.values():
            example = json.loads(file.read_text(encoding="utf-8-sig"))
            for status, resp in example["responses"].items():
                checked += 1
                try:
                    validate_response(spec, op.operation_id, int(status), resp.get("body"))
                except AssertionError:
                    failing.add(file.name)
    assert checked > 0
    expected = set(EXAMPLE_ERRATA) & {f.name for o in spec.operations.values() for f in o.examples.values()}
    assert failing == expected


@pytest.fixture(scope="module")
def v34(shared_dir):
    return load_spec(shared_dir / TRAINING_V34)


def _iteration(**changes) -> dict:
    body = {"id": str(uuid.uuid4()), "name": "Iteration 1", "status": "Completed", "created": "2024-01-02T03:04:05Z",
            "lastModified": "2024-01-02T03:04:05.123Z", "trainedAt": None, "projectId": str(uuid.uuid4()),
            "exportable": True, "exportableTo": ["CoreML"], "domainId": None, "classificationType": "Multiclass",
            "trainingType": "Regular", "reservedBudgetInHours": 0, "trainingTimeInMinutes": 1}
    body.update(changes)
    return {k: v for k, v in body.items() if v is not ...}


@pytest.mark.parametrize(("changes", "complaint"), [
    ({"name": ...}, "'name' is a required property"),                       # required
    ({"exportable": "yes"}, "'yes' is not of type 'boolean'"),               # type
    ({"id": "not-a-uuid"}, "is not a 'uuid'"),                               # format uuid
    ({"created": "2024-01-02 03:04:05"}, "is not a 'date-time'"),            # format date-time (RFC 3339)
    ({"exportable": None}, "None is not of type 'boolean'"),                 # x-nullable: false
    ({"trainingType": "Turbo"}, "'Turbo' is not one of"),                    # enum
    ({"exportableTo": ["Zip"]}, "'Zip' is not one of"),                      # enum in items
    ({"reservedBudgetInHours": 2 ** 31}, "is not a 'int32'"),                # format int32
])
def test_validation_catches_what_the_spec_forbids(v34, changes, complaint):
    validate_response(v34, "GetIteration", 200, _iteration())  # the baseline is valid
    with pytest.raises(AssertionError, match=re.escape(complaint)) as info:
        validate_response(v34, "GetIteration", 200, _iteration(**changes))
    assert "GetIteration HTTP 200" in str(info.value)


def test_nullable_fields_accept_null_and_extra_fields_pass(v34):
    validate_response(v34, "GetIteration", 200, _iteration(trainedAt=None, domainId=None, classificationType=None))
    validate_response(v34, "GetIteration", 200, _iteration(somethingNew=1))  # swagger allows extra fields
    assert undeclared_fields(v34, "GetIteration", 200, _iteration(somethingNew=1)) == ["$.somethingNew"]


def test_bare_integers_and_error_bodies(v34):
    validate_response(v34, "GetTaggedImageCount", 200, 12)
    with pytest.raises(AssertionError):
        validate_response(v34, "GetTaggedImageCount", 200, "12")
    validate_response(v34, "GetProject", 404, {"code": "NotFoundProject", "message": "Project not found."})
    with pytest.raises(AssertionError, match="'NoSuchCode' is not one of"):
        validate_response(v34, "GetProject", 404, {"code": "NoSuchCode", "message": "x"})
    with pytest.raises(AssertionError, match="'code' is a required property"):  # the gateway's envelope
        validate_response(v34, "GetProject", 401, {"error": {"code": "401", "message": "Access denied"}})


def test_cross_file_refs_resolve_into_common_types(shared_dir):
    arm = load_spec(shared_dir / ALL_SPECS[-1])
    validate_response(arm, "Accounts_Get", 404, {"error": {"code": "ResourceNotFound", "message": "gone"}})
    with pytest.raises(AssertionError, match=r"at \$\.error\.code: 5 is not of type 'string'"):
        validate_response(arm, "Accounts_Get", 404, {"error": {"code": 5, "message": "gone"}})
    with pytest.raises(AssertionError, match="status 200 is not declared|declares no body"):
        validate_response(arm, "Accounts_Delete", 200, {"unexpected": True})


def test_discriminated_subtypes_are_enforced(shared_dir):
    """ConnectionPropertiesV2 (2025-09-01) is polymorphic on authType: the subtype's schema applies."""
    arm = load_spec(shared_dir / ALL_SPECS[-1])
    op = "AccountConnections_Get"
    schema = arm.response_schema(op, 200)
    assert "_polymorphic" in json.dumps(schema)
    base = {"properties": {"category": "AzureOpenAI", "target": "https://x", "authType": "ApiKey",
                           "credentials": {"key": "k"}}}
    validate_response(arm, op, 200, base)
    bad = copy.deepcopy(base)
    bad["properties"]["credentials"] = {"key": 5}
    with pytest.raises(AssertionError):
        validate_response(arm, op, 200, bad)


def test_route_names_the_operation_of_a_simulator_url(shared_dir):
    from .swagger import Exchange, route

    specs = {p: load_spec(shared_dir / p) for p in ALL_SPECS}
    pid = str(uuid.uuid4())
    cases = {
        f"/cv/acct/customvision/v3.3/training/projects/{pid}/images/tagged/count": "GetTaggedImageCount",
        f"/cv/acct/customvision/v3.4-preview/training/projects/{pid}/images/tagged": "GetTaggedImages",
        f"/cv/acct/customvision/v3.1/prediction/{pid}/classify/iterations/m/image/nostore": "ClassifyImageWithNoStore",
        "/subscriptions/s/resourcegroups/rg/providers/microsoft.cognitiveservices/accounts/a?api-version=2025-09-01":
            "Accounts_Get",
    }
    for path, expected in cases.items():
        method = "POST" if "classify" in path else "GET"
        spec, op = route(Exchange(method, "https://h" + path, 200, None, ""), specs)
        assert op.operation_id == expected, path
    assert route(Exchange("POST", "https://h/tenant/oauth2/v2.0/token", 200, None, ""), specs) is None
