"""Swagger 2.0 conformance harness: load the official specs and validate simulator responses against them.

    spec = load_spec(shared_dir / TRAINING_V34)
    validate_response(spec, "GetProject", 200, body)   # AssertionError with a readable message

A spec's definitions (and those of the files it ``$ref``s, such as common-types) are compiled into one
JSON Schema document that ``jsonschema``'s Draft 4 validator checks. Swagger's extensions are read the way
the Azure spec tooling (oav) reads them:

- ``x-nullable: true`` allows ``null``; ``false`` forbids it; absent, an object property that is not
  ``required`` may be ``null`` (AutoRest and oav semantics), anything else may not.
- ``discriminator``: an object whose discriminator value names a subtype (``x-ms-discriminator-value`` or the
  definition's name) must also satisfy that subtype.
- ``readOnly`` fields are expected in responses, so they stay ``required`` where the spec says so.
- ``additionalProperties`` is left as the spec states it (swagger allows extra fields unless told otherwise);
  :func:`undeclared_fields` reports extra fields separately, for tests that want them named.
- Enums are closed even with ``x-ms-enum.modelAsString`` (the simulator should only send documented values).
- Formats ``uuid``, ``date-time``, ``int32`` and ``int64`` are checked; other formats are not.

:class:`Recorder` is a ``requests`` response hook that keeps every answer the simulator gives, and
:func:`route` names the spec operation a recorded request was for.
"""

from __future__ import annotations

import functools
import json
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import jsonschema

SPECS = Path("azure/specs/specification")
_CV = SPECS / "cognitiveservices/data-plane/CustomVision"
_ARM = SPECS / "cognitiveservices/resource-manager/Microsoft.CognitiveServices/stable"
TRAINING_V33 = _CV / "Training/stable/v3.3/Training.json"
TRAINING_V34 = _CV / "Training/preview/v3.4-preview/Training.json"
PREDICTION_V31 = _CV / "Prediction/stable/v3.1/Prediction.json"
ARM_2021 = _ARM / "2021-04-30/cognitiveservices.json"
ARM_2025 = _ARM / "2025-09-01/cognitiveservices.json"
ALL_SPECS = (TRAINING_V33, TRAINING_V34, PREDICTION_V31, ARM_2021, ARM_2025)

_METHODS = ("get", "put", "post", "patch", "delete", "head", "options")
_DROP = {"readOnly", "discriminator", "example", "externalDocs", "xml", "x-nullable"}


@functools.cache
def _read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8-sig"))


def _pointer(doc: dict, pointer: str):
    node = doc
    for part in pointer.lstrip("/").split("/") if pointer.strip("/") else []:
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _split_ref(ref: str, base: Path) -> tuple[Path, str]:
    file_part, _, pointer = ref.partition("#")
    path = (base.parent / file_part).resolve() if file_part else base
    return path, pointer


@dataclass
class Operation:
    """One swagger operation: where it lives and what it answers."""

    operation_id: str
    method: str
    path: str  # template relative to the spec's basePath, e.g. /projects/{projectId}
    parameters: list[dict]
    responses: dict[str, dict]
    examples: dict[str, Path] = field(default_factory=dict)  # title -> example file (only files that exist)
    _regex: re.Pattern | None = None

    def matches(self, method: str, path: str, case_insensitive: bool) -> bool:
        if method.lower() != self.method:
            return False
        if self._regex is None:
            pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(self.path.rstrip("/")))
            self._regex = re.compile(f"^{pattern}/?$", re.IGNORECASE if case_insensitive else 0)
        return bool(self._regex.match(path))

    @property
    def literal_segments(self) -> int:
        """How specific the template is (more fixed segments win when two templates match)."""
        return sum(1 for s in self.path.split("/") if s and not s.startswith("{"))


