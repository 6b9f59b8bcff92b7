"""azuresim's Azure RBAC: role evaluation (wildcards, not-actions, scopes), ARM refusals naming action and
scope, filtered lists, token audiences, Microsoft Entra ID on the Custom Vision data plane per data action,
disableLocalAuth, expired secrets, and the admin API and CLI that set a grader's role."""

from __future__ import annotations

import itertools
import json

import pytest
import requests
from azure.cognitiveservices.vision.customvision.training import CustomVisionTrainingClient
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError
from azure.identity import ClientSecretCredential
from azure.mgmt.cognitiveservices import CognitiveServicesManagementClient
from click.testing import CliRunner
from msrest.authentication import ApiKeyCredentials, Authentication
from msrest.exceptions import HttpOperationError

from azuresim.rbac import BUILTIN_BY_NAME, RoleDefinition, matches, within
from azuresim.student import Student

_n = itertools.count(1)
COGNITIVE = "https://cognitiveservices.azure.com/.default"


# -- evaluation -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("pattern", "action", "expected"), [
    ("*", "Microsoft.CognitiveServices/accounts/listKeys/action", True),
    ("*/read", "Microsoft.CognitiveServices/accounts/read", True),
    ("*/read", "Microsoft.CognitiveServices/accounts/listKeys/action", False),
    ("Microsoft.CognitiveServices/*", "microsoft.cognitiveservices/ACCOUNTS/write", True),
    ("Microsoft.CognitiveServices/accounts/CustomVision/*/read",
     "Microsoft.CognitiveServices/accounts/CustomVision/projects/tags/read", True),
    ("Microsoft.CognitiveServices/accounts/CustomVision/*/read",
     "Microsoft.CognitiveServices/accounts/CustomVision/projects/predictions/query/action", False),
    ("Microsoft.CognitiveServices/accounts/listkeys/action", "Microsoft.CognitiveServices/accounts/listKeys/action",
     True),
])
def test_patterns_match_as_azure_does(pattern, action, expected):
    assert matches(pattern, action) is expected


def test_built_in_roles_allow_what_microsoft_documents():
    keys = "Microsoft.CognitiveServices/accounts/listKeys/action"
    read = "Microsoft.CognitiveServices/accounts/CustomVision/projects/read"
    assert not BUILTIN_BY_NAME["reader"].allows(keys)
    assert BUILTIN_BY_NAME["contributor"].allows(keys)
    assert not BUILTIN_BY_NAME["contributor"].allows("Microsoft.Authorization/roleAssignments/write")
    assert BUILTIN_BY_NAME["owner"].allows("Microsoft.Authorization/roleAssignments/write")
    assert not BUILTIN_BY_NAME["owner"].allows(read, data=True)  # no control-plane role reads data
    assert BUILTIN_BY_NAME["cognitive services user"].allows(read, data=True)
    assert not BUILTIN_BY_NAME["cognitive services contributor"].allows(read, data=True)
    cv_reader = BUILTIN_BY_NAME["cognitive services custom vision reader"]
    assert cv_reader.allows(read, data=True) and not cv_reader.allows(keys)
    assert not cv_reader.allows("Microsoft.CognitiveServices/accounts/CustomVision/projects/export/read", data=True)


def test_a_role_s_not_actions_remove_only_its_own_grants():
    role = RoleDefinition.from_json({"Name": "x", "Actions": ["Microsoft.CognitiveServices/*"],
                                     "NotActions": ["Microsoft.CognitiveServices/accounts/listKeys/action"]})
    assert role.allows("Microsoft.CognitiveServices/accounts/read")
    assert not role.allows("Microsoft.CognitiveServices/accounts/listKeys/action")
    with pytest.raises(ValueError, match="Name"):
        RoleDefinition.from_json({"Actions": []})
    with pytest.raises(ValueError, match="list of action strings"):
        RoleDefinition.from_json({"Name": "y", "Actions": "Microsoft.CognitiveServices/*"})


def test_scopes_reach_down_not_up():
    sub, rg = "/subscriptions/S", "/subscriptions/S/resourceGroups/RG"
    assert within(rg + "/providers/x/accounts/a", rg) and within(rg, sub) and within(rg.lower(), rg)
    assert not within(sub, rg)
    assert not within("/subscriptions/S/resourceGroups/RG2", rg)
    assert not within("/subscriptions/S/providers/Microsoft.CognitiveServices/locations/eastus/resourceGroups/RG/"
                      "deletedAccounts/a", rg)


def test_union_of_assignments_and_a_role_elsewhere_grants_nothing_here(sim):
    creds = sim.create_attendee(f"rbac-{next(_n)}", grader_role="Reader", grader_scope="resource_group")
    state = sim.state
    grader = state.principals[creds["client_id"]]
    rg = f"/subscriptions/{creds['subscription_id']}/resourceGroups/{creds['resource_group']}"
    keys = "Microsoft.CognitiveServices/accounts/listKeys/action"
    assert state.permitted(grader, "Microsoft.CognitiveServices/accounts/read", rg)
    sub = f"/subscriptions/{creds['subscription_id']}"
    assert not state.permitted(grader, "Microsoft.CognitiveServices/accounts/read", sub)
    assert not state.permitted(grader, keys, rg)
    state.assign_role(grader, "Cognitive Services User", rg)
    assert state.permitted(grader, keys, rg + "/providers/Microsoft.CognitiveServices/accounts/a")
    assert state.sees_subscription(grader, creds["subscription_id"])


