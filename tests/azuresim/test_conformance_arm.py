"""ARM Microsoft.CognitiveServices answers conform to the official swagger (2021-04-30 and 2025-09-01).

One recorded run per module: raw HTTPS calls for every account operation and its error cases, plus the
official management SDK doing the same through an azure-core ``raw_response_hook``. Each answer is then
routed to its spec operation (by path and ``api-version``) and validated against that operation's schema.
"""

from __future__ import annotations

import json
import uuid

import pytest
from azure.identity import ClientSecretCredential
from azure.mgmt.cognitiveservices import CognitiveServicesManagementClient
from azure.mgmt.cognitiveservices.models import Account, Sku

from .swagger import (
    ARM_2021,
    ARM_2025,
    Exchange,
    SimSession,
    load_spec,
    route,
    undeclared_fields,
    validate_response,
)

VERSIONS = {"2021-04-30": ARM_2021, "2025-09-01": ARM_2025}
OPERATIONS = ["Accounts_Get", "Accounts_List", "Accounts_ListByResourceGroup", "Accounts_Create",
              "Accounts_Update", "Accounts_ListKeys", "Accounts_RegenerateKey", "Accounts_Delete",
              "DeletedAccounts_List", "DeletedAccounts_Get", "DeletedAccounts_Purge"]
# ARM's own status resources of long-running operations (Azure-AsyncOperation / Location): the resource
# provider's swagger does not describe them; tests/azuresim/test_arm_lifecycle.py checks their shape.
_LRO_STATUS = ("/operationStatuses/", "/operationResults/")


@pytest.fixture(scope="module")
def specs(shared_dir):
    return {p: load_spec(shared_dir / p) for p in VERSIONS.values()}


def _raw_calls(s: SimSession, version: str, tag: str) -> None:
    """Every account operation once or twice, successes and the errors a client can provoke."""
    name = f"conf-{tag}-{uuid.uuid4().hex[:6]}"
    acct = s.account_path(name)
    s.create_account(name, "CustomVision.Training", "S0", version)            # 201, then listKeys
    s.wait(s.arm("PUT", acct, version, json={"kind": "CustomVision.Training", "sku": {"name": "S0"},
                                             "location": s.creds["region"]}))  # 200: an update
    s.arm("GET", acct, version)
    s.arm("GET", s.account_path(), version)
    s.arm("GET", f"/subscriptions/{s.creds['subscription_id']}/providers/Microsoft.CognitiveServices/accounts",
          version)
    s.wait(s.arm("PATCH", acct, version, json={"tags": {"course": "spot-the-flaw"}}))
    s.arm("POST", acct + "/regenerateKey", version, json={"keyName": "Key2"})
    s.arm("POST", acct + "/listKeys", version)
    # Errors: each must be ARM's ErrorResponse envelope.
    s.arm("GET", s.account_path("no-such-account"), version)                  # 404 ResourceNotFound
    s.arm("POST", s.account_path("no-such-account") + "/listKeys", version)   # 404
    s.arm("GET", acct, version, token="")                                     # 401 no token
    s.arm("GET", acct, version, token="not-a-token")                          # 401 bad token
    s.arm("PUT", s.account_path(f"{name}-x"), version,
          json={"kind": "CustomVision.Training", "sku": {"name": "Z9"}, "location": s.creds["region"]})  # 400
    s.arm("PUT", s.account_path(f"{name}-y"), version,
          json={"kind": "NoSuchKind", "sku": {"name": "S0"}, "location": s.creds["region"]})  # 400
    s.arm("PUT", s.account_path(f"{name}-z"), version,
          json={"kind": "CustomVision.Training", "sku": {"name": "S0"}, "location": "atlantis"})  # 400
    s.arm("POST", acct + "/regenerateKey", version, json={"keyName": "Key3"})  # 400
    s.arm("GET", s.rg_path.replace(s.creds["resource_group"], "no-such-rg")
          + "/providers/Microsoft.CognitiveServices/accounts", version)       # 404 ResourceGroupNotFound
    s.wait(s.arm("DELETE", acct, version))                                    # 202, then soft-deleted
    s.arm("DELETE", acct, version)                                            # 204: already gone
    subs = f"/subscriptions/{s.creds['subscription_id']}/providers/Microsoft.CognitiveServices"
    deleted = f"{subs}/locations/{s.creds['region']}/resourceGroups/{s.creds['resource_group']}/deletedAccounts"
    s.arm("GET", f"{subs}/deletedAccounts", version)
    s.arm("GET", f"{deleted}/{name}", version)
    s.arm("PUT", acct, version, json={"kind": "CustomVision.Training", "sku": {"name": "S0"},
                                      "location": s.creds["region"]})         # 409 FlagMustBeSetForRestore
    s.wait(s.arm("DELETE", f"{deleted}/{name}", version))                     # 202: purge
    s.arm("GET", f"{deleted}/{name}", version)                                # 404: purged
    # Key access disabled: shown on the account, and listKeys refuses.
    local = s.account_path(f"{name}-nl")
    s.wait(s.arm("PUT", local, version, json={
        "kind": "CustomVision.Training", "sku": {"name": "S0"}, "location": s.creds["region"],
        "properties": {"customSubDomainName": f"{name}-nl", "disableLocalAuth": True}}))  # 201
    s.arm("GET", local, version)
    s.arm("POST", local + "/listKeys", version)                                # 400 disableLocalAuth
    s.wait(s.arm("PATCH", local, version, json={"properties": {"disableLocalAuth": False}}))
    s.arm("POST", local + "/listKeys", version)                                # 200 again
    s.wait(s.arm("DELETE", local, version))
    s.wait(s.arm("DELETE", f"{deleted}/{name}-nl", version))