class Spec:
    """A loaded swagger file with its operations and a compiled JSON Schema per response."""

    def __init__(self, path: Path) -> None:
        self.path = path.resolve()
        self.doc = _read_json(self.path)
        self.name = f"{self.path.parent.name}/{self.path.name}"
        self.base_path = (self.doc.get("basePath") or "").rstrip("/")
        self.is_arm = "resource-manager" in self.path.parts
        self._defs: dict[str, dict] = {}  # compiled definitions, by unique key
        self._keys: dict[tuple[Path, str], str] = {}  # (file, pointer) -> key in _defs
        self._subtypes = self._find_subtypes()
        self._validators: dict[tuple[str, str], jsonschema.Draft4Validator | None] = {}
        self._lock = threading.Lock()
        self.operations: dict[str, Operation] = {}
        for template, item in self.doc.get("paths", {}).items():
            shared = item.get("parameters", [])
            for method in _METHODS:
                op = item.get(method)
                if op is None:
                    continue
                params = [self._deref(p, self.path)[0] for p in shared + op.get("parameters", [])]
                responses = {code: self._deref(r, self.path)[0] for code, r in op.get("responses", {}).items()}
                examples = {}
                for title, ref in op.get("x-ms-examples", {}).items():
                    file = (self.path.parent / ref["$ref"]).resolve()
                    if file.is_file():
                        examples[title] = file
                self.operations[op["operationId"]] = Operation(op["operationId"], method, template, params,
                                                               responses, examples)

    def __repr__(self) -> str:
        return f"Spec({self.name})"

    # -- lookup ----------------------------------------------------------------------------------------
    def operation(self, operation_id: str) -> Operation:
        """The operation with this id; raises KeyError naming the spec when there is none."""
        try:
            return self.operations[operation_id]
        except KeyError:
            raise KeyError(f"{self.name} has no operation {operation_id!r}") from None

    def match(self, method: str, path: str) -> Operation | None:
        """The operation serving ``method path`` (path after basePath), the most specific template first."""
        if self.base_path:
            if not path.lower().startswith(self.base_path.lower()):
                return None
            path = path[len(self.base_path):]
        found = [op for op in self.operations.values() if op.matches(method, path, self.is_arm)]
        return max(found, key=lambda op: op.literal_segments, default=None)

    def response(self, operation_id: str, status: int) -> tuple[str, dict]:
        """(the declared status key used, the response object) for ``status``: its own entry or ``default``."""
        responses = self.operation(operation_id).responses
        for key in (str(status), "default"):
            if key in responses:
                return key, responses[key]
        raise AssertionError(f"{self.name} {operation_id}: status {status} is not declared "
                             f"(declared: {', '.join(responses)})")

    # -- schemas ---------------------------------------------------------------------------------------
    def response_schema(self, operation_id: str, status: int) -> dict | None:
        """The JSON Schema (Draft 4, self-contained) of the answer body, or None if no body is declared."""
        validator = self._validator(operation_id, status)
        return None if validator is None else validator.schema

    def _validator(self, operation_id: str, status: int) -> jsonschema.Draft4Validator | None:
        key, resp = self.response(operation_id, status)
        with self._lock:
            if (operation_id, key) not in self._validators:
                schema = resp.get("schema")
                if schema is None:
                    self._validators[(operation_id, key)] = None
                else:
                    compiled = self._convert(schema, self.path, nullable_default=False)
                    root = {"allOf": [compiled], "definitions": self._defs}
                    self._validators[(operation_id, key)] = jsonschema.Draft4Validator(
                        root, format_checker=FORMATS)
            return self._validators[(operation_id, key)]

    def _deref(self, node: dict, base: Path) -> tuple[dict, Path]:
        """Follow ``$ref`` chains (parameters, responses) to the node they name and the file it lives in."""
        while isinstance(node, dict) and "$ref" in node:
            path, pointer = _split_ref(node["$ref"], base)
            node, base = _pointer(_read_json(path), pointer), path
        return node, base

    def _find_subtypes(self) -> dict[tuple[Path, str], list[tuple[str, str]]]:
        """Base definition -> [(discriminator value, subtype pointer)] for this file's polymorphic types."""
        subtypes: dict[tuple[Path, str], list[tuple[str, str]]] = {}
        for name, schema in self.doc.get("definitions", {}).items():
            for part in schema.get("allOf", []):
                if "$ref" in part:
                    target = _split_ref(part["$ref"], self.path)
                    base = _pointer(_read_json(target[0]), target[1])
                    if "discriminator" in base:
                        value = schema.get("x-ms-discriminator-value", name)
                        subtypes.setdefault(target, []).append((value, f"/definitions/{name}"))
        return subtypes

    def _definition_ref(self, path: Path, pointer: str, polymorphic: bool) -> dict:
        """A local ``$ref`` to the compiled definition at (path, pointer), compiling it on first use."""
        key = self._keys.get((path, pointer))
        if key is None:
            key = f"{len(self._keys)}_{pointer.rsplit('/', 1)[-1]}"
            self._keys[(path, pointer)] = key
            self._defs[key] = {}  # placeholder: recursion through this definition ends here
            self._defs[key] = self._convert(_pointer(_read_json(path), pointer), path, nullable_default=False,
                                            top_level=True)
        subtypes = self._subtypes.get((path, pointer)) if polymorphic else None
        if not subtypes:
            return {"$ref": f"#/definitions/{key}"}
        poly_key = f"{key}_polymorphic"
        if poly_key not in self._defs:
            self._defs[poly_key] = {}
            base = _pointer(_read_json(path), pointer)
            prop = base["discriminator"]
            values = [v for v, _ in subtypes]
            branches = [{"properties": {prop: {"enum": [v]}}, "required": [prop],
                         "allOf": [self._definition_ref(self.path, sub, polymorphic=False)]}
                        for v, sub in subtypes]
            # A value that names no subtype is held to the base type alone.
            branches.append({"allOf": [{"$ref": f"#/definitions/{key}"},
                                       {"not": {"properties": {prop: {"enum": values}}, "required": [prop]}}]})
            self._defs[poly_key] = {"anyOf": branches}
        return {"$ref": f"#/definitions/{poly_key}"}

    def _convert(self, node, base: Path, nullable_default: bool, top_level: bool = False):
        """Swagger schema -> Draft 4 JSON Schema; ``nullable_default`` applies when x-nullable is absent."""
        if not isinstance(node, dict):
            return node
        # A definition's own x-nullable is applied where it is referenced, not inside it.
        nullable = False if top_level else node.get("x-nullable", nullable_default)
        if "$ref" in node:
            path, pointer = _split_ref(node["$ref"], base)
            target = _pointer(_read_json(path), pointer)
            if "x-nullable" not in node and "x-nullable" in target:
                nullable = target["x-nullable"]
            if pointer.startswith("/definitions/"):
                out = self._definition_ref(path, pointer, polymorphic=True)
            else:
                out = self._convert(target, path, nullable_default)
            return {"anyOf": [{"type": "null"}, out]} if nullable else out
        out: dict = {}
        required = set(node.get("required", []))
        for k, v in node.items():
            if k in _DROP or k.startswith("x-") or k == "required":
                continue
            if k == "properties":
                out[k] = {name: self._convert(p, base, nullable_default=name not in required)
                          for name, p in v.items()}
            elif k == "allOf":
                out[k] = [self._allof_part(p, base) for p in v]
            elif k in ("items", "additionalProperties") and isinstance(v, dict):
                out[k] = self._convert(v, base, False)
            elif k == "type" and v == "file":
                continue  # a download: no JSON shape to check
            else:
                out[k] = v
        if required:
            out["required"] = sorted(required)
        if nullable:
            if isinstance(out.get("type"), str):
                out["type"] = [out["type"], "null"]
                if "enum" in out:
                    out["enum"] = [*out["enum"], None]
            elif "type" not in out:
                out = {"anyOf": [{"type": "null"}, out]}
        return out

    def _allof_part(self, part: dict, base: Path) -> dict:
        # Subtypes name their base in allOf: that reference is to the base alone, not to its union.
        if "$ref" in part:
            path, pointer = _split_ref(part["$ref"], base)
            if pointer.startswith("/definitions/"):
                return self._definition_ref(path, pointer, polymorphic=False)
        return self._convert(part, base, False)


