"""Labs and class progress: ``GET /labs``, ``GET /labs/{lab}``, ``GET /labs/{lab}/progress?class=``."""

from __future__ import annotations

from ..services import attendees, labs, progress
from ..services.errors import InvalidInput
from . import present
from .blueprint import bp
from .schemas import ClassProgressSchema, ClassQuerySchema, LabListSchema, LabSchema

TAGS = ["Labs"]


@bp.route("/labs", methods=["GET"], tags=TAGS)
@bp.response(200, LabListSchema)
@bp.errors(401)
def list_labs():
    """Every lab pack this service can grade."""
    return {"labs": [present.lab_summary(p) for p in labs.packs()]}


@bp.route("/labs/<lab>", methods=["GET"], tags=TAGS)
@bp.response(200, LabSchema)
@bp.errors(401, 404)
def get_lab(lab: str):
    """One lab: its injects (secret defaults never shown), tasks and validation steps with their checks."""
    return present.lab(labs.pack(lab))


@bp.route("/labs/<lab>/progress", methods=["GET"], tags=TAGS)
@bp.arguments(ClassQuerySchema, location="query")
@bp.response(200, ClassProgressSchema)
@bp.errors(400, 401, 404, 422)
def class_progress(query: dict, lab: str):
    """The class grid, a page of attendees at a time: attendees x steps, filtered (stuck, current step or its
    status, part of a name) and sorted across the whole class; and for the whole class, per step the pass
    count, the most common failing checks and the attendees stuck on it. Without ``class``, every attendee
    of the lab. Follow ``paging.pages`` for the other pages."""
    pack = labs.pack(lab)
    name = query.get("cohort")
    if name is not None:
        name = attendees.get_cohort(lab, name, create=False).name
    step = query.get("step", "")
    if step:
        spec = next((s for s in pack.steps if step in (s.id, s.task)), None)
        if spec is None:
            raise InvalidInput("step", f"lab {lab!r} has no step or task {step!r}")
        step = spec.id
    view = progress.ClassView(query["sort"], query.get("status", ""), step, query["stuck"], query.get("q", ""),
                              query["page"], query["per_page"])
    return present.class_progress(progress.cohort(lab, name, view))
