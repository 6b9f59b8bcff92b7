"""The simulator's own control API under ``/_sim`` (loopback callers only).

Attendees, a state overview without secrets, reset, fault rules and the call log. Errors use one
envelope: ``{"error": {"code", "message"}}``.
"""

from __future__ import annotations

import ipaddress

from flask import Blueprint, current_app, jsonify, request

from .errors import arm_error
from .faults import FaultRuleError
from .state import AttendeeError

bp = Blueprint("admin", __name__, url_prefix="/_sim")


def _sim():
    return current_app.config["SIM"]


def _bad_request(message: str):
    return arm_error(400, "BadRequest", message)


@bp.before_request
def _loopback_only():
    try:
        loopback = ipaddress.ip_address((request.remote_addr or "").split("%")[0]).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        return arm_error(403, "Forbidden", "The azuresim admin API answers loopback callers only.")
    return None


def _json_object() -> dict | None:
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else None


@bp.get("/info")
def info():
    """The cloud profile (authority host, ARM endpoint, scope, CA bundle path, admin URL)."""
    return jsonify(_sim().info)


@bp.post("/attendees")
def create_attendee():
    body = _json_object()
    if body is None:
        return _bad_request('Send a JSON object such as {"name": "ada", "region": "eastus"}.')
    unknown = set(body) - {"name", "region"}
    if unknown:
        return _bad_request(f"Unknown field(s): {', '.join(sorted(unknown))}. Allowed: name, region.")
    try:
        creds = _sim().create_attendee(body.get("name"), body.get("region"))
    except AttendeeError as exc:
        return _bad_request(str(exc))
    resp = jsonify(creds)
    resp.status_code = 201
    return resp


@bp.get("/state")
def state():
    return jsonify(_sim().state.snapshot())


@bp.post("/reset")
def reset():
    _sim().reset()
    return "", 204


@bp.post("/faults")
def add_fault():
    body = request.get_json(silent=True)
    try:
        rule_id = _sim().faults.add(body)
    except FaultRuleError as exc:
        return _bad_request(str(exc))
    resp = jsonify({"id": rule_id})
    resp.status_code = 201
    return resp


@bp.get("/faults")
def list_faults():
    return jsonify({"value": _sim().faults.list()})


@bp.delete("/faults")
def clear_faults():
    _sim().faults.clear()
    return "", 204


@bp.delete("/faults/<rule_id>")
def remove_fault(rule_id: str):
    if not _sim().faults.remove(rule_id):
        return arm_error(404, "NotFound", f"No fault rule has id '{rule_id}'.")
    return "", 204


@bp.get("/calls")
def calls():
    """Counts of Azure calls served, by operation and account (``?operation=`` / ``?account=`` filter)."""
    op, account = request.args.get("operation"), request.args.get("account")
    rows = [r for r in _sim().call_log()
            if (op is None or r["operation"] == op) and (account is None or r["account"] == account.lower())]
    return jsonify({"value": rows, "total": sum(r["count"] for r in rows)})


@bp.delete("/calls")
def clear_calls():
    _sim().clear_calls()
    return "", 204