def _is_uuid(value) -> bool:
    return not isinstance(value, str) or bool(_UUID.match(value))


def _is_datetime(value) -> bool:
    return not isinstance(value, str) or bool(_DATETIME.match(value))


def _int_range(bits: int):
    def check(value) -> bool:
        return not isinstance(value, int) or -(2 ** (bits - 1)) <= value < 2 ** (bits - 1)
    return check


_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
# RFC 3339 date-time, as swagger's ``date-time`` format means (an offset or Z is required).
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
FORMATS = jsonschema.FormatChecker(formats=())
FORMATS.checks("uuid")(_is_uuid)
FORMATS.checks("date-time")(_is_datetime)
FORMATS.checks("int32")(_int_range(32))
FORMATS.checks("int64")(_int_range(64))


@functools.cache
def load_spec(path: Path) -> Spec:
    """The spec at ``path`` (absolute, or ``shared_dir / TRAINING_V34`` etc.), loaded once per run."""
    return Spec(Path(path))


def _short(value, limit: int = 160) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= limit else text[:limit] + "..."


def validate_response(spec: Spec, operation_id: str, status: int, body) -> None:
    """Assert ``body`` (parsed JSON, None for no body) is what ``operation_id`` may answer with ``status``.

    Raises AssertionError naming the operation, the status and each violation with its JSON path.
    """
    validator = spec._validator(operation_id, status)
    where = f"{spec.name} {operation_id} HTTP {status}"
    if validator is None:
        assert body in (None, "", b""), f"{where}: the spec declares no body, got {_short(body)}"
        return
    errors = sorted((e for err in validator.iter_errors(body) for e in _expand(err)),
                    key=lambda e: list(e.absolute_path))
    if errors:
        lines = []
        for err in errors[:8]:
            at = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err.absolute_path)
            detail = err.message if len(err.message) < 200 else err.message[:200] + "..."
            if err.context:  # a union no branch of which fits: the closest branch says most
                detail += " (" + jsonschema.exceptions.best_match(err.context).message[:160] + ")"
            lines.append(f"  at {at}: {detail}")
        more = f"\n  ... and {len(errors) - 8} more" if len(errors) > 8 else ""
        raise AssertionError(f"{where}: body does not match the spec's schema\n" + "\n".join(lines) + more
                             + f"\n  body: {_short(body, 400)}")


