"""Check before class: run ``labgrader doctor`` for an attendee (a lab platform can call it when it provisions
one), and read the last report."""

from __future__ import annotations

from marshmallow import Schema, fields

from ..services import attendees, doctor, labs
from ..services.errors import NotFound
from .auth import current_key
from .blueprint import bp

DOCTOR = "/labs/<lab>/attendees/<attendee>/doctor"
TAGS = ["Attendees"]
_STATUSES = ["PASS", "FAIL", "WARN", "SKIP"]


class DoctorInSchema(Schema):
    """No options: send ``{}`` (the API takes JSON bodies only)."""


class DoctorItemSchema(Schema):
    id = fields.String(required=True, metadata={
        "description": "sign-in, subscription, resource-group, list-keys, data-actions, deleted-accounts "
                       "(or credentials: the stored credentials are unusable)."})
    title = fields.String(required=True)
    status = fields.String(required=True, metadata={
        "enum": _STATUSES, "description": "FAIL: validations would be ERROR until fixed. WARN: grading works; "
                                          "something is worth knowing. SKIP: not checked (an earlier item failed, "
                                          "or nothing exists yet to check it on)."})
    message = fields.String(required=True, metadata={"description": "What was found, for the proctor."})
    fix = fields.String(required=True, allow_none=True, metadata={
        "description": "What to change (which role to give labgrader's identity, where), unless PASS."})
    actions = fields.List(fields.String(), required=True, metadata={
        "description": "The Azure actions or data actions this item is about."})


class DoctorReportSchema(Schema):
    """``labgrader doctor --json``: every item, and PASS unless one FAILed."""

    lab = fields.String(required=True)
    status = fields.String(required=True, metadata={"enum": ["PASS", "FAIL"]})
    ok = fields.Boolean(required=True)
    summary = fields.String(required=True, metadata={"description": "One sentence: the first failure, or "
                                                                    "that labgrader can grade this lab."})
    checked_at = fields.String(required=True, metadata={"format": "date-time"})
    duration_ms = fields.Integer(required=True)
    azure_calls = fields.Integer(required=True)
    items = fields.List(fields.Nested(DoctorItemSchema), required=True)


@bp.route(DOCTOR, methods=["POST"], tags=TAGS)
@bp.arguments(DoctorInSchema)
@bp.response(200, DoctorReportSchema, description="The report, whatever it found: a FAIL is an answer, not an "
                                                    "HTTP error.")
@bp.errors(400, 401, 404, 413, 415, 422)
def run_doctor(_body: dict, lab: str, attendee: str):
    """Check now that labgrader can grade this attendee's lab, and keep the report.

    Signs in with the attendee's stored credentials, reaches the subscription and resource group, and proves
    each permission the lab's checks need with a harmless call. The proctor's class grid marks attendees
    whose last check failed. The same as ``labgrader doctor --attendee FILE --json``. Send ``{}``.
    """
    labs.pack(lab)
    who = attendees.get(lab, attendee)
    return doctor.run(who, checked_by=f"api:{current_key().name}").to_json()


@bp.route(DOCTOR, methods=["GET"], tags=TAGS)
@bp.response(200, DoctorReportSchema)
@bp.errors(401, 404)
def last_doctor(lab: str, attendee: str):
    """The attendee's last check (404 when none ran yet)."""
    labs.pack(lab)
    report = doctor.latest(attendees.get(lab, attendee))
    if report is None:
        raise NotFound(f"no check has run yet for attendee '{attendee}' in lab '{lab}': POST to run one")
    return report.to_json()
