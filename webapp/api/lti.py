"""LTI platform registrations in the platform API (the same as ``labgrader lti platform``)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from ..lti import platforms
from ..lti.models import LtiPlatform
from .blueprint import bp

TAGS = ["LTI"]
_URL = {"validate": validate.Length(max=2000)}


class PlatformInSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200),
                         metadata={"description": "A name for people (unique)."})
    issuer = fields.String(required=True, validate=validate.Length(min=1, max=500),
                           metadata={"description": "The platform's issuer (the id_token's iss)."})
    client_id = fields.String(required=True, validate=validate.Length(min=1, max=255),
                              metadata={"description": "The client id the LMS gave labgrader."})
    deployment_ids = fields.List(fields.String(validate=validate.Length(min=1, max=255)), required=True,
                                 validate=validate.Length(min=1, max=100),
                                 metadata={"description": "Deployment ids of labgrader in the LMS."})
    auth_login_url = fields.String(required=True, metadata={"description": "OIDC authorization endpoint."}, **_URL)
    auth_token_url = fields.String(required=True, metadata={"description": "OAuth2 token endpoint."}, **_URL)
    key_set_url = fields.String(required=True, metadata={"description": "The platform's JWKS URL."}, **_URL)
    auth_audience = fields.String(allow_none=True, metadata={"description": "The token endpoint's audience, if "
                                                                            "not its URL."}, **_URL)
    frame_origins = fields.List(fields.String(**_URL), validate=validate.Length(max=20), metadata={
        "description": "Origins that frame labgrader's pages (default: the issuer's and the login URL's)."})


class PlatformOutSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    issuer = fields.String(required=True)
    client_id = fields.String(required=True)
    deployment_ids = fields.List(fields.String(), required=True)
    auth_login_url = fields.String(required=True)
    auth_token_url = fields.String(required=True)
    key_set_url = fields.String(required=True)
    auth_audience = fields.String(required=True, allow_none=True)
    frame_origins = fields.List(fields.String(), required=True, metadata={"description": "As framing uses them."})
    created_at = fields.DateTime(required=True)


class PlatformListSchema(Schema):
    platforms = fields.List(fields.Nested(PlatformOutSchema), required=True)


def _out(p: LtiPlatform) -> dict[str, Any]:
    return {"id": p.id, "name": p.name, "issuer": p.issuer, "client_id": p.client_id,
            "deployment_ids": list(p.deployment_ids), "auth_login_url": p.auth_login_url,
            "auth_token_url": p.auth_token_url, "key_set_url": p.key_set_url, "auth_audience": p.auth_audience,
            "frame_origins": platforms.frame_origins(p), "created_at": p.created_at}


@bp.route("/lti/platforms", methods=["POST"], tags=TAGS)
@bp.arguments(PlatformInSchema)
@bp.response(201, PlatformOutSchema)
@bp.errors(400, 401, 413, 415, 422)
def create_platform(body: dict):
    """Register a learning platform (LMS) that may launch labgrader with LTI 1.3."""
    return _out(platforms.add(body["name"], body["issuer"], body["client_id"], body["deployment_ids"],
                              body["auth_login_url"], body["auth_token_url"], body["key_set_url"],
                              auth_audience=body.get("auth_audience"), frame_origins=body.get("frame_origins")))


@bp.route("/lti/platforms", methods=["GET"], tags=TAGS)
@bp.response(200, PlatformListSchema)
@bp.errors(401)
def list_platforms():
    """Every registered platform."""
    return {"platforms": [_out(p) for p in platforms.all_platforms()]}


@bp.route("/lti/platforms/<int:platform_id>", methods=["GET"], tags=TAGS)
@bp.response(200, PlatformOutSchema)
@bp.errors(401, 404)
def get_platform(platform_id: int):
    """One registered platform."""
    return _out(platforms.get(platform_id))


@bp.route("/lti/platforms/<int:platform_id>", methods=["DELETE"], tags=TAGS)
@bp.response(204, description="Removed: its launches stop; attendees and their work stay.")
@bp.errors(401, 404)
def delete_platform(platform_id: int):
    """Forget a platform, its course mappings and grade targets."""
    platforms.remove(platforms.get(platform_id))
    return ""