def _expand(err: jsonschema.ValidationError) -> list[jsonschema.ValidationError]:
    """A nullable wrapper's failure (anyOf [null, X]) on a non-null value is really X's errors: say those."""
    if err.validator == "anyOf" and err.instance is not None and len(err.validator_value) == 2 \
            and {"type": "null"} in err.validator_value:
        other = 1 - err.validator_value.index({"type": "null"})
        inner = [e for e in err.context if e.relative_schema_path and e.relative_schema_path[0] == other]
        if inner:
            return [x for e in inner for x in _expand(e)]
    return [err]


def undeclared_fields(spec: Spec, operation_id: str, status: int, body) -> list[str]:
    """JSON paths of object fields in ``body`` that the response schema does not declare (e.g. typos)."""
    schema = spec.response_schema(operation_id, status)
    if schema is None:
        return []
    defs = schema["definitions"]
    found: list[str] = []

    def declared(s: dict) -> tuple[set[str], dict, dict | None, bool]:
        """(property names, property schemas, items schema, open) of a schema, through $ref/allOf/anyOf."""
        names: set[str] = set()
        props: dict = {}
        items = None
        open_ = False
        stack = [s]
        while stack:
            cur = stack.pop()
            if "$ref" in cur:
                stack.append(defs[cur["$ref"].rsplit("/", 1)[-1]])
                continue
            for p, ps in cur.get("properties", {}).items():
                names.add(p)
                props.setdefault(p, ps)
            if isinstance(cur.get("additionalProperties"), dict) or cur.get("additionalProperties") is True:
                open_ = True
            items = items or cur.get("items")
            stack.extend(cur.get("allOf", []) + cur.get("anyOf", []))
        return names, props, items, open_

    def walk(s: dict, value, at: str) -> None:
        names, props, items, open_ = declared(s)
        if isinstance(value, dict):
            for k, v in value.items():
                if k in props:
                    walk(props[k], v, f"{at}.{k}")
                elif not open_ and names:
                    found.append(f"{at}.{k}")
        elif isinstance(value, list) and items is not None:
            for i, v in enumerate(value[:3]):
                walk(items, v, f"{at}[{i}]")

    walk(schema, body, "$")
    return found