def _refused_calls(s: SimSession, version: str) -> None:
    """As a grader holding only Reader at the resource group: reads answer, the rest is AuthorizationFailed."""
    s.arm("GET", s.account_path(), version)                                    # 200
    s.arm("POST", s.account_path("anything") + "/listKeys", version)           # 403 (before existence)
    s.arm("PUT", s.account_path("anything"), version, json={
        "kind": "CustomVision.Training", "sku": {"name": "S0"}, "location": s.creds["region"]})  # 403
    s.arm("GET", f"/subscriptions/{s.creds['subscription_id']}/providers/Microsoft.CognitiveServices/"
          "deletedAccounts", version)                                          # 403: not at subscription scope
    s.arm("GET", s.account_path(), version, token=s.cognitive_token)          # 401 wrong audience


def _sdk_calls(creds: dict, hook) -> None:
    """The official management SDK through the same operations, every answer seen by ``hook``."""
    cred = ClientSecretCredential(creds["tenant_id"], creds["client_id"], creds["client_secret"],
                                  authority=creds["authority_host"], disable_instance_discovery=True,
                                  connection_verify=creds["ca_bundle"])
    client = CognitiveServicesManagementClient(cred, creds["subscription_id"], base_url=creds["arm_endpoint"],
                                               credential_scopes=[creds["credential_scope"]],
                                               connection_verify=creds["ca_bundle"], raw_response_hook=hook,
                                               retry_total=0)
    rg, name = creds["resource_group"], f"conf-sdk-{uuid.uuid4().hex[:6]}"
    try:
        body = Account(kind="CustomVision.Prediction", sku=Sku(name="S0"), location=creds["region"])
        client.accounts.begin_create(rg, name, body, polling_interval=0).result()
        client.accounts.get(rg, name)
        list(client.accounts.list())
        list(client.accounts.list_by_resource_group(rg))
        client.accounts.list_keys(rg, name)
        client.accounts.regenerate_key(rg, name, "Key1")
        client.accounts.begin_delete(rg, name, polling_interval=0).result()
    finally:
        client.close()
        cred.close()


