"""Entra ID (Azure AD) v2.0: tenant discovery and the client-credentials token endpoint.

Only what MSAL's ``ClientSecretCredential`` flow uses (see WIRE-FACTS.md, Identity and TLS). Tokens are
opaque strings the simulator maps back to their principal and audience (the scope asked for, less
``/.default``); ARM and the Custom Vision data plane look them up in ``SimState.tokens`` and each accepts
only tokens issued for it. A principal's secret can expire (``ServicePrincipal.secret_expires_at``).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from flask import Blueprint, Response, current_app, jsonify, request

from .app import operation

bp = Blueprint("entra", __name__)


def _base() -> str:
    return request.host_url.rstrip("/")


def token_error(status: int, error: str, description: str, codes: list[int] | None = None) -> Response:
    """An OAuth2 error the way Entra ID writes it (``error``, ``error_description`` with trace ids, ...)."""
    now = datetime.now(UTC)
    trace_id, correlation_id = str(uuid.uuid4()), str(uuid.uuid4())
    stamp = now.strftime("%Y-%m-%d %H:%M:%SZ")
    if codes is None and description.startswith("AADSTS"):
        digits = description[6:].split(":", 1)[0]
        codes = [int(digits)] if digits.isdigit() else []
    body = {
        "error": error,
        "error_description": f"{description} Trace ID: {trace_id} Correlation ID: {correlation_id} "
        f"Timestamp: {now.strftime('%Y-%m-%d %H:%M:%S')}Z",
        "error_codes": codes or [],
        "timestamp": stamp,
        "trace_id": trace_id,
        "correlation_id": correlation_id,
    }
    if codes:
        body["error_uri"] = f"{_base()}/error?code={codes[0]}"
    resp = jsonify(body)
    resp.status_code = status
    resp.headers["Cache-Control"] = "no-store, no-cache"
    return resp


def _unknown_tenant(tenant: str) -> Response:
    return token_error(
        400, "invalid_tenant",
        f"AADSTS90002: Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and "
        "are signing into the correct cloud. Check with your subscription administrator, this may happen "
        "if there are no active subscriptions for the tenant.",
    )


def _known_tenant(tenant: str) -> bool:
    return tenant.lower() in current_app.config["SIM"].state.tenants


@bp.get("/<tenant>/v2.0/.well-known/openid-configuration")
def openid_configuration(tenant: str):
    if not _known_tenant(tenant):
        return _unknown_tenant(tenant)
    base, tenant = _base(), tenant.lower()
    return jsonify({
        "token_endpoint": f"{base}/{tenant}/oauth2/v2.0/token",
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt",
                                                  "client_secret_basic"],
        "jwks_uri": f"{base}/{tenant}/discovery/v2.0/keys",
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": f"{base}/{tenant}/v2.0",
        "request_uri_parameter_supported": False,
        "userinfo_endpoint": f"{base}/oidc/userinfo",
        "authorization_endpoint": f"{base}/{tenant}/oauth2/v2.0/authorize",
        "device_authorization_endpoint": f"{base}/{tenant}/oauth2/v2.0/devicecode",
        "http_logout_supported": True,
        "frontchannel_logout_supported": True,
        "end_session_endpoint": f"{base}/{tenant}/oauth2/v2.0/logout",
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nonce", "tid", "oid"],
        "kerberos_endpoint": f"{base}/{tenant}/kerberos",
        "tenant_region_scope": "NA",
        "cloud_instance_name": "azuresim.local",
        "cloud_graph_host_name": "graph.azuresim.local",
        "msgraph_host": "graph.azuresim.local",
        "rbac_url": "https://pas.azuresim.local",
    })


@bp.get("/<tenant>/discovery/v2.0/keys")
def jwks(tenant: str):
    if not _known_tenant(tenant):
        return _unknown_tenant(tenant)
    return jsonify({"keys": []})  # tokens are opaque: nothing to verify them with


@bp.post("/<tenant>/oauth2/v2.0/token")
@operation("token")
def token(tenant: str):
    sim = current_app.config["SIM"]
    form = request.form
    if not _known_tenant(tenant):
        return _unknown_tenant(tenant)
    for name in ("grant_type", "client_id"):
        if not form.get(name):
            return token_error(400, "invalid_request",
                               "AADSTS900144: The request body must contain the following "
                               f"parameter: '{name}'.")
    if form["grant_type"] != "client_credentials":
        return token_error(400, "unsupported_grant_type",
                           "AADSTS70003: The app requested an unsupported grant type "
                           f"'{form['grant_type']}'.")
    client_id = form["client_id"]
    principal = sim.state.principals.get(client_id.lower())
    if principal is None or principal.tenant_id != tenant.lower():
        return token_error(
            400, "unauthorized_client",
            f"AADSTS700016: Application with identifier '{client_id}' was not found in the directory "
            f"'{tenant}'. This can happen if the application has not been installed by the administrator "
            "of the tenant or consented to by any user in the tenant. You may have sent your "
            "authentication request to the wrong tenant.",
        )
    if not form.get("client_secret"):
        return token_error(
            401, "invalid_client",
            "AADSTS7000218: The request body must contain the following parameter: 'client_assertion' "
            "or 'client_secret'.",
        )
    if form["client_secret"] == principal.client_secret and principal.secret_expired():
        return token_error(
            401, "invalid_client",
            f"AADSTS7000222: The provided client secret keys for app '{client_id}' are expired. Visit the Azure "
            "portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using "
            "certificate credentials for added security: https://aka.ms/certCreds.",
        )
    if form["client_secret"] != principal.client_secret:
        return token_error(
            401, "invalid_client",
            "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request "
            f"is the client secret value, not the client secret ID, for a secret added to app '{client_id}'.",
        )
    scope = form.get("scope", "")
    if not scope.endswith("/.default"):
        return token_error(
            400, "invalid_scope",
            f"AADSTS1002012: The provided value for scope {scope or '(none)'} is not valid. Client "
            "credential flows must have a scope value with /.default suffixed to the resource identifier "
            "(application ID URI).",
        )
    lifetime = int(sim.token_lifetime)
    # The token is for the resource the scope names (ARM, or Cognitive Services' data plane), and only for it.
    tok = sim.state.issue_token(principal, lifetime, audience=scope[: -len("/.default")])
    resp = jsonify({"token_type": "Bearer", "expires_in": lifetime, "ext_expires_in": lifetime,
                    "access_token": tok.value})
    resp.headers["Cache-Control"] = "no-store, no-cache"
    return resp