# -- recording -----------------------------------------------------------------------------------------
@dataclass
class Exchange:
    """One request the simulator answered."""

    method: str
    url: str
    status: int
    body: object  # parsed JSON, or None for an empty body
    content_type: str

    @property
    def path(self) -> str:
        return urlsplit(self.url).path

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(urlsplit(self.url).query)

    def __str__(self) -> str:
        return f"{self.method} {self.path} -> {self.status}"


class Recorder:
    """A ``requests`` response hook that keeps every answer: ``session.hooks["response"].append(rec)``."""

    def __init__(self) -> None:
        self.exchanges: list[Exchange] = []
        self._lock = threading.Lock()

    def __call__(self, response, *args, **kwargs):
        ctype = response.headers.get("Content-Type", "")
        raw = response.content
        body = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw.decode("utf-8", "replace")  # not JSON: the validation will say so
        with self._lock:
            self.exchanges.append(Exchange(response.request.method, response.url, response.status_code,
                                           body, ctype))
        return response


_PREDICTION_API = re.compile(r"^/customvision/[^/]+/prediction(/|$)")
_CV_PATH = re.compile(r"^/cv/[^/]+(/customvision/.*)$", re.IGNORECASE)


def route(exchange: Exchange, specs: dict[Path, Spec]) -> tuple[Spec, Operation] | None:
    """The spec and operation an exchange was for, or None when no spec covers it (Entra ID, admin...).

    Custom Vision paths are ``/cv/<account>/customvision/...`` in the simulator (the spec's ``{Endpoint}``
    is ``.../cv/<account>``); ARM paths pick the spec of the ``api-version`` sent.
    """
    path = exchange.path
    m = _CV_PATH.match(path)
    if m:
        for spec in specs.values():
            if not spec.is_arm and m.group(1).lower().startswith(spec.base_path.lower() + "/"):
                op = spec.match(exchange.method, m.group(1))
                return (spec, op) if op else None
        return None
    if path.lower().startswith("/subscriptions/"):
        version = (exchange.query.get("api-version") or [""])[0]
        for spec in specs.values():
            if spec.is_arm and spec.doc["info"]["version"] == version:
                op = spec.match(exchange.method, path)
                return (spec, op) if op else None
    return None