@pytest.fixture(scope="module")
def recorded(_session_sim, specs) -> list[Exchange]:
    creds = _session_sim.create_attendee(f"conf-arm-{uuid.uuid4().hex[:6]}")
    s = SimSession(creds)
    reader_creds = _session_sim.create_attendee(f"conf-rdr-{uuid.uuid4().hex[:6]}", grader_role="Reader",
                                                grader_scope="resource_group")
    reader = SimSession(reader_creds, recorder=s.recorder)
    cred = ClientSecretCredential(reader_creds["tenant_id"], reader_creds["client_id"],
                                  reader_creds["client_secret"], authority=reader_creds["authority_host"],
                                  disable_instance_discovery=True, connection_verify=reader_creds["ca_bundle"])
    reader.cognitive_token = cred.get_token("https://cognitiveservices.azure.com/.default").token
    cred.close()
    try:
        for version in VERSIONS:
            _raw_calls(s, version, version[:4])
            _refused_calls(reader, version)

        seen = []  # the SDK may still stream a body when the hook runs: read it once the call is done
        _sdk_calls(creds, lambda pipeline_response: seen.append(pipeline_response.http_response))
        for http in seen:
            text = http.content.decode() if http.content else ""
            s.recorder.exchanges.append(Exchange(http.request.method, http.request.url, http.status_code,
                                                 json.loads(text) if text else None,
                                                 http.headers.get("Content-Type", "")))
    finally:
        s.close()
        reader.close()
    return s.recorder.exchanges


def _routed(recorded, specs, version: str, operation_id: str) -> list[Exchange]:
    spec = specs[VERSIONS[version]]
    found = []
    for ex in recorded:
        r = route(ex, specs)
        if r and r[0] is spec and r[1].operation_id == operation_id:
            found.append(ex)
    return found


@pytest.mark.parametrize("version", list(VERSIONS))
@pytest.mark.parametrize("operation_id", OPERATIONS)
def test_operation_answers_conform(recorded, specs, version, operation_id):
    exchanges = _routed(recorded, specs, version, operation_id)
    assert any(ex.status < 400 for ex in exchanges), f"no successful {operation_id} answer was recorded"
    for ex in exchanges:
        validate_response(specs[VERSIONS[version]], operation_id, ex.status, ex.body)


def test_every_recorded_answer_conforms(recorded, specs):
    """Nothing the run provoked escapes validation: every ARM answer routes to an operation and validates."""
    failures, unrouted = [], []
    for ex in recorded:
        r = route(ex, specs)
        if r is None:
            if "/providers/Microsoft.CognitiveServices/" in ex.path and not any(p in ex.path for p in _LRO_STATUS):
                unrouted.append(str(ex))
            continue
        try:
            validate_response(r[0], r[1].operation_id, ex.status, ex.body)
        except AssertionError as exc:
            failures.append(f"{ex}: {exc}")
    assert not unrouted, "answers no spec operation describes:\n" + "\n".join(unrouted)
    assert not failures, "\n\n".join(failures)
    assert len(recorded) >= 2 * 20 + 7


@pytest.mark.parametrize(("status", "codes"), [
    (400, {"InvalidSkuId", "InvalidApiSetId", "LocationNotAvailableForResourceType", "InvalidRequestContent",
           "BadRequest"}),
    (401, {"AuthenticationFailed", "InvalidAuthenticationToken", "InvalidAuthenticationTokenAudience"}),
    (403, {"AuthorizationFailed"}),
    (404, {"ResourceNotFound", "ResourceGroupNotFound"}),
    (409, {"FlagMustBeSetForRestore"}),
])
def test_error_answers_use_the_error_response_envelope(recorded, specs, status, codes):
    errors = [ex for ex in recorded if ex.status == status and "Microsoft.CognitiveServices" in ex.path
              and not any(p in ex.path for p in _LRO_STATUS)]
    assert errors, f"no HTTP {status} was recorded"
    for ex in errors:
        r = route(ex, specs)
        assert r is not None, str(ex)
        spec, op = r
        assert spec.response(op.operation_id, status)[0] == "default"
        validate_response(spec, op.operation_id, status, ex.body)
        assert ex.body["error"]["code"] in codes, f"{ex}: {ex.body}"
        assert ex.body["error"]["message"].strip()


def test_answers_carry_no_field_the_spec_does_not_name(recorded, specs):
    """Swagger allows extra fields, but a simulator that invents one lets the product rely on a phantom."""
    extra = []
    for ex in recorded:
        r = route(ex, specs)
        if r is not None:
            extra += [f"{r[1].operation_id} {ex.status} {path}"
                      for path in undeclared_fields(r[0], r[1].operation_id, ex.status, ex.body)]
    assert not extra, "fields the spec does not declare:\n" + "\n".join(sorted(set(extra)))
