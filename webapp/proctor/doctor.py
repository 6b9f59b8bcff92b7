"""Check before class (proctor pages): run ``labgrader doctor`` for every attendee of a class in the background,
or for one attendee now, and show an attendee's last report. The class grid marks attendees whose check
failed (:func:`doctor_for`, a template global)."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from sqlalchemy import select

from .. import auth
from ..extensions import db
from ..models import Attendee
from ..services import doctor, jobs, labs
from .views import _granted_cohort, _me, _visible_attendee, bp


@bp.post("/labs/<lab>/classes/<path:name>/doctor")
@auth.proctor_required
def check_class(lab: str, name: str):
    cohort = _granted_cohort(lab, name)
    me = _me()
    ids = list(db.session.scalars(select(Attendee.id).filter_by(cohort_id=cohort.id).order_by(Attendee.id)))
    for attendee_id in ids:
        jobs.submit(doctor.run_for, attendee_id, me.email)
    flash(f"Checking labgrader's Azure access for {len(ids)} attendee{'' if len(ids) == 1 else 's'} of {cohort.name} "
          "in the background. The grid marks every attendee whose check fails as the results arrive.", "info")
    return redirect(url_for("proctor.cohort_page", lab=cohort.lab_id, name=cohort.name), 303)


@bp.get("/attendees/<int:attendee_id>/doctor")
@auth.proctor_required
def attendee_doctor(attendee_id: int):
    who = _visible_attendee(attendee_id)
    return render_template("proctor/doctor.html", who=who, pack=labs.pack(who.lab_id), report=doctor.latest(who))


@bp.post("/attendees/<int:attendee_id>/doctor")
@auth.proctor_required
def check_attendee(attendee_id: int):
    who = _visible_attendee(attendee_id)
    report = doctor.run(who, checked_by=_me().email)
    flash(f"Azure access check: {report.status}. {report.summary()}", "info" if report.ok else "error")
    return redirect(url_for("proctor.attendee_doctor", attendee_id=who.id), 303)


def doctor_for(rows) -> dict:
    """Attendee id -> last DoctorCheck, for the grid rows shown (one query)."""
    return doctor.for_attendees([r.row.attendee_id for r in rows])
