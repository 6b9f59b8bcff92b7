"""Turn service objects into the API's response bodies (plain dicts the schemas dump). Secrets never
enter these dicts: only the names of the secret values that are set."""

from __future__ import annotations

from collections import Counter
from typing import Any

from checks import registry
from checks.outcome import Status
from labguide.packs import LabPack

from .. import crypto
from ..models import Attendee
from ..services import labs, launch
from ..services.progress import AttendeeProgress, CohortProgress, StepProgress

STATUSES = (*Status.__members__, "NOT_STARTED")


def attendee(who: Attendee, pack: LabPack) -> dict[str, Any]:
    stored = crypto.decrypt_json(who.secret_blob) if who.secret_blob else {}
    return {
        "lab": who.lab_id,
        "attendee": who.external_id,
        "cohort": who.cohort.name if who.cohort else None,
        "display_name": who.display_name,
        "lms_user_id": who.lms_user_id,
        "injects": {k: str(v) for k, v in (who.injects or {}).items() if k not in pack.secret_keys},
        "secret_injects_set": sorted((stored.get("injects") or {}).keys()),
        "azure": {k: v for k, v in (who.azure or {}).items() if k != "client_secret"},
        "client_secret_set": bool((stored.get("azure") or {}).get("client_secret")),
        "launch_url": launch.make_link(who),
        "created_at": who.created_at,
        "updated_at": who.updated_at,
    }


def lab_summary(pack: LabPack) -> dict[str, Any]:
    return {"id": pack.id, "title": pack.title, "version": str(pack.version), "steps": len(pack.steps)}


def _check_title(check_id: str) -> str:
    try:
        return registry.get(check_id).title
    except KeyError:
        return ""  # `labgrader guide lint` reports the unknown id; the lab still lists the step


def lab(pack: LabPack) -> dict[str, Any]:
    tasks: dict[str, dict[str, Any]] = {}
    for step in pack.steps:
        entry = tasks.setdefault(step.task, {"task": step.task, "title": step.title, "steps": []})
        entry["steps"].append(step.id)
    return {
        **lab_summary(pack),
        "injects": [
            # A secret's default is a demo value, but it is still never shown.
            {"key": s.key, "description": s.description, "secret": s.secret,
             "default": None if s.secret else s.default}
            for s in pack.injects.values()
        ],
        "tasks": list(tasks.values()),
        "steps": [
            {"id": s.id, "task": s.task, "title": s.title, "requires": list(s.requires),
             "checks": [{"id": c.id, "title": _check_title(c.id)} for c in s.checks]}
            for s in pack.steps
        ],
    }


def _totals(cells: list[StepProgress]) -> dict[str, Any]:
    counts = Counter(c.status or "NOT_STARTED" for c in cells)
    return {"steps": len(cells), "passed": sum(c.done for c in cells),
            "by_status": {k: counts.get(k, 0) for k in STATUSES}}


def _step(cell: StepProgress) -> dict[str, Any]:
    return {"task": cell.task, "title": cell.title, "status": cell.status, "attempts": cell.attempts,
            "last_message": cell.message, "last_attempt_at": cell.last_attempt_at, "passed_at": cell.passed_at,
            "out_of_date": cell.stale}


def attendee_progress(who: Attendee, progress: AttendeeProgress) -> dict[str, Any]:
    return {
        "lab": who.lab_id,
        "attendee": who.external_id,
        "display_name": who.display_name,
        "cohort": who.cohort.name if who.cohort else None,
        "steps": {cell.step_id: _step(cell) for cell in progress.steps},
        "totals": _totals(progress.steps),
        "score": {"percent": progress.score, "pass_mark": progress.pass_mark, "passes": progress.passes},
    }


def class_progress(progress: CohortProgress) -> dict[str, Any]:
    pass_mark = labs.pack(progress.lab_id).pass_mark
    stuck_by_step: dict[str, list[dict[str, str]]] = {}
    for s in progress.stuck:
        stuck_by_step.setdefault(s.step_id, []).append(
            {"attendee": s.external_id, "display_name": s.display_name, "reason": s.reason})
    return {
        "lab": progress.lab_id,
        "cohort": progress.cohort,
        "attendees": [
            {"attendee": row.external_id, "display_name": row.display_name, "cohort": row.cohort,
             "passed": row.done,
             "score": {"percent": row.score, "pass_mark": pass_mark, "passes": row.passes},
             "steps": {step_id: {"status": c.status, "attempts": c.attempts, "last_attempt_at": c.last_attempt_at,
                                 "passed_at": c.passed_at, "out_of_date": c.stale}
                       for step_id, c in row.cells.items()}}
            for row in progress.rows
        ],
        "steps": [
            {"step": st.step_id, "task": st.task, "title": st.title, "counts": st.counts, "started": st.started,
             "passed": st.passed,
             "failures": [{"check_id": f.check_id, "count": f.count, "example": f.example} for f in st.failures],
             "stuck": stuck_by_step.get(st.step_id, [])}
            for st in progress.steps
        ],
        "paging": {"page": progress.page, "per_page": progress.per_page or progress.matching,
                   "pages": progress.pages, "matching": progress.matching, "attendees": progress.attendees},
        "totals": {  # the whole class's, like the steps
            "steps": progress.attendees * len(progress.steps), "passed": sum(st.passed for st in progress.steps),
            "by_status": {k: sum(st.counts.get(k, 0) for st in progress.steps) for k in STATUSES}},
    }
