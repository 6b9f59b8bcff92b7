"""A class's automatic checks: ``GET``/``PUT /labs/{lab}/classes/{class}/auto-check`` (see
:mod:`webapp.services.autocheck`). The class setting wins over the lab's lab.yaml ``auto_check``."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from marshmallow import Schema, fields

from ..models import Cohort
from ..services import attendees, autocheck, labs
from .blueprint import bp

TAGS = ["Labs"]
PATH = "/labs/<lab>/classes/<path:cohort>/auto-check"
_SECONDS = "seconds (a positive number); absent or null: the lab's value, else the default"


class AutoCheckInSchema(Schema):
    enabled = fields.Boolean(allow_none=True, metadata={
        "description": "true: check this class's active attendees in the background; false: never; null or "
                       "absent: as the lab's lab.yaml auto_check says."})
    every = fields.Raw(allow_none=True, metadata={"type": "number", "description": "Between two checks, " + _SECONDS})
    after_pending = fields.Raw(allow_none=True, metadata={
        "type": "number", "description": "To the next check after a PENDING step, " + _SECONDS})
    idle_after = fields.Raw(allow_none=True, metadata={
        "type": "number", "description": "Since the attendee last opened the guide or was validated, after which "
                                         "the checks stop, " + _SECONDS})
    calls_per_minute = fields.Raw(allow_none=True, metadata={
        "type": "integer", "description": "Azure calls this class's automatic checks may make in any minute "
                                          "(default: the service's AUTO_CHECK_CALLS_PER_MINUTE)."})


class AutoCheckEffectiveSchema(Schema):
    every = fields.Float(required=True)
    after_pending = fields.Float(required=True)
    idle_after = fields.Float(required=True)
    calls_per_minute = fields.Integer(required=True)


class AutoCheckOutSchema(Schema):
    lab = fields.String(required=True)
    cohort = fields.String(data_key="class", required=True)
    setting = fields.Dict(required=True, allow_none=True, metadata={
        "description": "The class's own setting (null: it follows the lab)."})
    effective = fields.Nested(AutoCheckEffectiveSchema, required=True, allow_none=True, metadata={
        "description": "What applies to the class's attendees (null: no automatic checks)."})


def _out(cohort: Cohort) -> dict[str, Any]:
    settings = autocheck.class_settings(cohort.lab_id, cohort)
    effective = None if settings is None else {**asdict(settings.timing),
                                               "calls_per_minute": settings.calls_per_minute}
    return {"lab": cohort.lab_id, "cohort": cohort.name, "setting": cohort.auto_check, "effective": effective}


@bp.route(PATH, methods=["GET"], tags=TAGS)
@bp.response(200, AutoCheckOutSchema)
@bp.errors(401, 404)
def get_auto_check(lab: str, cohort: str):
    """The class's automatic checks: its own setting and what applies."""
    labs.pack(lab)
    return _out(attendees.get_cohort(lab, cohort, create=False))


@bp.route(PATH, methods=["PUT"], tags=TAGS)
@bp.arguments(AutoCheckInSchema)
@bp.response(200, AutoCheckOutSchema)
@bp.errors(400, 401, 404, 413, 415)
def put_auto_check(body: dict, lab: str, cohort: str):
    """Set the class's automatic checks (the class is created if new). An empty body makes it follow the lab."""
    labs.pack(lab)
    found = attendees.get_cohort(lab, cohort)
    autocheck.set_class_setting(found, body)
    return _out(found)
