"""Webhook subscriptions: a lab platform hears about progress without polling (see
:mod:`webapp.services.webhooks` for delivery, signing and retries)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from ..models import WebhookSubscription
from ..services import webhooks
from .auth import current_key
from .blueprint import bp

TAGS = ["Webhooks"]
_EVENTS = {"description": "Events to send: " + ", ".join(webhooks.EVENTS) + ".",
           "items": {"enum": list(webhooks.EVENTS)}}


class WebhookInSchema(Schema):
    url = fields.String(required=True, validate=validate.Length(max=2000), metadata={
        "description": "Where to POST events: https, to a public address (checked again at every send)."})
    events = fields.List(fields.String(validate=validate.OneOf(webhooks.EVENTS)), required=True,
                         validate=validate.Length(min=1), metadata=_EVENTS)
    lab = fields.String(allow_none=True, metadata={"description": "Only this lab's attendees (default: every lab)."})
    cohort = fields.String(data_key="class", allow_none=True,
                           metadata={"description": "Only this class's attendees (default: every class)."})
    description = fields.String(validate=validate.Length(max=300), metadata={"description": "A note for people."})


class WebhookPatchSchema(Schema):
    url = fields.String(validate=validate.Length(max=2000))
    events = fields.List(fields.String(validate=validate.OneOf(webhooks.EVENTS)), validate=validate.Length(min=1),
                         metadata=_EVENTS)
    lab = fields.String(allow_none=True)
    cohort = fields.String(data_key="class", allow_none=True)
    description = fields.String(validate=validate.Length(max=300))
    enabled = fields.Boolean(metadata={"description": "false stops deliveries (no new events are kept for it; "
                                                      "those waiting stay); true resumes them and clears an "
                                                      "automatic disabling."})


class WebhookOutSchema(Schema):
    id = fields.Integer(required=True)
    url = fields.String(required=True)
    events = fields.List(fields.String(), required=True)
    lab = fields.String(required=True, allow_none=True)
    cohort = fields.String(data_key="class", required=True, allow_none=True)
    description = fields.String(required=True)
    enabled = fields.Boolean(required=True)
    disabled_reason = fields.String(required=True, allow_none=True, metadata={
        "description": "Why deliveries stopped (e.g. after a long run of failures), when disabled."})
    consecutive_failures = fields.Integer(required=True)
    created_at = fields.DateTime(required=True)


class WebhookCreatedSchema(WebhookOutSchema):
    secret = fields.String(required=True, metadata={
        "description": "The Standard Webhooks signing secret (whsec_...). Shown only in this answer: keep it."})


class WebhookListSchema(Schema):
    webhooks = fields.List(fields.Nested(WebhookOutSchema), required=True)


class WebhookEventSchema(Schema):
    id = fields.String(required=True, metadata={"description": "The webhook-id header of every try."})
    type = fields.String(required=True)
    state = fields.String(required=True, metadata={"enum": ["pending", "delivered", "failed"]})
    tries = fields.Integer(required=True)
    created_at = fields.DateTime(required=True)
    next_attempt_at = fields.DateTime(required=True, allow_none=True)
    delivered_at = fields.DateTime(required=True, allow_none=True)
    last_error = fields.String(required=True, allow_none=True)


class WebhookEventListSchema(Schema):
    events = fields.List(fields.Nested(WebhookEventSchema), required=True)


class WebhookDeliverySchema(Schema):
    event = fields.String(required=True, metadata={"description": "The event's id (webhook-id)."})
    type = fields.String(required=True)
    attempted_at = fields.DateTime(required=True)
    ok = fields.Boolean(required=True)
    status_code = fields.Integer(required=True, allow_none=True, metadata={
        "description": "The receiver's HTTP status (null: no answer)."})
    latency_ms = fields.Integer(required=True)
    error = fields.String(required=True, allow_none=True)


class WebhookDeliveryListSchema(Schema):
    deliveries = fields.List(fields.Nested(WebhookDeliverySchema), required=True)


class LimitQuerySchema(Schema):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


class RedeliverInSchema(Schema):
    """No options: send ``{}``."""


def _out(sub: WebhookSubscription) -> dict[str, Any]:
    return {"id": sub.id, "url": sub.url, "events": list(sub.events), "lab": sub.lab_id, "cohort": sub.cohort,
            "description": sub.description, "enabled": sub.enabled, "disabled_reason": sub.disabled_reason,
            "consecutive_failures": sub.consecutive_failures, "created_at": sub.created_at}


def _event(e) -> dict[str, Any]:
    return {"id": e.msg_id, "type": e.type, "state": e.state, "tries": e.tries, "created_at": e.created_at,
            "next_attempt_at": e.next_attempt_at if e.state == "pending" else None,
            "delivered_at": e.delivered_at, "last_error": e.last_error}


@bp.route("/webhooks", methods=["POST"], tags=TAGS)
@bp.arguments(WebhookInSchema)
@bp.response(201, WebhookCreatedSchema, description="Created. The answer holds the signing secret, once.")
@bp.errors(400, 401, 413, 415, 422)
def create_webhook(body: dict):
    """Subscribe a URL to events. Deliveries are signed per Standard Webhooks with the returned secret."""
    sub, secret = webhooks.create(body["url"], body["events"], lab_id=body.get("lab"), cohort=body.get("cohort"),
                                  description=body.get("description", ""), created_by=f"api:{current_key().name}")
    return {**_out(sub), "secret": secret}


@bp.route("/webhooks", methods=["GET"], tags=TAGS)
@bp.response(200, WebhookListSchema)
@bp.errors(401)
def list_webhooks():
    """Every subscription (never their secrets)."""
    return {"webhooks": [_out(s) for s in webhooks.all_subscriptions()]}


@bp.route("/webhooks/<int:webhook_id>", methods=["GET"], tags=TAGS)
@bp.response(200, WebhookOutSchema)
@bp.errors(401, 404)
def get_webhook(webhook_id: int):
    """One subscription."""
    return _out(webhooks.get(webhook_id))


@bp.route("/webhooks/<int:webhook_id>", methods=["PATCH"], tags=TAGS)
@bp.arguments(WebhookPatchSchema)
@bp.response(200, WebhookOutSchema)
@bp.errors(400, 401, 404, 413, 415, 422)
def update_webhook(body: dict, webhook_id: int):
    """Change a subscription; ``enabled: true`` resumes one that was disabled."""
    return _out(webhooks.update_subscription(webhooks.get(webhook_id), **body))


@bp.route("/webhooks/<int:webhook_id>", methods=["DELETE"], tags=TAGS)
@bp.response(204, description="Deleted, with its undelivered events and its delivery log.")
@bp.errors(401, 404)
def delete_webhook(webhook_id: int):
    """Delete a subscription."""
    webhooks.delete(webhooks.get(webhook_id))
    return ""


@bp.route("/webhooks/<int:webhook_id>/events", methods=["GET"], tags=TAGS)
@bp.arguments(LimitQuerySchema, location="query")
@bp.response(200, WebhookEventListSchema)
@bp.errors(400, 401, 404)
def webhook_events(query: dict, webhook_id: int):
    """The subscription's latest events, newest first, with their delivery state."""
    return {"events": [_event(e) for e in webhooks.events_of(webhooks.get(webhook_id), query["limit"])]}


