"""Entra ID: discovery and client-credentials tokens, through azure-identity (MSAL) and raw HTTP."""

from __future__ import annotations

import time
import uuid

import pytest
import requests
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import ClientSecretCredential


def credential(creds: dict, **overrides) -> ClientSecretCredential:
    args = {k: creds[k] for k in ("tenant_id", "client_id", "client_secret")} | overrides
    return ClientSecretCredential(args["tenant_id"], args["client_id"], args["client_secret"],
                                  authority=creds["authority_host"], disable_instance_discovery=True,
                                  connection_verify=creds["ca_bundle"])


def token_form(creds: dict, **overrides) -> requests.Response:
    form = {"client_id": creds["client_id"], "client_secret": creds["client_secret"],
            "grant_type": "client_credentials", "scope": creds["credential_scope"]} | overrides
    url = f"{creds['authority_host']}/{creds['tenant_id']}/oauth2/v2.0/token"
    return requests.post(url, data=form, verify=creds["ca_bundle"], timeout=10)


def test_openid_configuration_names_the_tenant_endpoints(attendee):
    base, tenant = attendee["authority_host"], attendee["tenant_id"]
    resp = requests.get(f"{base}/{tenant}/v2.0/.well-known/openid-configuration",
                        verify=attendee["ca_bundle"], timeout=10)
    assert resp.status_code == 200
    conf = resp.json()
    assert conf["token_endpoint"] == f"{base}/{tenant}/oauth2/v2.0/token"
    assert conf["authorization_endpoint"] == f"{base}/{tenant}/oauth2/v2.0/authorize"
    assert conf["issuer"] == f"{base}/{tenant}/v2.0"
    assert conf["jwks_uri"].startswith(f"{base}/{tenant}/")


def test_sdk_gets_a_token_that_maps_to_the_principal(attendee, sim):
    cred = credential(attendee)
    try:
        tok = cred.get_token(attendee["credential_scope"])
    finally:
        cred.close()
    assert 3500 < tok.expires_on - time.time() <= 3600
    principal, issued = sim.state.principal_for_token(tok.token)
    assert principal.client_id == attendee["client_id"]
    assert issued.tenant_id == attendee["tenant_id"]


@pytest.mark.parametrize(
    ("override", "aadsts"),
    [
        ({"client_secret": "not-the-secret"}, "AADSTS7000215"),
        ({"client_id": str(uuid.uuid4())}, "AADSTS700016"),
        # MSAL fails on discovery (see the raw test below) and words the error itself, as with real Entra.
        ({"tenant_id": str(uuid.uuid4())}, "Unable to get authority configuration"),
    ],
    ids=["wrong-secret", "unknown-client", "unknown-tenant"],
)
def test_sdk_reports_entra_errors(attendee, override, aadsts):
    cred = credential(attendee, **override)
    try:
        with pytest.raises(ClientAuthenticationError) as info:
            cred.get_token(attendee["credential_scope"])
    finally:
        cred.close()
    assert aadsts in str(info.value)


def test_unknown_tenant_is_aadsts90002(attendee):
    tenant = str(uuid.uuid4())
    base, ca = attendee["authority_host"], attendee["ca_bundle"]
    for resp in (requests.get(f"{base}/{tenant}/v2.0/.well-known/openid-configuration", verify=ca, timeout=10),
                 token_form({**attendee, "tenant_id": tenant})):
        assert resp.status_code == 400
        assert resp.json()["error"] == "invalid_tenant"
        assert resp.json()["error_description"].startswith(f"AADSTS90002: Tenant '{tenant}' not found.")


def test_another_tenants_client_is_unknown_here(attendee, sim):
    other = sim.create_attendee("neighbour")
    resp = token_form(attendee, client_id=other["client_id"], client_secret=other["client_secret"])
    assert resp.status_code == 400
    assert resp.json()["error_codes"] == [700016]


def test_error_bodies_have_entra_fields(attendee):
    resp = token_form(attendee, client_secret="wrong")
    assert resp.status_code == 401
    body = resp.json()
    assert body["error"] == "invalid_client"
    assert body["error_description"].startswith("AADSTS7000215: Invalid client secret provided.")
    assert body["error_codes"] == [7000215]
    assert {"timestamp", "trace_id", "correlation_id"} <= set(body)
    assert body["trace_id"] in body["error_description"]

    cases = [
        ({"grant_type": "password"}, 400, "unsupported_grant_type", 70003),
        ({"client_id": ""}, 400, "invalid_request", 900144),
        ({"scope": "user.read"}, 400, "invalid_scope", 1002012),
        ({"client_secret": ""}, 401, "invalid_client", 7000218),
    ]
    for override, status, error, code in cases:
        resp = token_form(attendee, **override)
        assert (resp.status_code, resp.json()["error"], resp.json()["error_codes"]) == (status, error, [code])


def test_token_lifetime_is_configurable_and_expiry_is_enforced_by_arm(attendee, sim, monkeypatch):
    monkeypatch.setattr(sim, "token_lifetime", 1)
    resp = token_form(attendee)
    assert resp.status_code == 200
    body = resp.json()
    assert (body["token_type"], body["expires_in"], body["ext_expires_in"]) == ("Bearer", 1, 1)
    url = (f"{attendee['arm_endpoint']}/subscriptions/{attendee['subscription_id']}/resourcegroups/"
           f"{attendee['resource_group']}?api-version=2025-04-01")
    headers = {"Authorization": f"Bearer {body['access_token']}"}
    assert requests.get(url, headers=headers, verify=attendee["ca_bundle"], timeout=10).status_code == 200
    time.sleep(1.1)
    late = requests.get(url, headers=headers, verify=attendee["ca_bundle"], timeout=10)
    assert late.status_code == 401
    assert late.json()["error"]["code"] == "ExpiredAuthenticationToken"
    assert "is earlier than current UTC time" in late.json()["error"]["message"]