# -- ARM through the SDK ----------------------------------------------------------------------------------------
def _arm(creds: dict, who: dict | None = None) -> CognitiveServicesManagementClient:
    who = who or creds
    cred = ClientSecretCredential(creds["tenant_id"], who["client_id"], who["client_secret"],
                                  authority=creds["authority_host"], disable_instance_discovery=True,
                                  connection_verify=creds["ca_bundle"])
    return CognitiveServicesManagementClient(cred, creds["subscription_id"], base_url=creds["arm_endpoint"],
                                             credential_scopes=[creds["credential_scope"]],
                                             connection_verify=creds["ca_bundle"])


def test_reader_lists_but_may_not_read_keys_and_the_refusal_names_action_and_scope(sim):
    creds = sim.create_attendee(f"rbac-{next(_n)}", grader_role="Reader", grader_scope="resource_group")
    Student(creds).do("1")
    arm = _arm(creds)
    try:
        names = [a.name for a in arm.accounts.list_by_resource_group(creds["resource_group"])]
        assert len(names) == 2
        assert sorted(a.name for a in arm.accounts.list()) == sorted(names)  # filtered to its group
        with pytest.raises(HttpResponseError) as refused:
            arm.accounts.list_keys(creds["resource_group"], names[0])
        assert refused.value.status_code == 403 and refused.value.error.code == "AuthorizationFailed"
        message = refused.value.error.message
        assert "'Microsoft.CognitiveServices/accounts/listKeys/action'" in message
        assert f"/resourceGroups/{creds['resource_group']}/providers/Microsoft.CognitiveServices/accounts/" in message
        with pytest.raises(HttpResponseError) as deleted:
            list(arm.deleted_accounts.list())
        assert deleted.value.status_code == 403
        assert "Microsoft.CognitiveServices/deletedAccounts/read" in deleted.value.error.message
    finally:
        arm.close()
    # The student's own principal (Contributor on the subscription) may.
    student = _arm(creds, creds["student"])
    try:
        assert student.accounts.list_keys(creds["resource_group"], names[0]).key1
    finally:
        student.close()


def test_a_cognitive_services_token_is_refused_by_arm(sim, attendee):
    cred = ClientSecretCredential(attendee["tenant_id"], attendee["client_id"], attendee["client_secret"],
                                  authority=attendee["authority_host"], disable_instance_discovery=True,
                                  connection_verify=attendee["ca_bundle"])
    token = cred.get_token(COGNITIVE).token
    cred.close()
    r = requests.get(f"{attendee['arm_endpoint']}/subscriptions/{attendee['subscription_id']}/resourceGroups/"
                     f"{attendee['resource_group']}/providers/Microsoft.CognitiveServices/accounts",
                     params={"api-version": "2025-09-01"}, headers={"Authorization": f"Bearer {token}"},
                     verify=attendee["ca_bundle"], timeout=10)
    assert r.status_code == 401 and r.json()["error"]["code"] == "InvalidAuthenticationTokenAudience"


def test_an_expired_secret_is_refused_by_entra_id(sim):
    creds = sim.create_attendee(f"rbac-{next(_n)}")
    sim.state.principals[creds["client_id"]].secret_expires_at = 0.0
    cred = ClientSecretCredential(creds["tenant_id"], creds["client_id"], creds["client_secret"],
                                  authority=creds["authority_host"], disable_instance_discovery=True,
                                  connection_verify=creds["ca_bundle"])
    with pytest.raises(ClientAuthenticationError, match="AADSTS7000222"):
        cred.get_token(creds["credential_scope"])
    cred.close()


# -- the Custom Vision data plane -------------------------------------------------------------------------------
class _Bearer(Authentication):
    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token

    def signed_session(self, session=None):
        session = super().signed_session(session)
        session.headers["Authorization"] = f"Bearer {self.token}"
        return session


def _trainer(endpoint: str, creds: dict, auth) -> CustomVisionTrainingClient:
    client = CustomVisionTrainingClient(endpoint, auth)
    client.config.connection.verify = creds["ca_bundle"]
    return client


def _token(creds: dict, scope: str) -> str:
    cred = ClientSecretCredential(creds["tenant_id"], creds["client_id"], creds["client_secret"],
                                  authority=creds["authority_host"], disable_instance_discovery=True,
                                  connection_verify=creds["ca_bundle"])
    try:
        return cred.get_token(scope).token
    finally:
        cred.close()


def _training_account(sim, creds):
    return next(a for a in sim.state.accounts.values()
                if a.subscription_id == creds["subscription_id"] and a.kind == "CustomVision.Training")