# -- driving the simulator -----------------------------------------------------------------------------
class SimSession:
    """Raw HTTPS calls to the simulator as one attendee, every answer kept by a :class:`Recorder`.

    ``arm(method, path, api_version, json=...)`` sends an ARM call with the attendee's bearer token
    (from the simulator's Entra ID, through azure-identity); ``cv(account, ...)`` a Custom Vision call
    under the account's endpoint with its key.
    """

    def __init__(self, creds: dict, recorder: Recorder | None = None) -> None:
        import requests
        from azure.identity import ClientSecretCredential

        self.creds = creds
        self.recorder = recorder or Recorder()
        self.http = requests.Session()
        self.verify = creds["ca_bundle"]  # per request: a session's verify loses to REQUESTS_CA_BUNDLE
        self.http.hooks["response"].append(self.recorder)
        cred = ClientSecretCredential(creds["tenant_id"], creds["client_id"], creds["client_secret"],
                                      authority=creds["authority_host"], disable_instance_discovery=True,
                                      connection_verify=creds["ca_bundle"])
        try:
            self.token = cred.get_token(creds["credential_scope"]).token
        finally:
            cred.close()
        self.base = creds["arm_endpoint"].rstrip("/")
        self.keys: dict[str, str] = {}

    def close(self) -> None:
        self.http.close()

    @property
    def rg_path(self) -> str:
        return f"/subscriptions/{self.creds['subscription_id']}/resourceGroups/{self.creds['resource_group']}"

    def account_path(self, name: str = "") -> str:
        path = f"{self.rg_path}/providers/Microsoft.CognitiveServices/accounts"
        return f"{path}/{name}" if name else path

    def arm(self, method: str, path: str, api_version: str = "2025-09-01", token: str | None = None, **kw):
        headers = kw.pop("headers", {})
        if token != "":
            headers["Authorization"] = f"Bearer {token or self.token}"
        params = kw.pop("params", {})
        if api_version:
            params["api-version"] = api_version
        return self.http.request(method, self.base + path, params=params, headers=headers, timeout=30,
                                 verify=self.verify, **kw)

    def create_account(self, name: str, kind: str, sku: str = "S0", api_version: str = "2025-09-01") -> str:
        """Create (or update) an account, remember its key1 for :meth:`cv`, and return its resource id."""
        resp = self.arm("PUT", self.account_path(name), api_version,
                        json={"kind": kind, "sku": {"name": sku}, "location": self.creds["region"],
                              "properties": {"customSubDomainName": name.lower()}})
        assert resp.status_code in (200, 201), resp.text
        self.wait(resp)
        keys = self.arm("POST", self.account_path(name) + "/listKeys", api_version)
        assert keys.status_code == 200, keys.text
        self.keys[name.lower()] = keys.json()["key1"]
        return resp.json()["id"]

    def wait(self, resp, timeout: float = 15) -> dict:
        """Follow a long-running operation's ``Azure-AsyncOperation`` until it ends; returns its status."""
        import time

        url = resp.headers.get("Azure-AsyncOperation")
        if not url:
            return {"status": "Succeeded"}
        deadline = time.monotonic() + timeout
        while True:
            status = self.http.get(url, headers={"Authorization": f"Bearer {self.token}"}, timeout=30,
                                   verify=self.verify).json()
            if status["status"] in ("Succeeded", "Failed", "Canceled") or time.monotonic() > deadline:
                return status
            time.sleep(float(resp.headers.get("Retry-After", "0.1")))

    def endpoint(self, account: str) -> str:
        return f"{self.base}/cv/{account.lower()}"

    def cv(self, account: str, method: str, path: str, key: str | None = None, **kw):
        """``path`` starts at ``/customvision/...``; the key header fits the API (Training or Prediction)."""
        header = "Prediction-Key" if _PREDICTION_API.match(path) else "Training-Key"
        headers = {header: self.keys[account.lower()] if key is None else key, **kw.pop("headers", {})}
        return self.http.request(method, self.endpoint(account) + path, headers=headers, timeout=30,
                                 verify=self.verify, **kw)


COMPACT_DOMAIN = "0732100f-1a38-4e49-a514-c9b44c697ab5"  # General (compact), classification
OD_COMPACT_DOMAIN = "a27d5ca5-bb19-49d8-a70a-fec086c47f5b"  # General (compact), object detection


def _image(defective: bool, index: int) -> bytes:
    from azuresim.images import casting_image

    return casting_image(defective, index)


