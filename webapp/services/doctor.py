"""Check before class: run ``labgrader doctor`` (:mod:`validator.doctor`) for an attendee and keep the last
report (:class:`~webapp.models.DoctorCheck`), which the platform API answers and the class grid marks."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from flask import current_app
from sqlalchemy import select

import validator
from validator.doctor import DoctorReport, Item
from validator.doctor import run as run_doctor
from validator.result import redact

from ..extensions import db
from ..models import Attendee, DoctorCheck
from . import attendees, labs
from .observation import observation

log = logging.getLogger(__name__)


def run(attendee: Attendee, *, checked_by: str | None = None) -> DoctorReport:
    """Check labgrader's Azure access for ``attendee``'s lab now, store the report and return it.

    Never raises for Azure's answers or for stored credentials labgrader cannot use: those are FAIL items.
    """
    pack = labs.pack(attendee.lab_id)
    try:
        creds = attendees.credentials(attendee)
        who = validator.Attendee.from_json(creds, pack)
        secrets = attendees.secret_values(attendee) | {str(creds[k]) for k in attendees.AZURE_SECRET_FIELDS
                                                       if creds.get(k)}
    except Exception as exc:  # noqa: BLE001 - unusable credentials are the first thing to report
        log.warning("attendee %s/%s: stored credentials unusable for doctor (%s)", attendee.lab_id,
                    attendee.external_id, type(exc).__name__)
        report = DoctorReport(lab=pack.id, items=(Item(
            "credentials", "Use the stored credentials", "FAIL",
            "labgrader cannot use the Azure credentials stored for this attendee.",
            "Send the attendee's credentials again from the lab platform (PUT the attendee with 'azure')."),))
        record(attendee, report, checked_by)
        return report
    budget = float(current_app.config.get("VALIDATE_BUDGET_SECONDS", 20)) * 2
    report = run_doctor(who, pack, budget_seconds=budget, runtime=observation())
    report = DoctorReport.from_json(redact(report.to_json(), secrets))
    record(attendee, report, checked_by)
    log.info("doctor %s/%s: %s (%d ms, %d Azure calls, by %s)", attendee.lab_id, attendee.external_id,
             report.status, report.duration_ms, report.azure_calls, checked_by or "-")
    return report


def record(attendee: Attendee, report: DoctorReport, checked_by: str | None) -> DoctorCheck:
    """Keep ``report`` as the attendee's last check (one row per attendee)."""
    row = db.session.get(DoctorCheck, attendee.id)
    if row is None:
        row = DoctorCheck(attendee_id=attendee.id)
        db.session.add(row)
    row.status = report.status
    row.summary = report.summary()[:2000]
    row.report = report.to_json()
    row.checked_at = report.checked_at if report.checked_at.tzinfo else report.checked_at.replace(tzinfo=UTC)
    row.checked_by = checked_by
    db.session.commit()
    return row


def latest(attendee: Attendee) -> DoctorReport | None:
    """The attendee's last report, or None when doctor never ran for them."""
    row = db.session.get(DoctorCheck, attendee.id)
    return DoctorReport.from_json(row.report) if row is not None else None


def for_attendees(attendee_ids: list[int]) -> dict[int, DoctorCheck]:
    """The last check of each of these attendees that has one (one query, for the class grid)."""
    if not attendee_ids:
        return {}
    rows = db.session.scalars(select(DoctorCheck).where(DoctorCheck.attendee_id.in_(attendee_ids)))
    return {r.attendee_id: r for r in rows}


def run_for(attendee_id: int, checked_by: str) -> str:
    """Background job: check one attendee by id; returns the status (or "gone")."""
    who = db.session.get(Attendee, attendee_id)
    if who is None:
        return "gone"
    return run(who, checked_by=checked_by).status


def age(row: DoctorCheck, now: datetime | None = None) -> int:
    """Seconds since the check ran."""
    return int(((now or datetime.now(UTC)) - row.checked_at).total_seconds())