@bp.route("/webhooks/<int:webhook_id>/deliveries", methods=["GET"], tags=TAGS)
@bp.arguments(LimitQuerySchema, location="query")
@bp.response(200, WebhookDeliveryListSchema)
@bp.errors(400, 401, 404)
def webhook_deliveries(query: dict, webhook_id: int):
    """The subscription's latest delivery tries, newest first: time, answer, latency, error."""
    rows = webhooks.deliveries_of(webhooks.get(webhook_id), query["limit"])
    return {"deliveries": [{"event": e.msg_id, "type": e.type, "attempted_at": d.attempted_at, "ok": d.ok,
                            "status_code": d.status_code, "latency_ms": d.latency_ms, "error": d.error}
                           for d, e in rows]}


@bp.route("/webhooks/<int:webhook_id>/events/<event_id>/redeliver", methods=["POST"], tags=TAGS)
@bp.arguments(RedeliverInSchema)
@bp.response(202, WebhookEventSchema, description="Queued: it is sent again with the same webhook-id.")
@bp.errors(400, 401, 404, 413, 415, 422)
def redeliver_event(_body: dict, webhook_id: int, event_id: str):
    """Send an event again (after fixing the receiver, or to replay it). Send ``{}``."""
    return _event(webhooks.redeliver(webhooks.get(webhook_id), event_id))