@dataclass
class CvWorld:
    """A trained, published Custom Vision project the way the lab builds it, made with raw calls."""

    s: SimSession
    training: str  # account names
    prediction: str
    prediction_id: str  # the prediction account's ARM resource id
    version: str  # "v3.3" or "v3.4-preview"
    project: dict = field(default_factory=dict)
    tags: list[dict] = field(default_factory=list)
    iteration: dict = field(default_factory=dict)
    image_ids: list[str] = field(default_factory=list)
    publish_name: str = ""

    @property
    def base(self) -> str:
        return f"/customvision/{self.version}/training"

    def train(self, method: str, path: str, **kw):
        return self.s.cv(self.training, method, self.base + path, **kw)

    def predict(self, method: str, path: str, **kw):
        return self.s.cv(self.prediction, method, "/customvision/v3.1/prediction" + path, **kw)

    def sample_url(self, defective: bool = True, index: int = 3) -> str:
        return f"{self.s.base}/cv/_samples/{'defect' if defective else 'ok'}/{index}.jpg"

    def build(self, name: str, images_per_tag: int = 5, publish: bool = True,
              platforms: str | None = "CoreML,TensorFlow") -> CvWorld:
        """Project (``platforms``: its target export platforms, None for the domain's all), two tags with
        images (multipart and JSON batch), one untagged image, a trained iteration, and (``publish``) the
        iteration published to the prediction account."""
        import base64

        params = {"name": name, "description": "Casting defects", "domainId": COMPACT_DOMAIN,
                  "classificationType": "Multiclass"}
        if platforms:
            params["targetExportPlatforms"] = platforms
        r = self.train("POST", "/projects", json={}, params=params)
        assert r.status_code == 200, r.text
        self.project = r.json()
        pid = self.project["id"]
        for tag in ("Defect", "OK"):
            r = self.train("POST", f"/projects/{pid}/tags", params={"name": tag, "type": "Regular"})
            assert r.status_code == 200, r.text
            self.tags.append(r.json())
        defect, ok = self.tags[0]["id"], self.tags[1]["id"]
        files = [("imageData", (None, _image(True, i), "application/octet-stream")) for i in range(images_per_tag)]
        r = self.train("POST", f"/projects/{pid}/images", params={"tagIds": defect}, files=files)
        assert r.status_code in (200, 207), r.text
        self.image_ids += [i["image"]["id"] for i in r.json()["images"] if i.get("image")]
        batch = {"images": [{"name": f"ok_{i}.jpg", "contents": base64.b64encode(_image(False, i)).decode()}
                            for i in range(images_per_tag)], "tagIds": [ok]}
        r = self.train("POST", f"/projects/{pid}/images/files", json=batch)
        assert r.status_code in (200, 207), r.text
        self.image_ids += [i["image"]["id"] for i in r.json()["images"] if i.get("image")]
        r = self.train("POST", f"/projects/{pid}/images", files=[("imageData", (None, _image(True, 40)))])
        assert r.status_code in (200, 207), r.text
        return self._train_and_publish(name, publish)

    def build_detection(self, name: str, images: int = 15, publish: bool = True) -> CvWorld:
        """An object-detection project the way Find the Flaw builds it: tag "Defect", ``images`` castings
        uploaded with their flaw's region (JSON batch), one more without, trained and (``publish``) published."""
        import base64

        from azuresim.images import casting

        r = self.train("POST", "/projects", json={},
                       params={"name": name, "description": "Finding casting flaws", "domainId": OD_COMPACT_DOMAIN})
        assert r.status_code == 200, r.text
        self.project = r.json()
        pid = self.project["id"]
        r = self.train("POST", f"/projects/{pid}/tags", params={"name": "Defect", "type": "Regular"})
        assert r.status_code == 200, r.text
        self.tags.append(r.json())
        entries = []
        for i in range(images):
            c = casting(True, i)
            box = {"left": c.box.left, "top": c.box.top, "width": c.box.width, "height": c.box.height}
            entries.append({"name": f"flaw_{i}.jpg", "contents": base64.b64encode(c.data).decode(),
                            "regions": [{"tagId": self.tags[0]["id"], **box}]})
        r = self.train("POST", f"/projects/{pid}/images/files", json={"images": entries})
        assert r.status_code == 200, r.text
        self.image_ids += [i["image"]["id"] for i in r.json()["images"]]
        r = self.train("POST", f"/projects/{pid}/images", files=[("imageData", (None, _image(True, 40)))])
        assert r.status_code in (200, 207), r.text
        self.image_ids.append(r.json()["images"][0]["image"]["id"])
        return self._train_and_publish(name, publish)

    def _train_and_publish(self, name: str, publish: bool) -> CvWorld:
        import time

        pid = self.project["id"]
        r = self.train("POST", f"/projects/{pid}/train", json={},
                       params={"reservedBudgetInHours": 0, "forceTrain": "false"})
        assert r.status_code == 200, r.text
        self.iteration = r.json()
        deadline = time.monotonic() + 15
        while self.iteration["status"] != "Completed":
            assert time.monotonic() < deadline, f"training did not complete: {self.iteration}"
            time.sleep(0.1)
            self.iteration = self.train("GET", f"/projects/{pid}/iterations/{self.iteration['id']}").json()
        if publish:
            self.publish_name = f"{name.replace(' ', '-')}-model"
            r = self.train("POST", f"/projects/{pid}/iterations/{self.iteration['id']}/publish",
                           params={"publishName": self.publish_name, "predictionId": self.prediction_id})
            assert r.status_code == 200, r.text
        return self