def test_entra_id_on_the_data_plane_needs_the_data_action_audience_and_subdomain(sim):
    creds = sim.create_attendee(f"rbac-{next(_n)}", grader_role="Cognitive Services Custom Vision Reader",
                                grader_scope="resource_group")
    student = Student(creds, counts={"Non Defective": 5, "Defect": 5})
    student.do("1")
    student.do("2")
    acct = _training_account(sim, creds)
    good = _trainer(acct.endpoint, creds, _Bearer(_token(creds, COGNITIVE)))
    assert [p.name for p in good.get_projects()]  # projects/read: granted
    with pytest.raises(HttpOperationError) as denied:  # projects/action (create): not granted
        good.create_project("nope")
    assert denied.value.response.status_code == 401
    assert denied.value.response.json()["error"]["code"] == "PermissionDenied"
    arm_token = _trainer(acct.endpoint, creds, _Bearer(_token(creds, creds["credential_scope"])))
    with pytest.raises(HttpOperationError) as wrong:
        arm_token.get_projects()
    assert wrong.value.response.status_code == 401 and "audience" in wrong.value.response.text
    regional = acct.endpoint.replace(f"/cv/{acct.custom_subdomain}/", f"/cv/{acct.location}.api/")
    with pytest.raises(HttpOperationError) as shared:
        _trainer(regional, creds, _Bearer(_token(creds, COGNITIVE))).get_projects()
    assert shared.value.response.status_code == 401


def test_disable_local_auth_refuses_keys_on_the_data_plane(sim, attendee):
    Student(attendee, counts={"Non Defective": 5, "Defect": 5}).do("1")
    acct = _training_account(sim, attendee)
    keyed = _trainer(acct.endpoint, attendee, ApiKeyCredentials(in_headers={"Training-key": acct.key1}))
    assert keyed.get_domains()
    acct.disable_local_auth = True
    with pytest.raises(HttpOperationError) as refused:
        keyed.get_domains()
    assert refused.value.response.status_code == 403
    assert refused.value.response.json()["error"]["code"] == "AuthenticationTypeDisabled"


# -- admin API and CLI ------------------------------------------------------------------------------------------
def _admin(sim, method: str, path: str, **kw) -> requests.Response:
    return requests.request(method, sim.info["admin_url"] + path, verify=sim.info["ca_bundle"], timeout=10, **kw)


def test_admin_api_sets_roles_custom_roles_and_secret_expiry(sim):
    role = {"Name": f"grader-{next(_n)}", "Actions": ["Microsoft.CognitiveServices/accounts/read"]}
    assert _admin(sim, "POST", "/roles", json=role).status_code == 201
    assert _admin(sim, "POST", "/roles", json={"Name": "Reader", "Actions": []}).status_code == 400
    made = _admin(sim, "POST", "/attendees", json={"name": f"adm-{next(_n)}", "grader_role": role["Name"],
                                                    "grader_scope": "resource_group"})
    assert made.status_code == 201, made.text
    creds = made.json()
    assert creds["student"]["client_id"] != creds["client_id"]
    assert _admin(sim, "POST", "/attendees", json={"name": "x", "grader_role": "Nobody"}).status_code == 400
    assert _admin(sim, "POST", "/attendees", json={"name": "x", "grader_scope": "resource_group"}).status_code == 400

    path = f"/principals/{creds['client_id']}/roles"
    got = _admin(sim, "PUT", path, json={"assignments": [{"role": "Reader", "scope": "subscription"}]})
    assert got.status_code == 200
    assert got.json()["assignments"] == [{"role": "Reader", "scope": f"/subscriptions/{creds['subscription_id']}"}]
    assert _admin(sim, "PUT", path, json={"assignments": [{"role": "Reader", "scope": "/nowhere"}]}).status_code == 400
    assert _admin(sim, "PUT", path, json={"assignments": []}).json() == {"assignments": []}
    assert _admin(sim, "PUT", "/principals/nobody/roles", json={"assignments": []}).status_code == 404

    assert _admin(sim, "PATCH", f"/principals/{creds['client_id']}", json={"secret_expires_in": 0}).status_code == 204
    assert sim.state.principals[creds["client_id"]].secret_expired()
    assert _admin(sim, "PATCH", f"/principals/{creds['client_id']}", json={"other": 1}).status_code == 400
    state = _admin(sim, "GET", "/state").json()
    assert any(r["Name"] == role["Name"] for r in state["custom_roles"])


def test_cli_creates_an_attendee_with_a_grader_role(sim, tmp_path):
    from azuresim.cli import sim as sim_cli

    role = tmp_path / "role.json"
    role.write_text(json.dumps({"Name": f"cli-role-{next(_n)}", "Actions": ["*/read"]}))
    result = CliRunner().invoke(sim_cli, ["attendee", "create", f"cli-{next(_n)}", "--admin-url",
                                          sim.info["admin_url"], "--ca-bundle", sim.info["ca_bundle"],
                                          "--grader-role", f"@{role}", "--grader-scope", "resource-group"])
    assert result.exit_code == 0, result.output
    creds = json.loads(result.output)
    grader = sim.state.principals[creds["client_id"]]
    assigned = sim.state.assignments_of(grader)
    assert [a.scope for a in assigned] == [
        f"/subscriptions/{creds['subscription_id']}/resourceGroups/{creds['resource_group']}"]
