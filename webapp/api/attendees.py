"""Attendees: create or update one, validate a step for them, read their progress."""

from __future__ import annotations

from flask import jsonify

from ..services import attendees, labs, launch, progress, validation
from ..services.errors import NotFound
from . import present
from .auth import current_key
from .blueprint import bp
from .limits import validate_limit, validate_many_limit
from .schemas import (
    AttendeeInSchema,
    AttendeeOutSchema,
    AttendeeProgressSchema,
    StepResultSchema,
    StepResultsSchema,
    ValidationInSchema,
    ValidationsInSchema,
)

ATTENDEE = "/labs/<lab>/attendees/<attendee>"

TAGS = ["Attendees"]


@bp.route(ATTENDEE, methods=["PUT"], tags=TAGS)
@bp.arguments(AttendeeInSchema)
@bp.response(200, AttendeeOutSchema, description="The attendee was updated.")
@bp.alt_response(201, schema=AttendeeOutSchema, description="The attendee was created.")
@bp.errors(400, 401, 404, 413, 415, 422)
def put_attendee(body: dict, lab: str, attendee: str):
    """Create or update an attendee; returns their launch URL.

    ``azure`` is the credentials JSON (as azuresim prints it); an ``injects`` object inside it is merged into
    ``injects``. On update, fields left out keep their stored values. Secrets (``azure.client_secret`` and
    secret injects) are write-only: the answer says ``client_secret_set`` and lists ``secret_injects_set``.
    """
    pack = labs.pack(lab)
    launch.base_url()  # the answer carries a launch link: refuse before writing anything if none can be made
    try:
        attendees.get(lab, attendee)
        created = False
    except NotFound:
        created = True
    who = attendees.upsert(lab, attendee, cohort=body.get("cohort"), display_name=body.get("display_name"),
                           injects=body.get("injects"), azure=body.get("azure"),
                           lms_user_id=body.get("lms_user_id", attendees.KEEP))
    return present.attendee(who, pack), 201 if created else 200


@bp.route(ATTENDEE, methods=["GET"], tags=TAGS)
@bp.response(200, AttendeeOutSchema)
@bp.errors(401, 404)
def get_attendee(lab: str, attendee: str):
    """One attendee as stored (secrets omitted) with a fresh launch URL."""
    pack = labs.pack(lab)
    return present.attendee(attendees.get(lab, attendee), pack)


@bp.route(ATTENDEE + "/validations", methods=["POST"], tags=TAGS)
@bp.arguments(ValidationInSchema())  # an instance: not one built per press
@bp.response(200, StepResultSchema, description="The result, whatever its status: PASS, FAIL, PENDING and "
                                                "ERROR are all answers, not HTTP errors.")
@bp.errors(400, 401, 404, 413, 415, 422, 429)
@validate_limit
def validate_step(body: dict, lab: str, attendee: str):
    """Validate one step for the attendee now and record the attempt.

    ``step`` is the step's id or its task number ("3.1"). The answer is exactly what
    ``labgrader validate --json`` prints for that step. At most ``VALIDATE_RATE_LIMIT`` validations per
    API key, attendee and step (429 with ``Retry-After`` beyond it).
    """
    labs.pack(lab)
    who = attendees.get(lab, attendee)
    result = validation.run(who, body["step"], trigger="api", triggered_by=current_key().name)
    return jsonify(result.to_json())  # as is: the CLI's shape, not re-dumped


@bp.route(ATTENDEE + "/validations/batch", methods=["POST"], tags=TAGS)
@bp.arguments(ValidationsInSchema)
@bp.response(200, StepResultsSchema, description="One result per step, whatever its status.")
@bp.errors(400, 401, 404, 413, 415, 422, 429)
@validate_many_limit
def validate_steps(body: dict, lab: str, attendee: str):
    """Validate several steps, or the whole lab, for the attendee now, from one look at their Azure resources.

    Each fact is fetched from Azure once for all the steps (the whole seed lab in at most 9 calls, against 27
    one step at a time), and each step's attempt is recorded with the result validating it alone gives.
    At most ``VALIDATE_RATE_LIMIT`` such calls per API key and attendee (429 with ``Retry-After`` beyond it).
    """
    labs.pack(lab)
    who = attendees.get(lab, attendee)
    results = validation.run_many(who, body.get("steps"), trigger="api", triggered_by=current_key().name)
    return jsonify({"results": [r.to_json() for r in results]})


@bp.route(ATTENDEE + "/progress", methods=["GET"], tags=TAGS)
@bp.response(200, AttendeeProgressSchema)
@bp.errors(401, 404)
def attendee_progress(lab: str, attendee: str):
    """Per step: status, attempts, last message and times; and totals."""
    labs.pack(lab)
    who = attendees.get(lab, attendee)
    return present.attendee_progress(who, progress.attendee(who))
