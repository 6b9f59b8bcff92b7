"""A class's automatic checks on the proctor's class page: on, off, or as the lab says, and how often (the
platform API sets the same, ``PUT /api/v1/labs/{lab}/classes/{class}/auto-check``)."""

from __future__ import annotations

from flask import flash, redirect, request, url_for

from .. import auth
from ..models import Cohort
from ..services import autocheck
from ..services.errors import InvalidInput
from .views import _granted_cohort, bp

CHOICES = {"lab": None, "on": True, "off": False}


def auto_check_for(cohort: Cohort) -> dict:
    """What the class page shows: the class's choice (lab/on/off), its interval in minutes, what applies."""
    own = cohort.auto_check or {}
    choice = {True: "on", False: "off"}.get(own.get("enabled"), "lab")
    every = own.get("every")
    return {"choice": choice, "every_minutes": "" if every is None else f"{every / 60:g}",
            "effective": autocheck.class_settings(cohort.lab_id, cohort)}


@bp.post("/labs/<lab>/classes/<path:name>/auto-check")
@auth.proctor_required
def set_auto_check(lab: str, name: str):
    cohort = _granted_cohort(lab, name)
    choice = request.form.get("enabled", "lab")
    minutes = request.form.get("every_minutes", "").strip()
    setting = dict(cohort.auto_check or {})  # other settings (calls per minute, ...) stay as the platform set them
    setting["enabled"] = CHOICES.get(choice)
    try:
        setting["every"] = float(minutes) * 60 if minutes else None
        autocheck.set_class_setting(cohort, setting)
    except (ValueError, InvalidInput):
        flash("Check every: give a number of minutes greater than 0, or leave it empty for the lab's interval.",
              "error")
    else:
        applied = autocheck.class_settings(cohort.lab_id, cohort)
        flash("Automatic checks are off for this class." if applied is None else
              f"Automatic checks are on: each active attendee's unfinished tasks are validated every "
              f"{applied.timing.every / 60:g} minutes.", "info")
    return redirect(url_for("proctor.cohort_page", lab=cohort.lab_id, name=cohort.name), 303)
